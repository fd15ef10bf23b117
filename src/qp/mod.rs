//! Quadratic programs in OSQP form and the solvers that take them.
//!
//! ```text
//! minimize    ½ xᵀ P x + qᵀ x
//! subject to  l ≤ A x ≤ u
//! ```
//!
//! `P` (n×n, symmetric positive semidefinite) is stored as its **upper triangle** in CSC
//! form, as OSQP and Clarabel take it. Rows with `l = u` are equalities; a bound with
//! magnitude ≥ [`INFTY`] (or ±∞) is absent. Every backend implements [`QpSolver`], and
//! every backend's answer is judged by the same residuals ([`Residuals`]) computed on the
//! original, unscaled problem.
//!
//! - [`scaling`]: Ruiz equilibration + cost scaling with exact unscaling.
//! - [`residuals`]: ∞-norm residuals, duality gap, termination tests, `finish_solution`.
//! - [`pipg`]: float64 xPIPG (the reference recurrence of the spiking solver).
//! - [`hpdhg`]: restarted PDHG with cost-aware preconditioning and primal-weight updates
//!   (PIPG's recurrence with new data and host decisions; FISTA on box-only problems).
//! - [`osqp`], [`clarabel`]: the conventional baseline and the high-accuracy reference.
//! - [`npz`]: qpsolvers-layout `.npz` files.
//! - [`refine`]: iterative refinement around a backend (the fixed-point network's
//!   accuracy beyond its state resolution).
//! - [`registry`]: every backend by name with its options (`spikectl solve`, `run`, the
//!   benchmarks and the ROS nodes build their solvers there).

pub mod clarabel;
pub mod hpdhg;
pub mod npz;
pub mod npz_pickle;
pub mod osqp;
pub mod pipg;
pub mod refine;
pub mod registry;
pub mod residuals;
pub mod scaling;
pub mod spiking;

pub use crate::sparse::CscMatrix;
pub use clarabel::ClarabelSolver;
pub use osqp::OsqpSolver;
pub use pipg::{PipgOptions, PipgSolver};
pub use scaling::Scaling;

use std::time::Duration;

/// Bounds at or beyond this magnitude are treated as infinite (OSQP's `OSQP_INFTY`).
pub const INFTY: f64 = 1e30;

/// Errors from building, validating, reading or updating QPs.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum QpError {
    /// Sizes of P, q, A, l, u (or of an update) do not agree.
    #[error("dimension mismatch: {0}")]
    Dimension(String),
    /// A NaN or infinite value where only finite numbers are allowed.
    #[error("non-finite value in {0}")]
    NonFinite(String),
    /// A lower bound above its upper bound.
    #[error("infeasible bounds: l[{row}] = {l} > u[{row}] = {u}")]
    BoundOrder {
        /// Constraint row.
        row: usize,
        /// Lower bound.
        l: f64,
        /// Upper bound.
        u: f64,
    },
    /// Malformed data (CSC structure, file contents, P not upper-triangular …).
    #[error("malformed problem data: {0}")]
    Format(String),
    /// An update changed a matrix's sparsity pattern, which backends do not allow.
    #[error("sparsity pattern changed: {0}")]
    PatternChanged(String),
    /// A call made before `setup`, or settings out of range.
    #[error("invalid use: {0}")]
    Usage(String),
    /// The backend library reported an error.
    #[error("backend {backend}: {msg}")]
    Backend {
        /// Backend name.
        backend: &'static str,
        /// What it said.
        msg: String,
    },
    /// I/O failure reading or writing a problem file.
    #[error("i/o: {0}")]
    Io(String),
}

impl From<crate::sparse::SparseError> for QpError {
    fn from(e: crate::sparse::SparseError) -> Self {
        use crate::sparse::SparseError as S;
        match e {
            S::Dimension(m) => QpError::Dimension(m),
            S::Format(m) => QpError::Format(m),
            S::NonFinite(m) => QpError::NonFinite(m),
        }
    }
}

/// A QP in OSQP form. See the module docs for the conventions.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Quadratic cost, upper triangle, n×n.
    pub p: CscMatrix,
    /// Linear cost, length n.
    pub q: Vec<f64>,
    /// Constraint matrix, m×n.
    pub a: CscMatrix,
    /// Lower bounds, length m (≤ −[`INFTY`] means none).
    pub l: Vec<f64>,
    /// Upper bounds, length m (≥ [`INFTY`] means none).
    pub u: Vec<f64>,
}

