//! Which controller runs a scenario (an MPC on a registry solver, or a baseline), and the
//! two baselines.

use std::str::FromStr;

use spikectl_robot::robots::{ARM_SCENE, ArmParams, GO1, PANDA, QuadrupedParams};
use spikectl_robot::state::{ArmState, QuadrupedState};
use spikectl_sim::arm::ArmSim;
use spikectl_sim::noise::SensorNoise;

use super::ScenarioError;
use crate::control::arm::{ArmCommand, ArmController, ArmControllerConfig};
use crate::control::quadruped::{QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use crate::control::safety::JointLimits;
use crate::control::{ArmControl, Controller, QuadrupedControl};
use crate::mpc::tuning;
use crate::qp::registry::{Arithmetic, Backend, RegistryError, SolverSpec};

/// What runs a scenario: the robot's MPC controller on a registry solver, or the baseline
/// controller without MPC.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControllerChoice {
    /// The MPC controller with this QP solver.
    Mpc(SolverSpec),
    /// No MPC: the joint-PD stand (quadruped) or the force-PI controller (arm).
    Baseline,
}

impl ControllerChoice {
    /// The MPC on `backend` with no options.
    pub fn mpc(backend: Backend) -> Self {
        Self::Mpc(SolverSpec::new(backend))
    }

    /// The arithmetic the controller's solver runs in (a baseline computes on the CPU).
    pub fn arithmetic(&self) -> Arithmetic {
        match self {
            Self::Mpc(s) => s.backend.arithmetic(),
            Self::Baseline => Arithmetic::Cpu,
        }
    }

    /// Name used on the command line and in reports: the solver spec, or `baseline`.
    pub fn name(&self) -> String {
        match self {
            Self::Mpc(s) => s.to_string(),
            Self::Baseline => "baseline".into(),
        }
    }
}

impl FromStr for ControllerChoice {
    type Err = RegistryError;
    /// `baseline`, or a solver spec (`osqp`, `loihi2:planes=2`, …).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "baseline" => Ok(Self::Baseline),
            other => Ok(Self::Mpc(other.parse()?)),
        }
    }
}

/// The quadruped controller for `choice` on the default robot ([`GO1`]; inline MPC, as the
/// closed-loop runner uses it).
pub fn quadruped_controller(choice: &ControllerChoice) -> Result<Box<QuadrupedControl>, ScenarioError> {
    quadruped_controller_for(choice, &GO1)
}

/// The quadruped controller for `choice` on robot `robot` (e.g. from a description file).
pub fn quadruped_controller_for(
    choice: &ControllerChoice,
    robot: &QuadrupedParams,
) -> Result<Box<QuadrupedControl>, ScenarioError> {
    match choice {
        ControllerChoice::Baseline => Ok(Box::new(PdStand { robot: *robot, ..PdStand::default() })),
        ControllerChoice::Mpc(spec) => {
            let cfg = QuadrupedControllerConfig::for_robot(robot);
            let ctrl = QuadrupedController::new(tuning::quadruped_solver(spec), cfg)?;
            Ok(Box::new(ctrl))
        }
    }
}

/// The arm controller for `choice` on the default arm ([`PANDA`]; inline MPC).
pub fn arm_controller(choice: &ControllerChoice) -> Result<Box<ArmControl>, ScenarioError> {
    arm_controller_for(choice, &PANDA)
}

/// The arm controller for `choice` on arm `robot` (e.g. from a description file); the
/// tool's mass from the description is compensated.
pub fn arm_controller_for(choice: &ControllerChoice, robot: &ArmParams) -> Result<Box<ArmControl>, ScenarioError> {
    match choice {
        ControllerChoice::Baseline => Ok(Box::new(ForcePi::new(robot)?)),
        ControllerChoice::Mpc(spec) => {
            let cfg = ArmControllerConfig { robot: *robot, tool_mass: robot.tool_mass, ..Default::default() };
            let ctrl = ArmController::new(tuning::arm_solver(spec), cfg)?;
            Ok(Box::new(ctrl))
        }
    }
}

/// Baseline "pd-stand": joint PD about [`spikectl_robot::robots::QuadrupedParams::stand_q`]
/// with gravity-free gains; ignores velocity commands (it only stands).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PdStand {
    /// The robot (standing posture, limits).
    pub robot: QuadrupedParams,
    /// Proportional gain [N·m/rad].
    pub kp: f64,
    /// Derivative gain [N·m·s/rad].
    pub kd: f64,
}

impl Default for PdStand {
    fn default() -> Self {
        Self { robot: GO1, kp: 60.0, kd: 2.0 }
    }
}

