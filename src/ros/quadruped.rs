//! The quadruped's ROS interface: sensor messages ↔ [`QuadrupedState`], effort commands,
//! `cmd_vel`, and the real-time step of the `spikectl-quadruped` node.
//!
//! Topics (names relative to the node's namespace; see docs/ros.md):
//! - `joint_states` (`sensor_msgs/JointState`): the 12 joints by name ([`JOINT_NAMES`], any
//!   order; an empty name list means that order), `position` [rad] and `velocity` [rad/s];
//! - `imu` (`sensor_msgs/Imu`): trunk orientation (body→world) and angular velocity in the
//!   body frame [rad/s];
//! - `odom` (`nav_msgs/Odometry`): trunk position in the world (`odom`) frame [m] and linear
//!   velocity in the body (`child_frame_id`) frame [m/s], as REP 105 specifies; the controller
//!   rotates it into the world frame with the odometry orientation;
//! - `cmd_vel` (`geometry_msgs/Twist`): `linear.x`, `linear.y` [m/s] in the heading frame,
//!   `angular.z` [rad/s];
//! - `effort_cmd` (`sensor_msgs/JointState`, output): the 12 joint names and `effort` [N·m],
//!   `position`/`velocity` empty; `header.stamp` is the stamp of the measurement the command
//!   answers (the simulator's lockstep mode matches on it).
//!
//! Message checks (`joints_from_msg`, [`imu_from_msg`], [`odom_from_msg`], [`twist_from_msg`])
//! reject NaN/infinite values, wrong lengths, unknown or repeated joint names and values far
//! outside any physical range, with an [`InputError`]. [`StateAssembler`] combines the three
//! sensor streams into one [`QuadrupedState`] per joint sample, and [`QuadrupedRt`] is the
//! step function that runs on the node's real-time thread (no ROS inside: it is tested
//! without a ROS graph).

use std::time::{Duration, Instant};

use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg::{Point, Quaternion, Twist, Vector3};
use r2r::nav_msgs::msg::Odometry;
use r2r::sensor_msgs::msg::{Imu, JointState};
use r2r::std_msgs::msg::Header;
use spikectl_robot::robots::{GO1, QuadrupedParams};
use spikectl_robot::state::QuadrupedState;
use spikectl_robot::state::quat_to_mat;

use super::inputs::{InputError, check, stamp_s};
use super::joints;
pub use super::step::CommandKind;
use super::step::{RtStep, Stamped, StepOutput};
use r2r::QosProfile;
use r2r::std_msgs::msg::String as StringMsg;

use super::controller_node::{CommandTimeout, RobotInterface, Subscription};
use super::diagnostics::{Counters, StatusBuilder};
use super::drain;
use super::inputs::InputErrors;
use super::params::{Check, ParamSpec, Params, Value};
use crate::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use crate::qp::QpSolver;
use crate::qp::registry::SolverSpec;

/// Joint names of the simulated Go1 (MJCF joint names), in [`QuadrupedState::q`] order:
/// legs FR, FL, RR, RL × hip, thigh, calf.
pub const JOINT_NAMES: [&str; 12] = [
    "FR_hip_joint",
    "FR_thigh_joint",
    "FR_calf_joint",
    "FL_hip_joint",
    "FL_thigh_joint",
    "FL_calf_joint",
    "RR_hip_joint",
    "RR_thigh_joint",
    "RR_calf_joint",
    "RL_hip_joint",
    "RL_thigh_joint",
    "RL_calf_joint",
];

/// Largest accepted |joint angle| [rad].
pub(crate) const MAX_JOINT_POS: f64 = 4.0 * std::f64::consts::PI;
/// Largest accepted |joint velocity| [rad/s].
pub(crate) const MAX_JOINT_VEL: f64 = 200.0;
/// Largest accepted |angular velocity| component [rad/s].
pub(crate) const MAX_ANGVEL: f64 = 100.0;
/// Largest accepted |linear velocity| component [m/s].
pub(crate) const MAX_LINVEL: f64 = 50.0;
/// Largest accepted |position| component [m].
pub(crate) const MAX_POSITION: f64 = 1e5;
/// Largest accepted deviation of a quaternion's norm from 1.
pub(crate) const QUAT_NORM_TOL: f64 = 0.05;
/// `cmd_vel` limits: |vx|, |vy| [m/s] and |yaw rate| [rad/s]; larger commands are clamped.
pub(crate) const CMD_LIMITS: [f64; 3] = [1.0, 0.5, 1.5];

