//! The arm's ROS interface: sensor messages ↔ [`ArmState`], commands, and the real-time step
//! of the `spikectl-arm` node (no ROS inside the step: tested without a ROS graph).
//!
//! Topics (relative names):
//! - `joint_states` (`sensor_msgs/JointState`, in): the 7 joints by name (`<prefix>joint1` …
//!   `<prefix>joint7`, any order; empty names = that order), position [rad], velocity [rad/s];
//! - `wrench` (`geometry_msgs/WrenchStamped`, in): the flange force/torque sensor reading as the
//!   contact wrench the environment exerts on the tool, tool weight removed, in the world
//!   (robot base) frame [N, N·m] — pressing down on a table reads +z;
//! - `force_setpoint` (`std_msgs/Float64`, in): normal force to press with [N], clamped to
//!   [0, [`MAX_FORCE_SETPOINT`]];
//! - `cmd_vel` (`geometry_msgs/Twist`, in): tangential tip velocity `linear.x`, `linear.y` [m/s]
//!   (clamped to [`MAX_TANGENT_VEL`]); clears a target point;
//! - `target_xy` (`geometry_msgs/Point`, in): tangential target (x, y) [m] to hold;
//! - `effort_cmd` (`sensor_msgs/JointState`, out): the 7 names and `effort` [N·m], stamped with
//!   the stamp of the measurement it answers.

use std::time::{Duration, Instant};

use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg::WrenchStamped;
use r2r::sensor_msgs::msg::JointState;
use spikectl_robot::robots::{ArmParams, PANDA};
use spikectl_robot::state::ArmState;

use super::inputs::{InputError, check, stamp_s};
use super::joints;
use super::step::{RtStep, Stamped, StepOutput};
use r2r::QosProfile;
use r2r::geometry_msgs::msg::{Point, Twist};
use r2r::std_msgs::msg::Float64;

use super::controller_node::{CommandTimeout, RobotInterface, Subscription};
use super::diagnostics::{Counters, StatusBuilder};
use super::drain;
use super::inputs::InputErrors;
use super::params::{Check, ParamSpec, Params, Value};
use crate::control::arm::{ArmCommand, ArmController, ArmControllerConfig};
use crate::qp::QpSolver;
use crate::qp::registry::SolverSpec;

/// Number of arm joints.
pub const ARM_DOF: usize = 7;
/// Largest accepted |joint angle| [rad].
pub(crate) const MAX_ARM_JOINT_POS: f64 = 2.0 * std::f64::consts::PI;
/// Largest accepted |joint velocity| [rad/s].
pub(crate) const MAX_ARM_JOINT_VEL: f64 = 50.0;
/// Largest accepted |force| component [N] and |torque| component [N·m].
pub(crate) const MAX_WRENCH: f64 = 1e4;
/// Largest normal-force setpoint [N].
pub(crate) const MAX_FORCE_SETPOINT: f64 = 40.0;
/// Largest tangential speed command per axis [m/s].
pub(crate) const MAX_TANGENT_VEL: f64 = 0.2;

/// The arm description's joint names ([`PANDA`]) with `prefix` (`""` gives the simulated
/// arm's `joint1` … `joint7`).
pub fn arm_joint_names(prefix: &str) -> [String; ARM_DOF] {
    PANDA.joint_names.map(|n| format!("{prefix}{n}"))
}

/// Joint positions [rad] and velocities [rad/s] of the arm, in joint order.
pub(crate) type ArmJointReading = joints::JointReading<ARM_DOF>;

/// Checks and converts an arm `JointState` against the joint `names`.
pub(crate) fn arm_joints_from_msg(m: &JointState, names: &[String; ARM_DOF]) -> Result<ArmJointReading, InputError> {
    joints::joints_from_msg(m, names, MAX_ARM_JOINT_POS, MAX_ARM_JOINT_VEL)
}

