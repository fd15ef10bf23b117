//! The controller interface the runner drives, solver selection, and the baselines.

use spikectl_sim::arm::ArmSim;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::robots::{ARM_SCENE, ArmParams, GO1, PANDA};
use spikectl_sim::state::{ArmState, QuadrupedState};

use super::{ArmTask, QuadCommand, ScenarioError};
use crate::control::arm::{ArmCommand, ArmController, ArmControllerConfig};
use crate::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use crate::mpc::SolveRecord;

/// Which QP solver (or baseline controller) runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SolverChoice {
    /// The spiking PIPG solver on the simulated neuromorphic substrate.
    Spiking,
    /// OSQP (the baseline QP solver).
    Osqp,
    /// PIPG in floating point (reference for the spiking solver).
    Pipg,
    /// No MPC: the joint-PD stand (quadruped) or a force-PI controller (arm).
    Baseline,
}

impl SolverChoice {
    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SolverChoice::Spiking => "spiking",
            SolverChoice::Osqp => "osqp",
            SolverChoice::Pipg => "pipg",
            SolverChoice::Baseline => "baseline",
        }
    }
}

/// A quadruped controller as the runner sees it.
pub trait QuadrupedPolicy {
    /// Name for reports.
    fn name(&self) -> String;
    /// Period at which [`Self::update`] is called [s].
    fn control_period(&self) -> f64;
    /// Period of the MPC solves (their deadline) [s], if the policy solves QPs.
    fn mpc_period(&self) -> Option<f64> {
        None
    }
    /// Joint torques [N·m] (FR, FL, RR, RL × hip, thigh, calf) for the measured state.
    fn update(&mut self, s: &QuadrupedState, cmd: &QuadCommand) -> [f64; 12];
    /// Solve records since the last call.
    fn take_solve_records(&mut self) -> Vec<SolveRecord> {
        Vec::new()
    }
}

/// An arm controller as the runner sees it.
pub trait ArmPolicy {
    /// Name for reports.
    fn name(&self) -> String;
    /// Period at which [`Self::update`] is called [s].
    fn control_period(&self) -> f64;
    /// Period of the MPC solves [s], if any.
    fn mpc_period(&self) -> Option<f64> {
        None
    }
    /// Joint torques [N·m] for the measured state.
    fn update(&mut self, s: &ArmState, task: &ArmTask) -> [f64; 7];
    /// Solve records since the last call.
    fn take_solve_records(&mut self) -> Vec<SolveRecord> {
        Vec::new()
    }
}

/// Builds the QP solver for `choice`.
pub fn make_solver(choice: SolverChoice) -> Result<Box<dyn crate::qp::QpSolver>, ScenarioError> {
    match choice {
        SolverChoice::Osqp => Ok(Box::new(crate::qp::osqp::OsqpSolver::new())),
        SolverChoice::Pipg => Ok(Box::new(crate::qp::pipg::PipgSolver::new())),
        SolverChoice::Spiking => Ok(Box::new(crate::qp::spiking::SpikingSolver::new(
            crate::qp::spiking::SpikingSettings::default().constant_omega(),
        ))),
        c => Err(ScenarioError::Unavailable(format!(
            "solver '{}' is not in this build yet (try --solver osqp or baseline)",
            c.name()
        ))),
    }
}

/// Constant primal-dual weight ω of the spiking solver on the arm MPC. The quadruped's
/// [`crate::qp::spiking::MPC_OMEGA`] (0.3) is tuned on the quadruped's QP; on the arm's
/// (n 150, m 255), `examples/arm_slide_diag` (`SOLVER=spiking OMEGA=… NOISE=1`, 710 solves
/// per scenario) measured mean iterations / unsolved (force-ramp, force-sine, slide):
/// ω = 0.3: 94/1, 219/6, 113/5 (one fallback each in sine and slide); ω = 1: 62/0, 133/2,
/// 65/1; ω = 2: 72/0, 169/1, 65/1; ω = 3: 97/0, 249/1, 75/0; no fallbacks at ω ≥ 1. The
/// slowest solves are the first ones after contact (cold start, 1–4 k iterations). ω = 2
/// rather than 1: on force-sine its force RMS stays within 7–8% of OSQP's (seeds 1–3,
/// `spikectl run arm --scenario force-sine --solver both --seed N`), at ω = 1 it was 12%.
pub const ARM_MPC_OMEGA: f64 = 2.0;

/// Builds the QP solver of the arm MPC for `choice`: as [`make_solver`], with the spiking
/// solver's constant ω set to [`ARM_MPC_OMEGA`].
pub fn make_arm_solver(choice: SolverChoice) -> Result<Box<dyn crate::qp::QpSolver>, ScenarioError> {
    match choice {
        SolverChoice::Spiking => Ok(Box::new(crate::qp::spiking::SpikingSolver::new(
            crate::qp::spiking::SpikingSettings::default().for_mpc(ARM_MPC_OMEGA),
        ))),
        c => make_solver(c),
    }
}

/// Control tick of the MPC quadruped controller [s] (500 Hz).
pub const QUAD_CONTROL_PERIOD: f64 = 0.002;