/// Joint positions and velocities of the 12 joints, in [`JOINT_NAMES`] order.
pub(crate) type JointReading = joints::JointReading<12>;

/// Checks and converts a `JointState` (positions and velocities of all 12 joints, named as
/// [`JOINT_NAMES`]); the node itself reads the names of its robot description.
#[cfg(all(test, feature = "sim"))]
pub(crate) fn joints_from_msg(m: &JointState) -> Result<JointReading, InputError> {
    joints::joints_from_msg(m, &JOINT_NAMES, MAX_JOINT_POS, MAX_JOINT_VEL)
}

/// Checks and converts a (w, x, y, z) unit quaternion from a message; returns it normalised.
fn quat_from_msg(q: &Quaternion) -> Result<[f64; 4], InputError> {
    let v = [q.w, q.x, q.y, q.z];
    check("orientation", &v, 2.0)?;
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if (n - 1.0).abs() > QUAT_NORM_TOL {
        return Err(InputError::Quaternion(n));
    }
    Ok(v.map(|x| x / n))
}

/// Orientation and body angular velocity from one `Imu`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ImuReading {
    /// Stamp [s].
    pub t: f64,
    /// Body→world orientation (w, x, y, z), normalised.
    pub quat: [f64; 4],
    /// Angular velocity in the body frame [rad/s].
    pub gyro: [f64; 3],
}

/// Checks and converts an `Imu` (orientation must be present: `orientation_covariance[0]`
/// = −1 means "no orientation" and is rejected).
pub(crate) fn imu_from_msg(m: &Imu) -> Result<ImuReading, InputError> {
    if m.orientation_covariance.first().is_some_and(|c| *c == -1.0) {
        return Err(InputError::Quaternion(0.0));
    }
    let quat = quat_from_msg(&m.orientation)?;
    let w = &m.angular_velocity;
    let gyro = [w.x, w.y, w.z];
    check("angular_velocity", &gyro, MAX_ANGVEL)?;
    Ok(ImuReading { t: stamp_s(&m.header.stamp), quat, gyro })
}

/// Base position and world-frame velocity from one `Odometry`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OdomReading {
    /// Stamp [s].
    pub t: f64,
    /// Trunk position, world frame [m].
    pub pos: [f64; 3],
    /// Trunk linear velocity, world frame [m/s] (rotated from the message's body frame).
    pub vel: [f64; 3],
}

/// Checks and converts an `Odometry`: `twist.twist.linear` is in the body frame
/// (`child_frame_id`) and is rotated into the world frame with `pose.pose.orientation`.
pub(crate) fn odom_from_msg(m: &Odometry) -> Result<OdomReading, InputError> {
    let p = &m.pose.pose.position;
    let pos = [p.x, p.y, p.z];
    check("pose.position", &pos, MAX_POSITION)?;
    let quat = quat_from_msg(&m.pose.pose.orientation)?;
    let v = &m.twist.twist.linear;
    let vb = [v.x, v.y, v.z];
    check("twist.linear", &vb, MAX_LINVEL)?;
    let r = quat_to_mat(&quat);
    let vel = std::array::from_fn(|i| r[i][0] * vb[0] + r[i][1] * vb[1] + r[i][2] * vb[2]);
    Ok(OdomReading { t: stamp_s(&m.header.stamp), pos, vel })
}

/// Checks a `Twist` and returns (vx, vy, yaw rate) clamped to [`CMD_LIMITS`].
pub(crate) fn twist_from_msg(m: &Twist) -> Result<[f64; 3], InputError> {
    let v = [m.linear.x, m.linear.y, m.angular.z];
    check("cmd_vel", &v, f64::INFINITY)?;
    Ok(std::array::from_fn(|i| v[i].clamp(-CMD_LIMITS[i], CMD_LIMITS[i])))
}

/// The effort command message: the 12 [`JOINT_NAMES`] and their torques [N·m] (non-finite
/// values become 0), stamped `stamp` (the node names the joints of its robot description).
#[cfg(all(test, feature = "sim"))]
pub(crate) fn effort_msg(stamp: Time, tau: &[f64; 12]) -> JointState {
    joints::effort_msg(stamp, &JOINT_NAMES, tau)
}

/// Checks an effort command (12 efforts, named as [`JOINT_NAMES`] in any order or unnamed in
/// that order) and returns the torques in [`JOINT_NAMES`] order [N·m].
#[cfg(all(test, feature = "sim"))]
pub(crate) fn effort_from_msg(m: &JointState) -> Result<[f64; 12], InputError> {
    joints::effort_from_msg(m, &JOINT_NAMES)
}

