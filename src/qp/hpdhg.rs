//! HPDHG backend: restarted primal-dual hybrid gradient for `min ½xᵀPx + qᵀx s.t. l ≤ Ax ≤ u`
//! with cost-aware diagonal preconditioning, in two iteration modes that need only
//! matrix–vector products with P, H, Hᵀ, box projections and elementwise updates:
//!
//! - [`Mode::Halpern`]: restarted Halpern iteration with reflection on the PDHG operator
//!   (after Lu & Yang 2024, r2HPDHG), restarts on the fixed-point residual, primal weight
//!   updated at restarts (after PDLP);
//! - [`Mode::Relaxed`] (the default): the xPIPG recurrence of [`super::pipg`] (relaxation
//!   ρ = 1.6), with the same preconditioning, restarts (to T(z) or the epoch average) and
//!   guarded primal-weight updates — i.e. the recurrence the spiking network already runs,
//!   with new data and new host decisions.
//!
//! # Preconditioning ([`cost_aware_scaling`])
//!
//! Ruiz equilibration of the KKT matrix lets A's columns set the variable scaling even
//! where the cost is tiny, which leaves P̄ with a huge condition number (lava ANYmal QP:
//! reduced Hessian 2e-4..0.8 after KKT Ruiz). Here each pass divides variable j by the
//! square root of its **cost** column ∞-norm |P̄_{:j}|∞ whenever that is at least
//! [`HpdhgOptions::cost_column_ratio`] times the constraint column norm |Ā_{:j}|∞ (and by
//! the constraint column norm otherwise: variables without cost), then every row of Ā by
//! the square root of its ∞-norm. The cost factor is c = 1/mean_j |P̄_{:j}|∞ (q is not
//! used: a large q only means a far optimum, not a stiff problem). On the lava QP
//! (numpy check, θ = 1e-3) the reduced Hessian spans 0.19..1.8 after this scaling. The
//! default θ = 0 lets every variable with any cost be scaled by its cost column (the
//! quadruped's forces, weight 4e-5, included).
//!
//! # Whitening of the coupled cost ([`whiten`], [`HpdhgOptions::whiten`])
//!
//! No diagonal scaling conditions a dense Hessian GᵀQG + R of a condensed MPC (its diagonal
//! is already ≈ 1 after the scaling above; the spectrum still spans orders of magnitude).
//! The variables S whose cost column has an off-diagonal entry are therefore changed once,
//! at setup, to z_S = Cᵀx̄_S with P̄_SS + μI = CCᵀ (Cholesky, μ = 1e-6·max diag): their cost
//! becomes I − μLᵀL (L = C⁻ᵀ, eigenvalues in [0, 1)), the columns S of Ā become Ā_S·L (box
//! rows on S become general rows) and every row is re-equilibrated to ∞-norm 1. The
//! iteration is unchanged — matrix–vector products with the new (dense) P̃, H̃, H̃ᵀ — and only
//! the readout maps back, x̄_S = L z_S (a host computation at the checks, like the
//! unscaling). Sparse MPC forms with diagonal stage costs have no coupled variables and are
//! left as they are.
//!
//! # Iteration (scaled space; z = (x̄, ȳ_H); D = [lb, ub] from single-entry rows as in PIPG)
//!
//! The cost splits into its separable part diag(δ) (δ_j = P̄_jj for variables whose column
//! of P̄ has no off-diagonal entry, [`separable_diagonal`]; with
//! [`HpdhgOptions::diagonal_prox`], the default) and the rest P̄ − diag(δ), which stays
//! positive semidefinite. The separable part is taken proximally, the rest linearised
//! (Condat–Vũ): variable j steps τ_j = τ/(1 + τδ_j) on the full gradient. PDHG operator T
//! with steps τ = α(ω), σ = ω²α(ω), α(ω) = 2/(λ' + √(λ'² + 4ω²‖H̄‖²)):
//! ```text
//! x⁺_j = clamp(x_j − τ_j(P̄x + q̄ + H̄ᵀy)_j, lb_j, ub_j)
//! v  = y + σ H̄(2x⁺ − x);   y⁺ = v − σ·clamp(v/σ, l̄_H, ū_H)
//! ```
//! with λ' = ‖P̄ − diag(δ)‖ (PIPG's condition α(λ + βσ) = 1 on the linearised part; never
//! below 1e-6·max δ). Sparse MPC forms with diagonal stage costs thus step as if they had
//! no cost curvature at all (τσ‖H̄‖² = 1). Halpern, with anchor z₀ and inner counter j:
//! `z ← (j+1)/(j+2)·(2T(z) − z) + 1/(j+2)·z₀`. Relaxed: `z ← (1 − ρ)z + ρT(z)`. Box-only
//! problems (no H rows): FISTA on `x⁺_j = clamp(v_j − τ_j(P̄v + q̄)_j, lb_j, ub_j)`, τ = 1/λ',
//! with momentum restarts ([`HpdhgOptions::accelerate_box_only`]).
//!
//! # Host decisions (every [`HpdhgOptions::check_every`] = 25 iterations)
//!
//! Readouts: T(z) = (x⁺, y⁺), and (with [`HpdhgOptions::average`]) the epoch average of
//! T(z) — two vector readouts per check, counted by [`HpdhgSolver::readouts`].
//! 1. Termination: residuals and gap on the original problem ([`super::residuals`]) of
//!    T(z), then of the average; either may end the solve.
//! 2. Restart test on the fixed-point residual r = ‖T(z) − z‖ in the norm
//!    √(Σ_j Δx_j²(1/τ + δ_j) + ‖Δy‖²/σ) (one scalar reduction): restart when r ≤ 0.2·r₀
//!    (sufficient decay), or r ≤ 0.8·r₀ and r > r_prev (no more progress), or the epoch is
//!    longer than 0.36 of all iterations (artificial); r₀ is the first residual of the
//!    epoch (the factors are options; [`RestartMetric::Kkt`] tests the KKT error instead,
//!    CPU only). The
//!    restart point is T(z) or the average, whichever has the lower normalised KKT error
//!    max(r_prim/ε, r_dual/ε, gap/ε); the Halpern anchor moves there.
//! 3. Primal weight at a restart ([`OmegaRule::GuardedPrimalWeight`]): candidate
//!    ω' = exp(½ln(‖Δy‖/‖Δx‖) + ½ln ω) from the move since the previous restart (PDLP),
//!    refused when it goes against residuals more than [`HpdhgOptions::omega_guard`] = 3×
//!    out of balance; clamped to [[`OMEGA_MIN`], [`OMEGA_MAX`]]; τ, σ recomputed.
//! 4. Infeasibility: the one-iteration displacement T(z) − z mapped to the original space
//!    is tested as OSQP-style certificates (two consecutive hits), as in PIPG.
//! 5. Box-only problems: FISTA momentum reset (t ← 1, v ← x) when the momentum step of the
//!    checked iteration goes uphill, (v − xₖ)ᵀ(xₖ − xₖ₋₁) > 0 (O'Donoghue & Candès' gradient
//!    test, [`FistaRestart::Gradient`], tested every 25 iterations instead of every one;
//!    one more readout, xₖ₋₁).
//!
//! Measured choices (`examples/qp_methods.rs`, robotics families, 2–4 seeds per horizon):
//! the whitening (μ = 1e-6) with θ = 0 took the 72 problems (4 seeds) from 45 solved, median
//! / p90 800 / 2450 iterations, to 72 solved, 300 / 950 (lava ANYmal 650 → 375): whitening
//! alone solved every condensed member (2 seeds: 30/36, median 350), θ = 0 alone solved the
//! sparse quadruped (0 → 6/6 at 2 seeds); μ = 1e-5 lost one problem, μ = 1e-2 three, μ =
//! 1e-7 / 1e-8 changed nothing; with both on, ω₀ 5 / 20, ρ 1.4 / 1.8, PDLP's unguarded
//! primal weight, smoothing 1, 40 scaling passes or checks every 10 iterations all kept
//! 72/72 with medians 275–425 (not kept: none clearly better).
//! Before that:
//! the proximal separable part cut the median iterations from 1200 to 825 at the same
//! successes (wheeled-pendulum sparse 2325 → 950); the gradient restart test cut the
//! box-only wheeled-pendulum family's median / p90 from 1025 / 1575 to 825 / 975; restart
//! on the KKT error, other restart factors (β_s 0.2–0.3, β_n 0.8–0.9, artificial 0.2–0.36),
//! primal-weight smoothing 0.3–1 and ω₀ 1–100 did not solve more problems.

