//! The simulator node (`spikectl-sim`): the headless MuJoCo robots as a ROS 2 node: `robot:=quadruped` (default;
//! [`QuadrupedSim`], Go1-like) or `robot:=arm` ([`ArmSim`], Panda-like arm with a flange F/T
//! sensor over a table, starting with the tip 3 cm above the table at (0.5, 0) m).
//!
//! Publishes `/clock` (rosgraph_msgs/Clock) every physics step (quadruped 2 ms, arm 1 ms) and,
//! every `sensor_period_s` of simulated time (default: the robot's control period), for the
//! quadruped `joint_states` (sensor_msgs/JointState), `imu` (sensor_msgs/Imu) and `odom`
//! (nav_msgs/Odometry, twist in the body frame), for the arm `joint_states` and `wrench`
//! (geometry_msgs/WrenchStamped, contact wrench on the tool, world frame), stamped with
//! simulated time and with seeded sensor noise. Subscribes `effort_cmd` (sensor_msgs/JointState
//! with `effort` [N·m]) and applies the newest valid command (by stamp); no command yet, or one older than
//! `cmd_timeout_s` of simulated time, means zero torque. A dropped sensor packet (noise model)
//! is simply not published.
//!
//! TF: with each quadruped sample the node also publishes the **ground-truth** base pose as
//! the transform `odom` → `base_link` (tf2_msgs/TFMessage on `tf_topic`, default `/tf`;
//! empty = off), stamped like the sample. The simulator owns this transform: it is the
//! world the robot moves in (the noisy `odom` message is the robot's own measurement of
//! it). It owns `joint_states` too (it is the robot's hardware). The arm is fixed to the
//! world: no TF.
//!
//! Pacing: `real_time_factor` (1 = real time, 0 = as fast as possible). `lockstep:=true`
//! waits, after each sensor sample, for the command that answers it (matched on
//! `header.stamp`, up to `lockstep_timeout_s` of wall time): deterministic closed loops at any
//! speed, like the in-process runner. `wait_for_command:=true` (default) holds the simulation
//! at t = 0 (republishing the first sample) until a controller answers.
//!
//! Run: `spikectl-sim --ros-args -p real_time_factor:=1.0 -p noise:=typical -p seed:=1`.

use std::time::{Duration, Instant};

use crate::control::arm::ArmControllerConfig;
use crate::control::quadruped::QuadrupedControllerConfig;
use crate::ros::arm::{ARM_DOF, arm_effort_from_msg, arm_sensor_msgs};
use crate::ros::diagnostics::{DiagnosticsPublisher, Level, StatusBuilder};
use crate::ros::inputs::log_every;
use crate::ros::inputs::{InputError, stamp_s};
use crate::ros::joints;
use crate::ros::param_server::ParamServer;
use crate::ros::params::{self, Check, ParamSpec, Value};
use crate::ros::quadruped::sensor_msgs_named;
use crate::ros::{drain, time_msg};
use crate::scenario::{ARM_CONTACT_XY, FALL_HEIGHT, FALL_TILT};
use anyhow::Context as _;
use r2r::QosProfile;
use r2r::geometry_msgs::msg::WrenchStamped;
use r2r::nav_msgs::msg::Odometry;
use r2r::rosgraph_msgs::msg::Clock;
use r2r::sensor_msgs::msg::{Imu, JointState};
use r2r::tf2_msgs::msg::TFMessage;
use spikectl_robot::robots::ARM_SCENE;
use spikectl_sim::arm::ArmSim;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::{QuadrupedSim, tilt_angle};

const NODE: &str = "spikectl_sim";

/// The transform `odom` → `base_link` at time `t` [s]: base position `pos` [m] and
/// orientation `quat` (w, x, y, z; body → world).
pub fn base_transform(t: f64, pos: &[f64; 3], quat: &[f64; 4]) -> r2r::geometry_msgs::msg::TransformStamped {
    use r2r::geometry_msgs::msg::{Quaternion, Transform, TransformStamped, Vector3};
    use r2r::std_msgs::msg::Header;
    let [w, x, y, z] = *quat;
    TransformStamped {
        header: Header { stamp: time_msg(t), frame_id: "odom".into() },
        child_frame_id: "base_link".into(),
        transform: Transform {
            translation: Vector3 { x: pos[0], y: pos[1], z: pos[2] },
            rotation: Quaternion { x, y, z, w },
        },
    }
}

