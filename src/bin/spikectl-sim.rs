//! `spikectl-sim`: the headless MuJoCo quadruped ([`QuadrupedSim`], Go1-like) as a ROS 2 node.
//!
//! Publishes `/clock` (rosgraph_msgs/Clock) every physics step (2 ms) and, every
//! `sensor_period_s` of simulated time, `joint_states` (sensor_msgs/JointState), `imu`
//! (sensor_msgs/Imu) and `odom` (nav_msgs/Odometry, twist in the body frame), stamped with
//! simulated time and with seeded sensor noise. Subscribes `effort_cmd` (sensor_msgs/JointState
//! with `effort` [N·m]) and applies the newest valid command (by stamp); no command yet, or one older than
//! `cmd_timeout_s` of simulated time, means zero torque. A dropped sensor packet (noise model)
//! is simply not published.
//!
//! Pacing: `real_time_factor` (1 = real time, 0 = as fast as possible). `lockstep:=true`
//! waits, after each sensor sample, for the command that answers it (matched on
//! `header.stamp`, up to `lockstep_timeout_s` of wall time): deterministic closed loops at any
//! speed, like the in-process runner. `wait_for_command:=true` (default) holds the simulation
//! at t = 0 (republishing the first sample) until a controller answers.
//!
//! Run: `spikectl-sim --ros-args -p real_time_factor:=1.0 -p noise:=typical -p seed:=1`.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use r2r::QosProfile;
use r2r::nav_msgs::msg::Odometry;
use r2r::rosgraph_msgs::msg::Clock;
use r2r::sensor_msgs::msg::{Imu, JointState};
use spikectl::ros::diagnostics::{DiagnosticsPublisher, Level, StatusBuilder};
use spikectl::ros::params::{self, Check, ParamSpec};
use spikectl::ros::quadruped::{effort_from_msg, sensor_msgs, stamp_s};
use spikectl::ros::{drain, time_msg};
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::{QuadrupedSim, tilt_angle};
use spikectl_sim::robots::GO1;

const NODE: &str = "spikectl_sim";

const PARAMS: &[ParamSpec] = &[
    ParamSpec::double("real_time_factor", 1.0, 0.0, 1000.0, "Simulated/wall time ratio; 0 = as fast as possible"),
    ParamSpec::bool("lockstep", false, "Wait for the command answering each sensor sample"),
    ParamSpec::double("lockstep_timeout_s", 1.0, 1e-3, 60.0, "Longest wait for that command [s, wall]"),
    ParamSpec::bool("wait_for_command", true, "Hold at t = 0 until the first command arrives"),
    ParamSpec::double("sensor_period_s", 0.002, 1e-3, 1.0, "Sensor publishing period [s, simulated]"),
    ParamSpec::double("cmd_timeout_s", 0.1, 1e-3, 10.0, "Older command → zero torque [s, simulated]"),
    ParamSpec::string("noise", "typical", Check::OneOf(&["none", "typical"]), "Sensor noise model"),
    ParamSpec::int("seed", 1, 0, i64::MAX, "Sensor noise seed"),
    ParamSpec::double("duration_s", 0.0, 0.0, 1e7, "Stop after this simulated time [s]; 0 = run forever"),
    ParamSpec::string("diagnostics_topic", "/diagnostics", Check::Topic, "DiagnosticArray output topic"),
    ParamSpec::double("diagnostics_period_s", 1.0, 0.01, 60.0, "Diagnostics publishing period [s, wall]"),
];

fn log_every(n: u64, msg: impl FnOnce() -> String) {
    if n <= 10 || n.is_multiple_of(1000) {
        eprintln!("[{NODE}] {}", msg());
    }
}

/// Counters of the simulator node.
#[derive(Default)]
struct SimCounters {
    commands: u64,
    malformed: u64,
    zero_torque_steps: u64,
    lockstep_timeouts: u64,
    samples: u64,
}

/// The newest valid command: torques [N·m], its stamp [s], simulated time of receipt [s].
type Command = ([f64; 12], f64, f64);