//!
//! The spiking network runs mode Relaxed with these host decisions
//! (`SpikingSettings::method = NetMethod::Hpdhg`, `crate::qp::spiking`), in float and in
//! Loihi 2 fixed point.

pub(crate) use super::pipg::{dual_infeasible, primal_infeasible};
use std::time::{Duration, Instant};

use super::residuals::{self, finish_solution};
use super::{CscMatrix, INFTY, Problem, QpError, QpSolver, Scaling, Settings, Solution, Status};

/// Smallest primal weight ω the restarts may set.
pub const OMEGA_MIN: f64 = 1e-3;
/// Largest primal weight ω the restarts may set.
pub const OMEGA_MAX: f64 = 1e3;

/// Iteration mode (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    /// Restarted reflected Halpern PDHG.
    Halpern,
    /// xPIPG relaxation with restarts.
    Relaxed,
}

/// Diagonal preconditioner choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Precond {
    /// Cost-aware equilibration ([`cost_aware_scaling`]).
    CostAware,
    /// Ruiz on the KKT matrix with cost scaling ([`Scaling::ruiz`], as OSQP and PIPG).
    KktRuiz,
}

/// How the primal weight ω is adapted (host decision at checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OmegaRule {
    /// Fixed ω.
    Fixed,
    /// PDLP's primal weight ‖Δy‖/‖Δx‖ (smoothed in log) at restarts.
    PrimalWeight,
    /// Residual balancing on the termination residuals (normalised by their scales, as
    /// PIPG's adaptive ω): ω ← ω·√(p̂/d̂) when that changes ω by more than a factor 5; the
    /// gap between changes doubles. A change restarts the epoch.
    Balance,
    /// `PrimalWeight`, but a change against clearly unbalanced residuals is refused: ω may
    /// not fall while the primal residual (over its tolerance) exceeds [`HpdhgOptions::omega_guard`]
    /// times the dual one, nor rise in the mirror case.
    GuardedPrimalWeight,
    /// Residual balancing on the absolute residuals (r_prim / r_dual, the quantities the
    /// absolute tolerance bounds), same schedule as `Balance`.
    BalanceAbs,
}

/// The quantity the epoch restart test ([`Epoch`]) watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RestartMetric {
    /// Fixed-point residual ‖T(z) − z‖ in the step-weighted norm (r2HPDHG).
    Fpr,
    /// Normalised KKT error max(r_prim/ε, r_dual/ε, gap/ε) of the better of T(z) and the
    /// epoch average, on the original problem (PDLP's restart candidate measure).
    Kkt,
}

/// Momentum-restart test of the box-only FISTA path (host decision at checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FistaRestart {
    /// Restart when the fixed-point residual exceeds the previous check's.
    Fpr,
    /// O'Donoghue & Candès' gradient test at the checked iteration: restart when the
    /// momentum step xₖ − xₖ₋₁ has a positive inner product with the gradient mapping
    /// (v − xₖ)/τ (one more readout: xₖ₋₁).
    Gradient,
}

/// Options of the HPDHG backend (besides the shared [`Settings`]). Fields absent from
/// serialized options take their defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HpdhgOptions {
    /// Iteration mode. Default [`Mode::Relaxed`].
    pub mode: Mode,
    /// Preconditioner. Default [`Precond::CostAware`].
    pub precond: Precond,
    /// Initial primal weight ω (dimensionless, σ/τ = ω²). Default 10: after the cost-aware
    /// scaling (mean cost column norm 1, unit constraint rows) the robotics families solved
    /// 56 / 57 / 62 / 61 / 60 % at ω₀ = 1 / 3 / 10 / 30 / 100 (`examples/qp_methods.rs`);
    /// PDLP's data-based ‖q̄‖/‖b̄‖ gave 47 %.
    pub omega: f64,
    /// How ω adapts. Default [`OmegaRule::GuardedPrimalWeight`].
    pub omega_rule: OmegaRule,
    /// Imbalance factor of [`OmegaRule::GuardedPrimalWeight`]. Default 3.
    pub omega_guard: f64,
    /// Restarts on. Default true.
    pub restarts: bool,
    /// Relaxation ρ of [`Mode::Relaxed`]. Default 1.6.
    pub relaxation: f64,
    /// Iterations between host checks (readouts). Default 25.
    pub check_every: usize,
    /// Cost column ratio θ of [`cost_aware_scaling`]. Default 0 (every variable with a cost
    /// is scaled by its cost column): with θ = 0.1 the sparse quadruped family (forces with
    /// weight 4e-5) was solved 0 / 6 times, with θ ≤ 1e-6 6 / 6 (`examples/qp_methods.rs`).
    pub cost_column_ratio: f64,
    /// Equilibration passes of [`cost_aware_scaling`] (the KKT Ruiz uses `scaling_iters`). Default 20.
    pub scaling_passes: usize,
    /// Safety factor on the power-iteration norm estimates. Default 1.05.
    pub norm_safety: f64,
    /// Tolerance of the infeasibility certificates. Default 1e-5.
    pub eps_infeasible: f64,
    /// Keep the running average of T(z) over the epoch (one more population on the chip),
    /// test it for termination at each check and restart from it when its KKT error is the
    /// lower one (PDLP's restart candidate). Default true.
    pub average: bool,
    /// When every constraint row is a single-entry (box) row, run accelerated projected
    /// gradient instead (FISTA, momentum restarted at a check whose fixed-point residual
    /// exceeds the previous check's, after O'Donoghue & Candès). Default true.
    pub accelerate_box_only: bool,
    /// Quantity of the epoch restart test. Default [`RestartMetric::Fpr`].
    pub restart_metric: RestartMetric,
    /// Momentum-restart test of the FISTA path. Default [`FistaRestart::Gradient`]: on the
    /// box-only wheeled-pendulum family (12 problems) the same 7 solved with median / p90
    /// iterations 825 / 975 instead of 1025 / 1575 (`examples/qp_methods.rs`).
    pub fista_restart: FistaRestart,
    /// Take the separable part δ of the scaled cost (δ_j = P̄_jj for variables without
    /// off-diagonal cost entries, [`separable_diagonal`]) exactly (proximal) instead of
    /// linearised: the primal step of variable j becomes τ_j = τ/(1 + τδ_j) and τ follows
    /// from ‖P̄ − diag(δ)‖ instead of ‖P̄‖ (module docs). Default true: on the robotics
    /// families (2 seeds) the same 23/36 solved with median / p90 iterations 825 / 2225
    /// instead of 1200 / 2725 (wheeled-pendulum sparse 950 instead of 2325).
    pub diagonal_prox: bool,
    /// Weight of the new estimate ‖Δy‖/‖Δx‖ in the log-smoothed primal-weight update
    /// ln ω ← θ ln(‖Δy‖/‖Δx‖) + (1 − θ) ln ω (PDLP). Default 0.5.
    pub pw_smoothing: f64,
    /// Restart on sufficient decay: metric ≤ β_s·r₀. Default 0.2.
    pub restart_sufficient: f64,
    /// Restart on necessary decay without progress: metric ≤ β_n·r₀ and growing. Default 0.8.
    pub restart_necessary: f64,
    /// Artificial restart when the epoch exceeds this fraction of all iterations. Default 0.36.
    pub restart_artificial: f64,
    /// Whiten the coupled part of the scaled cost ([`Whitening`]): the variables whose cost
    /// column has an off-diagonal entry are replaced by z = Cᵀx̄ with C the Cholesky factor
    /// of their cost block plus μI, so that their cost becomes I − μLᵀL (L = C⁻ᵀ). Default
    /// true: every condensed family member solved (module docs, "Measured choices").
    pub whiten: bool,
    /// Regularisation μ of the whitening, relative to the largest diagonal entry of the
    /// coupled cost block. Default 1e-6.
    pub whiten_reg: f64,
    /// The whitening is applied only when the coupled cost block's spectral condition
    /// number (eigenvalues floored at μ, after the diagonal scaling) is at least this.
    /// Default 1e3: the robotics condensed members have 5e2..2e7 (whitened at 1e3: 72/72,
    /// median / p90 400 / 975; at 0: 72/72, 300 / 950, lava ANYmal (13.7) 375 instead of
    /// 650), the lab's random dense families 14..4e2, where whitening costs (box rows become
    /// dense general rows): RandomMixed(20, 5) went from solved in 3225 iterations to not
    /// solved in 6000, Box(20, 6) from 50 to 350.
    pub whiten_min_condition: f64,
}

