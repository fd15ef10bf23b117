//! Model-predictive control that builds QPs with a fixed sparsity pattern, solved by any
//! [`crate::qp::QpSolver`].

pub mod arm;
pub mod gait;
pub mod quadruped;
pub mod tuning;

use std::time::Duration;

use crate::neuro::energy::thread_cpu_time;

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
    /// CPU time the solving thread spent in the solve ([`thread_cpu_time`] before and after;
    /// excludes time preempted by other processes); `None` where not measured.
    #[serde(default)]
    pub cpu_time: Option<Duration>,
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
            cpu_time: None,
            preprocess_time: Duration::ZERO,
            objective: sol.map(|s| s.objective).unwrap_or(0.0),
            residuals: sol.map(|s| s.residuals).unwrap_or_default(),
            ops: sol.and_then(|s| s.ops),
            fallback: false,
        }
    }
}

/// CPU time of `f` on the calling thread ([`thread_cpu_time`] before and after), with its
/// result.
pub(crate) fn with_cpu_time<T>(f: impl FnOnce() -> T) -> (T, Option<Duration>) {
    let c0 = thread_cpu_time();
    let out = f();
    let dt = thread_cpu_time().zip(c0).map(|(b, a)| b.saturating_sub(a));
    (out, dt)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_time_counts_work_and_not_sleep() {
        let (sum, busy) = with_cpu_time(|| (0..2_000_000u64).fold(0u64, |a, i| a.wrapping_add(i * i) ^ (a >> 3)));
        assert_ne!(sum, 1);
        let busy = busy.expect("CLOCK_THREAD_CPUTIME_ID on Linux");
        assert!(busy > Duration::ZERO);
        let wall = std::time::Instant::now();
        let ((), slept) = with_cpu_time(|| std::thread::sleep(Duration::from_millis(30)));
        assert!(wall.elapsed() >= Duration::from_millis(30));
        assert!(slept.expect("clock") < Duration::from_millis(10), "sleeping counted as CPU time: {slept:?}");
    }
}
