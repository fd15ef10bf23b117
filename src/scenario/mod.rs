//! The closed-loop main job: scenarios for the quadruped and the arm, run in the MuJoCo
//! simulator (`spikectl-sim`) with a chosen QP solver behind the MPC controllers, with
//! metrics, reports and plots.
//!
//! - [`Scenario`]: what is commanded over time (and pushes).
//! - [`controllers`]: which controller runs ([`controllers::ControllerChoice`]: the MPC on a
//!   registry solver, or a baseline) and the baselines; the runner drives any
//!   [`crate::control::Controller`].
//! - [`run_quadruped`] / [`run_arm`]: the loops; [`RunResult`] holds metrics and traces;
//!   [`output::write_run`] writes JSON, CSV and PNG plots.

pub mod controllers;
pub mod output;
mod run;

pub use run::{
    ContactLosses, EdpComparison, FALL_HEIGHT, FALL_TILT, RunConfig, RunMetrics, RunResult, TraceTable, default_noise,
    run_arm, run_quadruped,
};

use serde::{Deserialize, Serialize};

use crate::control::arm::ArmCommand;
use crate::control::quadruped::{GaitKind, QuadrupedCommand};

/// Errors of the scenario runner.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The simulator failed to build its scene.
    #[error("simulator: {0}")]
    Sim(#[from] spikectl_sim::SimError),
    /// The requested solver or controller is not available in this build.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The controller could not be built.
    #[error("controller")]
    Controller(#[from] crate::control::ControlError),
    /// Bad user input (scenario name, robot, duration …).
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Which robot a scenario drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Robot {
    /// The 12-DoF quadruped.
    Quadruped,
    /// The 7-DoF arm at the table.
    Arm,
}

/// The scenarios of the main job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// Quadruped stands still (10 s).
    Stand,
    /// Quadruped trots forward at 0.5 m/s (20 s).
    Trot,
    /// Quadruped trots at 0.4 m/s while turning at ±0.5 rad/s (20 s).
    TrotTurn,
    /// Quadruped trots at 0.5 m/s and gets a 40 N lateral push for 0.1 s at t = 5 s (10 s).
    Push,
    /// Arm approaches the table at 5 N, then ramps the normal force 5 → 20 N and holds (8 s).
    ForceRamp,
    /// Arm tracks a sinusoidal normal force 12 ± 6 N at 0.5 Hz (8 s).
    ForceSine,
    /// Arm slides along the table at 5 cm/s at a constant 10 N normal force (8 s).
    Slide,
}

/// Names accepted on the command line, per robot.
pub(crate) const QUADRUPED_SCENARIOS: [&str; 4] = ["stand", "trot", "trot-turn", "push"];
/// Names accepted on the command line for the arm.
pub(crate) const ARM_SCENARIOS: [&str; 3] = ["force-ramp", "force-sine", "slide"];

/// A scenario: robot, kind, default duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Which scenario.
    pub kind: ScenarioKind,
    /// Simulated duration [s].
    pub duration: f64,
}

/// Time to ramp quadruped velocity commands up from zero [s].
pub(crate) const CMD_RAMP_S: f64 = 1.0;
/// Start of the window over which quadruped tracking metrics are taken [s].
pub(crate) const QUAD_EVAL_START_S: f64 = 2.0;
/// Arm tip (x, y) where the force scenarios start pressing [m].
pub const ARM_CONTACT_XY: [f64; 2] = [0.50, 0.0];
/// Start of the ramp in [`ScenarioKind::ForceRamp`] [s].
pub(crate) const RAMP_START_S: f64 = 2.0;
/// Ramp duration in [`ScenarioKind::ForceRamp`] [s].
pub(crate) const RAMP_LEN_S: f64 = 2.0;
/// Start of the force-tracking evaluation window of the arm scenarios [s].
pub(crate) const ARM_EVAL_START_S: f64 = 2.0;

impl Scenario {
    /// Parses a scenario name for a robot (`None` picks the default: trot / force-ramp).
    pub fn parse(robot: Robot, name: Option<&str>) -> Result<Self, ScenarioError> {
        use ScenarioKind::*;
        let kind = match (robot, name) {
            (Robot::Quadruped, None | Some("trot")) => Trot,
            (Robot::Quadruped, Some("stand")) => Stand,
            (Robot::Quadruped, Some("trot-turn" | "turn")) => TrotTurn,
            (Robot::Quadruped, Some("push" | "push-recovery")) => Push,
            (Robot::Arm, None | Some("force-ramp" | "ramp")) => ForceRamp,
            (Robot::Arm, Some("force-sine" | "sine")) => ForceSine,
            (Robot::Arm, Some("slide")) => Slide,
            (r, Some(n)) => {
                let valid =
                    if r == Robot::Quadruped { QUADRUPED_SCENARIOS.join(", ") } else { ARM_SCENARIOS.join(", ") };
                return Err(ScenarioError::Invalid(format!("unknown scenario '{n}' for {r:?}; one of {valid}")));
            }
        };
        Ok(Self::new(kind))
    }