impl Default for HpdhgOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Relaxed,
            precond: Precond::CostAware,
            omega: 10.0,
            omega_rule: OmegaRule::GuardedPrimalWeight,
            omega_guard: 3.0,
            restarts: true,
            relaxation: 1.6,
            check_every: 25,
            cost_column_ratio: 0.0,
            scaling_passes: 20,
            norm_safety: 1.05,
            eps_infeasible: 1e-5,
            accelerate_box_only: true,
            average: true,
            restart_metric: RestartMetric::Fpr,
            fista_restart: FistaRestart::Gradient,
            diagonal_prox: true,
            pw_smoothing: 0.5,
            restart_sufficient: 0.2,
            restart_necessary: 0.8,
            restart_artificial: 0.36,
            whiten: true,
            whiten_reg: 1e-6,
            whiten_min_condition: 1e3,
        }
    }
}

/// Cost-aware diagonal equilibration (module docs, "Preconditioning"): `passes` passes with
/// cost column ratio `theta`; returns the factors (apply with [`Scaling::scale_problem`]).
pub fn cost_aware_scaling(pb: &Problem, passes: usize, theta: f64) -> Scaling {
    let (n, m) = (pb.n(), pb.m());
    let mut s = Scaling::identity(n, m);
    let inv_sqrt = |v: f64| if v > 1e-12 && v.is_finite() { 1.0 / v.sqrt() } else { 1.0 };
    for _ in 0..passes {
        let sp = s.scale_problem(pb);
        let pn = super::scaling::sym_upper_col_inf_norms(&sp.p);
        let an = sp.a.col_inf_norms();
        for j in 0..n {
            let v = if pn[j] >= theta * an[j] && pn[j] > 0.0 { pn[j] } else { an[j] };
            s.d[j] *= inv_sqrt(v).clamp(1e-4, 1e4);
        }
        let sp = s.scale_problem(pb);
        for (i, r) in sp.a.row_inf_norms().into_iter().enumerate() {
            s.e[i] *= inv_sqrt(r).clamp(1e-4, 1e4);
        }
    }
    let sp = s.scale_problem(pb);
    let pn = super::scaling::sym_upper_col_inf_norms(&sp.p);
    let mean = if n > 0 { pn.iter().sum::<f64>() / n as f64 } else { 0.0 };
    s.c = if mean > 1e-12 && mean.is_finite() { (1.0 / mean).clamp(1e-6, 1e6) } else { 1.0 };
    s
}

/// Change of variables on the coupled part of the scaled cost (with [`HpdhgOptions::whiten`]).
///
/// S are the variables whose column of P̄ has an off-diagonal non-zero entry (P̄ is then
/// block diagonal: a dense-ish block P̄_SS and the separable rest, [`separable_diagonal`]).
/// With P̄_SS + μI = C·Cᵀ (Cholesky, μ = [`HpdhgOptions::whiten_reg`]·max diag) the new
/// variables are z_S = Cᵀx̄_S, i.e. x̄_S = L·z_S with L = C⁻ᵀ (upper triangular), so the
/// cost block becomes LᵀP̄_SS L = I − μLᵀL (eigenvalues λ/(λ + μ) ∈ [0, 1)), q̄_S becomes
/// Lᵀq̄_S and the columns S of Ā become Ā_S·L (box rows on S turn into general rows). The
/// rows are then re-equilibrated (∞-norm 1, folded into the row scaling E). Everything the
/// iteration does stays a matrix–vector product in the new variables; only the readout maps
/// back (x̄_S = L z_S).
#[derive(Debug, Clone)]
pub(crate) struct Whitening {
    /// The whitened variables S (ascending).
    pub idx: Vec<usize>,
    /// L = C⁻ᵀ (|S|×|S|, upper triangular): x̄_S = L z_S.
    pub l: nalgebra::DMatrix<f64>,
    /// Cᵀ: z_S = Cᵀ x̄_S.
    pub ct: nalgebra::DMatrix<f64>,
}

impl Whitening {
    /// x̄ from the internal variables (z_S replaced by L z_S).
    pub(crate) fn to_scaled(&self, z: &[f64]) -> Vec<f64> {
        self.map(z, &self.l)
    }

    /// The internal variables from x̄ (x̄_S replaced by Cᵀ x̄_S).
    pub(crate) fn internal(&self, x: &[f64]) -> Vec<f64> {
        self.map(x, &self.ct)
    }

    /// Lᵀ applied to the S part of a cost vector.
    pub(crate) fn cost(&self, q: &[f64]) -> Vec<f64> {
        self.map(q, &self.l.transpose())
    }

    fn map(&self, v: &[f64], m: &nalgebra::DMatrix<f64>) -> Vec<f64> {
        let vs = nalgebra::DVector::from_iterator(self.idx.len(), self.idx.iter().map(|&j| v[j]));
        let r = m * vs;
        let mut out = v.to_vec();
        for (a, &j) in self.idx.iter().enumerate() {
            out[j] = r[a];
        }
        out
    }
}

