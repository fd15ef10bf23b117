//! Model-predictive control that builds QPs with a fixed sparsity pattern, solved by any
//! [`crate::qp::QpSolver`].

pub mod arm;
pub mod gait;
pub mod quadruped;
pub mod tuning;

use std::time::Duration;

use crate::neuro::OpCounts;
use crate::qp::{Residuals, Status};

/// What one MPC solve did, for monitoring and reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SolveRecord {
    /// Controller time at which the MPC ran [s].
    pub t: f64,
    /// Solver backend name.
    pub solver: String,
    /// How the solve ended.
    pub status: Status,
    /// Iterations taken.
    pub iterations: usize,
    /// Wall-clock solve time on this CPU.
    pub solve_time: Duration,
    /// Wall-clock time on this CPU spent building the QP for this solve (the MPC update:
    /// linearisation, matrices, bounds) before the solver ran; zero when not measured.
    #[serde(default)]
    pub preprocess_time: Duration,
    /// QP objective ½xᵀPx + qᵀx at the returned x (0 when the solve returned none).
    #[serde(default)]
    pub objective: f64,
    /// Residuals on the original QP.
    pub residuals: Residuals,
    /// Neuromorphic operation counts (spiking solver only).
    pub ops: Option<OpCounts>,
    /// True when the controller did not use this solution and applied its safe command.
    pub fallback: bool,
}

impl SolveRecord {
    /// The record of a solve at controller time `t` [s] by `solver`, from its solution
    /// (`None`: the solve produced none, recorded as a numerical error).
    pub(crate) fn of_solve(t: f64, solver: &str, sol: Option<&crate::qp::Solution>) -> Self {
        Self {
            t,
            solver: solver.to_string(),
            status: sol.map(|s| s.status).unwrap_or(Status::NumericalError),
            iterations: sol.map(|s| s.iterations).unwrap_or(0),
            solve_time: sol.map(|s| s.solve_time).unwrap_or_default(),
            preprocess_time: Duration::ZERO,
            objective: sol.map(|s| s.objective).unwrap_or(0.0),
            residuals: sol.map(|s| s.residuals).unwrap_or_default(),
            ops: sol.and_then(|s| s.ops),
            fallback: false,
        }
    }
}

/// Errors from building or running an MPC.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum MpcError {
    /// The configuration is out of range.
    #[error("invalid MPC configuration: {0}")]
    Config(String),
    /// A state, reference or plan was invalid (non-finite, wrong length).
    #[error("invalid MPC input: {0}")]
    Input(String),
    /// The QP layer reported an error.
    #[error(transparent)]
    Qp(#[from] crate::qp::QpError),
    /// The solver did not return a usable solution.
    #[error("QP not solved: {0:?}")]
    NotSolved(Status),
}