/// The sensor messages of a robot state, as the simulator (or a robot driver) publishes
/// them: `JointState` (names, position, velocity), `Imu` (orientation, body angular
/// velocity; no linear acceleration: its covariance[0] is −1), `Odometry` (frame `odom`,
/// child `base_link`, twist in the body frame). All stamped `s.t`; the joints named `names`.
pub fn sensor_msgs_named<S: AsRef<str>>(s: &QuadrupedState, names: &[S; 12]) -> (JointState, Imu, Odometry) {
    let stamp = super::time_msg(s.t);
    let header = |frame: &str| Header { stamp: stamp.clone(), frame_id: frame.into() };
    let [w, x, y, z] = s.base_quat;
    let quat = Quaternion { x, y, z, w };
    let joints = JointState {
        header: header(""),
        name: names.iter().map(|n| n.as_ref().to_string()).collect(),
        position: s.q.to_vec(),
        velocity: s.qd.to_vec(),
        effort: Vec::new(),
    };
    let mut imu = Imu { header: header("base_link"), orientation: quat.clone(), ..Default::default() };
    imu.angular_velocity = Vector3 { x: s.base_angvel_body[0], y: s.base_angvel_body[1], z: s.base_angvel_body[2] };
    if let Some(c) = imu.linear_acceleration_covariance.first_mut() {
        *c = -1.0;
    }
    let r = quat_to_mat(&s.base_quat);
    let v = s.base_linvel;
    // Body-frame velocity: Rᵀ v.
    let vb: [f64; 3] = std::array::from_fn(|i| r[0][i] * v[0] + r[1][i] * v[1] + r[2][i] * v[2]);
    let w = s.base_angvel_body;
    let mut odom = Odometry { header: header("odom"), child_frame_id: "base_link".into(), ..Default::default() };
    odom.pose.pose.position = Point { x: s.base_pos[0], y: s.base_pos[1], z: s.base_pos[2] };
    odom.pose.pose.orientation = quat;
    odom.twist.twist.linear = Vector3 { x: vb[0], y: vb[1], z: vb[2] };
    odom.twist.twist.angular = Vector3 { x: w[0], y: w[1], z: w[2] };
    (joints, imu, odom)
}

/// [`sensor_msgs_named`] with the simulated Go1's [`JOINT_NAMES`].
pub fn sensor_msgs(s: &QuadrupedState) -> (JointState, Imu, Odometry) {
    sensor_msgs_named(s, &JOINT_NAMES)
}

/// A quadruped state handed to the real-time thread, with the wall time it was assembled.
pub(crate) type StampedState = Stamped<QuadrupedState>;

/// Combines the three sensor streams into one [`QuadrupedState`] per joint sample.
///
/// A joint sample is released as soon as an IMU and an odometry message at least as new
/// (by stamp) have arrived — exactly synchronised when the publisher stamps all three alike,
/// as the simulator does — or, on robots whose sensors are not synchronised, after
/// `sync_wait` (wall clock) with the newest IMU and odometry, provided both arrived within
/// `stale_timeout`. A joint sample not newer than the last released one is ignored.
/// `foot_contact` is left false (the controller does not read it: stance comes from the gait).
#[derive(Debug, Clone)]
pub(crate) struct StateAssembler {
    joints: Option<(JointReading, Instant)>,
    imu: Option<(ImuReading, Instant)>,
    odom: Option<(OdomReading, Instant)>,
    last_t: Option<f64>,
    sync_wait: Duration,
    stale_timeout: Duration,
}

impl StateAssembler {
    /// An empty assembler.
    pub fn new(sync_wait: Duration, stale_timeout: Duration) -> Self {
        Self { joints: None, imu: None, odom: None, last_t: None, sync_wait, stale_timeout }
    }
    /// Stores a joint sample received at `now`.
    pub(crate) fn set_joints(&mut self, r: JointReading, now: Instant) {
        self.joints = Some((r, now));
    }
    /// Stores an IMU sample received at `now`.
    pub(crate) fn set_imu(&mut self, r: ImuReading, now: Instant) {
        self.imu = Some((r, now));
    }
    /// Stores an odometry sample received at `now`.
    pub(crate) fn set_odom(&mut self, r: OdomReading, now: Instant) {
        self.odom = Some((r, now));
    }