/// The whitening of `pb` under `scaling` (module docs of [`Whitening`]): returns the
/// transformed scaled problem and the transform, with the row factors of `scaling`
/// re-equilibrated; `None` when fewer than two variables are coupled or the factorisation
/// fails (the caller keeps the plain scaled problem).
pub(crate) fn whiten(
    pb: &Problem,
    start: &Scaling,
    reg: f64,
    min_condition: f64,
) -> Option<(Problem, Scaling, Whitening)> {
    let mut sc = start.clone();
    let scaling = &mut sc;
    use nalgebra::DMatrix;
    let sp = scaling.scale_problem(pb);
    let pf = sp.p.sym_upper_to_full();
    let n = pf.ncols;
    let coupled = |j: usize| (pf.colptr[j]..pf.colptr[j + 1]).any(|k| pf.rowval[k] != j && pf.nzval[k] != 0.0);
    let idx: Vec<usize> = (0..n).filter(|&j| coupled(j)).collect();
    let ns = idx.len();
    if ns < 2 {
        return None;
    }
    let mut pos = vec![usize::MAX; n];
    for (a, &j) in idx.iter().enumerate() {
        pos[j] = a;
    }
    let mut pss = DMatrix::<f64>::zeros(ns, ns);
    for &j in &idx {
        for k in pf.colptr[j]..pf.colptr[j + 1] {
            if pos[pf.rowval[k]] != usize::MAX {
                pss[(pos[pf.rowval[k]], pos[j])] += pf.nzval[k];
            }
        }
    }
    let dmax = (0..ns).map(|a| pss[(a, a)]).fold(0.0f64, f64::max);
    // Spectral condition number of the block (floored at μ): below `min_condition` the cost
    // is not what limits the iteration, and the dense rows would only cost.
    let ev = pss.clone().symmetric_eigen().eigenvalues;
    let (emin, emax) = ev.iter().fold((f64::MAX, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let kappa = emax / emin.max(reg * dmax).max(1e-300);
    if kappa.is_nan() || kappa < min_condition {
        return None;
    }
    let mu = (reg * dmax).max(1e-12);
    let mut reg_m = pss.clone();
    for a in 0..ns {
        reg_m[(a, a)] += mu;
    }
    let c = reg_m.cholesky()?.l();
    let ct = c.transpose();
    let l = ct.clone().solve_upper_triangular(&DMatrix::identity(ns, ns))?;
    if !l.iter().all(|v| v.is_finite()) {
        return None;
    }
    // Columns S of Ā times L (dense rows), the other columns unchanged.
    let m = sp.a.nrows;
    let transform_a = |a: &CscMatrix| -> (DMatrix<f64>, Vec<(usize, usize, f64)>) {
        let mut a_s = DMatrix::<f64>::zeros(m, ns);
        let mut rest = Vec::new();
        for j in 0..n {
            for k in a.colptr[j]..a.colptr[j + 1] {
                if pos[j] != usize::MAX {
                    a_s[(a.rowval[k], pos[j])] += a.nzval[k];
                } else if a.nzval[k] != 0.0 {
                    rest.push((a.rowval[k], j, a.nzval[k]));
                }
            }
        }
        (a_s * &l, rest)
    };
    // Row equilibration of the transformed rows.
    let (a_s, rest) = transform_a(&sp.a);
    let mut rn = vec![0.0f64; m];
    for i in 0..m {
        for a in 0..ns {
            rn[i] = rn[i].max(a_s[(i, a)].abs());
        }
    }
    for &(i, _, v) in &rest {
        rn[i] = rn[i].max(v.abs());
    }
    for i in 0..m {
        if rn[i] > 1e-12 && rn[i].is_finite() {
            scaling.e[i] *= (1.0 / rn[i]).clamp(1e-6, 1e6);
        }
    }
    let sp = scaling.scale_problem(pb);
    let (a_s, rest) = transform_a(&sp.a);
    let mut trip = rest;
    for a in 0..ns {
        for i in 0..m {
            let v = a_s[(i, a)];
            if v != 0.0 {
                trip.push((i, idx[a], v));
            }
        }
    }
    let a_new = CscMatrix::from_triplets(m, n, &trip).ok()?;
    // Cost: LᵀP̄_SS L on S, the separable diagonal elsewhere.
    let p_white = l.transpose() * (&pss * &l);
    let mut ptrip = Vec::new();
    for j in 0..n {
        if pos[j] == usize::MAX {
            for k in pf.colptr[j]..pf.colptr[j + 1] {
                if pf.rowval[k] == j && pf.nzval[k] != 0.0 {
                    ptrip.push((j, j, pf.nzval[k]));
                }
            }
        }
    }
    for b in 0..ns {
        for a in 0..=b {
            let v = 0.5 * (p_white[(a, b)] + p_white[(b, a)]);
            if v != 0.0 {
                ptrip.push((idx[a], idx[b], v));
            }
        }
    }
    let p_new = CscMatrix::from_triplets(n, n, &ptrip).ok()?;
    let w = Whitening { idx, l, ct };
    let q = w.cost(&sp.q);
    Some((Problem { p: p_new, q, a: a_new, l: sp.l, u: sp.u }, sc, w))
}

/// The problem the iteration runs on: `pb` scaled by the chosen diagonal preconditioner
/// ([`HpdhgOptions::precond`]) and, with [`HpdhgOptions::whiten`], whitened ([`whiten`]);
/// returns it with the (final) diagonal factors and the whitening, if any.
pub(crate) fn precondition(
    pb: &Problem,
    settings: &Settings,
    o: &HpdhgOptions,
) -> (Problem, Scaling, Option<Whitening>) {
    let scaling = match o.precond {
        Precond::CostAware => cost_aware_scaling(pb, o.scaling_passes, o.cost_column_ratio),
        Precond::KktRuiz => Scaling::ruiz(pb, settings.scaling_iters).1,
    };
    match if o.whiten { whiten(pb, &scaling, o.whiten_reg, o.whiten_min_condition) } else { None } {
        Some((sp, sc, w)) => (sp, sc, Some(w)),
        None => (scaling.scale_problem(pb), scaling, None),
    }
}

/// δ_j = P_jj for every variable j whose column of the full symmetric matrix has no other
/// non-zero entry, 0 otherwise: P = diag(δ) + (P − diag(δ)) splits P into its separable
/// part and a principal submatrix, so P − diag(δ) stays positive semidefinite.
pub(crate) fn separable_diagonal(p_full: &CscMatrix) -> Vec<f64> {
    (0..p_full.ncols)
        .map(|j| {
            let (mut dj, mut off) = (0.0, false);
            for k in p_full.colptr[j]..p_full.colptr[j + 1] {
                if p_full.rowval[k] == j {
                    dj += p_full.nzval[k];
                } else if p_full.nzval[k] != 0.0 {
                    off = true;
                }
            }
            if off { 0.0 } else { dj.max(0.0) }
        })
        .collect()
}

/// The proximal diagonal δ ([`separable_diagonal`] with [`HpdhgOptions::diagonal_prox`], zeros
/// without) and λ = κ‖P̄ − diag(δ)‖ (200 power iterations, κ = [`HpdhgOptions::norm_safety`])
/// of the scaled cost `p_upper` (upper triangle).
pub(crate) fn cost_split(p_upper: &CscMatrix, o: &HpdhgOptions) -> (Vec<f64>, f64) {
    let n = p_upper.ncols;
    let delta = if o.diagonal_prox { separable_diagonal(&p_upper.sym_upper_to_full()) } else { vec![0.0; n] };
    let mut pr = p_upper.clone();
    for j in 0..n {
        for k in pr.colptr[j]..pr.colptr[j + 1] {
            if pr.rowval[k] == j {
                pr.nzval[k] -= delta[j];
            }
        }
    }
    let dmax = delta.iter().fold(0.0f64, |m, &v| m.max(v));
    (delta, (o.norm_safety * super::pipg::sym_upper_norm_est(&pr, 200)).max(LAMBDA_FLOOR * dmax))
}

/// λ never falls below this fraction of max δ (a diagonal cost leaves ‖P̄ − diag(δ)‖ = 0,
/// where the box-only path's step 1/λ would be unbounded): the proximal steps are then
/// τ_j ≈ 1/δ_j.
const LAMBDA_FLOOR: f64 = 1e-6;

/// The primal step of variable j with step τ and proximal diagonal δ_j: τ/(1 + τδ_j).
pub(crate) fn primal_step(tau: f64, delta: f64) -> f64 {
    tau / (1.0 + tau * delta)
}

/// Squared fixed-point-residual contribution of the primal part, Σ_j (Δx_j)²(1/τ + δ_j)
/// (the norm of the primal metric with per-variable steps [`primal_step`]).
pub(crate) fn primal_fpr2(x: &[f64], xt: &[f64], tau: f64, delta: &[f64]) -> f64 {
    (0..x.len()).map(|i| (x[i] - xt[i]).powi(2) * (1.0 / tau + delta[i])).sum()
}

/// O'Donoghue & Candès' gradient restart test of FISTA: with v the extrapolated point, xₖ =
/// T(v) and xₖ₋₁ the previous T output, the momentum step xₖ − xₖ₋₁ goes uphill when
/// (v − xₖ)ᵀ(xₖ − xₖ₋₁) > 0 (v − xₖ is τ times the gradient mapping).
pub(crate) fn momentum_uphill(v: &[f64], xk: &[f64], x_prev: &[f64]) -> bool {
    (0..v.len()).map(|i| (v[i] - xk[i]) * (xk[i] - x_prev[i])).sum::<f64>() > 0.0
}

/// The scaled, split problem (single-entry rows become variable bounds).
#[derive(Debug, Clone)]
struct Data {
    scaling: Scaling,
    p: CscMatrix,
    q: Vec<f64>,
    h: CscMatrix,
    h_rows: Vec<usize>,
    hl: Vec<f64>,
    hu: Vec<f64>,
    lb: Vec<f64>,
    ub: Vec<f64>,
    /// (row, col, coefficient, lo, hi) of each single-entry row.
    boxes: Vec<(usize, usize, f64, f64, f64)>,
    lambda: f64,
    sigma: f64,
    /// Separable cost part δ taken proximally (zeros without [`HpdhgOptions::diagonal_prox`]).
    delta: Vec<f64>,
    /// The change of variables of the coupled cost ([`HpdhgOptions::whiten`]).
    white: Option<Whitening>,
}

fn div_bound(v: f64, a: f64) -> f64 {
    if v.abs() >= INFTY { if (v > 0.0) == (a > 0.0) { INFTY } else { -INFTY } } else { v / a }
}

impl Data {
    fn new(pb: &Problem, settings: &Settings, o: &HpdhgOptions) -> Self {
        let (sp, scaling, white) = precondition(pb, settings, o);
        let (n, m) = (sp.n(), sp.m());
        let mut count = vec![0usize; m];
        for (k, &r) in sp.a.rowval.iter().enumerate() {
            if sp.a.nzval[k] != 0.0 {
                count[r] += 1;
            }
        }
        let mut lb = vec![-INFTY; n];
        let mut ub = vec![INFTY; n];
        let mut boxes = Vec::new();
        let mut trip = Vec::new();
        let h_rows: Vec<usize> = (0..m).filter(|&i| count[i] != 1).collect();
        let mut h_index = vec![usize::MAX; m];
        for (k, &i) in h_rows.iter().enumerate() {
            h_index[i] = k;
        }
        for j in 0..n {
            for k in sp.a.colptr[j]..sp.a.colptr[j + 1] {
                let (i, a) = (sp.a.rowval[k], sp.a.nzval[k]);
                if count[i] == 1 {
                    if a != 0.0 {
                        let (lo, hi) = if a > 0.0 {
                            (div_bound(sp.l[i], a), div_bound(sp.u[i], a))
                        } else {
                            (div_bound(sp.u[i], a), div_bound(sp.l[i], a))
                        };
                        lb[j] = lb[j].max(lo);
                        ub[j] = ub[j].min(hi);
                        boxes.push((i, j, a, lo, hi));
                    }
                } else {
                    trip.push((h_index[i], j, a));
                }
            }
        }
        let h = CscMatrix::from_triplets(h_rows.len(), n, &trip).expect("indices in range");
        let hl = h_rows.iter().map(|&i| sp.l[i]).collect();
        let hu = h_rows.iter().map(|&i| sp.u[i]).collect();
        let p = sp.p.sym_upper_to_full();
        let (delta, lambda) = cost_split(&sp.p, o);
        let sigma = o.norm_safety * super::pipg::ata_norm_est(&h, 200);
        Self { scaling, p, q: sp.q, h, h_rows, hl, hu, lb, ub, boxes, lambda, sigma, delta, white }
    }

    /// Internal cost vector from an original q.
    fn internal_q(&self, q: &[f64]) -> Vec<f64> {
        let qs = self.scaling.scale_q(q);
        match &self.white {
            Some(w) => w.cost(&qs),
            None => qs,
        }
    }

    /// Internal variables from an original x.
    fn internal_x(&self, x: &[f64]) -> Vec<f64> {
        let xs = self.scaling.scale_x(x);
        match &self.white {
            Some(w) => w.internal(&xs),
            None => xs,
        }
    }

    /// Original-space (x, y) from scaled (x̄, ȳ_H); box-row duals from the reduced gradient.
    fn output(&self, x: &[f64], w: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
        let mut ys = vec![0.0; m];
        for (k, &i) in self.h_rows.iter().enumerate() {
            ys[i] = w[k];
        }
        if !self.boxes.is_empty() {
            let mut r = self.q.clone();
            self.p.mul_t_add(x, &mut r);
            self.h.mul_t_add(w, &mut r);
            let mut taken = vec![false; x.len()];
            for &(i, j, a, lo, hi) in &self.boxes {
                if taken[j] || r[j] == 0.0 {
                    continue;
                }
                let tol = |b: f64| super::pipg::ACTIVE_TOL * b.abs().max(1.0);
                let active = if r[j] < 0.0 {
                    self.ub[j] < INFTY && hi == self.ub[j] && x[j] >= self.ub[j] - tol(self.ub[j])
                } else {
                    self.lb[j] > -INFTY && lo == self.lb[j] && x[j] <= self.lb[j] + tol(self.lb[j])
                };
                if active {
                    ys[i] = -r[j] / a;
                    taken[j] = true;
                }
            }
        }
        let xs = match &self.white {
            Some(wh) => self.scaling.unscale_x(&wh.to_scaled(x)),
            None => self.scaling.unscale_x(x),
        };
        (xs, self.scaling.unscale_y(&ys))
    }

    fn box_empty(&self) -> bool {
        self.lb.iter().zip(&self.ub).any(|(a, b)| *a > b + 1e-9 * b.abs().max(1.0))
    }
}

/// The restart test of one epoch on the fixed-point residual r (PDLP / r2HPDHG rules):
/// restart when r ≤ 0.2·r₀ (enough decay), or r ≤ 0.8·r₀ and r grew since the last check
/// (no more progress), or the epoch is longer than 0.36 of all iterations (and at least 4
/// checks); r₀ is the first r of the epoch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Epoch {
    start: usize,
    r0: f64,
    r_prev: f64,
}

impl Epoch {
    /// The epoch starting at iteration 0.
    pub(crate) fn new() -> Self {
        Self { start: 0, r0: f64::NAN, r_prev: f64::NAN }
    }

    /// The test at iteration `k` with residual `fpr` (checks every `check_every`); the first
    /// check of an epoch only records r₀.
    pub(crate) fn restart_due(&mut self, k: usize, fpr: f64, o: &HpdhgOptions) -> bool {
        let check_every = o.check_every;
        if self.r0.is_nan() {
            (self.r0, self.r_prev) = (fpr, fpr);
            return false;
        }
        let long_epoch =
            (k - self.start) as f64 >= o.restart_artificial * k as f64 && k - self.start >= 4 * check_every;
        let due = fpr <= o.restart_sufficient * self.r0
            || (fpr <= o.restart_necessary * self.r0 && fpr > self.r_prev)
            || long_epoch;
        self.r_prev = fpr;
        due
    }

    /// A new epoch from iteration `k`.
    pub(crate) fn restart_at(&mut self, k: usize) {
        (self.start, self.r0) = (k, f64::NAN);
    }
}

/// Step sizes (τ, σ) for primal weight ω: α(λ' + βσ_H) = 1 with β = ω²α.
pub(crate) fn steps(lam: f64, sig: f64, omega: f64) -> (f64, f64) {
    let den = lam + (lam * lam + 4.0 * omega * omega * sig).sqrt();
    let a = if den > 0.0 && den.is_finite() { 2.0 / den } else { 1.0 };
    (a, omega * omega * a)
}

/// The HPDHG backend (cold start by default; warm starts via [`QpSolver::warm_start`]).
#[derive(Debug, Clone, Default)]
pub struct HpdhgSolver {
    /// Options; may be changed between `setup` calls.
    pub options: HpdhgOptions,
    problem: Option<Problem>,
    data: Option<Data>,
    settings: Settings,
    start: Option<(Vec<f64>, Vec<f64>)>,
    explicit_start: bool,
    readouts: usize,
    restarts: usize,
}

impl HpdhgSolver {
    /// A backend with default options.
    pub fn new() -> Self {
        Self::with_options(HpdhgOptions::default())
    }

    /// A backend with the given options.
    pub fn with_options(options: HpdhgOptions) -> Self {
        Self { options, ..Default::default() }
    }

    /// Host readouts (checks that read the state vectors) of the last solve.
    pub fn readouts(&self) -> usize {
        self.readouts
    }

    /// Restarts of the last solve.
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    fn parts(&mut self) -> Result<(&mut Problem, &mut Data), QpError> {
        match (self.problem.as_mut(), self.data.as_mut()) {
            (Some(p), Some(d)) => Ok((p, d)),
            _ => Err(QpError::Usage("hpdhg: setup must be called first".into())),
        }
    }

    fn rebuild(&mut self) {
        if let Some(pb) = &self.problem {
            self.data = Some(Data::new(pb, &self.settings, &self.options));
        }
    }
}

use super::check_len;

impl QpSolver for HpdhgSolver {
    fn name(&self) -> &'static str {
        "hpdhg"
    }

    fn setup(&mut self, problem: &Problem, settings: &Settings) -> Result<(), QpError> {
        problem.validate()?;
        let o = &self.options;
        if !(o.omega > 0.0 && o.omega.is_finite() && o.relaxation > 0.0 && o.relaxation < 2.0 && o.norm_safety >= 1.0) {
            return Err(QpError::Usage("hpdhg: need omega > 0, 0 < relaxation < 2, norm_safety ≥ 1".into()));
        }
        let mut pb = problem.clone();
        for v in pb.l.iter_mut().chain(pb.u.iter_mut()) {
            *v = v.clamp(-INFTY, INFTY);
        }
        self.problem = Some(pb);
        self.settings = settings.clone();
        self.start = None;
        self.explicit_start = false;
        self.rebuild();
        Ok(())
    }

    fn update_q(&mut self, q: &[f64]) -> Result<(), QpError> {
        let (pb, d) = self.parts()?;
        super::set_q(pb, q)?;
        d.q = d.internal_q(q);
        Ok(())
    }

    fn update_bounds(&mut self, l: &[f64], u: &[f64]) -> Result<(), QpError> {
        let (pb, _) = self.parts()?;
        check_len("l", l.len(), pb.m())?;
        check_len("u", u.len(), pb.m())?;
        let mut next = pb.clone();
        next.l = l.iter().map(|v| v.clamp(-INFTY, INFTY)).collect();
        next.u = u.iter().map(|v| v.clamp(-INFTY, INFTY)).collect();
        next.validate()?;
        *pb = next;
        self.rebuild();
        Ok(())
    }

    fn update_matrices(&mut self, p_nzval: Option<&[f64]>, a_nzval: Option<&[f64]>) -> Result<(), QpError> {
        let (pb, _) = self.parts()?;
        let next = super::with_new_values(pb, p_nzval, a_nzval)?;
        *pb = next;
        self.rebuild();
        Ok(())
    }

    fn warm_start(&mut self, x: Option<&[f64]>, y: Option<&[f64]>) -> Result<(), QpError> {
        let (pb, _) = self.parts()?;
        let (n, m) = (pb.n(), pb.m());
        super::merge_warm_start(&mut self.start, n, m, x, y)?;
        self.explicit_start = true;
        Ok(())
    }

    fn solve(&mut self) -> Result<Solution, QpError> {
        let settings = self.settings.clone();
        let o = self.options.clone();
        let start = if self.explicit_start || settings.warm_start { self.start.clone() } else { None };
        let (pb, d) = self.parts()?;
        let t0 = Instant::now();
        let (n, m, mh) = (pb.n(), pb.m(), d.h.nrows);
        if d.box_empty() {
            return Ok(finish_solution(pb, vec![0.0; n], vec![0.0; m], Status::PrimalInfeasible, 0, t0.elapsed()));
        }
        let (mut x, mut y) = match &start {
            Some((x, y)) => {
                let ys = d.scaling.scale_y(y);
                let xs: Vec<f64> = d.internal_x(x).iter().enumerate().map(|(j, v)| v.clamp(d.lb[j], d.ub[j])).collect();
                (xs, d.h_rows.iter().map(|&i| ys[i]).collect::<Vec<f64>>())
            }
            None => (vec![0.0; n], vec![0.0; mh]),
        };
        let fista = mh == 0 && o.accelerate_box_only;
        let halpern = o.mode == Mode::Halpern && !fista;
        // FISTA and Halpern take the Condat–Vũ primal step (τ = 1/‖P̄‖ without rows).
        // Every mode takes α(λ + βσ) = 1 with λ ≥ ‖P̄‖ (PIPG's condition); measured on the
        // robotics families, 2λ (the textbook bound for relaxed steps) halves the successes.
        let lam = d.lambda;
        let mut t_mom = 1.0f64;
        let mut x_last = x.clone();
        let mut x_prev_out = x.clone();
        let mut fpr_last = f64::INFINITY;
        let mut omega = o.omega;
        let (mut tau, mut sig) = steps(lam, d.sigma, omega);
        let (mut x0, mut y0) = (x.clone(), y.clone());
        let (mut xr, mut yr) = (x.clone(), y.clone());
        let mut xt = vec![0.0; n];
        let mut yt = vec![0.0; mh];
        let mut g = vec![0.0; n];
        let mut ext = vec![0.0; n];
        let mut hv = vec![0.0; mh];
        let mut j = 0usize;
        let mut epoch = Epoch::new();
        let mut adapt_gap = o.check_every.max(1);
        let mut next_adapt = 0usize;
        let (mut pinf, mut dinf) = (0, 0);
        let mut status = Status::MaxIterations;
        let mut iters = 0;
        let mut readouts = 0;
        let mut restarts = 0;
        let use_avg = o.average && !fista;
        let mut xsum = vec![0.0; if use_avg { n } else { 0 }];
        let mut ysum = vec![0.0; if use_avg { mh } else { 0 }];
        let mut nsum = 0usize;
        let kkt = |rep: &residuals::ResidualReport| rep.kkt_error(&settings);
        let mut final_xy = None;
        let time_limit = settings.time_limit.unwrap_or(Duration::MAX);
        for k in 1..=settings.max_iter {
            // T(x, y) → (xt, yt).
            g.copy_from_slice(&d.q);
            d.p.mul_t_add(&x, &mut g);
            d.h.mul_t_add(&y, &mut g);
            for i in 0..n {
                xt[i] = (x[i] - primal_step(tau, d.delta[i]) * g[i]).max(d.lb[i]).min(d.ub[i]);
                ext[i] = 2.0 * xt[i] - x[i];
            }
            hv.iter_mut().for_each(|v| *v = 0.0);
            d.h.mul_add(&ext, &mut hv);
            for i in 0..mh {
                let v = y[i] + sig * hv[i];
                yt[i] = v - sig * (v / sig).max(d.hl[i]).min(d.hu[i]);
            }
            iters = k;
            let check = o.check_every > 0 && (k % o.check_every == 0 || k == settings.max_iter);
            // Fixed-point residual ‖T(z) − z‖ (a host reduction, only at checks).
            let fpr = if check {
                let a = primal_fpr2(&x, &xt, tau, &d.delta);
                let b: f64 = y.iter().zip(&yt).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / sig;
                (a + b).sqrt()
            } else {
                0.0
            };
            let (xp, yp) = if check { (x.clone(), y.clone()) } else { (Vec::new(), Vec::new()) };
            // Update the iterate.
            if fista {
                if check {
                    x_prev_out.copy_from_slice(&x_last);
                }
                let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t_mom * t_mom).sqrt());
                let b = (t_mom - 1.0) / t_next;
                for i in 0..n {
                    x[i] = xt[i] + b * (xt[i] - x_last[i]);
                }
                x_last.copy_from_slice(&xt);
                t_mom = t_next;
            } else if halpern {
                let (wa, wz) = ((j + 1) as f64 / (j + 2) as f64, 1.0 / (j + 2) as f64);
                for i in 0..n {
                    x[i] = wa * (2.0 * xt[i] - x[i]) + wz * x0[i];
                }
                for i in 0..mh {
                    y[i] = wa * (2.0 * yt[i] - y[i]) + wz * y0[i];
                }
            } else {
                let rho = o.relaxation;
                for i in 0..n {
                    x[i] = (1.0 - rho) * x[i] + rho * xt[i];
                }
                for i in 0..mh {
                    y[i] = (1.0 - rho) * y[i] + rho * yt[i];
                }
            }
            j += 1;
            if use_avg {
                xsum.iter_mut().zip(&xt).for_each(|(a, b)| *a += b);
                ysum.iter_mut().zip(&yt).for_each(|(a, b)| *a += b);
                nsum += 1;
            }
            let timed_out = t0.elapsed() >= time_limit;
            if !check {
                if timed_out {
                    status = Status::TimeLimit;
                    break;
                }
                continue;
            }
            readouts += 1;
            if !xt.iter().chain(&yt).all(|v| v.is_finite()) || !fpr.is_finite() {
                status = Status::NumericalError;
                break;
            }
            let (xo, yo) = d.output(&xt, &yt, m);
            let rep = residuals::compute(pb, &xo, &yo);
            if settings.verbose {
                eprintln!(
                    "hpdhg {k:6}: prim {:.2e} dual {:.2e} gap {:.2e} fpr {fpr:.2e} omega {omega:.3e} restarts {restarts}",
                    rep.res.prim, rep.res.dual, rep.res.gap
                );
            }
            if rep.converged_with_gap(&settings) {
                status = Status::Solved;
                final_xy = Some((xo, yo));
                break;
            }
            // The epoch average (a second readout of the same check).
            let avg = if use_avg && nsum > 1 {
                let inv = 1.0 / nsum as f64;
                let xa: Vec<f64> = xsum.iter().map(|v| v * inv).collect();
                let ya: Vec<f64> = ysum.iter().map(|v| v * inv).collect();
                let (xao, yao) = d.output(&xa, &ya, m);
                let ra = residuals::compute(pb, &xao, &yao);
                readouts += 1;
                if ra.converged_with_gap(&settings) {
                    status = Status::Solved;
                    final_xy = Some((xao, yao));
                    break;
                }
                Some((xa, ya, kkt(&ra)))
            } else {
                None
            };
            let (test_p, test_d) = (rep.res.prim > rep.eps_prim(&settings), rep.res.dual > rep.eps_dual(&settings));
            if test_p || test_d {
                // One-step displacement T(z) − z in the original space.
                let (px, py) = d.output(&xp, &yp, m);
                let dy: Vec<f64> = yo.iter().zip(&py).map(|(a, b)| a - b).collect();
                let dx: Vec<f64> = xo.iter().zip(&px).map(|(a, b)| a - b).collect();
                pinf = if test_p && primal_infeasible(pb, &dy, o.eps_infeasible) { pinf + 1 } else { 0 };
                dinf = if test_d && dual_infeasible(pb, &dx, o.eps_infeasible) { dinf + 1 } else { 0 };
                if pinf >= 2 {
                    status = Status::PrimalInfeasible;
                    break;
                }
                if dinf >= 2 {
                    status = Status::DualInfeasible;
                    break;
                }
            }
            if timed_out {
                status = Status::TimeLimit;
                final_xy = Some((xo, yo));
                break;
            }
            if fista {
                // Momentum restart (a host decision on one scalar readout).
                let due = match o.fista_restart {
                    FistaRestart::Fpr => fpr > fpr_last,
                    FistaRestart::Gradient => momentum_uphill(&xp, &xt, &x_prev_out),
                };
                if due {
                    t_mom = 1.0;
                    x.copy_from_slice(&xt);
                    restarts += 1;
                }
                fpr_last = fpr;
                continue;
            }
            let mut restart = false;
            if matches!(o.omega_rule, OmegaRule::Balance | OmegaRule::BalanceAbs) && k >= next_adapt && mh > 0 {
                let (ep, ed) = (rep.eps_prim(&settings), rep.eps_dual(&settings));
                let (p_hat, d_hat) = if o.omega_rule == OmegaRule::Balance {
                    (rep.res.prim.max(ep) / (rep.prim_scale + 1e-10), rep.res.dual.max(ed) / (rep.dual_scale + 1e-10))
                } else {
                    (rep.res.prim.max(ep), rep.res.dual.max(ed))
                };
                if (rep.res.prim > ep || rep.res.dual > ed) && p_hat > 0.0 && d_hat > 0.0 {
                    let cand = (omega * (p_hat / d_hat).sqrt()).clamp(OMEGA_MIN, OMEGA_MAX);
                    if cand > 5.0 * omega || cand < omega / 5.0 {
                        omega = cand;
                        (tau, sig) = steps(lam, d.sigma, omega);
                        adapt_gap *= 2;
                        next_adapt = k + adapt_gap;
                        restart = true;
                    }
                }
            }
            if !o.restarts && !restart {
                continue;
            }
            // An ω change starts a new epoch from T(z) (below) without the test.
            let metric = match (o.restart_metric, &avg) {
                (RestartMetric::Fpr, _) => fpr,
                (RestartMetric::Kkt, Some((_, _, ka))) => ka.min(kkt(&rep)),
                (RestartMetric::Kkt, None) => kkt(&rep),
            };
            restart = restart || epoch.restart_due(k, metric, &o);
            if !restart {
                continue;
            }
            restarts += 1;
            if matches!(o.omega_rule, OmegaRule::PrimalWeight | OmegaRule::GuardedPrimalWeight) && mh > 0 {
                let dx: f64 = xt.iter().zip(&xr).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
                let dy: f64 = yt.iter().zip(&yr).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
                if dx > 1e-10 && dy > 1e-10 {
                    let th = o.pw_smoothing;
                    let cand = (th * (dy / dx).ln() + (1.0 - th) * omega.ln()).exp().clamp(OMEGA_MIN, OMEGA_MAX);
                    let p_hat = rep.res.prim / rep.eps_prim(&settings);
                    let d_hat = rep.res.dual / rep.eps_dual(&settings);
                    let gf = o.omega_guard;
                    let against = (cand < omega && p_hat > gf * d_hat) || (cand > omega && d_hat > gf * p_hat);
                    if o.omega_rule == OmegaRule::PrimalWeight || !against {
                        omega = cand;
                        (tau, sig) = steps(lam, d.sigma, omega);
                    }
                }
            }
            match avg {
                Some((xa, ya, ka)) if ka < kkt(&rep) => {
                    x.copy_from_slice(&xa);
                    y.copy_from_slice(&ya);
                }
                _ => {
                    x.copy_from_slice(&xt);
                    y.copy_from_slice(&yt);
                }
            }
            x0.copy_from_slice(&x);
            y0.copy_from_slice(&y);
            xr.copy_from_slice(&x);
            yr.copy_from_slice(&y);
            xsum.iter_mut().for_each(|v| *v = 0.0);
            ysum.iter_mut().for_each(|v| *v = 0.0);
            nsum = 0;
            j = 0;
            epoch.restart_at(k);
        }
        let elapsed = t0.elapsed();
        let (xo, yo) = match (status, final_xy) {
            (Status::PrimalInfeasible | Status::DualInfeasible, _) => (vec![0.0; n], vec![0.0; m]),
            (_, Some(xy)) => xy,
            _ => d.output(&xt, &yt, m),
        };
        if matches!(status, Status::Solved | Status::MaxIterations | Status::TimeLimit) {
            self.start = Some((xo.clone(), yo.clone()));
        }
        self.explicit_start = false;
        self.readouts = readouts;
        self.restarts = restarts;
        let pb = self.problem.as_ref().expect("set up");
        Ok(finish_solution(pb, xo, yo, status, iters, elapsed))
    }
}

