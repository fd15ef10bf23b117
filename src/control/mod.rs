//! Low-level control: kinematics, Jacobians, swing trajectories and the mapping from MPC
//! output to joint torques, plus the closed-loop controllers used by the simulator and the
//! ROS nodes.

pub mod arm;
pub mod arm_kin;
pub mod leg;
pub mod mpc_thread;
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
    /// The MPC worker thread could not be started.
    #[error("cannot start the MPC thread: {0}")]
    Thread(String),
}

/// Event counters of a controller since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)] // records written before the MPC-thread counters existed still load
pub struct ControllerCounters {
    /// `update` calls.
    pub updates: u64,
    /// Inputs rejected as invalid (NaN, out of range) → safe command.
    pub invalid_inputs: u64,
    /// MPC solves attempted (started; with the MPC thread: jobs handed to it, of which a
    /// newer job may replace one not yet taken).
    pub solves: u64,
    /// Solves whose result was not used (error, not solved, non-finite) → fallback command.
    pub fallbacks: u64,
    /// MPC solves finished (results back in the controller).
    pub solves_finished: u64,
    /// Ticks that applied the fallback command because no solution was younger than the
    /// age limit (MPC thread only: before the first solution, after a gait switch or contact
    /// onset until the first new one, and whenever the solver falls behind).
    pub stale_solutions: u64,
    /// Largest age of the MPC solution in use at a tick (controller time since the state
    /// it was computed from) [µs].
    pub max_solution_age_us: u64,
}
