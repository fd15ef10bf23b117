//! Low-level control: kinematics, Jacobians, swing trajectories and the mapping from MPC
//! output to joint torques, plus the closed-loop controllers used by the simulator and the
//! ROS nodes.

pub mod arm;
pub mod arm_kin;
pub mod leg;
pub mod quadruped;
pub mod swing;

/// Errors from building a controller.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ControlError {
    /// A configuration value is out of range.
    #[error("invalid controller configuration: {0}")]
    Config(String),
    /// The MPC could not be built.
    #[error(transparent)]
    Mpc(#[from] crate::mpc::MpcError),
}

/// Event counters of a controller since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ControllerCounters {
    /// `update` calls.
    pub updates: u64,
    /// Inputs rejected as invalid (NaN, out of range) → safe command.
    pub invalid_inputs: u64,
    /// MPC solves attempted.
    pub solves: u64,
    /// Solves whose result was not used (error, not solved, non-finite) → fallback command.
    pub fallbacks: u64,
}