    /// The scenario with its default duration.
    pub fn new(kind: ScenarioKind) -> Self {
        use ScenarioKind::*;
        let duration = match kind {
            Stand | Push => 10.0,
            Trot | TrotTurn => 20.0,
            ForceRamp | ForceSine | Slide => 8.0,
        };
        Self { kind, duration }
    }

    /// Robot of this scenario.
    pub fn robot(&self) -> Robot {
        use ScenarioKind::*;
        match self.kind {
            Stand | Trot | TrotTurn | Push => Robot::Quadruped,
            ForceRamp | ForceSine | Slide => Robot::Arm,
        }
    }

    /// Command-line name.
    pub fn name(&self) -> &'static str {
        use ScenarioKind::*;
        match self.kind {
            Stand => "stand",
            Trot => "trot",
            TrotTurn => "trot-turn",
            Push => "push",
            ForceRamp => "force-ramp",
            ForceSine => "force-sine",
            Slide => "slide",
        }
    }

    /// Pushes of this scenario.
    pub fn pushes(&self) -> Vec<spikectl_sim::quadruped::Push> {
        match self.kind {
            ScenarioKind::Push => {
                vec![spikectl_sim::quadruped::Push { start: 5.0, duration: 0.1, force: [0.0, 40.0, 0.0] }]
            }
            _ => Vec::new(),
        }
    }

    /// Quadruped command at time `t` [s] (velocities ramp up over [`CMD_RAMP_S`]).
    pub(crate) fn quad_command(&self, t: f64) -> QuadrupedCommand {
        let ramp = (t / CMD_RAMP_S).clamp(0.0, 1.0);
        let trot = QuadrupedCommand { gait: GaitKind::Trot, ..Default::default() };
        match self.kind {
            ScenarioKind::Stand => QuadrupedCommand::default(),
            ScenarioKind::Trot | ScenarioKind::Push => QuadrupedCommand { vx: 0.5 * ramp, ..trot },
            ScenarioKind::TrotTurn => {
                // Turn left for 5 s, then right for 5 s, repeating, after 2 s straight.
                let wz = if t < 2.0 {
                    0.0
                } else if (((t - 2.0) / 5.0) as u64).is_multiple_of(2) {
                    0.5
                } else {
                    -0.5
                };
                QuadrupedCommand { vx: 0.4 * ramp, yaw_rate: wz, ..trot }
            }
            _ => QuadrupedCommand::default(),
        }
    }

    /// Arm command at time `t` [s].
    pub fn arm_command(&self, t: f64) -> ArmCommand {
        let hold = Some(ARM_CONTACT_XY);
        match self.kind {
            ScenarioKind::ForceRamp => {
                let r = ((t - RAMP_START_S) / RAMP_LEN_S).clamp(0.0, 1.0);
                ArmCommand { normal_force: 5.0 + 15.0 * r, tangent_velocity: [0.0; 2], target_xy: hold }
            }
            ScenarioKind::ForceSine => {
                let f = if t < ARM_EVAL_START_S {
                    5.0 + 7.0 * (t / ARM_EVAL_START_S)
                } else {
                    12.0 + 6.0 * (std::f64::consts::TAU * 0.5 * (t - ARM_EVAL_START_S)).sin()
                };
                ArmCommand { normal_force: f, tangent_velocity: [0.0; 2], target_xy: hold }
            }
            ScenarioKind::Slide => {
                let f = 5.0 + 5.0 * (t / ARM_EVAL_START_S).clamp(0.0, 1.0);
                if t < ARM_EVAL_START_S {
                    ArmCommand { normal_force: f, tangent_velocity: [0.0; 2], target_xy: hold }
                } else {
                    // Out along +x for 3 s, then back.
                    let v = if t - ARM_EVAL_START_S < 3.0 { 0.05 } else { -0.05 };
                    ArmCommand { normal_force: f, tangent_velocity: [v, 0.0], target_xy: None }
                }
            }
            _ => ArmCommand::default(),
        }
    }
}