/// Height of the arm's tool tip above the table at start (as the in-process runner) [m].
const ARM_START_CLEARANCE: f64 = 0.03;

/// The parameters `ros2 param set` may change while the simulator runs.
const LIVE: &[&str] =
    &["real_time_factor", "lockstep_timeout_s", "cmd_timeout_s", "duration_s", "diagnostics_period_s"];

const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("robot", "quadruped", Check::OneOf(&["quadruped", "arm"]), "Which robot to simulate"),
    ParamSpec::double("real_time_factor", 1.0, 0.0, 1000.0, "Simulated/wall time ratio; 0 = as fast as possible"),
    ParamSpec::bool("lockstep", false, "Wait for the command answering each sensor sample"),
    ParamSpec::double("lockstep_timeout_s", 1.0, 1e-3, 60.0, "Longest wait for that command [s, wall]"),
    ParamSpec::bool("wait_for_command", true, "Hold at t = 0 until the first command arrives"),
    ParamSpec::double("sensor_period_s", 0.0, 0.0, 1.0, "Sensor period [s, simulated]; 0 = the control period"),
    ParamSpec::double("cmd_timeout_s", 0.1, 1e-3, 10.0, "Older command → zero torque [s, simulated]"),
    ParamSpec::string("noise", "typical", Check::OneOf(&["none", "typical"]), "Sensor noise model"),
    ParamSpec::int("seed", 1, 0, i64::MAX, "Sensor noise seed"),
    ParamSpec::double("duration_s", 0.0, 0.0, 1e7, "Stop after this simulated time [s]; 0 = run forever"),
    ParamSpec::string("diagnostics_topic", "/diagnostics", Check::Topic, "DiagnosticArray output topic"),
    ParamSpec::double("diagnostics_period_s", 1.0, 0.01, 60.0, "Diagnostics publishing period [s, wall]"),
    ParamSpec::string(
        "robot_file",
        "",
        Check::Any,
        "Robot description: YAML (robot/descriptions/*.yaml format) or URDF (name ending in .urdf), of the kind `robot` names; empty = the shipped default robot",
    ),
    ParamSpec::string(
        "robot_description",
        "",
        Check::Any,
        "Robot description as URDF text; used instead of robot_file; empty = off",
    ),
    ParamSpec::string(
        "robot_overlay",
        "",
        Check::Any,
        "YAML overlay completing a URDF (keys of a description file); empty = the shipped defaults",
    ),
    ParamSpec::string(
        "tf_topic",
        "/tf",
        Check::OptionalTopic,
        "Quadruped: ground-truth odom → base_link transform (tf2_msgs/TFMessage) per sample; empty = off",
    ),
];

/// Counters of the simulator node.
#[derive(Default)]
struct SimCounters {
    commands: u64,
    malformed: u64,
    zero_torque_steps: u64,
    lockstep_timeouts: u64,
    samples: u64,
}

/// A simulated robot with its ROS publishers.
trait SimRobot {
    /// Simulated time [s].
    fn time(&self) -> f64;
    /// Physics timestep [s].
    fn timestep(&self) -> f64;
    /// Control period of the robot's controller [s].
    fn control_period(&self) -> f64;
    /// Applies torques [N·m] (`None`: zero torque) and advances one physics step.
    fn step(&mut self, tau: Option<&[f64]>);
    /// Checks an effort command and returns the torques in joint order [N·m].
    fn parse_command(&self, m: &JointState) -> Result<Vec<f64>, InputError>;
    /// Observes (with noise) and publishes the sensor messages; the published stamp [s], or
    /// `None` on a dropout (nothing published).
    fn publish_sample(&mut self) -> Option<f64>;
    /// Lets the next [`SimRobot::publish_sample`] publish even if time has not advanced.
    fn forget_last_sample(&mut self);
    /// Health values for the diagnostics.
    fn report(&self, b: StatusBuilder) -> StatusBuilder;
    /// What went wrong with the robot itself (a fall), for an ERROR in the diagnostics.
    fn fault(&self) -> Option<String>;
    /// One line for the log at the end.
    fn summary(&self) -> String;
}

