//! The launch files under the real `ros2 launch`, as users run them.
//!
//! Every launch file runs from an ament prefix of this test build (scripts/ament_prefix.sh),
//! with launch arguments, and the tests check from the outside (ros2 CLI, an r2r node):
//! - `quadruped_sim.launch.py` (lockstep): `ros2 node list` shows the three nodes, odometry
//!   flows on the launch's namespace, the quadruped stays up, `ros2 param list/get/set` work
//!   (a live change applies, a static one or a bad value is refused with a reason), and Ctrl-C
//!   leaves the monitor's report folder and MCAP recording in the launch's working directory;
//! - `quadruped_sim.launch.py real_time_factor:=2.0` without lockstep: the robot stays up;
//! - `arm_sim.launch.py`: the arm settles on its force setpoint;
//! - `tracker.launch.py`: the tracker publishes tracks of the simulated ball;
//! - a required node that exits shuts the launch down.
//!
//! Each ends with SIGINT to `ros2 launch`, which must stop everything with exit code 0 and
//! each node's one-line summary, and no "process has died". The launches run one at a time.
//!
//! `ros2 launch` comes from scripts/setup.sh (the vendored launch/ros2cli sources in
//! `.deps/ros2-launch`, or `SPIKECTL_ROS2_LAUNCH_DIR`) or, failing that, from a `ros2` on PATH.
//! Without either the test prints why and passes without running (skipped). The ament prefix
//! is `SPIKECTL_AMENT_PREFIX` (scripts/test.sh makes it) or one made here in a temporary folder.

mod ros_common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use r2r::QosProfile;
use r2r::geometry_msgs::msg::WrenchStamped;
use r2r::nav_msgs::msg::Odometry;
use r2r::spikectl_msgs::msg::TrackEstimate;
use ros_common::{KillOnDrop, context, drain, spin_until};
use spikectl::ros::inputs::stamp_s;
use spikectl_sim::quadruped::tilt_angle;

/// ROS domain of this test binary.
const DOMAIN: u32 = 92;
/// ROS domain of the launch whose controller fails (its simulator must not meet the other's).
const DOMAIN_FAIL: u32 = 93;
const SIM: &str = env!("CARGO_BIN_EXE_spikectl-sim");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Simulated time the quadruped must stay up under launch [s].
const STAND_S: f64 = 3.0;
/// Simulated time by which the arm has settled on its force setpoint [s].
const ARM_SETTLE_S: f64 = 3.0;

/// The environment of the `ros2` processes: PATH, PYTHONPATH, AMENT_PREFIX_PATH and
/// LD_LIBRARY_PATH with the launch packages and the spikectl prefix in front.
struct Ros2Env {
    vars: Vec<(&'static str, OsString)>,
    _tmp: Option<TempDir>,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn prepend(var: &str, dirs: &[PathBuf]) -> OsString {
    let mut parts: Vec<PathBuf> = dirs.to_vec();
    if let Some(old) = std::env::var_os(var) {
        parts.extend(std::env::split_paths(&old));
    }
    std::env::join_paths(parts).expect("paths without ':'")
}

fn on_path(exe: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(exe).is_file()))
}

/// Finds `ros2 launch` and makes the spikectl prefix; `Err(reason)` to skip.
fn ros2_env() -> Result<Ros2Env, String> {
    let vendored = std::env::var_os("SPIKECTL_ROS2_LAUNCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join(".deps/ros2-launch"));
    let mut ament = Vec::new();
    let mut python = Vec::new();
    let mut ld = Vec::new();
    let mut path = Vec::new();
    if vendored.join("site/bin/ros2").is_file() {
        ament.extend([vendored.join("install"), vendored.join("site")]);
        python.extend([vendored.join("install/lib/python3.11/site-packages"), vendored.join("site")]);
        ld.push(vendored.join("install/lib"));
        path.push(vendored.join("site/bin"));
    } else if !on_path("ros2") {
        return Err(format!(
            "no `ros2 launch`: neither {} (scripts/setup.sh with the vendor folder) nor `ros2` on PATH",
            vendored.display()
        ));
    }
    let (prefix, tmp) = match std::env::var_os("SPIKECTL_AMENT_PREFIX") {
        Some(p) => (PathBuf::from(p), None),
        None => {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let k = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("spikectl-ament-{}-{k}", std::process::id()));
            let bins = Path::new(SIM).parent().expect("binary folder");
            let st = Command::new(Path::new(ROOT).join("scripts/ament_prefix.sh"))
                .arg(bins)
                .arg(&dir)
                .stdout(Stdio::null())
                .status()
                .expect("running scripts/ament_prefix.sh");
            assert!(st.success(), "scripts/ament_prefix.sh failed: {st}");
            (dir.clone(), Some(TempDir(dir)))
        }
    };
    assert!(
        prefix.join("share/ament_index/resource_index/packages/spikectl").is_file(),
        "{} is not an ament prefix of spikectl (scripts/ament_prefix.sh)",
        prefix.display()
    );
    ament.insert(0, prefix);
    let vars = vec![
        ("AMENT_PREFIX_PATH", prepend("AMENT_PREFIX_PATH", &ament)),
        ("PYTHONPATH", prepend("PYTHONPATH", &python)),
        ("LD_LIBRARY_PATH", prepend("LD_LIBRARY_PATH", &ld)),
        ("PATH", prepend("PATH", &path)),
        ("ROS_DOMAIN_ID", DOMAIN.to_string().into()),
        // Unbuffered Python: launch's own log lines arrive in order with the nodes' output.
        ("PYTHONUNBUFFERED", "1".into()),
    ];
    Ok(Ros2Env { vars, _tmp: tmp })
}