/// Spins `node` for up to `timeout` and takes every effort command that arrived.
fn take_commands<S: futures::Stream<Item = JointState> + Unpin>(
    node: &mut r2r::Node,
    sub: &mut S,
    command: &mut Option<Command>,
    sim_t: f64,
    c: &mut SimCounters,
    timeout: Duration,
) -> Option<Command> {
    node.spin_once(timeout);
    for m in drain(sub) {
        match effort_from_msg(&m) {
            Ok(tau) => {
                c.commands += 1;
                let stamp = stamp_s(&m.header.stamp);
                // Out of order (older than the command in force): ignored.
                if command.is_none_or(|(_, s, _)| stamp >= s) {
                    *command = Some((tau, stamp, sim_t));
                }
            }
            Err(e) => {
                c.malformed += 1;
                log_every(c.malformed, || format!("malformed effort_cmd #{}: {e}", c.malformed));
            }
        }
    }
    *command
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("spikectl-sim [--ros-args -p name:=value ... -r topic:=new_topic]\nparameters:");
        for p in PARAMS {
            println!("  {:<22} {:<32} {}", p.name, format!("{:?}", p.default), p.description);
        }
        return Ok(());
    }
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, NODE, "").context("creating the node")?;
    let p = params::declare(&mut node, PARAMS)?;
    let noise = if p.string("noise")? == "none" { SensorNoise::NONE } else { SensorNoise::TYPICAL };
    let mut sim = QuadrupedSim::new(&GO1, noise, p.int("seed")? as u64)?;
    let dt = sim.timestep();
    let every = ((p.double("sensor_period_s")? / dt).round() as u64).max(1);
    let rtf = p.double("real_time_factor")?;
    let lockstep = p.bool("lockstep")?;
    let lockstep_timeout = Duration::from_secs_f64(p.double("lockstep_timeout_s")?);
    let cmd_timeout = p.double("cmd_timeout_s")?;
    let duration = p.double("duration_s")?;

    let sensor_qos = QosProfile::default().keep_last(5);
    let clock_pub = node.create_publisher::<Clock>("/clock", QosProfile::default().keep_last(1))?;
    let joint_pub = node.create_publisher::<JointState>("joint_states", sensor_qos.clone())?;
    let imu_pub = node.create_publisher::<Imu>("imu", sensor_qos.clone())?;
    let odom_pub = node.create_publisher::<Odometry>("odom", sensor_qos)?;
    let mut cmd_sub = node.subscribe::<JointState>("effort_cmd", QosProfile::default().keep_last(10))?;
    let diag = DiagnosticsPublisher::new(&mut node, p.string("diagnostics_topic")?)?;
    let diag_period = Duration::from_secs_f64(p.double("diagnostics_period_s")?);
    eprintln!(
        "[{NODE}] timestep {dt} s, sensors every {every} steps, real-time factor {rtf}, lockstep {lockstep}, noise {}",
        p.string("noise")?
    );

    let mut c = SimCounters::default();
    let mut command: Option<Command> = None;
    let publish_sample = |sim: &mut QuadrupedSim, last: &mut Option<f64>, c: &mut SimCounters| -> Option<f64> {
        let s = sim.observe();
        if last.is_some_and(|t| t == s.t) {
            return None; // dropout: the noise model lost this packet
        }
        *last = Some(s.t);
        c.samples += 1;
        let (j, imu, odom) = sensor_msgs(&s);
        // IMU and odometry first: the controller releases a state once all three are in.
        for r in [imu_pub.publish(&imu), odom_pub.publish(&odom), joint_pub.publish(&j)] {
            if let Err(e) = r {
                log_every(1, || format!("cannot publish sensors: {e}"));
            }
        }
        Some(stamp_s(&j.header.stamp))
    };
    let publish_clock = |t: f64| {
        if let Err(e) = clock_pub.publish(&Clock { clock: time_msg(t) }) {
            log_every(1, || format!("cannot publish /clock: {e}"));
        }
    };

    // Hold at t = 0 until a controller answers.
    let mut last_sample = None;
    let mut pending = publish_sample(&mut sim, &mut last_sample, &mut c);
    publish_clock(0.0);
    if p.bool("wait_for_command")? {
        eprintln!("[{NODE}] holding at t = 0 until the first effort_cmd arrives");
        let mut next = Instant::now() + Duration::from_millis(50);
        while take_commands(&mut node, &mut cmd_sub, &mut command, 0.0, &mut c, Duration::from_millis(5)).is_none() {
            if Instant::now() >= next {
                next += Duration::from_millis(50);
                last_sample = None;
                pending = publish_sample(&mut sim, &mut last_sample, &mut c);
                publish_clock(0.0);
            }
        }
        eprintln!("[{NODE}] first command received, running");
    }

    let mut wall0 = Instant::now();
    let mut sim0 = sim.time();
    let mut next_diag = Instant::now() + diag_period;
    let (mut min_height, mut max_tilt) = (f64::INFINITY, 0.0f64);
    let mut k: u64 = 0;
    loop {
        // The command answering the newest sample (lockstep), else whatever is newest.
        if let (true, Some(stamp)) = (lockstep, pending) {
            let end = Instant::now() + lockstep_timeout;
            loop {
                let got =
                    take_commands(&mut node, &mut cmd_sub, &mut command, sim.time(), &mut c, Duration::from_millis(1));
                if got.is_some_and(|(_, s, _)| s >= stamp - 1e-6) {
                    break;
                }
                if Instant::now() >= end {
                    c.lockstep_timeouts += 1;
                    log_every(c.lockstep_timeouts, || {
                        format!("no command for the sample at t = {stamp:.3} s (timeout #{})", c.lockstep_timeouts)
                    });
                    break;
                }
            }
            // Lockstep time does not follow the wall clock.
            wall0 = Instant::now();
            sim0 = sim.time();
        }
        for _ in 0..every {
            let t = sim.time();
            let tau = match command {
                Some((tau, _, received)) if t - received <= cmd_timeout => tau,
                _ => {
                    c.zero_torque_steps += 1;
                    [0.0; 12]
                }
            };
            sim.set_torques(&tau);
            sim.step();
            k += 1;
            let t = sim.time();
            publish_clock(t);
            let truth = sim.true_state();
            min_height = min_height.min(truth.base_pos[2]);
            max_tilt = max_tilt.max(tilt_angle(&truth.base_quat));
            // Pacing: spin (receiving commands) until the wall clock catches up.
            let wait = if rtf > 0.0 && !lockstep {
                let target = wall0 + Duration::from_secs_f64((t - sim0) / rtf);
                let now = Instant::now();
                if now > target + Duration::from_millis(50) {
                    // Far behind: do not burst to catch up.
                    wall0 = now;
                    sim0 = t;
                }
                target.saturating_duration_since(now)
            } else {
                Duration::ZERO
            };
            take_commands(&mut node, &mut cmd_sub, &mut command, t, &mut c, wait);
        }
        pending = publish_sample(&mut sim, &mut last_sample, &mut c);
        if Instant::now() >= next_diag {
            next_diag += diag_period;
            let level = if c.lockstep_timeouts > 0 || c.malformed > 0 { Level::Warn } else { Level::Ok };
            let status = StatusBuilder::new(format!("{NODE}: quadruped"), "mujoco")
                .level(level, if level == Level::Ok { "ok" } else { "malformed commands or lockstep timeouts" })
                .kv_f("sim_time_s", sim.time())
                .kv("steps", k)
                .kv("samples", c.samples)
                .kv("dropouts", sim.dropouts())
                .kv("commands", c.commands)
                .kv("malformed", c.malformed)
                .kv("zero_torque_steps", c.zero_torque_steps)
                .kv("lockstep_timeouts", c.lockstep_timeouts)
                .kv_f("min_height_m", min_height)
                .kv_f("max_tilt_rad", max_tilt)
                .build();
            if let Err(e) = diag.publish(time_msg(sim.time()), vec![status]) {
                log_every(1, || format!("cannot publish diagnostics: {e}"));
            }
        }
        if duration > 0.0 && sim.time() >= duration - 1e-9 {
            eprintln!(
                "[{NODE}] done: t = {:.3} s, min height {min_height:.3} m, max tilt {:.1}°",
                sim.time(),
                max_tilt.to_degrees()
            );
            return Ok(());
        }
    }
}