/// A contact wrench reading: stamp [s], force [N], torque [N·m] (world frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WrenchReading {
    /// Stamp [s].
    pub t: f64,
    /// Force on the tool from the environment, world frame [N].
    pub force: [f64; 3],
    /// Torque about the sensor site, world frame [N·m].
    pub torque: [f64; 3],
}

/// Checks and converts a `WrenchStamped`.
pub(crate) fn wrench_from_msg(m: &WrenchStamped) -> Result<WrenchReading, InputError> {
    let (f, t) = (&m.wrench.force, &m.wrench.torque);
    let force = [f.x, f.y, f.z];
    let torque = [t.x, t.y, t.z];
    check("wrench.force", &force, MAX_WRENCH)?;
    check("wrench.torque", &torque, MAX_WRENCH)?;
    Ok(WrenchReading { t: stamp_s(&m.header.stamp), force, torque })
}

/// Checks a force setpoint [N] and clamps it to [0, [`MAX_FORCE_SETPOINT`]].
pub fn force_setpoint(f: f64) -> Result<f64, InputError> {
    if !f.is_finite() {
        return Err(InputError::NonFinite("force_setpoint"));
    }
    Ok(f.clamp(0.0, MAX_FORCE_SETPOINT))
}

/// Checks a tangential velocity / target (x, y) and clamps a velocity to [`MAX_TANGENT_VEL`].
pub fn tangent(field: &'static str, xy: [f64; 2], clamp: f64) -> Result<[f64; 2], InputError> {
    check(field, &xy, f64::INFINITY)?;
    Ok(xy.map(|v| v.clamp(-clamp, clamp)))
}

/// The arm's effort command: `names` and torques [N·m] (non-finite → 0), stamped `stamp`.
pub(crate) fn arm_effort_msg(stamp: Time, names: &[String; ARM_DOF], tau: &[f64; ARM_DOF]) -> JointState {
    joints::effort_msg(stamp, names, tau)
}

/// Checks an arm effort command against `names`; torques in joint order [N·m].
#[cfg(feature = "sim")]
pub(crate) fn arm_effort_from_msg(m: &JointState, names: &[String; ARM_DOF]) -> Result<[f64; ARM_DOF], InputError> {
    joints::effort_from_msg(m, names)
}

/// The simulator's sensor messages for an arm state: `JointState` (names, position, velocity)
/// and the contact `WrenchStamped` (frame `world`), both stamped `s.t`.
#[cfg(feature = "sim")]
pub(crate) fn arm_sensor_msgs(s: &ArmState, names: &[String; ARM_DOF]) -> (JointState, WrenchStamped) {
    use r2r::geometry_msgs::msg::{Vector3, Wrench};
    use r2r::std_msgs::msg::Header;
    let stamp = super::time_msg(s.t);
    let joints = JointState {
        header: Header { stamp: stamp.clone(), frame_id: String::new() },
        name: names.to_vec(),
        position: s.q.to_vec(),
        velocity: s.qd.to_vec(),
        effort: Vec::new(),
    };
    let v = |a: [f64; 3]| Vector3 { x: a[0], y: a[1], z: a[2] };
    let wrench = WrenchStamped {
        header: Header { stamp, frame_id: "world".into() },
        wrench: Wrench { force: v(s.wrench_force), torque: v(s.wrench_torque) },
    };
    (joints, wrench)
}

/// An arm state handed to the real-time thread, with the wall time it was assembled.
pub(crate) type StampedArmState = Stamped<ArmState>;

/// Combines joint samples with the newest wrench: a joint sample is released once a wrench at
/// least as new arrived, or after `sync_wait` with a wrench received within `stale_timeout`.
#[derive(Debug, Clone)]
pub(crate) struct ArmStateAssembler {
    joints: Option<(ArmJointReading, Instant)>,
    wrench: Option<(WrenchReading, Instant)>,
    last_t: Option<f64>,
    sync_wait: Duration,
    stale_timeout: Duration,
}