/// Builds the quadruped controller for `choice`.
pub fn make_quadruped_policy(choice: SolverChoice) -> Result<Box<dyn QuadrupedPolicy>, ScenarioError> {
    match choice {
        SolverChoice::Baseline => Ok(Box::new(PdStand::default())),
        c => {
            let solver = make_solver(c)?;
            let cfg = QuadrupedControllerConfig::default();
            let period = cfg.mpc_period;
            let ctrl = QuadrupedController::new(solver, cfg).map_err(|e| ScenarioError::Controller(e.to_string()))?;
            Ok(Box::new(QuadrupedMpcPolicy { ctrl, period, solver: c }))
        }
    }
}

/// The MPC quadruped controller ([`QuadrupedController`]) behind the runner's interface.
pub struct QuadrupedMpcPolicy {
    ctrl: QuadrupedController,
    period: f64,
    solver: SolverChoice,
}

impl QuadrupedMpcPolicy {
    /// The wrapped controller.
    pub fn controller(&self) -> &QuadrupedController {
        &self.ctrl
    }
}

impl QuadrupedPolicy for QuadrupedMpcPolicy {
    fn name(&self) -> String {
        format!("mpc+{}", self.solver.name())
    }
    fn control_period(&self) -> f64 {
        QUAD_CONTROL_PERIOD
    }
    fn mpc_period(&self) -> Option<f64> {
        Some(self.period)
    }
    fn update(&mut self, s: &QuadrupedState, cmd: &QuadCommand) -> [f64; 12] {
        let c = QuadrupedCommand {
            vx: cmd.vx,
            vy: cmd.vy,
            yaw_rate: cmd.yaw_rate,
            body_height: 0.0,
            gait: if cmd.trot { GaitKind::Trot } else { GaitKind::Stand },
        };
        self.ctrl.update(s, &c)
    }
    fn take_solve_records(&mut self) -> Vec<SolveRecord> {
        self.ctrl.take_solve_records()
    }
}

/// Control tick of the MPC arm controller [s] (1 kHz).
pub const ARM_CONTROL_PERIOD: f64 = 0.001;

/// Builds the arm controller for `choice`.
pub fn make_arm_policy(choice: SolverChoice) -> Result<Box<dyn ArmPolicy>, ScenarioError> {
    match choice {
        SolverChoice::Baseline => Ok(Box::new(ForcePi::new(&PANDA)?)),
        c => {
            let solver = make_arm_solver(c)?;
            // The simulated tool's mass is known scene data: compensate it.
            let cfg = ArmControllerConfig { tool_mass: spikectl_sim::mjcf::TOOL_MASS, ..Default::default() };
            let period = cfg.mpc_period;
            let ctrl = ArmController::new(solver, cfg).map_err(|e| ScenarioError::Controller(e.to_string()))?;
            Ok(Box::new(ArmMpcPolicy { ctrl, period, solver: c }))
        }
    }
}

/// The MPC arm controller ([`ArmController`]) behind the runner's interface.
pub struct ArmMpcPolicy {
    ctrl: ArmController,
    period: f64,
    solver: SolverChoice,
}

impl ArmMpcPolicy {
    /// The wrapped controller.
    pub fn controller(&self) -> &ArmController {
        &self.ctrl
    }
}

impl ArmPolicy for ArmMpcPolicy {
    fn name(&self) -> String {
        format!("mpc+{}", self.solver.name())
    }
    fn control_period(&self) -> f64 {
        ARM_CONTROL_PERIOD
    }
    fn mpc_period(&self) -> Option<f64> {
        Some(self.period)
    }
    fn update(&mut self, s: &ArmState, task: &ArmTask) -> [f64; 7] {
        let c = ArmCommand {
            normal_force: task.normal_force,
            tangent_velocity: task.tangent_velocity,
            target_xy: task.target_xy,
        };
        self.ctrl.update(s, &c)
    }
    fn take_solve_records(&mut self) -> Vec<SolveRecord> {
        self.ctrl.take_solve_records()
    }
}

/// Baseline "pd-stand": joint PD about [`spikectl_sim::robots::QuadrupedParams::stand_q`]
/// with gravity-free gains; ignores velocity commands (it only stands).
#[derive(Debug, Clone, Copy)]
pub struct PdStand {
    /// Proportional gain [N·m/rad].
    pub kp: f64,
    /// Derivative gain [N·m·s/rad].
    pub kd: f64,
}

impl Default for PdStand {
    fn default() -> Self {
        Self { kp: 60.0, kd: 2.0 }
    }
}

impl QuadrupedPolicy for PdStand {
    fn name(&self) -> String {
        "pd-stand".into()
    }
    fn control_period(&self) -> f64 {
        0.002
    }
    fn update(&mut self, s: &QuadrupedState, _cmd: &QuadCommand) -> [f64; 12] {
        let mut tau = [0.0; 12];
        for i in 0..12 {
            tau[i] = self.kp * (GO1.stand_q[i % 3] - s.q[i]) - self.kd * s.qd[i];
        }
        tau
    }
}

/// Baseline "force-pi" for the arm: model-based gravity compensation (a private copy of
/// the MuJoCo arm model used as the robot model), Cartesian PD on the tip's (x, y), a PI
/// loop on the measured normal force (velocity-controlled approach until contact), and
/// joint damping plus a weak posture spring.
pub struct ForcePi {
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

impl ArmPolicy for ForcePi {
    fn name(&self) -> String {
        "force-pi".into()
    }
    fn control_period(&self) -> f64 {
        self.dt
    }
    fn update(&mut self, s: &ArmState, task: &ArmTask) -> [f64; 7] {
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