// The tests use the lab's problem generators.
#[cfg(all(test, feature = "lab"))]
mod tests {
    use super::*;
    use crate::lab::generate::Family;
    use crate::qp::{ClarabelSolver, CscMatrix};

    fn solve(pb: &Problem, st: &Settings) -> Solution {
        let mut s = HpdhgSolver::new();
        s.setup(pb, st).unwrap();
        s.solve().unwrap()
    }

    #[test]
    fn solves_generated_families_like_clarabel() {
        let st = Settings { eps_abs: 1e-6, eps_rel: 0.0, max_iter: 200_000, warm_start: false, ..Settings::default() };
        for f in [Family::Mpc, Family::RandomMixed, Family::Box, Family::Equality] {
            let pb = f.generate(8, 5);
            let mut c = ClarabelSolver::new();
            c.setup(&pb, &Settings::default()).unwrap();
            let want = c.solve().unwrap().objective;
            let sol = solve(&pb, &st);
            assert_eq!(sol.status, Status::Solved, "{}: {:?} after {}", f.name(), sol.residuals, sol.iterations);
            let rel = (sol.objective - want).abs() / want.abs().max(1.0);
            assert!(rel < 1e-5, "{}: {} vs {}", f.name(), sol.objective, want);
        }
    }

    #[test]
    fn detects_primal_infeasibility_of_the_infeasible_family() {
        for seed in [5, 6, 7] {
            let pb = Family::Infeasible.generate(8, seed);
            let sol = solve(&pb, &Settings { max_iter: 20_000, warm_start: false, ..Settings::default() });
            assert_eq!(sol.status, Status::PrimalInfeasible, "seed {seed}: {:?}", sol.residuals);
            assert!(sol.x.iter().chain(&sol.y).all(|v| v.is_finite()));
        }
    }