    /// The state of the newest joint sample, if it can be released at `now` (see the type docs).
    pub fn poll(&mut self, now: Instant) -> Option<StampedState> {
        let (j, jt) = self.joints?;
        if self.last_t.is_some_and(|t| j.t <= t) {
            return None;
        }
        let (imu, it) = self.imu?;
        let (odom, ot) = self.odom?;
        let synced = imu.t >= j.t && odom.t >= j.t;
        let fresh = |t: Instant| now.saturating_duration_since(t) <= self.stale_timeout;
        let waited = now.saturating_duration_since(jt) >= self.sync_wait && fresh(it) && fresh(ot);
        if !(synced || waited) {
            return None;
        }
        self.last_t = Some(j.t);
        let state = QuadrupedState {
            t: j.t,
            base_pos: odom.pos,
            base_quat: imu.quat,
            base_linvel: odom.vel,
            base_angvel_body: imu.gyro,
            q: j.q,
            qd: j.qd,
            foot_contact: [false; 4],
        };
        Some(StampedState { state, received: now })
    }
}

/// One output of the quadruped node's real-time step.
pub type RtOutput = StepOutput<12>;

/// The quadruped node's real-time step ([`RtStep`] on [`QuadrupedController`]).
pub type QuadrupedRt = RtStep<QuadrupedController, 12>;

/// `gait` parameter / topic value → gait.
pub(crate) fn gait_of(s: &str) -> Option<GaitKind> {
    match s.trim() {
        "stand" => Some(GaitKind::Stand),
        "trot" => Some(GaitKind::Trot),
        _ => None,
    }
}

/// The robot of parameters `robot_description` / `robot_file` (+ `robot_overlay`), or [`GO1`]
/// when none is set.
pub(crate) fn robot_of(p: &Params) -> anyhow::Result<QuadrupedParams> {
    super::controller_node::DescriptionSource::load(
        p,
        GO1,
        |f, ov| QuadrupedParams::from_file(f, ov),
        QuadrupedParams::from_urdf,
    )
}

/// The quadruped's side of the generic controller node (`spikectl-quadruped`).
pub struct QuadrupedNode {
    /// Joint names of the description, in state order.
    names: [String; 12],
    joint_sub: Subscription<JointState>,
    imu_sub: Subscription<Imu>,
    odom_sub: Subscription<Odometry>,
    cmd_vel_sub: Subscription<Twist>,
    gait_sub: Subscription<StringMsg>,
    assembler: StateAssembler,
    cmd_vel: CommandTimeout,
}