impl ArmStateAssembler {
    /// An empty assembler.
    pub fn new(sync_wait: Duration, stale_timeout: Duration) -> Self {
        Self { joints: None, wrench: None, last_t: None, sync_wait, stale_timeout }
    }
    /// Stores a joint sample received at `now`.
    pub(crate) fn set_joints(&mut self, r: ArmJointReading, now: Instant) {
        self.joints = Some((r, now));
    }
    /// Stores a wrench sample received at `now`.
    pub(crate) fn set_wrench(&mut self, r: WrenchReading, now: Instant) {
        self.wrench = Some((r, now));
    }
    /// The state of the newest joint sample, if it can be released at `now`.
    pub fn poll(&mut self, now: Instant) -> Option<StampedArmState> {
        let (j, jt) = self.joints?;
        if self.last_t.is_some_and(|t| j.t <= t) {
            return None;
        }
        let (w, wt) = self.wrench?;
        let waited = now.saturating_duration_since(jt) >= self.sync_wait
            && now.saturating_duration_since(wt) <= self.stale_timeout;
        if !(w.t >= j.t || waited) {
            return None;
        }
        self.last_t = Some(j.t);
        let state = ArmState { t: j.t, q: j.q, qd: j.qd, wrench_force: w.force, wrench_torque: w.torque };
        Some(StampedArmState { state, received: now })
    }
}

/// One output of the arm node's real-time step.
pub type ArmRtOutput = StepOutput<ARM_DOF>;

/// The arm node's real-time step ([`RtStep`] on [`ArmController`]).
pub type ArmRt = RtStep<ArmController, ARM_DOF>;

/// The arm of parameters `robot_description` / `robot_file` (+ `robot_overlay`), or [`PANDA`]
/// when none is set.
pub(crate) fn arm_of(p: &Params) -> anyhow::Result<ArmParams> {
    super::controller_node::DescriptionSource::load(p, PANDA, |f, ov| ArmParams::from_file(f, ov), ArmParams::from_urdf)
}

/// The arm's side of the generic controller node (`spikectl-arm`).
pub struct ArmNode {
    names: [String; ARM_DOF],
    joint_sub: Subscription<JointState>,
    wrench_sub: Subscription<WrenchStamped>,
    force_sub: Subscription<Float64>,
    cmd_vel_sub: Subscription<Twist>,
    target_sub: Subscription<Point>,
    assembler: ArmStateAssembler,
    cmd_vel: CommandTimeout,
}

