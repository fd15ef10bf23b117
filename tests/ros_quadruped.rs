//! End-to-end test of the quadruped ROS nodes: `spikectl-sim` (headless MuJoCo, lockstep,
//! publishing /clock, joint_states, imu, odom) and `spikectl-quadruped` (MPC on OSQP, on sim
//! time) run as their own processes in a namespace of this test. The robot stands, then trots
//! on `gait` + `cmd_vel`; the test reads Odometry (it must not fall and must move forward),
//! SolveStats (they must arrive, solved, without fallbacks) and every effort command (12
//! finite torques), and injects malformed JointStates and a NaN cmd_vel: each must be counted
//! in the controller's `/diagnostics` while the robot keeps going and no process dies.
//! The controller runs in its default mode, the MPC on its own thread (`mpc_thread:=true`):
//! its MPC counters and tick times are checked in `/diagnostics`, and it stops cleanly on
//! SIGTERM (exit code 0, MPC thread joined). The simulator's ground-truth `odom` → `base_link`
//! transform on `/tf` is checked against its (noisy) odometry, and the e-stop is engaged and
//! reset both by topic and by the `std_srvs/Trigger` services `~/estop`, `~/estop_reset`.

mod ros_common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use r2r::QosProfile;
use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus};
use r2r::geometry_msgs::msg::Twist;
use r2r::nav_msgs::msg::Odometry;
use r2r::sensor_msgs::msg::JointState;
use r2r::spikectl_msgs::msg::SolveStats;
use r2r::std_msgs::msg::{Bool as BoolMsg, Empty as EmptyMsg, String as StringMsg};
use r2r::std_srvs::srv::Trigger;
use r2r::tf2_msgs::msg::TFMessage;
use ros_common::{KillOnDrop, context, drain, spin_until, topic};
use spikectl::ros::inputs::stamp_s;
use spikectl::ros::quadruped::JOINT_NAMES;
use spikectl_sim::quadruped::tilt_angle;

/// ROS domain of this test binary.
const DOMAIN: u32 = 89;
const TIMEOUT: Duration = Duration::from_secs(30);
const SIM: &str = env!("CARGO_BIN_EXE_spikectl-sim");
const CONTROLLER: &str = env!("CARGO_BIN_EXE_spikectl-quadruped");
/// Simulated time at which the test switches from standing to trotting (or later, if the test
/// heard the nodes only later) [s].
const T_TROT: f64 = 1.5;
/// Duration of the trot [s, simulated].
const TROT_S: f64 = 2.5;
/// Commanded forward speed while trotting [m/s].
const VX: f64 = 0.3;

fn value(s: &DiagnosticStatus, key: &str) -> Option<f64> {
    s.values.iter().find(|kv| kv.key == key)?.value.parse().ok()
}

fn spawn(exe: &str, args: &[String]) -> KillOnDrop {
    let child = Command::new(exe)
        .arg("--ros-args")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
    KillOnDrop(Some(child))
}

fn alive(c: &mut KillOnDrop) -> bool {
    c.0.as_mut().is_some_and(|p| p.try_wait().ok().flatten().is_none())
}

fn stderr_of(c: &mut KillOnDrop) -> String {
    let mut out = String::new();
    if let Some(mut p) = c.0.take() {
        let _ = p.kill();
        let _ = p.wait();
        if let Some(mut e) = p.stderr.take() {
            let _ = e.read_to_string(&mut out);
        }
    }
    out
}

/// What the test has seen so far.
#[derive(Default)]
struct Seen {
    /// (stamp [s], x [m], height [m], tilt [rad]) of every odometry message.
    odom: Vec<(f64, f64, f64, f64)>,
    efforts: usize,
    /// Largest |effort| per joint since the last reset of this field [N·m].
    max_effort: [f64; 12],
    bad_efforts: Vec<String>,
    stats: Vec<SolveStats>,
    controller_diag: Option<DiagnosticStatus>,
    sim_diag: Option<DiagnosticStatus>,
    /// (stamp [s], x, y, z [m], quaternion w, x, y, z) of the odometry and of the
    /// `odom` → `base_link` transforms, by stamp in nanoseconds.
    odom_poses: std::collections::HashMap<i64, [f64; 8]>,
    tf_poses: Vec<(i64, [f64; 8], String, String)>,
}