impl Problem {
    /// Number of variables n.
    pub fn n(&self) -> usize {
        self.q.len()
    }
    /// Number of constraint rows m.
    pub fn m(&self) -> usize {
        self.l.len()
    }

    /// Builds and validates a problem; infinite bounds are clamped to ±[`INFTY`].
    pub fn new(p: CscMatrix, q: Vec<f64>, a: CscMatrix, l: Vec<f64>, u: Vec<f64>) -> Result<Self, QpError> {
        let mut pr = Self { p, q, a, l, u };
        for v in pr.l.iter_mut().chain(pr.u.iter_mut()) {
            *v = v.clamp(-INFTY, INFTY);
        }
        pr.validate()?;
        Ok(pr)
    }

    /// Checks sizes, finiteness, bound order and that P is stored as an upper triangle.
    pub fn validate(&self) -> Result<(), QpError> {
        let (n, m) = (self.n(), self.m());
        if self.p.nrows != n || self.p.ncols != n {
            return Err(QpError::Dimension(format!("P is {}x{}, q has length {n}", self.p.nrows, self.p.ncols)));
        }
        if self.a.ncols != n || self.a.nrows != m || self.u.len() != m {
            return Err(QpError::Dimension(format!(
                "A is {}x{}, n = {n}, l has length {m}, u has length {}",
                self.a.nrows,
                self.a.ncols,
                self.u.len()
            )));
        }
        self.p.validate("P")?;
        self.a.validate("A")?;
        for j in 0..n {
            for k in self.p.colptr[j]..self.p.colptr[j + 1] {
                if self.p.rowval[k] > j {
                    return Err(QpError::Format(format!(
                        "P must hold only its upper triangle; entry ({}, {j}) is below the diagonal",
                        self.p.rowval[k]
                    )));
                }
            }
        }
        if let Some(i) = self.q.iter().position(|v| !v.is_finite()) {
            return Err(QpError::NonFinite(format!("q[{i}]")));
        }
        for i in 0..m {
            let (l, u) = (self.l[i], self.u[i]);
            if l.is_nan() || u.is_nan() {
                return Err(QpError::NonFinite(format!("bounds of row {i}")));
            }
            if l > u {
                return Err(QpError::BoundOrder { row: i, l, u });
            }
        }
        Ok(())
    }

    /// Objective ½xᵀPx + qᵀx.
    pub fn objective(&self, x: &[f64]) -> f64 {
        let mut px = vec![0.0; self.n()];
        self.p.sym_upper_mul_add(x, &mut px);
        x.iter().zip(&px).map(|(a, b)| 0.5 * a * b).sum::<f64>()
            + x.iter().zip(&self.q).map(|(a, b)| a * b).sum::<f64>()
    }
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Residuals within tolerance.
    Solved,
    /// Stopped at `max_iter` before meeting the tolerances.
    MaxIterations,
    /// Stopped at the time limit.
    TimeLimit,
    /// A certificate of primal infeasibility was found.
    PrimalInfeasible,
    /// A certificate of dual infeasibility (unbounded objective) was found.
    DualInfeasible,
    /// Numerical trouble (NaN/overflow inside the solver); the returned x is a safe fallback.
    NumericalError,
}

impl Status {
    /// True for [`Status::Solved`].
    pub fn is_solved(self) -> bool {
        self == Status::Solved
    }
}

/// Optimality residuals in the ∞-norm, on the original (unscaled) problem.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Residuals {
    /// Primal residual: max distance of Ax from [l, u].
    pub prim: f64,
    /// Dual residual ‖Px + q + Aᵀy‖∞.
    pub dual: f64,
    /// Duality gap |xᵀPx + qᵀx − (−½… dual objective)| (see `qp::residuals`).
    pub gap: f64,
}

/// Solver settings shared by every backend (each maps them onto its own knobs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// Absolute tolerance.
    pub eps_abs: f64,
    /// Relative tolerance.
    pub eps_rel: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Wall-clock limit per solve; `None` means none.
    pub time_limit: Option<Duration>,
    /// Start from the previous solution (or the one given by `warm_start`).
    pub warm_start: bool,
    /// Ruiz equilibration iterations (0 disables scaling).
    pub scaling_iters: usize,
    /// Print progress.
    pub verbose: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            eps_abs: 1e-3,
            eps_rel: 1e-3,
            max_iter: 4000,
            time_limit: None,
            warm_start: true,
            scaling_iters: 10,
            verbose: false,
        }
    }
}

