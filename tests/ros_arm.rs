//! End-to-end test of the arm ROS nodes: `spikectl-sim robot:=arm` (MuJoCo Panda-like arm with
//! a flange F/T sensor over a table, lockstep) and `spikectl-arm` (admittance MPC on OSQP, sim
//! time) as processes in a namespace of this test. The arm presses on the table with a 10 N
//! setpoint, then 15 N; the test reads the simulated F/T `wrench` (the force must settle at the
//! setpoint), SolveStats and every effort command (7 finite torques), and injects malformed
//! messages (NaN joint state, 6 joints, NaN wrench, NaN force setpoint): each must be counted
//! in the controller's `/diagnostics`, with no process dying. The controller runs in its
//! default mode (the MPC on its own thread, `mpc_thread:=true`) and stops cleanly on SIGTERM.

mod ros_common;

use std::process::{Command, Stdio};
use std::time::Duration;

use r2r::QosProfile;
use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus};
use r2r::geometry_msgs::msg::WrenchStamped;
use r2r::sensor_msgs::msg::JointState;
use r2r::spikectl_msgs::msg::SolveStats;
use r2r::std_msgs::msg::Float64;
use ros_common::{KillOnDrop, context, drain, spin_until, topic};
use spikectl::ros::arm::arm_joint_names;
use spikectl::ros::inputs::stamp_s;

/// ROS domain of this test binary.
const DOMAIN: u32 = 90;
const TIMEOUT: Duration = Duration::from_secs(30);
const SIM: &str = env!("CARGO_BIN_EXE_spikectl-sim");
const CONTROLLER: &str = env!("CARGO_BIN_EXE_spikectl-arm");

fn value(s: &DiagnosticStatus, key: &str) -> Option<f64> {
    s.values.iter().find(|kv| kv.key == key)?.value.parse().ok()
}

fn spawn(exe: &str, args: Vec<String>) -> KillOnDrop {
    let child = Command::new(exe)
        .arg("--ros-args")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
    KillOnDrop(Some(child))
}

fn alive(c: &mut KillOnDrop) -> bool {
    c.0.as_mut().is_some_and(|p| p.try_wait().ok().flatten().is_none())
}

#[derive(Default)]
struct Seen {
    /// (stamp [s], normal force [N]) of every F/T message.
    force: Vec<(f64, f64)>,
    efforts: usize,
    bad_efforts: usize,
    stats: Vec<SolveStats>,
    diag: Option<DiagnosticStatus>,
}

impl Seen {
    fn t(&self) -> f64 {
        self.force.last().map(|f| f.0).unwrap_or(0.0)
    }
    /// Mean normal force over stamps in [t0, t1) [N].
    fn mean_force(&self, t0: f64, t1: f64) -> f64 {
        let v: Vec<f64> = self.force.iter().filter(|f| f.0 >= t0 && f.0 < t1).map(|f| f.1).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }
}

