//! Controllers: the [`Controller`] interface every caller drives (the closed-loop runner,
//! the ROS nodes' real-time step, benchmarks), the two MPC controllers behind it
//! ([`quadruped::QuadrupedController`], [`arm::ArmController`]) with their kinematics, swing
//! trajectories and the mapping from MPC output to joint torques, and where their MPC runs
//! (inline or on a worker thread, [`mpc_thread`]).

pub mod arm;
pub(crate) mod mpc_host;
pub mod mpc_thread;
pub mod quadruped;
pub mod safety;
pub mod swing;

use spikectl_robot::state::{ArmState, QuadrupedState};

use crate::mpc::SolveRecord;

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

/// A measured robot state with the time it was taken.
pub trait RobotState: Copy {
    /// Stamp of the measurement [s].
    fn stamp(&self) -> f64;
}

impl RobotState for QuadrupedState {
    fn stamp(&self) -> f64 {
        self.t
    }
}

impl RobotState for ArmState {
    fn stamp(&self) -> f64 {
        self.t
    }
}

/// A joint-torque controller with `N` joints: the one interface that the closed-loop runner
/// (`scenario`), the ROS nodes' real-time step and the benchmarks drive.
pub trait Controller<const N: usize>: Send {
    /// Measured state.
    type State: RobotState;
    /// What the controller is asked to do.
    type Command: Copy;
    /// Name for reports (e.g. `mpc+osqp`, `pd-stand`).
    fn name(&self) -> String;
    /// Period at which [`Self::update`] is meant to run [s].
    fn control_period(&self) -> f64;
    /// Period of the MPC solves (their deadline) [s]; `None` without an MPC.
    fn mpc_period(&self) -> Option<f64> {
        None
    }
    /// Joint torques for a new state [N·m]; finite.
    fn update(&mut self, state: &Self::State, cmd: &Self::Command) -> [f64; N];
    /// The controller's own safe command for `state` (for inputs it rejects as invalid): a
    /// damping stop, never a PD on the readings [N·m].
    fn safe_torques(&self, state: &Self::State) -> [f64; N];
    /// The joint limits that [`safety::SafetyGuard`] enforces on every command.
    fn joint_limits(&self) -> safety::JointLimits<N>;
    /// Joint damping of the damping stop [N·m·s/rad].
    fn stop_damping(&self) -> f64;
    /// Torque held during a damping stop besides the damping, from no feedback on the
    /// (possibly stale) state's positions: zero by default; the arm's gravity torque at its
    /// last valid posture [N·m].
    fn hold_torques(&self, _state: &Self::State) -> [f64; N] {
        [0.0; N]
    }
    /// The controller's estimate of each joint's inertia about its axis at `state` (the
    /// diagonal of the joint-space inertia) [kg·m²], for the speed brake of
    /// [`safety::JointLimits`]; `None` (the default) = no estimate.
    fn joint_inertia(&self, _state: &Self::State) -> Option<[f64; N]> {
        None
    }
    /// MPC solves since the last call.
    fn take_solve_records(&mut self) -> Vec<SolveRecord> {
        Vec::new()
    }
    /// Counters since construction.
    fn counters(&self) -> ControllerCounters {
        ControllerCounters::default()
    }
    /// False once the controller's MPC worker thread has stopped (it panicked); true when the
    /// MPC runs inside the tick or there is none.
    fn mpc_alive(&self) -> bool {
        true
    }
}

/// A quadruped controller behind the common interface.
#[cfg(feature = "sim")]
pub(crate) type QuadrupedControl = dyn Controller<12, State = QuadrupedState, Command = quadruped::QuadrupedCommand>;
/// An arm controller behind the common interface.
#[cfg(feature = "sim")]
pub(crate) type ArmControl = dyn Controller<7, State = ArmState, Command = arm::ArmCommand>;

/// [`Controller`] for an MPC controller type with inherent methods of the same names.
macro_rules! mpc_controller {
    ($ty:ty, $n:literal, $state:ty, $cmd:ty) => {
        impl Controller<$n> for $ty {
            type State = $state;
            type Command = $cmd;
            fn name(&self) -> String {
                format!("mpc+{}", self.solver_name())
            }
            fn control_period(&self) -> f64 {
                self.config().control_period
            }
            fn mpc_period(&self) -> Option<f64> {
                Some(self.config().mpc_period)
            }
            fn update(&mut self, state: &$state, cmd: &$cmd) -> [f64; $n] {
                <$ty>::update(self, state, cmd)
            }
            fn safe_torques(&self, state: &$state) -> [f64; $n] {
                <$ty>::safe_torques(self, state)
            }
            fn joint_limits(&self) -> safety::JointLimits<$n> {
                <$ty>::joint_limits(self)
            }
            fn stop_damping(&self) -> f64 {
                <$ty>::stop_damping(self)
            }
            fn hold_torques(&self, state: &$state) -> [f64; $n] {
                <$ty>::hold_torques(self, state)
            }
            fn joint_inertia(&self, state: &$state) -> Option<[f64; $n]> {
                <$ty>::joint_inertia(self, state)
            }
            fn take_solve_records(&mut self) -> Vec<SolveRecord> {
                <$ty>::take_solve_records(self)
            }
            fn counters(&self) -> ControllerCounters {
                <$ty>::counters(self)
            }
            fn mpc_alive(&self) -> bool {
                <$ty>::mpc_alive(self)
            }
        }
    };
}

mpc_controller!(quadruped::QuadrupedController, 12, QuadrupedState, quadruped::QuadrupedCommand);
mpc_controller!(arm::ArmController, 7, ArmState, arm::ArmCommand);