    /// min −x₁ + ½x₂² s.t. x₂ ≥ 0 and x₁ − x₂ ≥ 0 (a general row): unbounded along x₁.
    #[test]
    fn detects_dual_infeasibility() {
        let p = CscMatrix::from_triplets(2, 2, &[(1, 1, 1.0)]).unwrap();
        let a = CscMatrix::from_dense(2, 2, &[0.0, 1.0, 1.0, -1.0]);
        let pb = Problem::new(p, vec![-1.0, 0.0], a, vec![0.0, 0.0], vec![INFTY, INFTY]).unwrap();
        let sol = solve(&pb, &Settings { max_iter: 20_000, warm_start: false, ..Settings::default() });
        assert_eq!(sol.status, Status::DualInfeasible, "{:?}", sol.residuals);
    }

    #[test]
    fn box_only_problems_take_the_accelerated_path_and_match_clarabel() {
        let pb = Family::Box.generate(30, 2);
        let st = Settings { eps_abs: 1e-6, eps_rel: 0.0, max_iter: 50_000, warm_start: false, ..Settings::default() };
        // Without the whitening: it would turn the box rows of the coupled variables into
        // general rows (the problem would no longer be box-only).
        let plain = HpdhgOptions { whiten: false, ..Default::default() };
        let mut fast = HpdhgSolver::with_options(plain.clone());
        fast.setup(&pb, &st).unwrap();
        let a = fast.solve().unwrap();
        let mut slow = HpdhgSolver::with_options(HpdhgOptions { accelerate_box_only: false, ..plain });
        slow.setup(&pb, &st).unwrap();
        let b = slow.solve().unwrap();
        assert_eq!((a.status, b.status), (Status::Solved, Status::Solved));
        assert!((a.objective - b.objective).abs() < 1e-5 * a.objective.abs().max(1.0));
        assert!(fast.readouts() > 0 && fast.readouts() <= a.iterations.div_ceil(25));
    }