#[test]
fn arm_nodes_hold_the_force_setpoint_and_survive_malformed_input_with_osqp() {
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_arm_test", "").unwrap();
    let ns = topic("").trim_end_matches('/').to_string();
    let (t_stats, t_diag) = (topic("solve_stats"), topic("diagnostics"));
    let deep = QosProfile::default().keep_last(4000);
    let mut wrench_sub = node.subscribe::<WrenchStamped>(&topic("wrench"), deep.clone()).unwrap();
    let mut effort_sub = node.subscribe::<JointState>(&topic("effort_cmd"), deep.clone()).unwrap();
    let mut stats_sub = node.subscribe::<SolveStats>(&t_stats, deep.clone()).unwrap();
    let mut diag_sub = node.subscribe::<DiagnosticArray>(&t_diag, deep).unwrap();
    let joints_pub = node.create_publisher::<JointState>(&topic("joint_states"), QosProfile::default()).unwrap();
    let wrench_pub = node.create_publisher::<WrenchStamped>(&topic("wrench"), QosProfile::default()).unwrap();
    let force_pub = node.create_publisher::<Float64>(&topic("force_setpoint"), QosProfile::default()).unwrap();

    let args = |extra: &[&str]| -> Vec<String> {
        let mut a = vec!["-r".into(), format!("__ns:={ns}"), "-p".into(), format!("diagnostics_topic:={t_diag}")];
        for e in extra {
            a.push("-p".into());
            a.push(e.to_string());
        }
        a
    };
    let stats_param = format!("stats_topic:={t_stats}");
    let mut controller = spawn(
        CONTROLLER,
        args(&[
            "solver:=osqp",
            "use_sim_time:=true",
            "sensor_qos:=reliable",
            "stale_timeout_s:=1.0",
            "force_setpoint_n:=10.0",
            "diagnostics_period_s:=0.1",
            &stats_param,
        ]),
    );
    let mut sim = spawn(
        SIM,
        args(&[
            "robot:=arm",
            "lockstep:=true",
            "lockstep_timeout_s:=10.0",
            "real_time_factor:=0.0",
            "noise:=typical",
            "seed:=2",
            "duration_s:=30.0",
            "diagnostics_period_s:=0.1",
        ]),
    );
    let names = arm_joint_names("");

    let mut seen = Seen::default();
    let mut collect = |seen: &mut Seen| {
        for w in drain(&mut wrench_sub) {
            // Our own malformed wrench comes back on this topic too: skip non-finite ones.
            if w.wrench.force.z.is_finite() {
                seen.force.push((stamp_s(&w.header.stamp), w.wrench.force.z));
            }
        }
        for e in drain(&mut effort_sub) {
            seen.efforts += 1;
            let ok = e.effort.len() == 7 && e.effort.iter().all(|v| v.is_finite()) && e.name == names;
            seen.bad_efforts += usize::from(!ok);
        }
        seen.stats.extend(drain(&mut stats_sub));
        for a in drain(&mut diag_sub) {
            if let Some(s) = a.status.into_iter().find(|s| s.name == "spikectl_arm: controller") {
                seen.diag = Some(s);
            }
        }
    };

    // Up once every stream has delivered (DDS discovery may match our subscriptions late).
    let up = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        (seen.t() > 0.1 && !seen.stats.is_empty() && seen.efforts > 0).then_some(())
    });
    assert!(up.is_some(), "the arm closed loop did not start (t = {})", seen.t());
    let (t_up, efforts_up) = (seen.t(), seen.efforts);
    let matched = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        let n = |c: r2r::Result<usize>| c.unwrap_or(0) > 0;
        (n(joints_pub.get_inter_process_subscription_count())
            && n(wrench_pub.get_inter_process_subscription_count())
            && n(force_pub.get_inter_process_subscription_count()))
        .then_some(())
    });
    assert!(matched.is_some(), "the controller did not subscribe joint_states / wrench / force_setpoint");

    // 10 N until 2.5 s (at least 1 s after we started listening).
    let t10 = f64::max(2.5, t_up + 1.0);
    assert!(
        spin_until(&mut node, TIMEOUT, || {
            collect(&mut seen);
            (seen.t() >= t10).then_some(())
        })
        .is_some()
    );
    let f10 = seen.mean_force(t10 - 1.0, t10);

    // Malformed input, then 15 N.
    let good =
        JointState { name: names.to_vec(), position: vec![0.0; 7], velocity: vec![0.0; 7], ..Default::default() };
    let mut nan = good.clone();
    nan.velocity[3] = f64::NAN;
    let mut six = good.clone();
    six.name.pop();
    six.position.pop();
    six.velocity.pop();
    joints_pub.publish(&nan).unwrap();
    joints_pub.publish(&six).unwrap();
    let mut bad_wrench = WrenchStamped::default();
    bad_wrench.wrench.force.z = f64::NAN;
    wrench_pub.publish(&bad_wrench).unwrap();
    force_pub.publish(&Float64 { data: f64::NAN }).unwrap();
    force_pub.publish(&Float64 { data: 15.0 }).unwrap();
    let t_switch = seen.t();
    let t_end = t_switch + 2.5;
    assert!(
        spin_until(&mut node, TIMEOUT, || {
            collect(&mut seen);
            (seen.t() >= t_end).then_some(())
        })
        .is_some()
    );
    let f15 = seen.mean_force(t_switch + 1.5, t_end);
    let diag = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        seen.diag.as_ref().filter(|s| value(s, "malformed") == Some(4.0)).cloned()
    });
    let last = seen.diag.clone();
    let Some(diag) = diag else { panic!("no diagnostics with 4 malformed inputs; last: {last:?}") };
    eprintln!(
        "{} F/T samples to t = {:.3} s: mean normal force {f10:.2} N (setpoint 10), {f15:.2} N (setpoint 15); \
         {} effort commands, {} SolveStats",
        seen.force.len(),
        seen.t(),
        seen.efforts,
        seen.stats.len()
    );

    assert!(alive(&mut controller), "spikectl-arm died");
    assert!(alive(&mut sim), "spikectl-sim died");
    assert!((f10 - 10.0).abs() < 1.0, "mean force {f10:.2} N at a 10 N setpoint");
    assert!((f15 - 15.0).abs() < 1.0, "mean force {f15:.2} N at a 15 N setpoint");
    assert_eq!(seen.bad_efforts, 0, "effort commands with NaN or the wrong joints");
    assert!((seen.efforts - efforts_up) as f64 > 0.8 * (t_end - t_up) / 0.001, "{} effort commands", seen.efforts);
    assert!(!seen.stats.is_empty() && seen.stats.iter().all(|s| s.solver == "osqp"));
    let fallbacks = seen.stats.iter().filter(|s| s.fallback).count();
    assert!(fallbacks * 20 <= seen.stats.len(), "{fallbacks} fallbacks in {} solves", seen.stats.len());
    assert_eq!(value(&diag, "malformed_joint_states"), Some(2.0), "{diag:?}");
    assert_eq!(value(&diag, "malformed_wrench"), Some(1.0), "{diag:?}");
    assert_eq!(value(&diag, "malformed_force_setpoint"), Some(1.0), "{diag:?}");
    assert_eq!(value(&diag, "controller_invalid"), Some(0.0), "{diag:?}");
    // The MPC thread kept up (stale solutions only around contact onset).
    let get = |k: &str| value(&diag, k).unwrap_or_else(|| panic!("no {k} in {diag:?}"));
    assert!(get("solves") > 100.0 && get("solves_finished") >= get("solves") - 2.0, "{diag:?}");
    assert!(get("stale_solutions") <= 20.0, "{diag:?}");
    assert!(get("max_solution_age_us") <= 20_000.0 && get("tick_p99_us") > 0.0, "{diag:?}");

    // SIGTERM: a clean stop (exit code 0: the handler ran, the threads were joined).
    let mut p = controller.0.take().unwrap();
    assert!(Command::new("kill").args(["-TERM", &p.id().to_string()]).status().unwrap().success());
    let end = std::time::Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = p.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > end {
            let _ = p.kill();
            panic!("spikectl-arm still running after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status}");
}