/// The result of one solve. `x` and `y` are always finite (zeros as a fallback).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Solution {
    /// Primal solution, length n.
    pub x: Vec<f64>,
    /// Dual solution (constraint multipliers), length m.
    pub y: Vec<f64>,
    /// How the solve ended.
    pub status: Status,
    /// Iterations taken.
    pub iterations: usize,
    /// Residuals on the original problem.
    pub residuals: Residuals,
    /// Objective ½xᵀPx + qᵀx.
    pub objective: f64,
    /// Wall-clock solve time on this CPU (excludes setup).
    pub solve_time: Duration,
    /// Operation counts, for solvers that run on the neuromorphic substrate.
    pub ops: Option<crate::neuro::OpCounts>,
}

/// A QP backend. The life cycle is `setup` once, then any number of
/// `update_*` / `warm_start` / `solve` calls that keep the sparsity pattern.
pub trait QpSolver: Send {
    /// Short name ("pipg", "spiking", "osqp", "clarabel").
    fn name(&self) -> &'static str;
    /// Takes a problem (validated by the caller or here) and prepares to solve it.
    fn setup(&mut self, problem: &Problem, settings: &Settings) -> Result<(), QpError>;
    /// Replaces q.
    fn update_q(&mut self, q: &[f64]) -> Result<(), QpError>;
    /// Replaces l and u.
    fn update_bounds(&mut self, l: &[f64], u: &[f64]) -> Result<(), QpError>;
    /// Replaces the stored values of P (upper triangle) and/or A, same pattern.
    fn update_matrices(&mut self, p_nzval: Option<&[f64]>, a_nzval: Option<&[f64]>) -> Result<(), QpError>;
    /// Sets the starting point of the next solve.
    fn warm_start(&mut self, x: Option<&[f64]>, y: Option<&[f64]>) -> Result<(), QpError>;
    /// Solves the current problem.
    fn solve(&mut self) -> Result<Solution, QpError>;
    /// Replaces the settings of the next solves, keeping the problem and the state of the
    /// backend (e.g. the network's primal weight). Returns false, changing nothing, when the
    /// backend needs a new `setup` for that (the default).
    fn update_settings(&mut self, _settings: &Settings) -> Result<bool, QpError> {
        Ok(false)
    }
}

/// Checks a vector's length against the problem's.
pub(crate) fn check_len(what: &str, got: usize, want: usize) -> Result<(), QpError> {
    if got == want { Ok(()) } else { Err(QpError::Dimension(format!("{what} has length {got}, expected {want}"))) }
}

/// Replaces `pb.q` with `q` after checking its length and finiteness.
pub(crate) fn set_q(pb: &mut Problem, q: &[f64]) -> Result<(), QpError> {
    check_len("q", q.len(), pb.n())?;
    if let Some(i) = q.iter().position(|v| !v.is_finite()) {
        return Err(QpError::NonFinite(format!("q[{i}]")));
    }
    pb.q.copy_from_slice(q);
    Ok(())
}

/// `pb` with new values of P (upper triangle) and/or A on the same pattern, validated.
pub(crate) fn with_new_values(
    pb: &Problem,
    p_nzval: Option<&[f64]>,
    a_nzval: Option<&[f64]>,
) -> Result<Problem, QpError> {
    let mut next = pb.clone();
    if let Some(v) = p_nzval {
        check_len("P values", v.len(), next.p.nnz())?;
        next.p.nzval.copy_from_slice(v);
    }
    if let Some(v) = a_nzval {
        check_len("A values", v.len(), next.a.nnz())?;
        next.a.nzval.copy_from_slice(v);
    }
    next.validate()?;
    Ok(next)
}

/// Merges a warm start (x of length n, y of length m, finite) into `start`; the part not
/// given keeps its previous value (zero at first).
pub(crate) fn merge_warm_start(
    start: &mut Option<(Vec<f64>, Vec<f64>)>,
    n: usize,
    m: usize,
    x: Option<&[f64]>,
    y: Option<&[f64]>,
) -> Result<(), QpError> {
    if let Some(x) = x {
        check_len("x", x.len(), n)?;
    }
    if let Some(y) = y {
        check_len("y", y.len(), m)?;
    }
    if x.into_iter().chain(y).flatten().any(|v| !v.is_finite()) {
        return Err(QpError::NonFinite("warm start".into()));
    }
    let (mut xs, mut ys) = start.take().unwrap_or_else(|| (vec![0.0; n], vec![0.0; m]));
    if let Some(x) = x {
        xs.copy_from_slice(x);
    }
    if let Some(y) = y {
        ys.copy_from_slice(y);
    }
    *start = Some((xs, ys));
    Ok(())
}