impl Seen {
    fn t(&self) -> f64 {
        self.odom.last().map(|o| o.0).unwrap_or(0.0)
    }
}

#[test]
fn quadruped_nodes_stand_trot_and_survive_malformed_input_with_osqp() {
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_quadruped_test", "").unwrap();
    let ns = topic("").trim_end_matches('/').to_string();
    let (t_stats, t_diag) = (topic("solve_stats"), topic("diagnostics"));
    let deep = QosProfile::default().keep_last(2000);
    let mut odom_sub = node.subscribe::<Odometry>(&topic("odom"), deep.clone()).unwrap();
    let mut effort_sub = node.subscribe::<JointState>(&topic("effort_cmd"), deep.clone()).unwrap();
    let mut stats_sub = node.subscribe::<SolveStats>(&t_stats, deep.clone()).unwrap();
    let mut diag_sub = node.subscribe::<DiagnosticArray>(&t_diag, deep.clone()).unwrap();
    let mut tf_sub = node.subscribe::<TFMessage>("/tf", deep).unwrap();
    let joints_pub = node.create_publisher::<JointState>(&topic("joint_states"), QosProfile::default()).unwrap();
    let cmd_pub = node.create_publisher::<Twist>(&topic("cmd_vel"), QosProfile::default()).unwrap();
    let gait_pub = node.create_publisher::<StringMsg>(&topic("gait"), QosProfile::default()).unwrap();
    let estop_pub = node.create_publisher::<BoolMsg>(&topic("estop"), QosProfile::default()).unwrap();
    let reset_pub = node.create_publisher::<EmptyMsg>(&topic("estop_reset"), QosProfile::default()).unwrap();

    let common = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = vec!["-r".into(), format!("__ns:={ns}"), "-p".into()];
        a.push(format!("diagnostics_topic:={t_diag}"));
        for e in extra {
            a.push("-p".into());
            a.push(e.to_string());
        }
        a
    };
    let mut controller = spawn(
        CONTROLLER,
        &[
            // Lockstep: a stale state would only mean a stalled machine (wall clock), not a bug.
            common(&[
                "solver:=osqp",
                "use_sim_time:=true",
                "sensor_qos:=reliable",
                "stale_timeout_s:=1.0",
                "diagnostics_period_s:=0.1",
                // Applied if this machine lets us (root / CAP_SYS_NICE), else reported: either
                // way the node must run on.
                "rt_priority:=10",
            ]),
            vec!["-p".into(), format!("stats_topic:={t_stats}")],
            // The robot from the Go1-like URDF fixture (the simulator's robot, as URDF).
            vec!["-p".into(), format!("robot_file:={}/robot/tests/data/go1_like.urdf", env!("CARGO_MANIFEST_DIR"))],
        ]
        .concat(),
    );
    let mut sim = spawn(
        SIM,
        &common(&[
            "lockstep:=true",
            "lockstep_timeout_s:=10.0",
            "real_time_factor:=0.0",
            "noise:=typical",
            "seed:=3",
            "duration_s:=30.0",
            "diagnostics_period_s:=0.1",
        ]),
    );

    let mut seen = Seen::default();
    let mut collect = |seen: &mut Seen| {
        for o in drain(&mut odom_sub) {
            let p = &o.pose.pose;
            let q = [p.orientation.w, p.orientation.x, p.orientation.y, p.orientation.z];
            seen.odom.push((stamp_s(&o.header.stamp), p.position.x, p.position.z, tilt_angle(&q)));
            let pose = [p.position.x, p.position.y, p.position.z, q[0], q[1], q[2], q[3], 0.0];
            seen.odom_poses.insert(ns_of(&o.header.stamp), pose);
        }
        for m in drain(&mut tf_sub) {
            for t in m.transforms {
                let (v, r) = (&t.transform.translation, &t.transform.rotation);
                let pose = [v.x, v.y, v.z, r.w, r.x, r.y, r.z, 0.0];
                seen.tf_poses.push((ns_of(&t.header.stamp), pose, t.header.frame_id, t.child_frame_id));
            }
        }
        for e in drain(&mut effort_sub) {
            seen.efforts += 1;
            let ok = e.effort.len() == 12
                && e.effort.iter().all(|v| v.is_finite())
                && e.name.iter().map(String::as_str).eq(JOINT_NAMES.iter().copied());
            if !ok && seen.bad_efforts.len() < 5 {
                seen.bad_efforts.push(format!("{:?} {:?}", e.name, e.effort));
            }
            for (m, v) in seen.max_effort.iter_mut().zip(&e.effort) {
                *m = m.max(v.abs());
            }
        }
        seen.stats.extend(drain(&mut stats_sub));
        for a in drain(&mut diag_sub) {
            for s in a.status {
                if s.name == "spikectl_quadruped: controller" {
                    seen.controller_diag = Some(s);
                } else if s.name == "spikectl_sim: quadruped" {
                    seen.sim_diag = Some(s);
                }
            }
        }
    };

    // Up: the closed loop runs once odometry advances and SolveStats arrive.
    let up = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        (seen.t() > 0.2 && !seen.stats.is_empty()).then_some(())
    });
    if up.is_none() {
        panic!(
            "the closed loop did not start (t = {}, {} stats)\ncontroller: {}\nsim: {}",
            seen.t(),
            seen.stats.len(),
            stderr_of(&mut controller),
            stderr_of(&mut sim)
        );
    }
    // Counts below are checked from here on (DDS discovery may match our subscriptions late).
    let t_up = seen.t();
    let (efforts_up, stats_up, odom_up) = (seen.efforts, seen.stats.len(), seen.odom.len());
    // The controller must hear our publishers before we use them.
    let matched = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        let n = |c: r2r::Result<usize>| c.unwrap_or(0) > 0;
        (n(joints_pub.get_inter_process_subscription_count())
            && n(cmd_pub.get_inter_process_subscription_count())
            && n(gait_pub.get_inter_process_subscription_count())
            && n(estop_pub.get_inter_process_subscription_count())
            && n(reset_pub.get_inter_process_subscription_count()))
        .then_some(())
    });
    assert!(matched.is_some(), "the controller did not subscribe joint_states / cmd_vel / gait");

    // Stand, then malformed input: NaN position, 11 joints, an unknown joint name, NaN cmd_vel.
    assert!(
        spin_until(&mut node, TIMEOUT, || {
            collect(&mut seen);
            (seen.t() >= T_TROT).then_some(())
        })
        .is_some()
    );
    let good = JointState {
        name: JOINT_NAMES.iter().map(|s| s.to_string()).collect(),
        position: [0.0, 0.8, -1.6].repeat(4),
        velocity: vec![0.0; 12],
        ..Default::default()
    };
    let mut nan = good.clone();
    nan.position[4] = f64::NAN;
    let mut short = good.clone();
    short.name.pop();
    short.position.pop();
    short.velocity.pop();
    let mut unknown = good.clone();
    unknown.name[7] = "RR_knee_joint".into();
    for m in [&nan, &short, &unknown] {
        joints_pub.publish(m).unwrap();
    }
    let mut nan_cmd = Twist::default();
    nan_cmd.linear.x = f64::NAN;
    cmd_pub.publish(&nan_cmd).unwrap();
    const MALFORMED: f64 = 4.0;

    // Trot forward (cmd_vel is re-sent: the controller drops it after 0.5 s of silence).
    gait_pub.publish(&StringMsg { data: "trot".into() }).unwrap();
    let (t_trot, x_trot) = seen.odom.last().map(|o| (o.0, o.1)).unwrap();
    let t_end = t_trot + TROT_S;
    let mut twist = Twist::default();
    twist.linear.x = VX;
    let mut next_cmd = Instant::now();
    let done = spin_until(&mut node, TIMEOUT, || {
        if Instant::now() >= next_cmd {
            cmd_pub.publish(&twist).unwrap();
            next_cmd += Duration::from_millis(100);
        }
        collect(&mut seen);
        (seen.t() >= t_end).then_some(())
    });
    assert!(done.is_some(), "simulated time stalled at {} s", seen.t());
    // A controller report covering the malformed messages.
    let diag = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        seen.controller_diag.as_ref().filter(|s| value(s, "malformed") == Some(MALFORMED)).cloned()
    });
    let last = seen.controller_diag.clone();
    let Some(diag) = diag else { panic!("no diagnostics with {MALFORMED} malformed inputs; last: {last:?}") };

    assert!(alive(&mut controller), "spikectl-quadruped died: {}", stderr_of(&mut controller));
    assert!(alive(&mut sim), "spikectl-sim died: {}", stderr_of(&mut sim));

    // Did not fall: trunk height and tilt over every odometry sample seen.
    let n = seen.odom.len();
    let span = t_end - t_up;
    assert!((n - odom_up) as f64 > 0.8 * span / 0.002, "only {n} odometry messages");
    let min_h = seen.odom.iter().map(|o| o.2).fold(f64::INFINITY, f64::min);
    let max_tilt = seen.odom.iter().map(|o| o.3).fold(0.0, f64::max);
    let dx = seen.odom.last().unwrap().1 - x_trot;
    eprintln!(
        "{n} odometry samples from t = {t_up:.3} to {:.3} s: min height {min_h:.3} m, max tilt {:.1}°, trot advance {dx:.3} m; \
         {} effort commands, {} SolveStats",
        seen.t(),
        max_tilt.to_degrees(),
        seen.efforts,
        seen.stats.len()
    );
    assert!(min_h > 0.2, "trunk fell to {min_h:.3} m");
    assert!(max_tilt < 0.35, "tilted {:.1}°", max_tilt.to_degrees());
    // Trotted forward.
    assert!(dx > 0.4, "moved {dx:.3} m in {TROT_S} s of trot at {VX} m/s");
    // Every command was 12 named, finite torques; about one per 2 ms sample.
    assert!(seen.bad_efforts.is_empty(), "bad effort commands: {:?}", seen.bad_efforts);
    assert!((seen.efforts - efforts_up) as f64 > 0.8 * span / 0.002, "{} effort commands", seen.efforts);
    // SolveStats: one per 25 ms MPC period, OSQP, solved, no fallback.
    let k = seen.stats.len() as f64;
    assert!((seen.stats.len() - stats_up) as f64 > 0.8 * span / 0.025, "{k} SolveStats");
    assert!(seen.stats.iter().all(|s| s.solver == "osqp" && !s.fallback), "fallbacks in {:?}", seen.stats.len());
    let solved = seen.stats.iter().filter(|s| s.status == "Solved").count() as f64;
    assert!(solved >= 0.95 * k, "{solved} of {k} solved");
    assert!(seen.stats.iter().all(|s| s.solve_time_s.is_finite() && s.primal_residual.is_finite()));
    // Diagnostics: malformed inputs counted, none from the controller's own checks.
    assert_eq!(value(&diag, "controller_invalid"), Some(0.0), "{diag:?}");
    assert_eq!(value(&diag, "fallbacks"), Some(0.0), "{diag:?}");
    assert_eq!(value(&diag, "malformed_joint_states"), Some(3.0), "{diag:?}");
    assert_eq!(value(&diag, "malformed_cmd_vel"), Some(1.0), "{diag:?}");
    // The MPC thread kept up: nearly every job finished, few ticks without a young enough
    // solution (the first ticks and the switch to the trot), solutions in use at most the
    // limit (2 MPC periods) old; the loop's step times are reported.
    let get = |k: &str| value(&diag, k).unwrap_or_else(|| panic!("no {k} in {diag:?}"));
    let (solves, finished, stale_solutions) = (get("solves"), get("solves_finished"), get("stale_solutions"));
    eprintln!(
        "MPC thread: {solves} solves started, {finished} finished, {stale_solutions} stale-solution ticks, \
         max age {} µs; ticks {}, p99 {} µs, max {} µs, {} deadline misses",
        get("max_solution_age_us"),
        get("ticks"),
        get("tick_p99_us"),
        get("tick_max_us"),
        get("deadline_misses")
    );
    assert!(solves > 100.0 && finished >= solves - 2.0, "{diag:?}");
    assert!(stale_solutions <= 20.0, "{diag:?}");
    let max_age = get("max_solution_age_us");
    assert!((25_000.0..=50_000.0).contains(&max_age), "{diag:?}");
    assert!(get("ticks") > 0.0 && get("tick_p99_us") > 0.0 && get("tick_max_us") >= get("tick_p99_us"));
    let prio = get("rt_priority");
    assert!(prio == 10.0 || prio < 0.0, "rt_priority {prio}: neither applied (10) nor refused (−errno)");
    assert!(diag.values.iter().any(|kv| kv.key == "last_error" && !kv.value.is_empty()), "{diag:?}");
    let sim_diag = seen.sim_diag.clone().expect("sim diagnostics");
    assert_eq!(value(&sim_diag, "malformed"), Some(0.0), "{sim_diag:?}");
    assert_eq!(value(&sim_diag, "lockstep_timeouts"), Some(0.0), "{sim_diag:?}");

    // TF: one odom → base_link transform per sample, the ground truth: within the odometry's
    // noise (1 mm position σ, ~0 orientation noise) of the odometry with the same stamp.
    let mut matched_tf = 0;
    let (mut max_dp, mut max_dq) = (0.0f64, 0.0f64);
    for (stamp, tf, frame, child) in &seen.tf_poses {
        assert_eq!((frame.as_str(), child.as_str()), ("odom", "base_link"));
        let Some(od) = seen.odom_poses.get(stamp) else { continue };
        matched_tf += 1;
        max_dp = max_dp.max((0..3).map(|i| (tf[i] - od[i]).powi(2)).sum::<f64>().sqrt());
        let dot: f64 = (3..7).map(|i| tf[i] * od[i]).sum();
        max_dq = max_dq.max(2.0 * dot.abs().min(1.0).acos());
    }
    eprintln!(
        "tf: {} transforms, {matched_tf} with an odometry of the same stamp; largest difference {:.2} mm, {:.3}°",
        seen.tf_poses.len(),
        max_dp * 1e3,
        max_dq.to_degrees()
    );
    assert!(
        matched_tf as f64 > 0.8 * seen.odom_poses.len() as f64,
        "{matched_tf} of {} odometry stamps in /tf",
        seen.odom_poses.len()
    );
    assert!(max_dp < 0.01 && max_dq < 0.02, "tf vs odometry: {max_dp} m, {max_dq} rad");

    // E-stop mid-trot: latched damping stop (WARN, `estop` 1), every torque within half its
    // motor limit; a reset hands back to the MPC.
    estop_pub.publish(&BoolMsg { data: true }).unwrap();
    let t_stop = seen.t();
    let stopped = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        seen.controller_diag
            .as_ref()
            .filter(|s| value(s, "estop") == Some(1.0) && value(s, "estop_ticks").unwrap_or(0.0) > 0.0)
            .cloned()
    });
    let Some(stopped) = stopped else { panic!("no e-stop in the diagnostics: {:?}", seen.controller_diag) };
    assert_eq!(stopped.level, 1, "WARN while e-stopped: {stopped:?}");
    seen.max_effort = [0.0; 12];
    estop_pub.publish(&BoolMsg { data: false }).unwrap(); // does not release it
    let t_check = seen.t() + 0.5;
    assert!(
        spin_until(&mut node, TIMEOUT, || {
            collect(&mut seen);
            (seen.t() >= t_check).then_some(())
        })
        .is_some()
    );
    let limits = [23.7, 23.7, 35.55];
    for (j, m) in seen.max_effort.iter().enumerate() {
        assert!(*m <= 0.5 * limits[j % 3] + 1e-9, "joint {j}: {m} N·m during the e-stop");
    }
    eprintln!("e-stop from t = {t_stop:.3} s: largest |effort| {:?} N·m", seen.max_effort);
    let latched = seen.controller_diag.clone().unwrap();
    assert_eq!(value(&latched, "estop"), Some(1.0), "still latched: {latched:?}");
    reset_pub.publish(&EmptyMsg::default()).unwrap();
    let released = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        seen.controller_diag.as_ref().filter(|s| value(s, "estop") == Some(0.0)).cloned()
    });
    assert!(released.is_some(), "estop_reset did not release: {:?}", seen.controller_diag);

    // The same through the Trigger services ~/estop and ~/estop_reset.
    let srv = |name: &str| format!("{ns}/spikectl_quadruped/{name}");
    let estop_cli = node.create_client::<Trigger::Service>(&srv("estop"), QosProfile::default()).unwrap();
    let reset_cli = node.create_client::<Trigger::Service>(&srv("estop_reset"), QosProfile::default()).unwrap();
    // (Not collecting while waiting: the answer takes milliseconds, the queues are deep.)
    let call = |node: &mut r2r::Node, cli: &r2r::Client<Trigger::Service>, what: &str| {
        let mut avail = Box::pin(r2r::Node::is_available(cli).unwrap());
        let up = spin_until(node, TIMEOUT, || futures::FutureExt::now_or_never(&mut avail));
        assert!(up.is_some(), "service {what} not available");
        let mut fut = Box::pin(cli.request(&Trigger::Request::default()).unwrap());
        let r = spin_until(node, TIMEOUT, || futures::FutureExt::now_or_never(&mut fut));
        let r = r.unwrap_or_else(|| panic!("no answer from {what}")).unwrap();
        eprintln!("{what}: success {}, {:?}", r.success, r.message);
        assert!(r.success && !r.message.is_empty(), "{what}: {r:?}");
    };
    call(&mut node, &estop_cli, "~/estop");
    let by_service = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        seen.controller_diag.as_ref().filter(|s| value(s, "estop") == Some(1.0)).cloned()
    });
    assert!(by_service.is_some(), "~/estop did not engage: {:?}", seen.controller_diag);
    call(&mut node, &reset_cli, "~/estop_reset");
    let released = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        seen.controller_diag.as_ref().filter(|s| value(s, "estop") == Some(0.0)).cloned()
    });
    assert!(released.is_some(), "~/estop_reset did not release: {:?}", seen.controller_diag);

    // The simulator stops: the state goes stale (1 s) and the controller sends its safe command
    // (finite torques, stamped with the last state) every tick, counted, and keeps running.
    drop(sim);
    let efforts_before = seen.efforts;
    let stale_before = seen.controller_diag.as_ref().and_then(|s| value(s, "stale_ticks")).unwrap_or(0.0);
    let stale = spin_until(&mut node, TIMEOUT, || {
        collect(&mut seen);
        // The diagnostics may report the stale ticks before their commands are delivered.
        let commands = seen.efforts >= efforts_before + 10;
        seen.controller_diag
            .as_ref()
            .filter(|s| commands && s.level != 0 && value(s, "stale_ticks").unwrap_or(0.0) >= stale_before + 10.0)
            .cloned()
    });
    let Some(stale) = stale else { panic!("no stale_ticks after the sim stopped: {:?}", seen.controller_diag) };
    // WARN while stale; ERROR instead if getting up after the e-stop tipped it over (a fall,
    // latched until reset).
    let fault = stale.values.iter().find(|kv| kv.key == "fault").map(|kv| kv.value.clone());
    let want = if fault.as_deref() == Some("none") { 1 } else { 2 };
    assert_eq!(stale.level, want, "stale with fault {fault:?}: {stale:?}");
    assert!(seen.efforts >= efforts_before + 10, "safe commands keep coming");
    assert!(seen.bad_efforts.is_empty(), "bad effort commands: {:?}", seen.bad_efforts);
    assert!(alive(&mut controller), "spikectl-quadruped died: {}", stderr_of(&mut controller));

    // SIGTERM: the node stops its real-time loop and MPC thread and exits cleanly.
    let (code, err) = terminate(&mut controller);
    assert_eq!(code, Some(0), "exit after SIGTERM: {err}");
    assert!(err.contains("stopped:") && err.contains("MPC solves started"), "{err}");
}