impl RobotInterface<12> for QuadrupedNode {
    type Ctrl = QuadrupedController;
    const NODE: &'static str = "spikectl_quadruped";
    const EXE: &'static str = "spikectl-quadruped";
    const CONTROL_PERIOD_S: f64 = 0.002;
    const SYNC_WAIT: (f64, &'static str) = (0.002, "Wait for IMU/odometry as new as a joint sample [s, wall]");
    const MPC_PERIOD_TEXT: &'static str = "25 ms";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::string("gait", "stand", Check::OneOf(&["stand", "trot"]), "Initial gait (topic `gait` switches)"),
        ParamSpec::double("body_height_m", 0.0, 0.0, 0.45, "Trunk height above ground [m]; 0 = nominal"),
    ];
    const INPUTS: &'static [&'static str] = &["joint_states", "imu", "odom", "cmd_vel", "gait"];
    const WAITING_FOR: &'static str = "joint_states, imu and odom";
    const LIVE: &'static [&'static str] = &["gait", "body_height_m", "cmd_vel_timeout_s"];

    fn controller(
        p: &Params,
        solver: Box<dyn QpSolver>,
        mpc_thread: bool,
        max_solution_age_periods: f64,
    ) -> anyhow::Result<(QuadrupedController, QuadrupedCommand)> {
        let robot = robot_of(p)?;
        let cfg = QuadrupedControllerConfig {
            mpc_thread,
            max_solution_age_periods,
            ..QuadrupedControllerConfig::for_robot(&robot)
        };
        let cmd = QuadrupedCommand {
            body_height: p.double("body_height_m")?,
            gait: gait_of(p.string("gait")?).unwrap_or_default(),
            ..Default::default()
        };
        Ok((QuadrupedController::new(solver, cfg)?, cmd))
    }

    fn solver(spec: &SolverSpec) -> Box<dyn QpSolver> {
        crate::mpc::tuning::quadruped_solver(spec)
    }

    fn subscribe(node: &mut r2r::Node, p: &Params, sensor_qos: QosProfile) -> anyhow::Result<Self> {
        let stale_timeout = Duration::from_secs_f64(p.double("stale_timeout_s")?);
        Ok(Self {
            names: robot_of(p)?.joint_names(),
            joint_sub: Box::pin(node.subscribe::<JointState>("joint_states", sensor_qos.clone())?),
            imu_sub: Box::pin(node.subscribe::<Imu>("imu", sensor_qos.clone())?),
            odom_sub: Box::pin(node.subscribe::<Odometry>("odom", sensor_qos)?),
            cmd_vel_sub: Box::pin(node.subscribe::<Twist>("cmd_vel", QosProfile::default())?),
            gait_sub: Box::pin(node.subscribe::<StringMsg>("gait", QosProfile::default())?),
            assembler: StateAssembler::new(Duration::from_secs_f64(p.double("sync_wait_s")?), stale_timeout),
            cmd_vel: CommandTimeout::new(Duration::from_secs_f64(p.double("cmd_vel_timeout_s")?)),
        })
    }

    fn poll_state(&mut self, now: Instant, counters: &Counters, errors: &mut InputErrors) -> Option<StampedState> {
        for m in drain(&mut self.joint_sub) {
            Counters::bump(&counters.received);
            match joints::joints_from_msg(&m, &self.names, MAX_JOINT_POS, MAX_JOINT_VEL) {
                Ok(r) => self.assembler.set_joints(r, now),
                Err(e) => errors.reject(counters, "joint_states", &e),
            }
        }
        for m in drain(&mut self.imu_sub) {
            Counters::bump(&counters.received);
            match imu_from_msg(&m) {
                Ok(r) => self.assembler.set_imu(r, now),
                Err(e) => errors.reject(counters, "imu", &e),
            }
        }
        for m in drain(&mut self.odom_sub) {
            Counters::bump(&counters.received);
            match odom_from_msg(&m) {
                Ok(r) => self.assembler.set_odom(r, now),
                Err(e) => errors.reject(counters, "odom", &e),
            }
        }
        self.assembler.poll(now)
    }

    fn poll_command(
        &mut self,
        now: Instant,
        cmd: &mut QuadrupedCommand,
        counters: &Counters,
        errors: &mut InputErrors,
    ) -> bool {
        let mut changed = false;
        for m in drain(&mut self.cmd_vel_sub) {
            Counters::bump(&counters.received);
            match twist_from_msg(&m) {
                Ok([vx, vy, wz]) => {
                    (cmd.vx, cmd.vy, cmd.yaw_rate) = (vx, vy, wz);
                    self.cmd_vel.received(now);
                    changed = true;
                }
                Err(e) => errors.reject(counters, "cmd_vel", &e),
            }
        }
        if self.cmd_vel.expired(now) {
            (cmd.vx, cmd.vy, cmd.yaw_rate) = (0.0, 0.0, 0.0);
            changed = true;
        }
        for m in drain(&mut self.gait_sub) {
            Counters::bump(&counters.received);
            match gait_of(&m.data) {
                Some(g) => {
                    cmd.gait = g;
                    changed = true;
                }
                None => errors.reject(counters, "gait", &format!("unknown gait {:?}", m.data)),
            }
        }
        changed
    }

    fn set_param(&mut self, name: &str, value: &Value, cmd: &mut QuadrupedCommand) -> bool {
        match (name, value) {
            ("gait", Value::Str(g)) => match gait_of(g) {
                Some(g) => {
                    cmd.gait = g;
                    true
                }
                None => false,
            },
            ("body_height_m", Value::Double(h)) => {
                cmd.body_height = *h;
                true
            }
            ("cmd_vel_timeout_s", Value::Double(t)) => {
                self.cmd_vel.set_timeout(Duration::from_secs_f64(*t));
                false
            }
            _ => false,
        }
    }

    fn effort_msg(&self, stamp: Time, tau: &[f64; 12]) -> JointState {
        joints::effort_msg(stamp, &self.names, tau)
    }

    fn describe(&self, cmd: &QuadrupedCommand) -> String {
        format!("gait {:?}", cmd.gait)
    }

    fn report(&self, b: StatusBuilder, cmd: &QuadrupedCommand) -> StatusBuilder {
        b.kv("gait", format!("{:?}", cmd.gait))
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::control::quadruped::QuadrupedCommand;
    use crate::control::quadruped::{GaitKind, QuadrupedControllerConfig};
    use crate::control::safety::SafetyConfig;
    use crate::ros::diagnostics::Counters;
    use crate::ros::step::RtCounters;
    use spikectl_robot::robots::GO1 as ROBOT;
    use spikectl_robot::robots::GO1;
    use spikectl_sim::noise::SensorNoise;
    use spikectl_sim::quadruped::QuadrupedSim;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    #[test]
    fn joint_names_match_the_simulated_model() {
        let mut k = 0;
        for leg in ROBOT.leg_names {
            for j in ["hip", "thigh", "calf"] {
                assert_eq!(JOINT_NAMES[k], format!("{leg}_{j}_joint"));
                k += 1;
            }
        }
    }

    fn sim_state() -> QuadrupedState {
        let mut sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 1).unwrap();
        // A tilted, yawed, moving base so that frame mistakes show.
        let q = [0.25f64.cos(), 0.05, 0.03, 0.25f64.sin()];
        let n = q.iter().map(|v| v * v).sum::<f64>().sqrt();
        sim.set_base_pose([0.3, -0.2, 0.33], q.map(|v| v / n));
        sim.step_n(3);
        let mut s = sim.true_state();
        s.base_linvel = [0.4, -0.1, 0.05];
        s.foot_contact = [false; 4];
        s
    }

    #[test]
    fn sensor_messages_round_trip_through_the_checks() {
        let s = sim_state();
        let (j, imu, odom) = sensor_msgs(&s);
        let jr = joints_from_msg(&j).unwrap();
        let ir = imu_from_msg(&imu).unwrap();
        let or = odom_from_msg(&odom).unwrap();
        assert_eq!(jr.q, s.q);
        assert_eq!(jr.qd, s.qd);
        assert!((jr.t - s.t).abs() < 1e-9 && (ir.t - s.t).abs() < 1e-9 && (or.t - s.t).abs() < 1e-9);
        for k in 0..4 {
            assert!((ir.quat[k] - s.base_quat[k]).abs() < 1e-12);
        }
        assert_eq!(ir.gyro, s.base_angvel_body);
        assert_eq!(or.pos, s.base_pos);
        for k in 0..3 {
            assert!((or.vel[k] - s.base_linvel[k]).abs() < 1e-12, "{:?} vs {:?}", or.vel, s.base_linvel);
        }
        // The body-frame twist is not the world velocity (the base is yawed).
        assert!((odom.twist.twist.linear.x - s.base_linvel[0]).abs() > 1e-3);
        // Shuffled names are put back in order.
        let mut shuffled = j.clone();
        shuffled.name.reverse();
        shuffled.position.reverse();
        shuffled.velocity.reverse();
        assert_eq!(joints_from_msg(&shuffled).unwrap(), jr);
    }

    #[test]
    fn malformed_messages_are_rejected_with_a_reason() {
        let s = sim_state();
        let (j, imu, odom) = sensor_msgs(&s);
        let bad_j = |f: &dyn Fn(&mut JointState)| {
            let mut m = j.clone();
            f(&mut m);
            joints_from_msg(&m).unwrap_err()
        };
        assert_eq!(bad_j(&|m| m.position[3] = f64::NAN), InputError::NonFinite("position"));
        assert_eq!(bad_j(&|m| m.velocity[0] = f64::INFINITY), InputError::NonFinite("velocity"));
        assert_eq!(bad_j(&|m| m.position[0] = 1e6), InputError::OutOfRange("position"));
        assert!(matches!(bad_j(&|m| m.position.truncate(11)), InputError::Length { field: "position", .. }));
        assert!(matches!(bad_j(&|m| m.velocity.clear()), InputError::Length { field: "velocity", .. }));
        assert!(matches!(bad_j(&|m| m.name.truncate(6)), InputError::Length { field: "name", .. }));
        assert_eq!(bad_j(&|m| m.name[2] = "knee".into()), InputError::UnknownJoint("knee".into()));
        assert!(matches!(bad_j(&|m| m.name[2] = m.name[1].clone()), InputError::DuplicateJoint(_)));
        // Unnamed but complete: accepted in the canonical order.
        let mut unnamed = j.clone();
        unnamed.name.clear();
        assert_eq!(joints_from_msg(&unnamed).unwrap().q, s.q);

        let mut m = imu.clone();
        m.orientation.w = f64::NAN;
        assert_eq!(imu_from_msg(&m).unwrap_err(), InputError::NonFinite("orientation"));
        let mut m = imu.clone();
        m.orientation = Quaternion { x: 0.0, y: 0.0, z: 0.0, w: 0.5 };
        assert!(matches!(imu_from_msg(&m), Err(InputError::Quaternion(_))));
        let mut m = imu.clone();
        m.orientation_covariance[0] = -1.0;
        assert!(imu_from_msg(&m).is_err());
        let mut m = imu.clone();
        m.angular_velocity.y = f64::NEG_INFINITY;
        assert_eq!(imu_from_msg(&m).unwrap_err(), InputError::NonFinite("angular_velocity"));
        let mut m = odom.clone();
        m.twist.twist.linear.z = f64::NAN;
        assert_eq!(odom_from_msg(&m).unwrap_err(), InputError::NonFinite("twist.linear"));
        let mut m = odom.clone();
        m.pose.pose.position.x = f64::NAN;
        assert_eq!(odom_from_msg(&m).unwrap_err(), InputError::NonFinite("pose.position"));

        let mut t = Twist::default();
        t.linear.x = 5.0;
        t.angular.z = -9.0;
        assert_eq!(twist_from_msg(&t).unwrap(), [1.0, 0.0, -1.5]);
        t.linear.y = f64::NAN;
        assert!(twist_from_msg(&t).is_err());
    }

    #[test]
    fn effort_messages_round_trip_and_never_carry_nan() {
        let tau: [f64; 12] = std::array::from_fn(|i| i as f64 - 5.5);
        let m = effort_msg(Time::default(), &tau);
        assert_eq!(effort_from_msg(&m).unwrap(), tau);
        let mut nan = tau;
        nan[4] = f64::NAN;
        let m = effort_msg(Time::default(), &nan);
        assert_eq!(m.effort[4], 0.0);
        let mut bad = m.clone();
        bad.effort[0] = f64::NAN;
        assert!(effort_from_msg(&bad).is_err());
        bad.effort.pop();
        assert!(effort_from_msg(&bad).is_err());
    }

    #[test]
    fn assembler_waits_for_synchronised_imu_and_odometry() {
        let s = sim_state();
        let (j, imu, odom) = sensor_msgs(&s);
        let t0 = Instant::now();
        let mut a = StateAssembler::new(Duration::from_millis(5), Duration::from_millis(100));
        a.set_joints(joints_from_msg(&j).unwrap(), t0);
        assert!(a.poll(t0).is_none(), "no IMU/odometry yet");
        a.set_imu(imu_from_msg(&imu).unwrap(), t0);
        assert!(a.poll(t0).is_none());
        a.set_odom(odom_from_msg(&odom).unwrap(), t0);
        let got = a.poll(t0).unwrap().state;
        assert_eq!((got.t, got.q, got.base_pos), (s.t, s.q, s.base_pos));
        assert!(a.poll(t0).is_none(), "the same sample is released once");
        // A newer joint sample with older IMU/odometry waits `sync_wait`, then goes with them.
        let mut j2 = joints_from_msg(&j).unwrap();
        j2.t += 0.002;
        a.set_joints(j2, t0);
        assert!(a.poll(t0 + Duration::from_millis(1)).is_none());
        assert_eq!(a.poll(t0 + Duration::from_millis(6)).unwrap().state.t, j2.t);
        // ...but not when they are stale.
        j2.t += 0.002;
        a.set_joints(j2, t0 + Duration::from_millis(200));
        assert!(a.poll(t0 + Duration::from_millis(210)).is_none());
    }

    #[test]
    fn rt_step_controls_new_states_and_falls_back_when_stale() {
        let ctrl = QuadrupedController::new(
            Box::new(crate::qp::osqp::OsqpSolver::new()),
            QuadrupedControllerConfig::default(),
        )
        .unwrap();
        let counters = Arc::new(Counters::default());
        let quad = Arc::new(RtCounters::default());
        let cmd = QuadrupedCommand { gait: GaitKind::Stand, ..Default::default() };
        let safety = SafetyConfig { stale_timeout: 0.05, ..Default::default() };
        let mut rt = QuadrupedRt::new(ctrl, cmd, safety, counters.clone(), quad.clone()).unwrap();
        let t0 = Instant::now();
        assert!(rt.step(t0, None, None).is_none(), "nothing before the first state");
        let mut sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 1).unwrap();
        let mut s = StampedState { state: sim.true_state(), received: t0 };
        s.state.qd = [1.0; 12];
        let out = rt.step(t0, Some(s), None).unwrap();
        assert_eq!(out.kind, CommandKind::Control);
        assert_eq!(out.records.len(), 1, "the first tick solves the MPC");
        assert!(out.tau.iter().all(|t| t.is_finite()) && out.tau.iter().any(|t| *t != 0.0));
        assert!(rt.step(t0 + Duration::from_millis(10), None, None).is_none(), "fresh and answered");
        let stale = rt.step(t0 + Duration::from_millis(60), None, None).unwrap();
        assert_eq!(stale.kind, CommandKind::SafeStale);
        // Damping only, on the last velocity, faded by (60 − 50) ms / 200 ms: −0.95·d·q̇.
        let d = rt.controller().stop_damping();
        assert!(stale.tau.iter().all(|t| (t + 0.95 * d * 1.0).abs() < 1e-9), "{:?}", stale.tau);
        assert_eq!(quad.stale_ticks.load(Ordering::Relaxed), 1);
        // Stale long enough: no torque at all.
        let limp = rt.step(t0 + Duration::from_millis(300), None, None).unwrap();
        assert_eq!(limp.tau, [0.0; 12]);
        // E-stop from the ROS thread: the next fresh state gets the damping stop, latched.
        quad.estop_requests.fetch_add(1, Ordering::Relaxed);
        let out = rt.step(t0, Some(s), None).unwrap();
        assert_eq!(out.kind, CommandKind::Stop);
        assert!(out.tau.iter().all(|t| (t + d).abs() < 1e-9), "{:?}", out.tau);
        assert_eq!(quad.estop_engaged.load(Ordering::Relaxed), 1);
        assert_eq!(rt.step(t0, Some(s), None).unwrap().kind, CommandKind::Stop, "latched");
        assert_eq!(quad.estop_ticks.load(Ordering::Relaxed), 2);
        quad.reset_requests.fetch_add(1, Ordering::Relaxed);
        assert_eq!(rt.step(t0, Some(s), None).unwrap().kind, CommandKind::Control);
        assert_eq!(quad.estop_engaged.load(Ordering::Relaxed), 0);
        // A NaN state that slipped through is the controller's business: safe command, counted.
        sim.step();
        let mut bad = sim.true_state();
        bad.q[2] = f64::NAN;
        let out = rt.step(t0, Some(StampedState { state: bad, received: t0 }), None).unwrap();
        assert!(out.tau.iter().all(|t| t.is_finite()));
        assert_eq!(quad.controller_invalid.load(Ordering::Relaxed), 1);
        assert_eq!(quad.solves.load(Ordering::Relaxed), 1);
        assert_eq!(counters.snapshot().fallbacks, 0);
    }

    #[test]
    fn rt_step_reports_the_mpc_thread_counters() {
        let cfg = QuadrupedControllerConfig { mpc_thread: true, ..Default::default() };
        let ctrl = QuadrupedController::new(Box::new(crate::qp::osqp::OsqpSolver::new()), cfg).unwrap();
        let counters = Arc::new(Counters::default());
        let quad = Arc::new(RtCounters::default());
        let cmd = QuadrupedCommand { gait: GaitKind::Stand, ..Default::default() };
        let mut rt = QuadrupedRt::new(ctrl, cmd, SafetyConfig::default(), counters.clone(), quad.clone()).unwrap();
        let sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 1).unwrap();
        let t0 = Instant::now();
        let mut s = StampedState { state: sim.true_state(), received: t0 };
        // First state: a job goes out, no solution yet (fallback forces), no record yet.
        let out = rt.step(t0, Some(s), None).unwrap();
        assert!(out.records.is_empty() && out.tau.iter().all(|t| t.is_finite()));
        assert_eq!(quad.solves.load(Ordering::Relaxed), 1);
        assert_eq!(quad.stale_solutions.load(Ordering::Relaxed), 1);
        // Later states: the record comes back through a later step, once the worker is done.
        let mut records = 0;
        for k in 1..2000 {
            s.state.t = 0.002 * f64::from(k.min(10));
            records += rt.step(t0, Some(s), None).unwrap().records.len();
            if records > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(records, 1);
        assert_eq!(quad.solves_finished.load(Ordering::Relaxed), 1);
        assert!(quad.max_solution_age_us.load(Ordering::Relaxed) <= 20_000);
        assert_eq!(counters.snapshot().fallbacks, 0);
    }
}