struct Quadruped {
    sim: QuadrupedSim,
    /// Joint names of the description, in state order.
    names: [String; 12],
    joint_pub: r2r::Publisher<JointState>,
    imu_pub: r2r::Publisher<Imu>,
    odom_pub: r2r::Publisher<Odometry>,
    tf_pub: Option<r2r::Publisher<TFMessage>>,
    last: Option<f64>,
    min_height: f64,
    max_tilt: f64,
    /// Simulated time and (height [m], tilt [rad]) of the first fall, if any.
    fell: Option<(f64, f64, f64)>,
}

impl SimRobot for Quadruped {
    fn time(&self) -> f64 {
        self.sim.time()
    }
    fn timestep(&self) -> f64 {
        self.sim.timestep()
    }
    fn control_period(&self) -> f64 {
        QuadrupedControllerConfig::default().control_period
    }
    fn step(&mut self, tau: Option<&[f64]>) {
        let mut t = [0.0; 12];
        if let Some(tau) = tau {
            t.iter_mut().zip(tau).for_each(|(a, b)| *a = *b);
        }
        self.sim.set_torques(&t);
        self.sim.step();
        let truth = self.sim.true_state();
        let (h, tilt) = (truth.base_pos[2], tilt_angle(&truth.base_quat));
        self.min_height = self.min_height.min(h);
        self.max_tilt = self.max_tilt.max(tilt);
        if self.fell.is_none() && (h < FALL_HEIGHT || tilt > FALL_TILT) {
            self.fell = Some((self.sim.time(), h, tilt));
            eprintln!(
                "[{NODE}] the quadruped fell at t = {:.3} s: trunk height {h:.3} m, tilt {:.1}°",
                self.sim.time(),
                tilt.to_degrees()
            );
        }
    }
    fn parse_command(&self, m: &JointState) -> Result<Vec<f64>, InputError> {
        joints::effort_from_msg(m, &self.names).map(|t| t.to_vec())
    }
    fn publish_sample(&mut self) -> Option<f64> {
        let s = self.sim.observe();
        if self.last.is_some_and(|t| t == s.t) {
            return None; // dropout: the noise model lost this packet
        }
        self.last = Some(s.t);
        let (j, imu, odom) = sensor_msgs_named(&s, &self.names);
        // IMU and odometry first: the controller releases a state once all three are in.
        for r in [self.imu_pub.publish(&imu), self.odom_pub.publish(&odom), self.joint_pub.publish(&j)] {
            if let Err(e) = r {
                log_every(NODE, 1, || format!("cannot publish sensors: {e}"));
            }
        }
        if let Some(tf) = &self.tf_pub {
            let truth = self.sim.true_state();
            let msg = TFMessage { transforms: vec![base_transform(s.t, &truth.base_pos, &truth.base_quat)] };
            if let Err(e) = tf.publish(&msg) {
                log_every(NODE, 1, || format!("cannot publish tf: {e}"));
            }
        }
        Some(stamp_s(&j.header.stamp))
    }
    fn forget_last_sample(&mut self) {
        self.last = None;
    }
    fn report(&self, b: StatusBuilder) -> StatusBuilder {
        b.kv("dropouts", self.sim.dropouts()).kv_f("min_height_m", self.min_height).kv_f("max_tilt_rad", self.max_tilt)
    }
    fn fault(&self) -> Option<String> {
        self.fell.map(|(t, h, tilt)| {
            format!(
                "fell at t = {t:.3} s (trunk height {h:.3} m < {FALL_HEIGHT} m or tilt {:.1}° > {:.1}°)",
                tilt.to_degrees(),
                FALL_TILT.to_degrees()
            )
        })
    }
    fn summary(&self) -> String {
        let fell = self.fell.map(|(t, ..)| format!(", FELL at t = {t:.3} s")).unwrap_or_default();
        format!("min height {:.3} m, max tilt {:.1}°{fell}", self.min_height, self.max_tilt.to_degrees())
    }
}

struct Arm {
    sim: ArmSim,
    names: [String; ARM_DOF],
    joint_pub: r2r::Publisher<JointState>,
    wrench_pub: r2r::Publisher<WrenchStamped>,
    last: Option<f64>,
    max_force: f64,
    last_force: f64,
    /// Simulated time and table force [N] of the first crash, if any.
    crashed: Option<(f64, f64)>,
}

/// Table contact force above which the arm counts as crashed into the table [N] (five times
/// the largest force setpoint of the arm scenarios).
const ARM_CRASH_FORCE_N: f64 = 100.0;