/// A stamp in nanoseconds (exact, for matching messages of one sample).
fn ns_of(t: &r2r::builtin_interfaces::msg::Time) -> i64 {
    t.sec as i64 * 1_000_000_000 + t.nanosec as i64
}

/// Sends SIGTERM and waits (up to [`TIMEOUT`]) for the exit; returns the exit code (None if
/// killed by a signal) and the process's stderr.
fn terminate(c: &mut KillOnDrop) -> (Option<i32>, String) {
    let Some(mut p) = c.0.take() else { return (None, String::new()) };
    let ok = Command::new("kill").args(["-TERM", &p.id().to_string()]).status().is_ok_and(|s| s.success());
    assert!(ok, "kill -TERM failed");
    let end = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = p.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = p.kill();
            panic!("still running {TIMEOUT:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = p.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (status.code(), err)
}

#[test]
fn nodes_refuse_invalid_parameters() {
    ros_common::refuses(CONTROLLER, "solver:=cplex");
    ros_common::refuses(CONTROLLER, "stale_timeout_s:=-1.0");
    ros_common::refuses(CONTROLLER, "max_solution_age_periods:=0.0");
    ros_common::refuses(CONTROLLER, "rt_priority:=95");
    ros_common::refuses(SIM, "robot:=hexapod");
    ros_common::refuses(SIM, "real_time_factor:=-2.0");
    ros_common::refuses(env!("CARGO_BIN_EXE_spikectl-arm"), "force_setpoint_n:=1000.0");
    ros_common::refuses(env!("CARGO_BIN_EXE_spikectl-arm"), "rt_priority:=-1");
}

/// The product's main path over ROS: the spiking QP solver behind the MPC, trotting in place
/// from the start (`gait:=trot`) for ≥ 2.5 s of simulated time in lockstep. Runs in its own
/// namespace (tests of one binary run in parallel; the lockstep loops only read their own
/// namespace's topics, `/clock` only stamps messages).
#[test]
fn quadruped_nodes_trot_in_place_with_the_spiking_solver() {
    trot_in_place("spiking", true, None);
}

/// The same with Loihi 2 fixed point (`solver:=loihi2`), the MPC inside the real-time tick
/// (`mpc_thread:=false`) so that in lockstep every plan is applied at the tick it answers,
/// however long the fixed-point simulation takes on this CPU.
#[test]
fn quadruped_nodes_trot_in_place_with_loihi2() {
    trot_in_place("loihi2", false, None);
}

/// A quadruped that differs from the default (16 kg, 0.25 m legs) from its URDF alone, on
/// both nodes: the simulator builds its model from the file, the controller its model, and
/// they agree on the joint names the file gives.
#[test]
fn heavier_quadruped_from_its_urdf_trots_on_both_nodes() {
    let urdf = format!("{}/tests/data/heavy_quadruped.urdf", env!("CARGO_MANIFEST_DIR"));
    trot_in_place("osqp", true, Some(&urdf));
}

/// Both nodes in lockstep, trotting in place with `solver`; `robot_file` (a description file)
/// for both nodes, or the default robot.
fn trot_in_place(solver: &str, mpc_thread: bool, robot_file: Option<&str>) {
    let ctx = context(DOMAIN);
    let label = if robot_file.is_some() { format!("{solver}_file") } else { solver.to_string() };
    let mut node = r2r::Node::create(ctx, &format!("spikectl_quadruped_{label}_test"), "").unwrap();
    let ns = topic(&label);
    let robot = robot_file.map(|f| format!("robot_file:={f}"));
    let sub = |n: &str| format!("{ns}/{n}");
    let deep = QosProfile::default().keep_last(2000);
    let mut odom_sub = node.subscribe::<Odometry>(&sub("odom"), deep.clone()).unwrap();
    let mut stats_sub = node.subscribe::<SolveStats>(&sub("solve_stats"), deep.clone()).unwrap();
    let mut effort_sub = node.subscribe::<JointState>(&sub("effort_cmd"), deep).unwrap();
    let base = |extra: &[String]| -> Vec<String> {
        let mut a: Vec<String> = vec!["-r".into(), format!("__ns:={ns}")];
        a.extend(["-p".into(), format!("diagnostics_topic:={}", sub("diagnostics"))]);
        for e in extra {
            a.extend(["-p".into(), e.clone()]);
        }
        a
    };
    let _controller = spawn(
        CONTROLLER,
        &base(
            &[
                format!("solver:={solver}"),
                format!("mpc_thread:={mpc_thread}"),
                "gait:=trot".into(),
                "use_sim_time:=true".into(),
                "sensor_qos:=reliable".into(),
                "stale_timeout_s:=1.0".into(),
                format!("stats_topic:={}", sub("solve_stats")),
            ]
            .into_iter()
            .chain(robot.clone())
            .collect::<Vec<_>>(),
        ),
    );
    let _sim = spawn(
        SIM,
        &base(
            &[
                "lockstep:=true".into(),
                "lockstep_timeout_s:=10.0".into(),
                "real_time_factor:=0.0".into(),
                "seed:=5".into(),
                "duration_s:=30.0".into(),
                // Off the global /tf, which the stand-and-trot test reads with the same stamps.
                format!("tf_topic:={}", sub("tf")),
            ]
            .into_iter()
            .chain(robot)
            .collect::<Vec<_>>(),
        ),
    );
    let (mut odom, mut stats, mut efforts, mut bad) = (Vec::new(), Vec::new(), 0usize, 0usize);
    // DDS discovery may match our subscriptions late: the 2.5 s of trot are counted from the
    // moment all three streams (odometry, SolveStats, effort commands) have delivered.
    let mut t_first: Option<f64> = None;
    let mut odom_first = 0;
    let done = spin_until(&mut node, TIMEOUT, || {
        for o in drain(&mut odom_sub) {
            let p = &o.pose.pose;
            let q = [p.orientation.w, p.orientation.x, p.orientation.y, p.orientation.z];
            odom.push((stamp_s(&o.header.stamp), p.position.z, tilt_angle(&q)));
        }
        stats.extend(drain(&mut stats_sub));
        for e in drain(&mut effort_sub) {
            efforts += 1;
            bad += usize::from(e.effort.len() != 12 || e.effort.iter().any(|v| !v.is_finite()));
        }
        let t = odom.last().map(|o: &(f64, f64, f64)| o.0).unwrap_or(0.0);
        if t_first.is_none() && !stats.is_empty() && !odom.is_empty() && efforts > 0 {
            t_first = Some(t);
            (efforts, bad, odom_first) = (0, 0, odom.len());
        }
        t_first.is_some_and(|t0| t >= t0 + 2.5).then_some(())
    });
    assert!(done.is_some(), "simulated time stalled at {:?}", odom.last());
    let min_h = odom.iter().map(|o| o.1).fold(f64::INFINITY, f64::min);
    let max_tilt = odom.iter().map(|o| o.2).fold(0.0, f64::max);
    let fallbacks = stats.iter().filter(|s| s.fallback).count();
    let iters = stats.iter().map(|s| s.iterations as f64).sum::<f64>() / stats.len().max(1) as f64;
    eprintln!(
        "{solver}, from t = {:.2} s: {} odometry samples, min height {min_h:.3} m, max tilt {:.1}°, {} solves \
         (mean {iters:.0} iterations, {fallbacks} fallbacks), {efforts} effort commands",
        t_first.unwrap_or(0.0),
        odom.len(),
        max_tilt.to_degrees(),
        stats.len()
    );
    assert!(odom.len() - odom_first > 1000, "only {} odometry messages", odom.len() - odom_first);
    assert!(min_h > 0.2 && max_tilt < 0.35, "fell: min height {min_h:.3} m, tilt {:.1}°", max_tilt.to_degrees());
    // One MPC solve per 25 ms: about 100 over the 2.5 s counted. Under load DDS may match the
    // SolveStats subscription after the other two, so half of them is the bound.
    assert!(stats.len() >= 50 && stats.iter().all(|s| s.solver == solver), "{} SolveStats", stats.len());
    assert!(efforts > 1000, "{efforts} effort commands in 2.5 s of 2 ms samples");
    if solver != "osqp" {
        assert!(stats.iter().any(|s| s.timesteps > 0 && s.synops > 0), "spiking solves report operation counts");
    }
    assert!(fallbacks * 20 <= stats.len(), "{fallbacks} fallbacks in {} solves", stats.len());
    assert_eq!(bad, 0, "effort commands with NaN or the wrong length");
}