    #[test]
    fn bad_input_is_an_error_and_nan_never_leaves() {
        let pb = Family::RandomMixed.generate(6, 1);
        let mut s = HpdhgSolver::new();
        assert!(s.solve().is_err(), "solve before setup");
        s.setup(&pb, &Settings::default()).unwrap();
        assert!(s.update_q(&[f64::NAN; 6]).is_err());
        assert!(s.warm_start(Some(&[1.0; 3]), None).is_err());
        let sol = s.solve().unwrap();
        assert!(sol.x.iter().chain(&sol.y).all(|v| v.is_finite()));
        let mut bad = HpdhgSolver::with_options(HpdhgOptions { omega: 0.0, ..Default::default() });
        assert!(bad.setup(&pb, &Settings::default()).is_err());
    }

    /// δ takes exactly the diagonal entries without off-diagonal partners, and with a diagonal
    /// P and only box rows the proximal step is (up to the λ floor) exact: the solve needs far
    /// fewer iterations than the linearised one to reach clamp(−q/p, −1, 1).
    #[test]
    fn separable_diagonal_is_proximal_and_solves_diagonal_costs_fast() {
        let dense = [4.0, 1.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let delta = separable_diagonal(&CscMatrix::from_dense(4, 4, &dense));
        assert_eq!(delta, vec![0.0, 0.0, 3.0, 0.0]);

        let pd = CscMatrix::from_triplets(3, 3, &[(0, 0, 1e-3), (1, 1, 1.0), (2, 2, 1e3)]).unwrap();
        let q = vec![1e-4, -2.0, 5.0];
        let pb = Problem::new(pd, q.clone(), CscMatrix::identity(3, 1.0), vec![-1.0; 3], vec![1.0; 3]).unwrap();
        let st = Settings { eps_abs: 1e-10, eps_rel: 0.0, max_iter: 1000, warm_start: false, ..Settings::default() };
        // θ = 0.1: the first variable (cost 1e-3 < 0.1·1) keeps its constraint scaling, so
        // the scaled cost stays a non-uniform diagonal (with θ = 0 it would be c·I).
        let theta = HpdhgOptions { cost_column_ratio: 0.1, ..Default::default() };
        let mut s = HpdhgSolver::with_options(theta.clone());
        s.setup(&pb, &st).unwrap();
        let sol = s.solve().unwrap();
        assert_eq!(sol.status, Status::Solved);
        assert!(sol.iterations <= 100, "{} iterations", sol.iterations);
        for (j, want) in [-0.1, 1.0, -5e-3].into_iter().enumerate() {
            assert!((sol.x[j] - want).abs() < 1e-6, "x[{j}] = {} vs {want}", sol.x[j]);
        }
        let mut lin = HpdhgSolver::with_options(HpdhgOptions { diagonal_prox: false, ..theta });
        lin.setup(&pb, &st).unwrap();
        let slow = lin.solve().unwrap();
        assert!(slow.iterations > sol.iterations, "{} vs {}", slow.iterations, sol.iterations);
    }

    /// The whitening keeps the objective and every row value (up to the new row factors),
    /// leaves the separable variable alone, maps its cost block to eigenvalues in [0, 1) with
    /// the largest near 1, and round-trips x̄ ↔ z.
    #[test]
    fn whitening_preserves_the_problem_and_conditions_the_coupled_cost() {
        use nalgebra::DMatrix;
        // Coupled block on x0..x2 with eigenvalues spanning ~1e-3..1e3, separable x3.
        let dense = [
            1000.0, 999.0, 0.0, 0.0, //
            999.0, 1000.0, 0.5, 0.0, //
            0.0, 0.5, 1.0, 0.0, //
            0.0, 0.0, 0.0, 2.0,
        ];
        let p = CscMatrix::from_dense(4, 4, &dense).upper_triangle();
        let a = CscMatrix::from_dense(3, 4, &[1.0, 0.0, 0.0, 0.0, 1.0, -1.0, 2.0, 1.0, 0.0, 0.0, 0.0, 3.0]);
        let pb = Problem::new(p, vec![1.0, -2.0, 0.5, 1.0], a, vec![-1.0, -2.0, -INFTY], vec![1.0, 2.0, 3.0]).unwrap();
        let start = Scaling::identity(4, 3);
        let (wp, sc, w) = whiten(&pb, &start, 1e-6, 1.0).expect("coupled block");
        assert_eq!(w.idx, vec![0, 1, 2]);
        let sp = sc.scale_problem(&pb);
        let x = [0.3, -0.7, 1.1, 0.4];
        let z = w.internal(&x);
        assert!((z[3] - x[3]).abs() < 1e-15, "separable variable untouched");
        let back = w.to_scaled(&z);
        for j in 0..4 {
            assert!((back[j] - x[j]).abs() < 1e-9, "round trip {back:?} vs {x:?}");
        }
        let (f0, f1) = (sp.objective(&x), wp.objective(&z));
        assert!((f0 - f1).abs() < 1e-8 * f0.abs().max(1.0), "objective {f0} vs {f1}");
        let (mut r0, mut r1) = (vec![0.0; 3], vec![0.0; 3]);
        sp.a.mul_add(&x, &mut r0);
        wp.a.mul_add(&z, &mut r1);
        for i in 0..3 {
            assert!((r0[i] - r1[i]).abs() < 1e-9 * r0[i].abs().max(1.0), "row {i}: {r0:?} vs {r1:?}");
        }
        // Rows re-equilibrated: unit ∞-norm.
        for r in wp.a.row_inf_norms() {
            assert!((r - 1.0).abs() < 1e-9, "{r}");
        }
        // The coupled block of the new cost: eigenvalues in [0, 1], largest ≈ 1.
        let pd = wp.p.sym_upper_to_full().to_dense();
        let blk = DMatrix::from_fn(3, 3, |i, j| pd[i * 4 + j]);
        let ev = blk.symmetric_eigen().eigenvalues;
        let (lo, hi) = ev.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(lo > -1e-9 && hi <= 1.0 + 1e-9 && hi > 0.99, "eigenvalues {ev:?}");
        // A separable cost has nothing to whiten.
        let pdiag = CscMatrix::from_triplets(2, 2, &[(0, 0, 1.0), (1, 1, 5.0)]).unwrap();
        let pb2 = Problem::new(pdiag, vec![0.0; 2], CscMatrix::identity(2, 1.0), vec![-1.0; 2], vec![1.0; 2]).unwrap();
        assert!(whiten(&pb2, &Scaling::identity(2, 2), 1e-6, 1.0).is_none());
    }

    #[test]
    fn cost_aware_scaling_conditions_a_stiff_cost() {
        // P = diag(1e-3, 1e3), one row coupling both. With θ = 1e-4 the cost columns set the
        // scaling (P̄ = c·I); KKT Ruiz leaves P̄ with a condition number in the thousands.
        let p = CscMatrix::from_triplets(2, 2, &[(0, 0, 1e-3), (1, 1, 1e3)]).unwrap();
        let a = CscMatrix::from_dense(1, 2, &[1.0, 1.0]);
        let pb = Problem::new(p, vec![1.0, 1.0], a, vec![1.0], vec![1.0]).unwrap();
        let d = cost_aware_scaling(&pb, 20, 1e-4).scale_problem(&pb).p.to_dense();
        assert!((d[0] / d[3] - 1.0).abs() < 1e-6, "{d:?}");
        let r = Scaling::ruiz(&pb, 10).0.p.to_dense();
        assert!(r[3] / r[0] > 1e3, "{r:?}");
        // With θ = 0.1 the first column is a constraint column (1e-3 < 0.1·1).
        let d = cost_aware_scaling(&pb, 20, 0.1).scale_problem(&pb).p.to_dense();
        assert!(d[3] / d[0] > 10.0, "{d:?}");
    }
}