/// [`ros2_env`], or `None` after printing why test `name` is skipped.
fn ros2_env_or_skip(name: &str) -> Option<Ros2Env> {
    ros2_env().map_err(|reason| eprintln!("SKIPPED {name}: {reason}")).ok()
}

impl Ros2Env {
    fn ros2(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ros2");
        c.args(args).envs(self.vars.iter().map(|(k, v)| (*k, v))).stdin(Stdio::null());
        c
    }

    /// `ros2 <args>` to completion: (success, stdout + stderr). Without the daemon, the CLI
    /// discovers the graph anew each call and may not see a node yet on a loaded machine
    /// ("Node not found"): such a call is repeated, up to three times.
    fn run(&self, args: &[&str]) -> (bool, String) {
        let mut attempt = 0;
        loop {
            let out = self.ros2(args).output().unwrap_or_else(|e| panic!("cannot run ros2 {args:?}: {e}"));
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            attempt += 1;
            if attempt == 3 || !text.contains("Node not found") {
                return (out.status.success(), text);
            }
        }
    }
}

/// Waits up to `timeout` for the child to exit.
fn wait_exit(child: &mut KillOnDrop, timeout: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + timeout;
    let c = child.0.as_mut()?;
    while Instant::now() < end {
        if let Some(s) = c.try_wait().expect("wait") {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// One `ros2 launch` at a time in this binary: each starts a simulator and controllers, and
/// two at once on a small machine would starve each other's real-time loops.
static LAUNCH_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A running `ros2 launch`, its output going to a log file, in a working directory of its
/// own (where the monitor writes its report folder, `out/monitor/` in the launch YAML).
struct Launch {
    child: KillOnDrop,
    pid: libc::pid_t,
    log: PathBuf,
    cwd: TempDir,
    t0: Instant,
}

impl Launch {
    fn start(env: &Ros2Env, args: &[&str]) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let k = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!("spikectl-ros-launch-{}-{k}.log", std::process::id()));
        let file = std::fs::File::create(&log).expect("log file");
        let cwd = TempDir(std::env::temp_dir().join(format!("spikectl-ros-launch-cwd-{}-{k}", std::process::id())));
        std::fs::create_dir_all(&cwd.0).expect("launch working directory");
        let mut all = vec!["launch", "spikectl"];
        all.extend_from_slice(args);
        let child = env
            .ros2(&all)
            .current_dir(&cwd.0)
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("cannot start ros2 launch");
        let pid = child.id() as libc::pid_t;
        Self { child: KillOnDrop(Some(child)), pid, log, cwd, t0: Instant::now() }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGINT, as Ctrl-C sends it; the exit status (`None`: still running after 20 s) and the
    /// whole output.
    fn interrupt(&mut self) -> (Option<std::process::ExitStatus>, String) {
        // SAFETY: kill(2) on the pid of our own child process (not yet reaped).
        assert_eq!(unsafe { libc::kill(self.pid, libc::SIGINT) }, 0, "kill(SIGINT)");
        let status = wait_exit(&mut self.child, Duration::from_secs(20));
        let out = self.output();
        eprintln!("---- ros2 launch output ----\n{out}---- end ----");
        (status, out)
    }
}

impl Drop for Launch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Asserts a clean stop: exit 0, each node's end summary, no node died.
fn assert_clean_stop(status: Option<std::process::ExitStatus>, out: &str, nodes: &[&str]) {
    let status = status.expect("ros2 launch did not exit within 20 s of SIGINT");
    assert_eq!(status.code(), Some(0), "ros2 launch exit status after SIGINT: {status}");
    for node in nodes {
        assert!(out.contains(&format!("[{node}] stopped:")), "no end summary of {node} in the launch output");
    }
    assert!(!out.contains("process has died"), "a node died instead of stopping cleanly");
}

/// Odometry of the launch's quadruped: (stamp [s], height [m], tilt [rad]) over `span_s` of
/// simulated time counted from the first message this test receives (DDS may match the
/// subscription a few simulated seconds into the run on a loaded machine), or a panic with
/// the launch output after `timeout`.
fn odometry_for(launch: &Launch, ns: &str, span_s: f64, timeout: Duration) -> Vec<(f64, f64, f64)> {
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_launch_test", "").expect("test node");
    let mut odom_sub =
        node.subscribe::<Odometry>(&format!("/{ns}/odom"), QosProfile::default().keep_last(100)).expect("subscribe");
    let mut odom: Vec<(f64, f64, f64)> = Vec::new();
    let done = spin_until(&mut node, timeout, || {
        for o in drain(&mut odom_sub) {
            let p = &o.pose.pose;
            let q = [p.orientation.w, p.orientation.x, p.orientation.y, p.orientation.z];
            odom.push((stamp_s(&o.header.stamp), p.position.z, tilt_angle(&q)));
        }
        (odom.len() > 1 && odom[odom.len() - 1].0 - odom[0].0 >= span_s).then_some(())
    });
    assert!(
        done.is_some(),
        "no {span_s} s of odometry on /{ns}/odom within {timeout:?} ({} messages, from t = {:?} to {:?}); ros2 \
         launch output:\n{}",
        odom.len(),
        odom.first().map(|o| o.0),
        odom.last().map(|o| o.0),
        launch.output()
    );
    odom
}

/// Asserts the quadruped stayed up over `odom` (at least 30 samples).
fn assert_stayed_up(odom: &[(f64, f64, f64)], what: &str) {
    let n = odom.len();
    let min_h = odom.iter().map(|o| o.1).fold(f64::INFINITY, f64::min);
    let max_tilt = odom.iter().map(|o| o.2).fold(0.0, f64::max);
    eprintln!(
        "{what}: odometry to t = {:.2} s ({n} messages, min height {min_h:.3} m, max tilt {:.1}°)",
        odom.last().map_or(0.0, |o| o.0),
        max_tilt.to_degrees()
    );
    assert!(n >= 30, "{what}: only {n} odometry messages");
    assert!(
        min_h > 0.2 && max_tilt < 0.35,
        "{what}: fell under launch: min height {min_h:.3} m, tilt {:.1}°",
        max_tilt.to_degrees()
    );
}

/// `ros2 param …` against a running node: listing shows `expect_listed`; setting each
/// `(name, value)` of `accepted` succeeds and reads back; each of `refused` fails with a reason.
fn check_params(
    env: &Ros2Env,
    node: &str,
    expect_listed: &[&str],
    accepted: &[(&str, &str)],
    refused: &[(&str, &str)],
) {
    let (ok, list) = env.run(&["param", "list", node, "--no-daemon", "--spin-time", "3"]);
    assert!(ok, "ros2 param list {node}:\n{list}");
    for name in expect_listed {
        assert!(list.lines().any(|l| l.trim() == *name), "ros2 param list {node} lacks {name}:\n{list}");
    }
    for (name, value) in accepted {
        let (ok, out) = env.run(&["param", "set", node, name, value, "--no-daemon", "--spin-time", "3"]);
        assert!(ok && out.contains("Set parameter successful"), "ros2 param set {node} {name} {value}:\n{out}");
        let (ok, out) = env.run(&["param", "get", node, name, "--no-daemon", "--spin-time", "3"]);
        assert!(ok && out.contains(value), "ros2 param get {node} {name} after setting {value}:\n{out}");
    }
    for (name, value) in refused {
        let (_, out) = env.run(&["param", "set", node, name, value, "--no-daemon", "--spin-time", "3"]);
        assert!(
            out.contains("Setting parameter failed") && out.contains(name),
            "{node} {name} := {value} accepted:\n{out}"
        );
    }
}

#[test]
fn quadruped_sim_launch_runs_and_stops_cleanly() {
    let Some(env) = ros2_env_or_skip("quadruped_sim_launch_runs_and_stops_cleanly") else { return };
    let _one = LAUNCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (ok, help) = env.run(&["launch", "--help"]);
    assert!(ok, "`ros2 launch` is installed but does not run:\n{help}");

    let ns = format!("launch_test_{}", std::process::id());
    let ns_arg = format!("namespace:={ns}");
    let mut launch = Launch::start(&env, &["quadruped_sim.launch.py", "solver:=osqp", "lockstep:=true", &ns_arg]);
    let odom = odometry_for(&launch, &ns, STAND_S, Duration::from_secs(25));
    let t_odom = launch.t0.elapsed();

    // The nodes, as `ros2 node list` shows them (the launch is still running).
    // Discovery within one call's spin time can miss a node on a loaded machine: up to three
    // calls.
    let expected = [format!("/{ns}/spikectl_sim"), format!("/{ns}/spikectl_quadruped"), "/spikectl_monitor".into()];
    let mut listed = (false, String::new());
    for _ in 0..3 {
        listed = env.run(&["node", "list", "--no-daemon", "--spin-time", "3"]);
        if listed.0 && expected.iter().all(|n| listed.1.lines().any(|l| l.trim() == n.as_str())) {
            break;
        }
    }
    let (ok, nodes) = listed;
    let missing: Vec<&String> = expected.iter().filter(|n| !nodes.lines().any(|l| l.trim() == n.as_str())).collect();
    assert!(
        ok && missing.is_empty(),
        "ros2 node list is missing {missing:?}:\n{nodes}\nlaunch output:\n{}",
        launch.output()
    );

    // Parameters, live, on the three nodes at once (each `ros2 param` call is a Python process
    // that spins for discovery): the simulator's pacing changes, its robot is refused with a
    // reason; the controller's start-up parameters are refused; the monitor's deadline changes.
    let (sim, quadruped) = (format!("/{ns}/spikectl_sim"), format!("/{ns}/spikectl_quadruped"));
    std::thread::scope(|s| {
        s.spawn(|| {
            check_params(
                &env,
                &sim,
                &["real_time_factor", "robot", "lockstep", "seed"],
                &[("cmd_timeout_s", "0.2")],
                &[("robot", "arm"), ("real_time_factor", "-1.0"), ("no_such_parameter", "1")],
            )
        });
        s.spawn(|| {
            check_params(
                &env,
                &quadruped,
                &["solver", "gait", "control_period_s"],
                &[("diagnostics_period_s", "0.5")],
                &[("solver", "loihi2"), ("gait", "gallop")],
            )
        });
        s.spawn(|| {
            check_params(
                &env,
                "/spikectl_monitor",
                &["cpu_deadline_s", "chip_deadline_s", "stats_topic"],
                &[("chip_deadline_s", "0.002")],
                &[("stats_topic", "/elsewhere"), ("cpu_deadline_s", "0.0")],
            )
        });
    });
    let report = launch.cwd.0.join("out/monitor");
    let (status, out) = launch.interrupt();
    eprintln!(
        "ros2 launch: odometry after {:.1} s; nodes {:?}",
        t_odom.as_secs_f64(),
        nodes.lines().collect::<Vec<_>>()
    );
    assert_stayed_up(&odom, "quadruped_sim.launch.py lockstep:=true");
    assert_clean_stop(status, &out, &["spikectl_sim", "spikectl_quadruped", "spikectl_monitor"]);
    assert!(out.contains("solver osqp"), "the launch argument solver:=osqp did not reach the controller");
    assert!(out.contains("parameter cmd_timeout_s set to Double(0.2)"), "the simulator did not apply the change");
    // Ctrl-C left the monitor's report folder, naming the controller's entry, and its MCAP
    // recording, which an independent reader (the `mcap` Python package) opens.
    let md = std::fs::read_to_string(report.join("summary.md")).unwrap_or_default();
    let entry = format!("| /{ns}/spikectl_quadruped | osqp | cpu |");
    assert!(md.contains(&entry), "no {entry} row in {}/summary.md:\n{md}", report.display());
    for f in ["summary.json", "samples.csv", "latency.png", "energy.png", "hist_0.png"] {
        assert!(report.join(f).is_file(), "the report folder lacks {f}");
    }
    let script = "import sys\nfrom mcap.reader import make_reader\n\
n = sum(1 for s, c, m in make_reader(open(sys.argv[1], 'rb')).iter_messages() if c.topic == '/spikectl/solve_stats')\n\
print(n)\n";
    let rec = Command::new(ros_common::python())
        .args(["-c", script])
        .arg(report.join("monitor.mcap"))
        .output()
        .expect("the venv's python");
    let n: u64 = String::from_utf8_lossy(&rec.stdout).trim().parse().unwrap_or(0);
    assert!(
        rec.status.success() && n > 0,
        "the MCAP recording: {n} SolveStats; {}",
        String::from_utf8_lossy(&rec.stderr)
    );
}

/// Simulated time at twice the wall clock, without lockstep: the controller ticks on the
/// simulator's samples (`use_sim_time`), so the robot stays up.
#[test]
fn quadruped_sim_launch_at_twice_real_time_stays_up() {
    let Some(env) = ros2_env_or_skip("quadruped_sim_launch_at_twice_real_time_stays_up") else { return };
    let _one = LAUNCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let ns = format!("launch_rtf_{}", std::process::id());
    let ns_arg = format!("namespace:={ns}");
    let mut launch =
        Launch::start(&env, &["quadruped_sim.launch.py", "solver:=osqp", "real_time_factor:=2.0", &ns_arg]);
    let odom = odometry_for(&launch, &ns, 2.0 * STAND_S, Duration::from_secs(40));
    let (status, out) = launch.interrupt();
    assert_stayed_up(&odom, "quadruped_sim.launch.py real_time_factor:=2.0");
    assert!(out.contains("ticks on each sensor sample"), "the controller does not tick on simulated time");
    assert!(!out.contains("fell at"), "the simulator reports a fall");
    assert_clean_stop(status, &out, &["spikectl_sim", "spikectl_quadruped", "spikectl_monitor"]);
}

/// The arm under `ros2 launch`: it reaches its force setpoint on the table.
#[test]
fn arm_sim_launch_reaches_the_force_setpoint() {
    let Some(env) = ros2_env_or_skip("arm_sim_launch_reaches_the_force_setpoint") else { return };
    let _one = LAUNCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let ns = format!("launch_arm_{}", std::process::id());
    let ns_arg = format!("namespace:={ns}");
    let mut launch = Launch::start(&env, &["arm_sim.launch.py", "solver:=osqp", "lockstep:=true", &ns_arg]);
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_launch_arm_test", "").expect("test node");
    let mut sub = node
        .subscribe::<WrenchStamped>(&format!("/{ns}/wrench"), QosProfile::default().keep_last(1000))
        .expect("subscribe");
    // (stamp [s], normal force [N])
    let mut f: Vec<(f64, f64)> = Vec::new();
    // The mean normal force over the last 0.5 s once the stamps reach `t_s`.
    let mut force_at = |node: &mut r2r::Node, f: &mut Vec<(f64, f64)>, t_s: f64| {
        let done = spin_until(node, Duration::from_secs(40), || {
            f.extend(drain(&mut sub).iter().map(|w| (stamp_s(&w.header.stamp), w.wrench.force.z.abs())));
            f.last().is_some_and(|w| w.0 >= t_s).then_some(())
        });
        assert!(done.is_some(), "no wrench up to t = {t_s} s ({} messages):\n{}", f.len(), launch.output());
        let last: Vec<f64> = f.iter().filter(|w| w.0 >= t_s - 0.5).map(|w| w.1).collect();
        last.iter().sum::<f64>() / last.len() as f64
    };
    let at_5 = force_at(&mut node, &mut f, ARM_SETTLE_S);
    // Live reconfiguration: a new force setpoint through the parameter services.
    let arm = format!("/{ns}/spikectl_arm");
    check_params(
        &env,
        &arm,
        &["solver", "force_setpoint_n"],
        &[("force_setpoint_n", "10.0")],
        &[("solver", "loihi2"), ("force_setpoint_n", "100.0")],
    );
    let t_set = f.last().map_or(ARM_SETTLE_S, |w| w.0);
    let at_10 = force_at(&mut node, &mut f, t_set + 2.0);
    let (status, out) = launch.interrupt();
    eprintln!("arm_sim.launch.py: mean normal force {at_5:.2} N at 5 N, {at_10:.2} N after setting 10 N");
    assert!((at_5 - 5.0).abs() < 1.0, "force {at_5:.2} N, setpoint 5 N (arm.yaml)");
    assert!((at_10 - 10.0).abs() < 1.5, "force {at_10:.2} N after `ros2 param set … force_setpoint_n 10.0`");
    assert_clean_stop(status, &out, &["spikectl_sim", "spikectl_arm", "spikectl_monitor"]);
}

/// The tracker launch (simulated event camera → tracker → monitor) publishes tracks.
#[test]
fn tracker_launch_publishes_tracks() {
    let Some(env) = ros2_env_or_skip("tracker_launch_publishes_tracks") else { return };
    let _one = LAUNCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut launch = Launch::start(&env, &["tracker.launch.py", "noise:=clean"]);
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_launch_tracker_test", "").expect("test node");
    let mut sub =
        node.subscribe::<TrackEstimate>("/spikectl/track", QosProfile::default().keep_last(1000)).expect("subscribe");
    let mut tracks: Vec<TrackEstimate> = Vec::new();
    let done = spin_until(&mut node, Duration::from_secs(30), || {
        tracks.extend(drain(&mut sub));
        (tracks.iter().filter(|t| t.confidence > 0.0).count() >= 50).then_some(())
    });
    check_params(
        &env,
        "/spikectl_events",
        &["real_time_factor", "noise", "raw_file"],
        &[("pause_s", "0.1")],
        &[("noise", "clean"), ("pause_s", "-1.0")],
    );
    check_params(
        &env,
        "/spikectl_tracker",
        &["arithmetic", "refine", "idle_flush_s"],
        &[("idle_flush_s", "0.1")],
        &[("arithmetic", "loihi2")],
    );
    let (status, out) = launch.interrupt();
    let confident = tracks.iter().filter(|t| t.confidence > 0.0).count();
    eprintln!("tracker.launch.py: {} track messages, {confident} with a position", tracks.len());
    assert!(done.is_some(), "only {confident} confident tracks in 30 s ({} messages)", tracks.len());
    assert!(tracks.iter().all(|t| t.x.is_finite() && t.y.is_finite()), "a track with a non-finite position");
    assert_clean_stop(status, &out, &["spikectl_events", "spikectl_tracker", "spikectl_monitor"]);
    assert!(out.contains("parameter pause_s set to Double(0.1)"), "the event source did not apply the change");
}

/// `package.xml` is a valid, complete manifest for catkin_pkg (what colcon and `ros2 pkg xml`
/// parse), with the ament_cargo build type and every launch file's runtime dependency.
#[test]
fn package_xml_parses_with_catkin_pkg() {
    let script = "import sys\n\
from catkin_pkg.package import parse_package\n\
p = parse_package(sys.argv[1])\n\
p.validate()\n\
deps = sorted(d.name for d in p.exec_depends + p.build_export_depends)\n\
print(p.name, p.version, p.get_build_type(), ' '.join(deps))\n";
    let out = Command::new(ros_common::python())
        .args(["-c", script, &format!("{ROOT}/package.xml")])
        .output()
        .expect("the venv's python (scripts/setup.sh)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "catkin_pkg rejects package.xml: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("spikectl 0.1.0 ament_cargo "), "{text}");
    for dep in ["launch_ros", "spikectl_msgs", "event_camera_msgs", "nav_msgs"] {
        assert!(text.split_whitespace().any(|d| d == dep), "package.xml lacks a dependency on {dep}: {text}");
    }
}

/// A required node that exits (the controller refuses `solver:=foo`) shuts the launch down:
/// the simulator and monitor stop cleanly instead of holding at t = 0 forever.
#[test]
fn launch_shuts_down_when_a_required_node_exits() {
    let Some(env) = ros2_env_or_skip("launch_shuts_down_when_a_required_node_exits") else { return };
    let _one = LAUNCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let child = env
        .ros2(&["launch", "spikectl", "quadruped_sim.launch.py", "solver:=foo"])
        .env("ROS_DOMAIN_ID", DOMAIN_FAIL.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start ros2 launch");
    let mut launch = KillOnDrop(Some(child));
    let status = wait_exit(&mut launch, Duration::from_secs(25));
    let out = launch.0.take().expect("child").wait_with_output().expect("launch output");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(status.is_some(), "ros2 launch kept running after the controller exited:\n{text}");
    assert!(text.contains("was required: shutting down"), "no shutdown on the required node's exit:\n{text}");
    for node in ["spikectl_sim", "spikectl_monitor"] {
        assert!(text.contains(&format!("[{node}] stopped:")), "{node} did not stop cleanly:\n{text}");
    }
}