impl SimRobot for Arm {
    fn time(&self) -> f64 {
        self.sim.time()
    }
    fn timestep(&self) -> f64 {
        self.sim.timestep()
    }
    fn control_period(&self) -> f64 {
        ArmControllerConfig::default().control_period
    }
    fn step(&mut self, tau: Option<&[f64]>) {
        let mut t = [0.0; ARM_DOF];
        if let Some(tau) = tau {
            t.iter_mut().zip(tau).for_each(|(a, b)| *a = *b);
        }
        self.sim.set_torques(&t);
        self.sim.step();
        self.last_force = self.sim.table_contact_force()[2];
        self.max_force = self.max_force.max(self.last_force);
        let bad = !self.last_force.is_finite() || self.last_force > ARM_CRASH_FORCE_N;
        if self.crashed.is_none() && bad {
            self.crashed = Some((self.sim.time(), self.last_force));
            eprintln!("[{NODE}] the arm hit the table at t = {:.3} s: force {:.1} N", self.sim.time(), self.last_force);
        }
    }
    fn parse_command(&self, m: &JointState) -> Result<Vec<f64>, InputError> {
        arm_effort_from_msg(m, &self.names).map(|t| t.to_vec())
    }
    fn publish_sample(&mut self) -> Option<f64> {
        let s = self.sim.observe();
        if self.last.is_some_and(|t| t == s.t) {
            return None;
        }
        self.last = Some(s.t);
        let (j, w) = arm_sensor_msgs(&s, &self.names);
        for r in [self.wrench_pub.publish(&w), self.joint_pub.publish(&j)] {
            if let Err(e) = r {
                log_every(NODE, 1, || format!("cannot publish sensors: {e}"));
            }
        }
        Some(stamp_s(&j.header.stamp))
    }
    fn forget_last_sample(&mut self) {
        self.last = None;
    }
    fn report(&self, b: StatusBuilder) -> StatusBuilder {
        b.kv("dropouts", self.sim.dropouts())
            .kv_f("table_force_n", self.last_force)
            .kv_f("max_table_force_n", self.max_force)
            .kv_f("tip_z_m", self.sim.tip_pos()[2])
    }
    fn fault(&self) -> Option<String> {
        self.crashed.map(|(t, f)| format!("hit the table at t = {t:.3} s ({f:.1} N > {ARM_CRASH_FORCE_N} N)"))
    }
    fn summary(&self) -> String {
        let crashed = self.crashed.map(|(t, _)| format!(", CRASHED at t = {t:.3} s")).unwrap_or_default();
        format!("table force {:.2} N (max {:.2} N){crashed}", self.last_force, self.max_force)
    }
}

/// The newest valid command: torques [N·m], its stamp [s], simulated time of receipt [s].
type Command = (Vec<f64>, f64, f64);

/// Spins `node` for up to `timeout`, takes every effort command that arrived, and returns the
/// stamp of the command in force.
fn take_commands<S: futures::Stream<Item = JointState> + Unpin>(
    node: &mut r2r::Node,
    sub: &mut S,
    robot: &dyn SimRobot,
    command: &mut Option<Command>,
    c: &mut SimCounters,
    timeout: Duration,
) -> Option<f64> {
    node.spin_once(timeout);
    for m in drain(sub) {
        match robot.parse_command(&m) {
            Ok(tau) => {
                c.commands += 1;
                let stamp = stamp_s(&m.header.stamp);
                // Out of order (older than the command in force): ignored.
                if command.as_ref().is_none_or(|(_, s, _)| stamp >= *s) {
                    *command = Some((tau, stamp, robot.time()));
                }
            }
            Err(e) => {
                c.malformed += 1;
                log_every(NODE, c.malformed, || format!("malformed effort_cmd #{}: {e}", c.malformed));
            }
        }
    }
    command.as_ref().map(|c| c.1)
}