impl RobotInterface<ARM_DOF> for ArmNode {
    type Ctrl = ArmController;
    const NODE: &'static str = "spikectl_arm";
    const EXE: &'static str = "spikectl-arm";
    const CONTROL_PERIOD_S: f64 = 0.001;
    const SYNC_WAIT: (f64, &'static str) = (0.001, "Wait for a wrench as new as a joint sample [s, wall]");
    const MPC_PERIOD_TEXT: &'static str = "10 ms";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::string("joint_prefix", "", Check::Any, "Joint names are <prefix>joint1 … <prefix>joint7"),
        ParamSpec::double("force_setpoint_n", 5.0, 0.0, 40.0, "Initial normal-force setpoint [N]"),
    ];
    const INPUTS: &'static [&'static str] = &["joint_states", "wrench", "force_setpoint", "cmd_vel", "target_xy"];
    const WAITING_FOR: &'static str = "joint_states and wrench";
    const LIVE: &'static [&'static str] = &["force_setpoint_n", "cmd_vel_timeout_s"];

    fn controller(
        p: &Params,
        solver: Box<dyn QpSolver>,
        mpc_thread: bool,
        max_solution_age_periods: f64,
    ) -> anyhow::Result<(ArmController, ArmCommand)> {
        let robot = arm_of(p)?;
        let cfg = ArmControllerConfig {
            mpc_thread,
            max_solution_age_periods,
            robot,
            tool_mass: robot.tool_mass,
            ..Default::default()
        };
        let cmd = ArmCommand { normal_force: p.double("force_setpoint_n")?, ..Default::default() };
        Ok((ArmController::new(solver, cfg)?, cmd))
    }

    fn solver(spec: &SolverSpec) -> Box<dyn QpSolver> {
        crate::mpc::tuning::arm_solver(spec)
    }

    fn subscribe(node: &mut r2r::Node, p: &Params, sensor_qos: QosProfile) -> anyhow::Result<Self> {
        let stale_timeout = Duration::from_secs_f64(p.double("stale_timeout_s")?);
        Ok(Self {
            names: {
                let (prefix, robot) = (p.string("joint_prefix")?, arm_of(p)?);
                robot.joint_names.map(|n| format!("{prefix}{n}"))
            },
            joint_sub: Box::pin(node.subscribe::<JointState>("joint_states", sensor_qos.clone())?),
            wrench_sub: Box::pin(node.subscribe::<WrenchStamped>("wrench", sensor_qos)?),
            force_sub: Box::pin(node.subscribe::<Float64>("force_setpoint", QosProfile::default())?),
            cmd_vel_sub: Box::pin(node.subscribe::<Twist>("cmd_vel", QosProfile::default())?),
            target_sub: Box::pin(node.subscribe::<Point>("target_xy", QosProfile::default())?),
            assembler: ArmStateAssembler::new(Duration::from_secs_f64(p.double("sync_wait_s")?), stale_timeout),
            cmd_vel: CommandTimeout::new(Duration::from_secs_f64(p.double("cmd_vel_timeout_s")?)),
        })
    }

    fn poll_state(&mut self, now: Instant, counters: &Counters, errors: &mut InputErrors) -> Option<StampedArmState> {
        for m in drain(&mut self.joint_sub) {
            Counters::bump(&counters.received);
            match arm_joints_from_msg(&m, &self.names) {
                Ok(r) => self.assembler.set_joints(r, now),
                Err(e) => errors.reject(counters, "joint_states", &e),
            }
        }
        for m in drain(&mut self.wrench_sub) {
            Counters::bump(&counters.received);
            match wrench_from_msg(&m) {
                Ok(r) => self.assembler.set_wrench(r, now),
                Err(e) => errors.reject(counters, "wrench", &e),
            }
        }
        self.assembler.poll(now)
    }

    fn poll_command(
        &mut self,
        now: Instant,
        cmd: &mut ArmCommand,
        counters: &Counters,
        errors: &mut InputErrors,
    ) -> bool {
        let mut changed = false;
        for m in drain(&mut self.force_sub) {
            Counters::bump(&counters.received);
            match force_setpoint(m.data) {
                Ok(f) => {
                    cmd.normal_force = f;
                    changed = true;
                }
                Err(e) => errors.reject(counters, "force_setpoint", &e),
            }
        }
        for m in drain(&mut self.cmd_vel_sub) {
            Counters::bump(&counters.received);
            match tangent("cmd_vel", [m.linear.x, m.linear.y], MAX_TANGENT_VEL) {
                Ok(v) => {
                    cmd.tangent_velocity = v;
                    cmd.target_xy = None;
                    self.cmd_vel.received(now);
                    changed = true;
                }
                Err(e) => errors.reject(counters, "cmd_vel", &e),
            }
        }
        if self.cmd_vel.expired(now) {
            cmd.tangent_velocity = [0.0; 2];
            changed = true;
        }
        for m in drain(&mut self.target_sub) {
            Counters::bump(&counters.received);
            match tangent("target_xy", [m.x, m.y], f64::INFINITY) {
                Ok(xy) => {
                    cmd.target_xy = Some(xy);
                    changed = true;
                }
                Err(e) => errors.reject(counters, "target_xy", &e),
            }
        }
        changed
    }

    fn set_param(&mut self, name: &str, value: &Value, cmd: &mut ArmCommand) -> bool {
        match (name, value) {
            ("force_setpoint_n", Value::Double(f)) => {
                cmd.normal_force = *f;
                true
            }
            ("cmd_vel_timeout_s", Value::Double(t)) => {
                self.cmd_vel.set_timeout(Duration::from_secs_f64(*t));
                false
            }
            _ => false,
        }
    }

    fn effort_msg(&self, stamp: Time, tau: &[f64; ARM_DOF]) -> JointState {
        arm_effort_msg(stamp, &self.names, tau)
    }

    fn describe(&self, cmd: &ArmCommand) -> String {
        format!("force setpoint {} N, joints {}…", cmd.normal_force, self.names[0])
    }

    fn report(&self, b: StatusBuilder, cmd: &ArmCommand) -> StatusBuilder {
        b.kv_f("force_setpoint_n", cmd.normal_force)
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::ros::diagnostics::Counters;
    use crate::ros::step::CommandKind;
    use crate::ros::step::RtCounters;
    use spikectl_sim::noise::SensorNoise;
    use spikectl_sim::{arm::ArmSim, robots::ARM_SCENE, robots::PANDA};
    use std::sync::Arc;

    #[test]
    fn arm_messages_round_trip_and_bad_ones_are_rejected() {
        let names = arm_joint_names("");
        let sim = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 1).unwrap();
        let mut s = sim.true_state();
        s.wrench_force = [0.5, -0.2, 7.0];
        let (j, w) = arm_sensor_msgs(&s, &names);
        let jr = arm_joints_from_msg(&j, &names).unwrap();
        assert_eq!((jr.q, jr.qd), (s.q, s.qd));
        assert_eq!(wrench_from_msg(&w).unwrap().force, s.wrench_force);
        let mut rev = j.clone();
        rev.name.reverse();
        rev.position.reverse();
        rev.velocity.reverse();
        assert_eq!(arm_joints_from_msg(&rev, &names).unwrap(), jr);
        let mut bad = j.clone();
        bad.position[2] = f64::NAN;
        assert_eq!(arm_joints_from_msg(&bad, &names).unwrap_err(), InputError::NonFinite("position"));
        assert!(arm_joints_from_msg(&j, &arm_joint_names("fr3_")).is_err(), "names must match");
        let mut bad = w.clone();
        bad.wrench.force.z = f64::INFINITY;
        assert!(wrench_from_msg(&bad).is_err());
        assert_eq!(force_setpoint(100.0).unwrap(), MAX_FORCE_SETPOINT);
        assert!(force_setpoint(f64::NAN).is_err());
        let tau: [f64; 7] = std::array::from_fn(|i| i as f64);
        assert_eq!(arm_effort_from_msg(&arm_effort_msg(Time::default(), &names, &tau), &names).unwrap(), tau);
    }

    #[test]
    fn arm_rt_controls_and_goes_safe_when_stale() {
        let ctrl = ArmController::new(Box::new(crate::qp::osqp::OsqpSolver::new()), Default::default()).unwrap();
        let counters = Arc::new(Counters::default());
        let quad = Arc::new(RtCounters::default());
        let cmd = ArmCommand { normal_force: 5.0, ..Default::default() };
        let safety = crate::control::safety::SafetyConfig { stale_timeout: 0.02, ..Default::default() };
        let mut rt = ArmRt::new(ctrl, cmd, safety, counters, quad.clone()).unwrap();
        let sim = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 1).unwrap();
        let t0 = Instant::now();
        let s = StampedArmState { state: sim.true_state(), received: t0 };
        let out = rt.step(t0, Some(s), None).unwrap();
        assert_eq!(out.kind, CommandKind::Control);
        assert!(out.tau.iter().all(|t| t.is_finite()));
        assert!(rt.step(t0 + Duration::from_millis(5), None, None).is_none());
        let safe = rt.step(t0 + Duration::from_millis(30), None, None).unwrap();
        assert_eq!(safe.kind, CommandKind::SafeStale);
        assert_eq!(quad.stale_ticks.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