impl Controller<12> for PdStand {
    type State = QuadrupedState;
    type Command = QuadrupedCommand;
    fn name(&self) -> String {
        "pd-stand".into()
    }
    fn control_period(&self) -> f64 {
        0.002
    }
    fn update(&mut self, s: &QuadrupedState, _cmd: &QuadrupedCommand) -> [f64; 12] {
        let mut tau = [0.0; 12];
        for i in 0..12 {
            let t = self.kp * (self.robot.stand_q[i % 3] - s.q[i]) - self.kd * s.qd[i];
            tau[i] = if t.is_finite() { t } else { 0.0 };
        }
        tau
    }
    /// Joint damping only [N·m].
    fn safe_torques(&self, s: &QuadrupedState) -> [f64; 12] {
        s.qd.map(|v| if v.is_finite() { -self.kd * v } else { 0.0 })
    }
    fn joint_limits(&self) -> JointLimits<12> {
        JointLimits {
            position: std::array::from_fn(|j| self.robot.joint_limits[j % 3]),
            velocity: std::array::from_fn(|j| self.robot.velocity_limits[j % 3]),
            torque: std::array::from_fn(|j| self.robot.torque_limits[j % 3]),
        }
    }
    fn stop_damping(&self) -> f64 {
        self.robot.safe_damping
    }
}

/// Baseline "force-pi" for the arm: model-based gravity compensation (a private copy of
/// the MuJoCo arm model used as the robot model), Cartesian PD on the tip's (x, y), a PI
/// loop on the measured normal force (velocity-controlled approach until contact), and
/// joint damping plus a weak posture spring.
pub(crate) struct ForcePi {
    model: ArmSim,
    q_home: [f64; 7],
    xy_ref: Option<[f64; 2]>,
    integ: f64,
    dt: f64,
}

impl ForcePi {
    /// Builds the baseline for the arm `p` (table scene [`ARM_SCENE`]).
    pub fn new(p: &ArmParams) -> Result<Self, ScenarioError> {
        let mut model = ArmSim::new(p, &ARM_SCENE, SensorNoise::NONE, 0)?;
        let q_home = model.inverse_kinematics([
            super::ARM_CONTACT_XY[0],
            super::ARM_CONTACT_XY[1],
            ARM_SCENE.table_top_z + 0.03,
        ]);
        Ok(Self { model, q_home, xy_ref: None, integ: 0.0, dt: 0.001 })
    }
}

impl Controller<7> for ForcePi {
    type State = ArmState;
    type Command = ArmCommand;
    fn name(&self) -> String {
        "force-pi".into()
    }
    fn control_period(&self) -> f64 {
        self.dt
    }
    /// Joint damping only [N·m].
    fn safe_torques(&self, s: &ArmState) -> [f64; 7] {
        s.qd.map(|v| if v.is_finite() { -v } else { 0.0 })
    }
    fn joint_limits(&self) -> JointLimits<7> {
        let p = self.model.params();
        JointLimits { position: p.q_limits, velocity: p.velocity_limits, torque: p.torque_limits }
    }
    fn stop_damping(&self) -> f64 {
        self.model.params().safe_damping
    }
    fn update(&mut self, s: &ArmState, task: &ArmCommand) -> [f64; 7] {
        self.model.set_q(&s.q);
        let g = self.model.bias_torques();
        let j = self.model.tip_jacobian();
        let p = self.model.tip_pos();
        let mut v = [0.0; 3];
        for r in 0..3 {
            v[r] = (0..7).map(|k| j[r][k] * s.qd[k]).sum();
        }
        let xy = self.xy_ref.get_or_insert([p[0], p[1]]);
        match task.target_xy {
            Some(t) => *xy = t,
            None => {
                xy[0] += task.tangent_velocity[0] * self.dt;
                xy[1] += task.tangent_velocity[1] * self.dt;
            }
        }
        let (kp, kd) = (800.0, 60.0);
        let mut f = [0.0; 3];
        for k in 0..2 {
            f[k] = kp * (xy[k] - p[k]) + kd * (task.tangent_velocity[k] - v[k]);
        }
        let f_meas = s.wrench_force[2];
        if f_meas < 0.5 && self.integ == 0.0 {
            // Approach at 2 cm/s until first contact.
            f[2] = 60.0 * (-0.02 - v[2]);
        } else {
            let e = task.normal_force - f_meas;
            self.integ = (self.integ + 8.0 * e * self.dt).clamp(-20.0, 20.0);
            f[2] = -(task.normal_force + 0.3 * e + self.integ) - 40.0 * v[2];
        }
        let mut tau = [0.0; 7];
        for i in 0..7 {
            let jt: f64 = (0..3).map(|r| j[r][i] * f[r]).sum();
            tau[i] = g[i] + jt + 2.0 * (self.q_home[i] - s.q[i]) - 1.0 * s.qd[i];
        }
        tau
    }
}