/// Runs the simulator node until `duration_s` (or forever).
pub fn run() -> anyhow::Result<()> {
    if params::print_help_if_asked("spikectl-sim [--ros-args -p name:=value ... -r topic:=new_topic]", PARAMS) {
        return Ok(());
    }
    super::shutdown::install().context("installing the SIGINT/SIGTERM handler")?;
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, NODE, "").context("creating the node")?;
    let p = params::declare(&mut node, PARAMS)?;
    let typical = p.string("noise")? == "typical";
    let seed = p.int("seed")? as u64;
    let sensor_qos = QosProfile::default().keep_last(5);
    let mut robot: Box<dyn SimRobot> = if p.string("robot")? == "arm" {
        let noise = if typical { SensorNoise::ARM_TYPICAL } else { SensorNoise::NONE };
        let desc = crate::ros::arm::arm_of(&p)?;
        let mut sim = ArmSim::new(&desc, &ARM_SCENE, noise, seed)?;
        sim.inverse_kinematics([ARM_CONTACT_XY[0], ARM_CONTACT_XY[1], ARM_SCENE.table_top_z + ARM_START_CLEARANCE]);
        Box::new(Arm {
            sim,
            names: desc.joint_names.map(String::from),
            joint_pub: node.create_publisher("joint_states", sensor_qos.clone())?,
            wrench_pub: node.create_publisher("wrench", sensor_qos)?,
            last: None,
            max_force: 0.0,
            last_force: 0.0,
            crashed: None,
        })
    } else {
        let noise = if typical { SensorNoise::TYPICAL } else { SensorNoise::NONE };
        let desc = crate::ros::quadruped::robot_of(&p)?;
        Box::new(Quadruped {
            sim: QuadrupedSim::new(&desc, noise, seed)?,
            names: desc.joint_names(),
            joint_pub: node.create_publisher("joint_states", sensor_qos.clone())?,
            imu_pub: node.create_publisher("imu", sensor_qos.clone())?,
            odom_pub: node.create_publisher("odom", sensor_qos)?,
            tf_pub: match p.string("tf_topic")? {
                "" => None,
                t => Some(node.create_publisher(t, QosProfile::default().keep_last(100))?),
            },
            last: None,
            min_height: f64::INFINITY,
            max_tilt: 0.0,
            fell: None,
        })
    };
    let dt = robot.timestep();
    let sensor_period = match p.double("sensor_period_s")? {
        x if x > 0.0 => x,
        _ => robot.control_period(),
    };
    let every = ((sensor_period / dt).round() as u64).max(1);
    let mut rtf = p.double("real_time_factor")?;
    let lockstep = p.bool("lockstep")?;
    let mut lockstep_timeout = Duration::from_secs_f64(p.double("lockstep_timeout_s")?);
    let mut cmd_timeout = p.double("cmd_timeout_s")?;
    let mut duration = p.double("duration_s")?;

    let clock_pub = node.create_publisher::<Clock>("/clock", QosProfile::default().keep_last(1))?;
    let mut cmd_sub = node.subscribe::<JointState>("effort_cmd", QosProfile::default().keep_last(10))?;
    let diag = DiagnosticsPublisher::new(&mut node, p.string("diagnostics_topic")?)?;
    let mut diag_period = Duration::from_secs_f64(p.double("diagnostics_period_s")?);
    let mut param_server = ParamServer::start(&mut node, PARAMS, &p, LIVE)?;
    eprintln!(
        "[{NODE}] {}: timestep {dt} s, sensors every {every} steps, real-time factor {rtf}, lockstep {lockstep}, noise {}",
        p.string("robot")?,
        p.string("noise")?
    );
    let publish_clock = |t: f64| {
        if let Err(e) = clock_pub.publish(&Clock { clock: time_msg(t) }) {
            log_every(NODE, 1, || format!("cannot publish /clock: {e}"));
        }
    };

    let mut c = SimCounters::default();
    let mut command: Option<Command> = None;
    // Hold at t = 0 until a controller answers.
    let mut pending = robot.publish_sample();
    c.samples += 1;
    publish_clock(0.0);
    if p.bool("wait_for_command")? {
        eprintln!("[{NODE}] holding at t = 0 until the first effort_cmd arrives");
        let mut next = Instant::now() + Duration::from_millis(50);
        while take_commands(&mut node, &mut cmd_sub, robot.as_ref(), &mut command, &mut c, Duration::from_millis(5))
            .is_none()
        {
            param_server.poll(); // served while holding; the values take effect once running
            if super::shutdown::requested() {
                eprintln!("[{NODE}] stopped: t = {:.3} s, no command arrived", robot.time());
                super::shutdown::bound_teardown(NODE, super::shutdown::TEARDOWN_LIMIT);
                return Ok(());
            }
            if Instant::now() >= next {
                next += Duration::from_millis(50);
                // Republish the first sample (same stamp) for late subscribers.
                publish_clock(0.0);
                robot.forget_last_sample();
                pending = robot.publish_sample();
            }
        }
        eprintln!("[{NODE}] first command received, running");
    }

    let mut wall0 = Instant::now();
    let mut sim0 = robot.time();
    let mut next_diag = Instant::now() + diag_period;
    let mut k: u64 = 0;
    loop {
        for (name, v) in param_server.poll() {
            match (name, v) {
                ("real_time_factor", Value::Double(x)) => {
                    rtf = x;
                    // Pace from here on at the new ratio.
                    wall0 = Instant::now();
                    sim0 = robot.time();
                }
                ("lockstep_timeout_s", Value::Double(x)) => lockstep_timeout = Duration::from_secs_f64(x),
                ("cmd_timeout_s", Value::Double(x)) => cmd_timeout = x,
                ("duration_s", Value::Double(x)) => duration = x,
                ("diagnostics_period_s", Value::Double(x)) => {
                    diag_period = Duration::from_secs_f64(x);
                    next_diag = Instant::now() + diag_period;
                }
                _ => {}
            }
        }
        // The command answering the newest sample (lockstep), else whatever is newest.
        if let (true, Some(stamp)) = (lockstep, pending) {
            let end = Instant::now() + lockstep_timeout;
            loop {
                let got = take_commands(
                    &mut node,
                    &mut cmd_sub,
                    robot.as_ref(),
                    &mut command,
                    &mut c,
                    Duration::from_millis(1),
                );
                if got.is_some_and(|s| s >= stamp - 1e-6) || super::shutdown::requested() {
                    break;
                }
                if Instant::now() >= end {
                    c.lockstep_timeouts += 1;
                    log_every(NODE, c.lockstep_timeouts, || {
                        format!("no command for the sample at t = {stamp:.3} s (timeout #{})", c.lockstep_timeouts)
                    });
                    break;
                }
            }
            // Lockstep time does not follow the wall clock.
            wall0 = Instant::now();
            sim0 = robot.time();
        }
        for _ in 0..every {
            let t = robot.time();
            let tau = match &command {
                Some((tau, _, received)) if t - received <= cmd_timeout => Some(tau.as_slice()),
                _ => {
                    c.zero_torque_steps += 1;
                    None
                }
            };
            robot.step(tau);
            k += 1;
            let t = robot.time();
            publish_clock(t);
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
            take_commands(&mut node, &mut cmd_sub, robot.as_ref(), &mut command, &mut c, wait);
        }
        pending = robot.publish_sample();
        c.samples += u64::from(pending.is_some());
        if Instant::now() >= next_diag {
            next_diag += diag_period;
            let fault = robot.fault();
            let (level, message) = match &fault {
                Some(f) => (Level::Error, format!("robot {f}")),
                None if c.lockstep_timeouts > 0 || c.malformed > 0 => {
                    (Level::Warn, "malformed commands or lockstep timeouts".to_string())
                }
                None => (Level::Ok, "ok".to_string()),
            };
            let status = StatusBuilder::new(format!("{NODE}: {}", p.string("robot")?), "mujoco")
                .level(level, message)
                .kv_f("sim_time_s", robot.time())
                .kv("steps", k)
                .kv("samples", c.samples)
                .kv("commands", c.commands)
                .kv("malformed", c.malformed)
                .kv("zero_torque_steps", c.zero_torque_steps)
                .kv("lockstep_timeouts", c.lockstep_timeouts);
            if let Err(e) = diag.publish(time_msg(robot.time()), vec![robot.report(status).build()]) {
                log_every(NODE, 1, || format!("cannot publish diagnostics: {e}"));
            }
        }
        if duration > 0.0 && robot.time() >= duration - 1e-9 {
            eprintln!("[{NODE}] done: t = {:.3} s, {}", robot.time(), robot.summary());
            super::shutdown::bound_teardown(NODE, super::shutdown::TEARDOWN_LIMIT);
            return Ok(());
        }
        // SIGINT/SIGTERM (e.g. `ros2 launch` stopping): a one-line summary and exit 0.
        if super::shutdown::requested() {
            eprintln!(
                "[{NODE}] stopped: t = {:.3} s, {k} steps, {} samples, {} commands, {} malformed, {} lockstep timeouts, {}",
                robot.time(),
                c.samples,
                c.commands,
                c.malformed,
                c.lockstep_timeouts,
                robot.summary()
            );
            super::shutdown::bound_teardown(NODE, super::shutdown::TEARDOWN_LIMIT);
            return Ok(());
        }
    }
}
