//! PIPG backend: float64 extrapolated proportional-integral projected gradient (xPIPG,
//! Yu, Elango & Açıkmeşe, arXiv 2203.04188) for `min ½xᵀPx + qᵀx s.t. l ≤ Ax ≤ u`.
//!
//! # Data preparation (setup)
//!
//! 1. Scaling: `(P̄, q̄, Ā, l̄, ū), S = Scaling::ruiz(problem, settings.scaling_iters)`
//!    (see [`super::scaling`]; x = D·x̄, y = E·ȳ/c).
//! 2. Row split (when [`PipgOptions::separate_box`]): a row of Ā with exactly one stored
//!    entry a_ij ≠ 0 is a *box row*; it becomes the bound l̄_i/a_ij ≤ x̄_j ≤ ū_i/a_ij (sides
//!    swapped when a_ij < 0; infinite sides stay ±[`INFTY`]) and the variable box
//!    D = [lb, ub] is the intersection of all box rows on x̄_j (±[`INFTY`] when none).
//!    All other rows form H̄ (m_H × n) with bounds [l̄_H, ū_H] (row order kept). With
//!    `separate_box = false`, H̄ = Ā and D = ℝⁿ (lb = −INFTY, ub = +INFTY).
//! 3. Step sizes: λ = κ·‖P̄‖₂ and σ = κ·‖H̄‖₂² from [`sym_upper_norm_est`] and
//!    [`ata_norm_est`] (power iteration, deterministic start vector, κ =
//!    [`PipgOptions::norm_safety`]), then for a primal-dual weight ω > 0
//!    ```text
//!    α = 2 / (λ + √(λ² + 4ω²σ)),    β = ω²·α        (so that α(λ + βσ) = 1)
//!    ```
//!    computed by [`step_sizes`].
//!
//! # The iteration (state ζ ∈ ℝⁿ, η ∈ ℝ^{m_H}; all in the scaled space)
//!
//! One iteration, in exactly this order (`clamp(v, a, b) = min(max(v, a), b)` elementwise):
//! ```text
//! g  = P̄ζ + q̄ + H̄ᵀη                       (P̄ used as the full symmetric matrix)
//! z  = clamp(ζ − α·g, lb, ub)
//! v  = η + β·H̄(2z − ζ)
//! w  = v − β·clamp(v/β, l̄_H, ū_H)            (Moreau: prox of β·σ_[l,u]; equality rows give w = v − β·l̄)
//! ζ ← (1 − ρ)·ζ + ρ·z
//! η ← (1 − ρ)·η + ρ·w
//! ```
//! with relaxation ρ = [`PipgOptions::relaxation`]. The starting point is ζ = D⁻¹x₀,
//! η = c·E_H⁻¹y₀,H (zero on a cold start). w_i > 0 pushes against ū_i, w_i < 0 against l̄_i
//! (OSQP's sign convention).
//!
//! # Output (after iteration k)
//!
//! x = D·z; the H-row multipliers y_H = E_H·w/c; for box rows the multiplier comes from the
//! reduced gradient at (z, w): r = P̄z + q̄ + H̄ᵀw; when z_j sits on its upper bound ub_j and
//! r_j < 0 (or on lb_j and r_j > 0; "on" within [`ACTIVE_TOL`]·max(1, |bound|)), the first box row on x̄_j that sets that bound gets
//! ȳ_i = −r_j/a_ij; all other box rows get 0. Then y_i = e_i·ȳ_i/c.
//!
//! # Plain mode
//!
//! [`PipgOptions::plain`] switches off adaptive ω, restarts and the termination checks:
//! the solver then runs exactly `max_iter` iterations of the recurrence above with a
//! constant ω = [`PipgOptions::omega`], and the output is built from the final (z, w).
//! This is the reference a spiking implementation reproduces.
//!
//! # Extras of the default mode
//!
//! - Termination every [`PipgOptions::check_every`] iterations with
//!   [`super::residuals::compute`] on the original problem (`converged_with_gap`: primal,
//!   dual residual and duality gap within eps_abs + eps_rel·scale), plus the time limit.
//! - Adaptive ω (residual balancing, like OSQP's adaptive ρ; ω² plays the role of ρ): at a
//!   check where r_prim > ε_prim or r_dual > ε_dual, with normalised residuals
//!   p̂ = max(r_prim, ε_prim)/(prim_scale + 1e-10) and d̂ = max(r_dual, ε_dual)/(dual_scale + 1e-10),
//!   the candidate ω' = clamp(ω·(p̂/d̂)^{1/2}, [`OMEGA_MIN`], [`OMEGA_MAX`]) replaces ω when it differs by more than a factor
//!   [`PipgOptions::omega_tolerance`]; α, β are recomputed. After each change the number
//!   of iterations before the next change is allowed doubles (starting at `check_every`), so
//!   ω settles.
//! - Restarts (averaging restart, after PDLP): the solver keeps the running average
//!   (z̄, w̄) of (z, w) since the last restart. At each check it compares the normalised KKT
//!   error of the average with that of the current iterate and, when the average is better,
//!   restarts from it (ζ, η) ← (z̄, w̄). Every ω change also starts a new averaging window.
//! - Infeasibility: the one-iteration displacement δy = y_k − y_{k−1} (resp. δx) at a check,
//!   mapped to the original space, is tested as an OSQP-style certificate with tolerance
//!   [`PipgOptions::eps_infeasible`] (for infeasible problems the PDHG displacement converges
//!   to a certificate); two consecutive positive checks are required, and the primal (dual)
//!   test only runs while the primal (dual) residual is above its tolerance.

use std::time::{Duration, Instant};

use super::residuals::{self, ResidualReport, finish_solution};
use super::{CscMatrix, INFTY, Problem, QpError, QpSolver, Residuals, Scaling, Settings, Solution, Status};

/// Lower limit of the adapted ω (below it the dual step β = ω²α is so small that the dual
/// stalls; seen on nearly-LP random problems).
pub const OMEGA_MIN: f64 = 0.1;
/// Upper limit of the adapted ω (above it the primal step α ≈ 1/(ω√σ) is so small that the
/// primal stalls; on the MPC class residual balancing otherwise drifts to ω ≈ 1e3–1e4 while
/// the best fixed ω measured is ≈ 30–50).
pub const OMEGA_MAX: f64 = 300.0;

/// A variable counts as sitting on a bound b in the output map when within
/// `ACTIVE_TOL·max(1, |b|)` of it (exact for the float iteration, whose z is clamped; the
/// tolerance covers iterates from fixed-point arithmetic).
pub const ACTIVE_TOL: f64 = 1e-6;

/// PIPG-specific options (in addition to the shared [`Settings`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PipgOptions {
    /// Relaxation ρ ∈ (0, 2) (xPIPG extrapolation weight). Default 1.6.
    pub relaxation: f64,
    /// Initial primal-dual weight ω > 0 (β = ω²α). Default 1.
    pub omega: f64,
    /// Adapt ω at termination checks (residual balancing). Default true.
    pub adaptive_omega: bool,
    /// Minimal factor between ω and a candidate ω' before ω is changed. Default 5.
    pub omega_tolerance: f64,
    /// Restart from the running average when it is the better point. Default true.
    pub restarts: bool,
    /// Iterations between termination checks (0 = never check: run `max_iter`). Default 25.
    pub check_every: usize,
    /// Turn single-entry rows of A into variable bounds (projection instead of duals). Default true.
    pub separate_box: bool,
    /// Safety factor κ ≥ 1 on the power-iteration estimates of ‖P‖ and ‖H‖². Default 1.05.
    pub norm_safety: f64,
    /// Power-iteration cap. Default 100.
    pub power_iters: usize,
    /// Scaling on a matrix update ([`PipgData::refresh`]): `None` scales afresh (the
    /// `scaling_iters` Ruiz passes of a setup); `Some(k)` continues k passes from the previous
    /// problem's scaling (`Some(0)` keeps it, as OSQP does). Continuing is cheaper and, on the
    /// quadruped MPC, the more equilibrated scaling it reaches saves iterations; on the arm
    /// MPC it lengthens the tail (`examples/mpc_spiking_sweep.rs`, `spikectl bench mpc`).
    /// Default `None`.
    pub warm_ruiz_passes: Option<usize>,
    /// Tolerance of the infeasibility certificates. Default 1e-5.
    pub eps_infeasible: f64,
}

impl Default for PipgOptions {
    fn default() -> Self {
        Self {
            relaxation: 1.6,
            omega: 1.0,
            adaptive_omega: true,
            omega_tolerance: 5.0,
            restarts: true,
            check_every: 25,
            separate_box: true,
            norm_safety: 1.05,
            power_iters: 100,
            warm_ruiz_passes: None,
            eps_infeasible: 1e-5,
        }
    }
}

impl PipgOptions {
    /// Plain mode: constant ω, no restarts, no termination checks (exactly `max_iter`
    /// iterations of the documented recurrence).
    pub fn plain() -> Self {
        Self { adaptive_omega: false, restarts: false, check_every: 0, ..Self::default() }
    }
}

/// α = 2/(λ + √(λ² + 4ω²σ)) and β = ω²α for λ ≥ ‖P‖₂, σ ≥ ‖H‖₂², ω > 0.
/// Degenerate inputs (λ = σ = 0) give α = β = 1.
pub fn step_sizes(lambda: f64, sigma: f64, omega: f64) -> (f64, f64) {
    let den = lambda + (lambda * lambda + 4.0 * omega * omega * sigma).sqrt();
    let alpha = if den > 0.0 && den.is_finite() { 2.0 / den } else { 1.0 };
    (alpha, omega * omega * alpha)
}

/// Deterministic start vector of the power iterations: v_j = 1 + 0.5·sin(j + 1) (never
/// orthogonal to a nonnegative eigenvector, reproducible anywhere).
pub fn power_start(n: usize) -> Vec<f64> {
    (0..n).map(|j| 1.0 + 0.5 * ((j + 1) as f64).sin()).collect()
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Power-iteration estimate of ‖S‖₂ = λ_max(S) for the PSD matrix S whose upper triangle
/// is `p`: at most `iters` steps, stopping when the Rayleigh quotient changes by < 1e-6
/// relative. A lower bound on the true value (multiply by a safety factor).
pub fn sym_upper_norm_est(p: &CscMatrix, iters: usize) -> f64 {
    power(p.ncols, iters, None, |x, y| p.sym_upper_mul_add(x, y)).0
}

/// Power-iteration estimate of ‖A‖₂² = λ_max(AᵀA) (same stopping rule as
/// [`sym_upper_norm_est`]).
pub fn ata_norm_est(a: &CscMatrix, iters: usize) -> f64 {
    ata_power(a, iters, None).0
}

fn ata_power(a: &CscMatrix, iters: usize, start: Option<&[f64]>) -> (f64, Vec<f64>) {
    let mut tmp = vec![0.0; a.nrows];
    power(a.ncols, iters, start, |x, y| {
        tmp.iter_mut().for_each(|v| *v = 0.0);
        a.mul_add(x, &mut tmp);
        a.mul_t_add(&tmp, y);
    })
}

/// Fewest power iterations from a warm start (the previous problem's dominant vector): the
/// early stop must not fire before the vector has turned towards a new dominant direction.
const WARM_POWER_MIN_ITERS: usize = 8;

/// Power iteration from `start` (or [`power_start`]); returns the estimate and the last
/// normalised vector (the warm start of the next estimate on a nearby matrix).
fn power(n: usize, iters: usize, start: Option<&[f64]>, mut op: impl FnMut(&[f64], &mut [f64])) -> (f64, Vec<f64>) {
    if n == 0 {
        return (0.0, Vec::new());
    }
    let mut x = match start {
        Some(s) if s.len() == n && s.iter().all(|v| v.is_finite()) && norm2(s) > 0.0 => s.to_vec(),
        _ => power_start(n),
    };
    let min_iters = if start.is_some() { WARM_POWER_MIN_ITERS.min(iters.max(1)) } else { 1 };
    let nx = norm2(&x);
    x.iter_mut().for_each(|v| *v /= nx);
    let mut y = vec![0.0; n];
    let mut est = 0.0;
    for it in 0..iters.max(1) {
        y.iter_mut().for_each(|v| *v = 0.0);
        op(&x, &mut y);
        let rq: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        let ny = norm2(&y);
        if ny == 0.0 || !ny.is_finite() {
            return (rq.max(0.0), power_start(n));
        }
        for (a, b) in x.iter_mut().zip(&y) {
            *a = b / ny;
        }
        let done = (rq - est).abs() <= 1e-6 * rq.abs() && it + 1 >= min_iters;
        est = rq;
        if done {
            break;
        }
    }
    (est.max(0.0), x)
}

/// A box row of Ā: row `row` = a·x̄_j, implying lo ≤ x̄_j ≤ hi.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BoxRow {
    row: usize,
    col: usize,
    /// Position of the row's entry in Ā's values.
    src: usize,
    a: f64,
    lo: f64,
    hi: f64,
}

/// Where the values of P̄ and Ā go in the split data: fixed for a sparsity pattern (and the
/// zero/non-zero state of the box-row coefficients), so that new values of the same pattern
/// are copied in place ([`PipgData::refresh`]).
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    /// Pattern of the (upper-triangle) P and of A the layout was made for.
    p_pattern: (Vec<usize>, Vec<usize>),
    a_pattern: (Vec<usize>, Vec<usize>),
    /// Source position in P's values of each entry of `p_full`.
    p_full_src: Vec<usize>,
    /// Source position in A's values of each entry of `h`.
    h_src: Vec<usize>,
    /// Positions in A's values of single-entry rows kept in H because their coefficient is 0.
    zero_box_src: Vec<usize>,
    /// P has entries on its diagonal only (‖P̄‖ is then its largest |entry|).
    p_diagonal: bool,
}

impl Layout {
    /// True when `p`, `a` have this layout's patterns and the box-row coefficients keep their
    /// zero/non-zero state (`box_src`: the positions of the box rows' entries).
    fn fits(&self, p: &CscMatrix, a: &CscMatrix, box_src: impl Iterator<Item = usize>) -> bool {
        p.colptr == self.p_pattern.0
            && p.rowval == self.p_pattern.1
            && a.colptr == self.a_pattern.0
            && a.rowval == self.a_pattern.1
            && self.zero_box_src.iter().all(|&k| a.nzval[k] == 0.0)
            && box_src.into_iter().all(|k| a.nzval[k] != 0.0)
    }
}

/// The scaled, split problem the iteration runs on (public for reuse by the spiking
/// solver, which must run on the same data).
#[derive(Debug, Clone, PartialEq)]
pub struct PipgData {
    /// The scaling applied to the original problem.
    pub scaling: Scaling,
    /// Scaled P̄ as a full symmetric CSC matrix (both triangles).
    pub p_full: CscMatrix,
    /// Scaled q̄.
    pub q: Vec<f64>,
    /// H̄ (non-box rows of Ā, order kept).
    pub h: CscMatrix,
    /// Original row index of each H̄ row.
    pub h_rows: Vec<usize>,
    /// Lower bounds of H̄ rows (scaled).
    pub hl: Vec<f64>,
    /// Upper bounds of H̄ rows (scaled).
    pub hu: Vec<f64>,
    /// Variable lower bounds lb (scaled; −INFTY when none).
    pub lb: Vec<f64>,
    /// Variable upper bounds ub (scaled; +INFTY when none).
    pub ub: Vec<f64>,
    box_rows: Vec<BoxRow>,
    /// λ = κ·‖P̄‖₂ estimate.
    pub lambda: f64,
    /// σ = κ·‖H̄‖₂² estimate.
    pub sigma: f64,
    /// Last power-iteration vectors for ‖P̄‖ and ‖H̄‖² (warm starts for [`PipgData::refresh`]).
    power_vecs: (Vec<f64>, Vec<f64>),
    layout: Layout,
}

fn div_bound(v: f64, a: f64) -> f64 {
    if v >= INFTY {
        if a > 0.0 { INFTY } else { -INFTY }
    } else if v <= -INFTY {
        if a > 0.0 { -INFTY } else { INFTY }
    } else {
        v / a
    }
}

impl PipgData {
    /// Scales and splits `pb` and estimates the norms (steps 1–3 of the module docs).
    pub fn new(pb: &Problem, scaling_iters: usize, opt: &PipgOptions) -> Self {
        let (sp, scaling) = Scaling::ruiz(pb, scaling_iters);
        Self::from_scaled(sp, scaling, opt, None)
    }

    /// New values of `pb` with the same sparsity pattern: scaled as
    /// [`PipgOptions::warm_ruiz_passes`] says (`scaling_iters` = 0: unscaled), the values
    /// copied into the existing split when its layout fits, and the norm estimates restarted
    /// from the previous dominant vectors, so an MPC step costs a few power iterations
    /// instead of a cold start.
    pub fn refresh(&mut self, pb: &Problem, scaling_iters: usize, opt: &PipgOptions) {
        let (sp, scaling) = match opt.warm_ruiz_passes {
            Some(k) if scaling_iters > 0 => Scaling::ruiz_from(pb, &self.scaling, k),
            _ => Scaling::ruiz(pb, scaling_iters),
        };
        let warm = std::mem::take(&mut self.power_vecs);
        if self.layout.fits(&sp.p, &sp.a, self.box_rows.iter().map(|b| b.src)) {
            // Same split: copy the values in place.
            self.scaling = scaling;
            self.fill(&sp);
            self.estimate_norms(&sp, opt, Some(warm));
        } else {
            *self = Self::from_scaled(sp, scaling, opt, Some(warm));
        }
    }

    pub(crate) fn from_scaled(
        sp: Problem,
        scaling: Scaling,
        opt: &PipgOptions,
        warm: Option<(Vec<f64>, Vec<f64>)>,
    ) -> Self {
        let n = sp.n();
        let m = sp.m();
        let mut count = vec![0usize; m];
        for &r in &sp.a.rowval {
            count[r] += 1;
        }
        // Single-entry rows become variable bounds, unless their coefficient is 0 (it cannot
        // bound x): those stay in H.
        let mut is_box: Vec<bool> = (0..m).map(|i| opt.separate_box && count[i] == 1).collect();
        let mut box_rows = Vec::new();
        let mut zero_box_src = Vec::new();
        for j in 0..n {
            for k in sp.a.colptr[j]..sp.a.colptr[j + 1] {
                let i = sp.a.rowval[k];
                if is_box[i] {
                    if sp.a.nzval[k] == 0.0 {
                        is_box[i] = false;
                        zero_box_src.push(k);
                    } else {
                        box_rows.push(BoxRow { row: i, col: j, src: k, a: 0.0, lo: -INFTY, hi: INFTY });
                    }
                }
            }
        }
        // H rows in original order; H's entries carry their source positions in Ā's values
        // (exact in f64), so the layout is read off the assembled matrix.
        let h_rows: Vec<usize> = (0..m).filter(|&i| !is_box[i]).collect();
        let mut h_index = vec![usize::MAX; m];
        for (k, &i) in h_rows.iter().enumerate() {
            h_index[i] = k;
        }
        let mut trip = Vec::with_capacity(sp.a.nnz());
        for j in 0..n {
            for k in sp.a.colptr[j]..sp.a.colptr[j + 1] {
                let i = sp.a.rowval[k];
                if !is_box[i] {
                    trip.push((h_index[i], j, k as f64));
                }
            }
        }
        let mut h = CscMatrix::from_triplets(h_rows.len(), n, &trip).expect("indices in range");
        let h_src: Vec<usize> = h.nzval.iter().map(|&v| v as usize).collect();
        let mut p_index = sp.p.clone();
        p_index.nzval.iter_mut().enumerate().for_each(|(k, v)| *v = k as f64);
        let mut p_full = p_index.sym_upper_to_full();
        let p_full_src: Vec<usize> = p_full.nzval.iter().map(|&v| v as usize).collect();
        h.nzval.iter_mut().for_each(|v| *v = 0.0);
        p_full.nzval.iter_mut().for_each(|v| *v = 0.0);
        let mh = h_rows.len();
        let layout = Layout {
            p_pattern: (sp.p.colptr.clone(), sp.p.rowval.clone()),
            a_pattern: (sp.a.colptr.clone(), sp.a.rowval.clone()),
            p_full_src,
            h_src,
            zero_box_src,
            p_diagonal: sp.p.rowval.iter().enumerate().all(|(k, &i)| sp.p.colptr[i] <= k && k < sp.p.colptr[i + 1]),
        };
        let mut d = Self {
            scaling,
            p_full,
            q: vec![0.0; n],
            h,
            h_rows,
            hl: vec![0.0; mh],
            hu: vec![0.0; mh],
            lb: vec![-INFTY; n],
            ub: vec![INFTY; n],
            box_rows,
            lambda: 0.0,
            sigma: 0.0,
            power_vecs: (Vec::new(), Vec::new()),
            layout,
        };
        d.fill(&sp);
        d.estimate_norms(&sp, opt, warm);
        d
    }

    /// Copies the values of the scaled problem `sp` (whose pattern fits the layout) into
    /// P̄, q̄, H̄, the box rows, the variable boxes and the H bounds.
    fn fill(&mut self, sp: &Problem) {
        for (v, &k) in self.p_full.nzval.iter_mut().zip(&self.layout.p_full_src) {
            *v = sp.p.nzval[k];
        }
        for (v, &k) in self.h.nzval.iter_mut().zip(&self.layout.h_src) {
            *v = sp.a.nzval[k];
        }
        for b in self.box_rows.iter_mut() {
            b.a = sp.a.nzval[b.src];
        }
        self.q.clone_from(&sp.q);
        self.set_box_bounds(&sp.l, &sp.u);
    }

    /// λ and σ by power iteration on P̄ (exact for a diagonal P̄: its largest |entry|) and
    /// H̄ᵀH̄, from `warm` vectors when given.
    fn estimate_norms(&mut self, sp: &Problem, opt: &PipgOptions, warm: Option<(Vec<f64>, Vec<f64>)>) {
        let (wp, wh) = match &warm {
            Some((p, h)) => (Some(&p[..]), Some(&h[..])),
            None => (None, None),
        };
        let (lam, vp) = if self.layout.p_diagonal {
            (sp.p.nzval.iter().fold(0.0f64, |m, v| m.max(v.abs())), wp.map(<[f64]>::to_vec).unwrap_or_default())
        } else {
            power(sp.p.ncols, opt.power_iters, wp, |x, y| sp.p.sym_upper_mul_add(x, y))
        };
        let (sig, vh) = ata_power(&self.h, opt.power_iters, wh);
        self.lambda = opt.norm_safety * lam;
        self.sigma = opt.norm_safety * sig;
        self.power_vecs = (vp, vh);
    }

    /// New row bounds (original units) for `pb` and these data: checked (lengths, NaN,
    /// l ≤ u), clamped to ±[`INFTY`], written into `pb` and, scaled, into the variable boxes
    /// and H bounds. The scaling, split and norm estimates stay.
    pub(crate) fn update_bounds(&mut self, pb: &mut Problem, l: &[f64], u: &[f64]) -> Result<(), QpError> {
        check_len("l", l.len(), pb.m())?;
        check_len("u", u.len(), pb.m())?;
        let l: Vec<f64> = l.iter().map(|v| v.clamp(-INFTY, INFTY)).collect();
        let u: Vec<f64> = u.iter().map(|v| v.clamp(-INFTY, INFTY)).collect();
        for i in 0..l.len() {
            if l[i].is_nan() || u[i].is_nan() {
                return Err(QpError::NonFinite(format!("bounds of row {i}")));
            }
            if l[i] > u[i] {
                return Err(QpError::BoundOrder { row: i, l: l[i], u: u[i] });
            }
        }
        let (ls, us) = self.scaling.scale_bounds(&l, &u);
        self.set_box_bounds(&ls, &us);
        pb.l = l;
        pb.u = u;
        Ok(())
    }

    /// Recomputes lb/ub and the H bounds from scaled row bounds (l̄, ū) of all m rows.
    fn set_box_bounds(&mut self, l: &[f64], u: &[f64]) {
        self.lb.iter_mut().for_each(|v| *v = -INFTY);
        self.ub.iter_mut().for_each(|v| *v = INFTY);
        for b in self.box_rows.iter_mut() {
            let (lo, hi) = if b.a > 0.0 {
                (div_bound(l[b.row], b.a), div_bound(u[b.row], b.a))
            } else {
                (div_bound(u[b.row], b.a), div_bound(l[b.row], b.a))
            };
            b.lo = lo;
            b.hi = hi;
            self.lb[b.col] = self.lb[b.col].max(lo);
            self.ub[b.col] = self.ub[b.col].min(hi);
        }
        for (k, &i) in self.h_rows.iter().enumerate() {
            self.hl[k] = l[i];
            self.hu[k] = u[i];
        }
    }

    /// True when some variable box is empty beyond rounding (lb > ub + 1e-9·max(1, |ub|)):
    /// primal infeasible by inspection. (Crossings within rounding come from several
    /// equal bounds on one variable; the projection then returns ub.)
    pub fn box_empty(&self) -> bool {
        self.lb.iter().zip(&self.ub).any(|(a, b)| *a > b + 1e-9 * b.abs().max(1.0))
    }

    /// Output map (module docs, "Output"): original-space (x, y) from scaled (z, w);
    /// `m` is the number of rows of the original problem.
    pub fn output(&self, z: &[f64], w: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
        let s = &self.scaling;
        let x = s.unscale_x(z);
        let mut ys = vec![0.0; m];
        for (k, &i) in self.h_rows.iter().enumerate() {
            ys[i] = w[k];
        }
        if !self.box_rows.is_empty() {
            let mut r = self.q.clone();
            self.p_full.mul_t_add(z, &mut r);
            self.h.mul_t_add(w, &mut r);
            let mut taken = vec![false; z.len()];
            self.box_duals(z, &r, &mut ys, &mut taken);
        }
        (x, s.unscale_y(&ys))
    }

    /// Scaled duals of the box rows from the reduced gradient r = P̄z + q̄ + H̄ᵀw: the first
    /// box row on x̄_j that sets the active bound takes −r_j/a (module docs, "Output");
    /// `ys` holds the H rows' duals already, `taken` is all false on entry.
    fn box_duals(&self, z: &[f64], r: &[f64], ys: &mut [f64], taken: &mut [bool]) {
        for b in &self.box_rows {
            let j = b.col;
            if taken[j] || r[j] == 0.0 {
                continue;
            }
            // r_j < 0 pushes x̄_j up: the row that sets ub_j takes it; r_j > 0: lb_j.
            let active = if r[j] < 0.0 {
                self.ub[j] < INFTY && b.hi == self.ub[j] && z[j] >= self.ub[j] - ACTIVE_TOL * self.ub[j].abs().max(1.0)
            } else {
                self.lb[j] > -INFTY && b.lo == self.lb[j] && z[j] <= self.lb[j] + ACTIVE_TOL * self.lb[j].abs().max(1.0)
            };
            if active {
                ys[b.row] = -r[j] / b.a;
                taken[j] = true;
            }
        }
    }

    /// The termination report of `residuals::compute(pb, output(z, w))`, computed in the
    /// scaled space from P̄z, H̄ᵀw and H̄z with `scratch` (no allocation once it has grown):
    /// the same residuals and scales to rounding, for about two thirds of the work. `pb`
    /// is the original problem these data were made from. Equals
    /// [`PipgData::check_primal`] followed by [`PipgData::check_rest`].
    pub fn check(&self, pb: &Problem, z: &[f64], w: &[f64], scratch: &mut CheckScratch) -> ResidualReport {
        let primal = self.check_primal(pb, z, w, scratch);
        self.check_rest(pb, z, w, primal, scratch)
    }

    /// First stage of [`PipgData::check`]: the primal residual and its scale from H̄z and the
    /// box rows (about half the work; a caller that only needs to know whether the point
    /// has converged can stop here when the primal test fails). Infinite when z or w has a
    /// non-finite value or the wrong length.
    pub fn check_primal(&self, pb: &Problem, z: &[f64], w: &[f64], scratch: &mut CheckScratch) -> PrimalCheck {
        if z.len() != pb.n() || w.len() != self.h.nrows || z.iter().chain(w).any(|v| !v.is_finite()) {
            return PrimalCheck { prim: f64::INFINITY, prim_scale: 0.0 };
        }
        let hz = &mut scratch.hz;
        hz.clear();
        hz.resize(self.h.nrows, 0.0);
        self.h.mul_add(z, hz);
        let e = &self.scaling.e;
        // Ax = E⁻¹Āz row by row (H rows from H̄z, box rows from their one entry).
        let (mut prim, mut zmax, mut axmax) = (0.0f64, 0.0f64, 0.0f64);
        let mut row = |i: usize, ax: f64| {
            let zc = ax.clamp(pb.l[i], pb.u[i]);
            prim = prim.max((ax - zc).abs());
            zmax = zmax.max(zc.abs());
            axmax = axmax.max(ax.abs());
        };
        for (k, &i) in self.h_rows.iter().enumerate() {
            row(i, hz[k] / e[i]);
        }
        for b in &self.box_rows {
            row(b.row, b.a * z[b.col] / e[b.row]);
        }
        PrimalCheck { prim, prim_scale: axmax.max(zmax) }
    }

    /// Second stage of [`PipgData::check`]: the dual residual and duality gap of (z, w),
    /// given its [`PipgData::check_primal`] result.
    pub fn check_rest(
        &self,
        pb: &Problem,
        z: &[f64],
        w: &[f64],
        primal: PrimalCheck,
        scratch: &mut CheckScratch,
    ) -> ResidualReport {
        if !primal.prim.is_finite() {
            return ResidualReport {
                res: Residuals { prim: f64::INFINITY, dual: f64::INFINITY, gap: f64::INFINITY },
                ..Default::default()
            };
        }
        let (n, m) = (pb.n(), pb.m());
        let CheckScratch { pz, r, ys, taken, .. } = scratch;
        pz.clear();
        pz.resize(n, 0.0);
        ys.clear();
        ys.resize(m, 0.0);
        self.p_full.mul_t_add(z, pz);
        // r = (q̄ + P̄z) + H̄ᵀw: the order of `output`.
        r.clear();
        r.extend(self.q.iter().zip(pz.iter()).map(|(q, p)| q + p));
        self.h.mul_t_add(w, r);
        for (k, &i) in self.h_rows.iter().enumerate() {
            ys[i] = w[k];
        }
        taken.clear();
        taken.resize(n, false);
        self.box_duals(z, r, ys, taken);
        let (d, e, c) = (&self.scaling.d, &self.scaling.e, self.scaling.c);
        // Dual: Px + q + Aᵀy = (P̄z + q̄ + Āᵀȳ)/(c·D); a taken box row cancels r_j.
        let (mut dual, mut pxmax, mut atymax, mut xpx, mut qx) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for b in &self.box_rows {
            // Āᵀȳ's box part, accumulated into r − q̄ − P̄z = H̄ᵀw (kept in `r` below).
            let j = b.col;
            r[j] += b.a * ys[b.row];
        }
        for j in 0..n {
            let inv = 1.0 / (c * d[j]);
            let px = pz[j] * inv;
            // r_j now holds q̄_j + P̄z_j + (Āᵀȳ)_j; Āᵀȳ alone is r_j − q̄_j − P̄z_j.
            let aty = (r[j] - self.q[j] - pz[j]) * inv;
            dual = dual.max((r[j] * inv).abs());
            pxmax = pxmax.max(px.abs());
            atymax = atymax.max(aty.abs());
            let x = d[j] * z[j];
            xpx += x * px;
            qx += x * pb.q[j];
        }
        let mut support = 0.0;
        for i in 0..m {
            let y = ys[i] * e[i] / c;
            if y > 0.0 && pb.u[i] < INFTY {
                support += pb.u[i] * y;
            } else if y < 0.0 && pb.l[i] > -INFTY {
                support += pb.l[i] * y;
            }
        }
        let qmax = pb.q.iter().fold(0.0f64, |mx, v| mx.max(v.abs()));
        ResidualReport {
            res: Residuals { prim: primal.prim, dual, gap: (xpx + qx + support).abs() },
            prim_scale: primal.prim_scale,
            dual_scale: pxmax.max(atymax).max(qmax),
            gap_scale: xpx.abs().max(qx.abs()).max(support.abs()),
        }
    }
}

/// The primal part of a termination check ([`PipgData::check_primal`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrimalCheck {
    /// Primal residual ‖Ax − Π_[l,u](Ax)‖∞ in original units.
    pub prim: f64,
    /// Its scale max(‖Ax‖∞, ‖Π_[l,u](Ax)‖∞).
    pub prim_scale: f64,
}

impl PrimalCheck {
    /// The primal test of [`ResidualReport::converged`] fails (NaN fails).
    pub fn fails(&self, s: &Settings) -> bool {
        let passes = self.prim <= s.eps_abs + s.eps_rel * self.prim_scale;
        !passes
    }
}

/// Scratch vectors of [`PipgData::check`] (reused between checks).
#[derive(Debug, Clone, Default)]
pub struct CheckScratch {
    pz: Vec<f64>,
    r: Vec<f64>,
    hz: Vec<f64>,
    ys: Vec<f64>,
    taken: Vec<bool>,
}

/// The PIPG backend. `options` may be changed between `setup` calls.
#[derive(Debug, Clone, Default)]
pub struct PipgSolver {
    /// PIPG-specific options.
    pub options: PipgOptions,
    problem: Option<Problem>,
    data: Option<PipgData>,
    settings: Settings,
    /// Current ω (kept across solves when adapted).
    omega: f64,
    /// Starting point of the next solve (original space).
    start: Option<(Vec<f64>, Vec<f64>)>,
    /// Explicit warm start given since the last solve.
    explicit_start: bool,
}

use super::check_len;

pub(crate) fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// OSQP-style primal infeasibility certificate test on δy.
pub(crate) fn primal_infeasible(pb: &Problem, dy: &[f64], eps: f64) -> bool {
    let mut d = dy.to_vec();
    for i in 0..d.len() {
        if pb.u[i] >= INFTY {
            d[i] = d[i].min(0.0);
        }
        if pb.l[i] <= -INFTY {
            d[i] = d[i].max(0.0);
        }
    }
    let nd = inf_norm(&d);
    if nd < 1e-12 || !nd.is_finite() {
        return false;
    }
    let mut aty = vec![0.0; pb.n()];
    pb.a.mul_t_add(&d, &mut aty);
    if inf_norm(&aty) > eps * nd {
        return false;
    }
    let mut support = 0.0;
    for i in 0..d.len() {
        if d[i] > 0.0 {
            support += pb.u[i] * d[i];
        } else if d[i] < 0.0 {
            support += pb.l[i] * d[i];
        }
    }
    support < -eps * nd
}

/// OSQP-style dual infeasibility (unboundedness) certificate test on δx.
pub(crate) fn dual_infeasible(pb: &Problem, dx: &[f64], eps: f64) -> bool {
    let nd = inf_norm(dx);
    if nd < 1e-12 || !nd.is_finite() {
        return false;
    }
    let tol = eps * nd;
    let qd: f64 = pb.q.iter().zip(dx).map(|(a, b)| a * b).sum();
    if qd > -tol {
        return false;
    }
    let mut pd = vec![0.0; pb.n()];
    pb.p.sym_upper_mul_add(dx, &mut pd);
    if inf_norm(&pd) > tol {
        return false;
    }
    let mut ad = vec![0.0; pb.m()];
    pb.a.mul_add(dx, &mut ad);
    (0..pb.m()).all(|i| (pb.u[i] >= INFTY || ad[i] <= tol) && (pb.l[i] <= -INFTY || ad[i] >= -tol))
}

impl PipgSolver {
    /// A backend with default options.
    pub fn new() -> Self {
        Self::with_options(PipgOptions::default())
    }

    /// A backend with the given options.
    pub fn with_options(options: PipgOptions) -> Self {
        Self { omega: options.omega, options, ..Default::default() }
    }

    /// The scaled, split data of the current problem (after `setup`).
    pub fn data(&self) -> Option<&PipgData> {
        self.data.as_ref()
    }

    /// Current primal-dual weight ω.
    pub fn omega(&self) -> f64 {
        self.omega
    }

    fn parts(&mut self) -> Result<(&mut Problem, &mut PipgData), QpError> {
        match (self.problem.as_mut(), self.data.as_mut()) {
            (Some(p), Some(d)) => Ok((p, d)),
            _ => Err(QpError::Usage("pipg: setup must be called first".into())),
        }
    }
}

impl QpSolver for PipgSolver {
    fn name(&self) -> &'static str {
        "pipg"
    }

    fn setup(&mut self, problem: &Problem, settings: &Settings) -> Result<(), QpError> {
        problem.validate()?;
        let o = &self.options;
        if !(o.relaxation > 0.0 && o.relaxation < 2.0 && o.omega > 0.0 && o.omega.is_finite()) || o.norm_safety < 1.0 {
            return Err(QpError::Usage("pipg: need 0 < relaxation < 2, omega > 0, norm_safety ≥ 1".into()));
        }
        let mut pb = problem.clone();
        for v in pb.l.iter_mut().chain(pb.u.iter_mut()) {
            *v = v.clamp(-INFTY, INFTY);
        }
        self.data = Some(PipgData::new(&pb, settings.scaling_iters, &self.options));
        self.problem = Some(pb);
        self.settings = settings.clone();
        self.omega = self.options.omega;
        self.start = None;
        self.explicit_start = false;
        Ok(())
    }

    fn update_q(&mut self, q: &[f64]) -> Result<(), QpError> {
        let (pb, d) = self.parts()?;
        super::set_q(pb, q)?;
        d.q = d.scaling.scale_q(q);
        Ok(())
    }

    fn update_bounds(&mut self, l: &[f64], u: &[f64]) -> Result<(), QpError> {
        let (pb, d) = self.parts()?;
        d.update_bounds(pb, l, u)
    }

    fn update_matrices(&mut self, p_nzval: Option<&[f64]>, a_nzval: Option<&[f64]>) -> Result<(), QpError> {
        let scaling_iters = self.settings.scaling_iters;
        let opts = self.options.clone();
        let (pb, d) = self.parts()?;
        let next = super::with_new_values(pb, p_nzval, a_nzval)?;
        // Same pattern: restart the norm estimates from the last vectors.
        d.refresh(&next, scaling_iters, &opts);
        *pb = next;
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
        let opt = self.options.clone();
        let use_start = self.explicit_start || settings.warm_start;
        let start = if use_start { self.start.clone() } else { None };
        let mut omega = self.omega;
        let (pb, d) = self.parts()?;
        let t0 = Instant::now();
        let (n, m, mh) = (pb.n(), pb.m(), d.h.nrows);
        if d.box_empty() {
            let sol = finish_solution(pb, vec![0.0; n], vec![0.0; m], Status::PrimalInfeasible, 0, t0.elapsed());
            return Ok(sol);
        }
        let (mut zeta, mut eta) = match &start {
            Some((x, y)) => {
                let ys = d.scaling.scale_y(y);
                (d.scaling.scale_x(x), d.h_rows.iter().map(|&i| ys[i]).collect::<Vec<f64>>())
            }
            None => (vec![0.0; n], vec![0.0; mh]),
        };
        let rho = opt.relaxation;
        let (mut alpha, mut beta) = step_sizes(d.lambda, d.sigma, omega);
        let mut g = vec![0.0; n];
        let mut z = zeta.clone();
        let mut t = vec![0.0; n];
        let mut hv = vec![0.0; mh];
        let mut w = eta.clone();
        let mut zsum = vec![0.0; n];
        let mut wsum = vec![0.0; mh];
        let mut nsum = 0usize;
        let mut err_at_restart = f64::INFINITY;
        // ω may change at a check only after `adapt_gap` iterations since the last change;
        // the gap doubles at each change, so ω settles (frequent changes stall convergence).
        let mut adapt_gap = opt.check_every.max(1);
        let mut next_adapt = 0;
        let mut zprev = vec![0.0; n];
        let mut wprev = vec![0.0; mh];
        let mut have_prev = false;
        let mut pinf_hits = 0;
        let mut dinf_hits = 0;
        let mut status = Status::MaxIterations;
        let mut iters = 0;
        let time_limit = settings.time_limit.unwrap_or(Duration::MAX);
        let mut final_xy: Option<(Vec<f64>, Vec<f64>)> = None;
        for k in 1..=settings.max_iter {
            // g = P̄ζ + q̄ + H̄ᵀη
            g.copy_from_slice(&d.q);
            d.p_full.mul_t_add(&zeta, &mut g);
            d.h.mul_t_add(&eta, &mut g);
            // z = clamp(ζ − αg, lb, ub); t = 2z − ζ
            for j in 0..n {
                z[j] = (zeta[j] - alpha * g[j]).max(d.lb[j]).min(d.ub[j]);
                t[j] = 2.0 * z[j] - zeta[j];
            }
            // v = η + βH̄t; w = v − β·clamp(v/β, l̄, ū)
            hv.iter_mut().for_each(|v| *v = 0.0);
            d.h.mul_add(&t, &mut hv);
            for i in 0..mh {
                let v = eta[i] + beta * hv[i];
                w[i] = v - beta * (v / beta).max(d.hl[i]).min(d.hu[i]);
            }
            for j in 0..n {
                zeta[j] = (1.0 - rho) * zeta[j] + rho * z[j];
            }
            for i in 0..mh {
                eta[i] = (1.0 - rho) * eta[i] + rho * w[i];
            }
            iters = k;
            if opt.restarts {
                for j in 0..n {
                    zsum[j] += z[j];
                }
                for i in 0..mh {
                    wsum[i] += w[i];
                }
                nsum += 1;
            }
            if opt.check_every > 0 && ((k + 1) % opt.check_every == 0 || k + 1 == settings.max_iter) {
                zprev.copy_from_slice(&z);
                wprev.copy_from_slice(&w);
                have_prev = true;
            }
            let timed_out = t0.elapsed() >= time_limit;
            let check = opt.check_every > 0 && (k % opt.check_every == 0 || k == settings.max_iter);
            if !check {
                if timed_out {
                    status = Status::TimeLimit;
                    break;
                }
                continue;
            }
            if !(z.iter().chain(&w).all(|v| v.is_finite())) {
                status = Status::NumericalError;
                break;
            }
            let (x, y) = d.output(&z, &w, m);
            let rep = residuals::compute(pb, &x, &y);
            if rep.converged_with_gap(&settings) {
                status = Status::Solved;
                final_xy = Some((x, y));
                break;
            }
            let (test_p, test_d) = (rep.res.prim > rep.eps_prim(&settings), rep.res.dual > rep.eps_dual(&settings));
            if have_prev && (test_p || test_d) {
                // One-iteration displacement (z_k − z_{k−1}, w_k − w_{k−1}) in the original space;
                // a certificate is only sought while the matching residual is above tolerance.
                let (px, py) = d.output(&zprev, &wprev, m);
                let dy: Vec<f64> = y.iter().zip(&py).map(|(a, b)| a - b).collect();
                let dx: Vec<f64> = x.iter().zip(&px).map(|(a, b)| a - b).collect();
                let p_hit = test_p && primal_infeasible(pb, &dy, opt.eps_infeasible);
                let d_hit = test_d && dual_infeasible(pb, &dx, opt.eps_infeasible);
                pinf_hits = if p_hit { pinf_hits + 1 } else { 0 };
                dinf_hits = if d_hit { dinf_hits + 1 } else { 0 };
                if pinf_hits >= 2 {
                    status = Status::PrimalInfeasible;
                    break;
                }
                if dinf_hits >= 2 {
                    status = Status::DualInfeasible;
                    break;
                }
            }
            if timed_out {
                status = Status::TimeLimit;
                final_xy = Some((x, y));
                break;
            }
            let err = rep.kkt_error(&settings);
            let mut new_window = false;
            if opt.restarts && nsum > 1 {
                let inv = 1.0 / nsum as f64;
                let za: Vec<f64> = zsum.iter().map(|v| v * inv).collect();
                let wa: Vec<f64> = wsum.iter().map(|v| v * inv).collect();
                let (xa, ya) = d.output(&za, &wa, m);
                let ra = residuals::compute(pb, &xa, &ya);
                let ea = ra.kkt_error(&settings);
                if ea < err {
                    zeta = za;
                    eta = wa;
                    err_at_restart = ea;
                    new_window = true;
                } else if err < 0.2 * err_at_restart {
                    err_at_restart = err;
                    new_window = true;
                }
            }
            if opt.adaptive_omega && k >= next_adapt {
                // Residuals below their tolerance do not pull ω further; when both are
                // below (only the gap is left) ω stays.
                let (ep, ed) = (rep.eps_prim(&settings), rep.eps_dual(&settings));
                let p_hat = rep.res.prim.max(ep) / (rep.prim_scale + 1e-10);
                let d_hat = rep.res.dual.max(ed) / (rep.dual_scale + 1e-10);
                if (rep.res.prim > ep || rep.res.dual > ed) && p_hat > 0.0 && d_hat > 0.0 {
                    let cand = (omega * (p_hat / d_hat).powf(0.5)).clamp(OMEGA_MIN, OMEGA_MAX);
                    if cand > omega * opt.omega_tolerance || cand < omega / opt.omega_tolerance {
                        omega = cand;
                        (alpha, beta) = step_sizes(d.lambda, d.sigma, omega);
                        new_window = true;
                        adapt_gap *= 2;
                        next_adapt = k + adapt_gap;
                    }
                }
            }
            if new_window {
                zsum.iter_mut().for_each(|v| *v = 0.0);
                wsum.iter_mut().for_each(|v| *v = 0.0);
                nsum = 0;
            }
        }
        let elapsed = t0.elapsed();
        let (x, y) = match (status, final_xy) {
            (Status::PrimalInfeasible | Status::DualInfeasible, _) => (vec![0.0; n], vec![0.0; m]),
            (_, Some(xy)) => xy,
            _ => d.output(&z, &w, m),
        };
        if status.is_solved() || matches!(status, Status::MaxIterations | Status::TimeLimit) {
            self.start = Some((x.clone(), y.clone()));
        }
        self.explicit_start = false;
        self.omega = omega;
        let pb = self.problem.as_ref().expect("set up");
        Ok(finish_solution(pb, x, y, status, iters, elapsed))
    }
}

// The tests use the lab's problem generators.
#[cfg(all(test, feature = "lab"))]
mod tests {
    use super::*;
    use crate::lab::generate::Family;
    use crate::qp::{ClarabelSolver, QpSolver};

    fn reference(pb: &Problem) -> Solution {
        let mut c = ClarabelSolver::new();
        c.setup(pb, &Settings::default()).unwrap();
        c.solve().unwrap()
    }

    /// `check` equals `compute(output(z, w))` to rounding, on every family, for points
    /// inside, outside and on the variable bounds (box rows active on either side).
    #[test]
    fn scaled_check_matches_the_original_space_report() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut scratch = CheckScratch::default();
        for (f, size, seed) in [
            (Family::Mpc, 4, 1),
            (Family::RandomMixed, 25, 2),
            (Family::Box, 20, 3),
            (Family::Equality, 15, 4),
            (Family::Infeasible, 12, 5),
        ] {
            let pb = f.generate(size, seed);
            let d = PipgData::new(&pb, 10, &PipgOptions::default());
            for trial in 0..20 {
                let mut z: Vec<f64> = (0..pb.n()).map(|_| rng.gen_range(-2.0..2.0)).collect();
                if trial % 2 == 1 {
                    for (j, v) in z.iter_mut().enumerate() {
                        *v = v.max(d.lb[j]).min(d.ub[j]);
                        if rng.gen_bool(0.3) && d.ub[j] < INFTY {
                            *v = d.ub[j];
                        } else if rng.gen_bool(0.3) && d.lb[j] > -INFTY {
                            *v = d.lb[j];
                        }
                    }
                }
                let w: Vec<f64> = (0..d.h.nrows).map(|_| rng.gen_range(-1.0..1.0)).collect();
                let (x, y) = d.output(&z, &w, pb.m());
                let want = residuals::compute(&pb, &x, &y);
                let got = d.check(&pb, &z, &w, &mut scratch);
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-6);
                let pairs = [
                    (got.res.prim, want.res.prim),
                    (got.res.dual, want.res.dual),
                    (got.res.gap, want.res.gap),
                    (got.prim_scale, want.prim_scale),
                    (got.dual_scale, want.dual_scale),
                    (got.gap_scale, want.gap_scale),
                ];
                assert!(pairs.iter().all(|&(a, b)| close(a, b)), "{f:?} trial {trial}: {got:?} vs {want:?}");
            }
        }
        let pb = Family::Box.generate(5, 1);
        let d = PipgData::new(&pb, 10, &PipgOptions::default());
        let bad = d.check(&pb, &[f64::NAN; 5], &vec![0.0; d.h.nrows], &mut scratch);
        assert!(bad.res.prim.is_infinite() && bad.res.dual.is_infinite());
    }

    /// A refresh copies new values in place when the layout fits and rebuilds the split when
    /// a box row's coefficient turns 0: either way the data equal a build from scratch on
    /// the same scaling and warm vectors.
    #[test]
    fn refresh_in_place_equals_a_fresh_split() {
        let opt = PipgOptions { warm_ruiz_passes: Some(2), ..PipgOptions::default() };
        for (pb, zero_a_box_row) in [
            (Family::Mpc.generate(4, 2), false),
            (Family::RandomMixed.generate(20, 3), false),
            (Family::Box.generate(12, 4), true),
        ] {
            let mut d = PipgData::new(&pb, 10, &opt);
            let old = d.clone();
            let mut next = pb.clone();
            next.a.nzval.iter_mut().enumerate().for_each(|(k, v)| *v *= 1.0 + 0.1 * (k % 4) as f64);
            next.p.nzval.iter_mut().for_each(|v| *v *= 0.7);
            if zero_a_box_row {
                let b = old.box_rows[0];
                next.a.nzval[b.src] = 0.0;
            }
            d.refresh(&next, 10, &opt);
            let (sp, sc) = Scaling::ruiz_from(&next, &old.scaling, 2);
            let fresh = PipgData::from_scaled(sp, sc, &opt, Some(old.power_vecs.clone()));
            assert_eq!(d, fresh);
            assert_eq!(d.layout.zero_box_src.len(), usize::from(zero_a_box_row));
        }
    }

    #[test]
    fn step_sizes_satisfy_the_condition() {
        for (l, s, w) in [(1.0, 1.0, 1.0), (10.0, 0.1, 3.0), (0.0, 4.0, 0.5)] {
            let (a, b) = step_sizes(l, s, w);
            assert!((a * (l + b * s) - 1.0).abs() < 1e-12);
            assert!((b - w * w * a).abs() < 1e-15);
        }
    }

    #[test]
    fn power_iteration_estimates_norms() {
        let p = CscMatrix::from_dense(3, 3, &[4.0, 1.0, 0.0, 1.0, 3.0, 0.0, 0.0, 0.0, 1.0]).upper_triangle();
        // eigenvalues of [[4,1],[1,3]]: (7 ± √5)/2 → 4.618…
        let e = sym_upper_norm_est(&p, 200);
        assert!((e - (7.0 + 5f64.sqrt()) / 2.0).abs() < 1e-4, "{e}");
        let a = CscMatrix::from_dense(2, 2, &[3.0, 0.0, 0.0, 2.0]);
        assert!((ata_norm_est(&a, 200) - 9.0).abs() < 1e-4);
    }

    #[test]
    fn solves_families_like_clarabel() {
        for f in [Family::Mpc, Family::RandomMixed, Family::Box, Family::Equality] {
            let pb = f.generate(8, 5);
            let refsol = reference(&pb);
            let mut s = PipgSolver::new();
            let st = Settings { eps_abs: 1e-7, eps_rel: 1e-7, max_iter: 100_000, ..Settings::default() };
            s.setup(&pb, &st).unwrap();
            let sol = s.solve().unwrap();
            assert_eq!(sol.status, Status::Solved, "{}: {:?} after {}", f.name(), sol.residuals, sol.iterations);
            let rel = (sol.objective - refsol.objective).abs() / refsol.objective.abs().max(1.0);
            assert!(rel < 1e-5, "{}: {} vs {}", f.name(), sol.objective, refsol.objective);
        }
    }

    #[test]
    fn detects_infeasibility_without_nan() {
        let pb = Family::Infeasible.generate(8, 5);
        let mut s = PipgSolver::new();
        s.setup(&pb, &Settings { max_iter: 20_000, ..Settings::default() }).unwrap();
        let sol = s.solve().unwrap();
        assert_eq!(sol.status, Status::PrimalInfeasible, "{:?}", sol.residuals);
        assert!(sol.x.iter().chain(&sol.y).all(|v| v.is_finite()));
    }

    #[test]
    fn plain_mode_runs_exactly_max_iter_and_is_deterministic() {
        let pb = Family::Mpc.generate(4, 2);
        let st = Settings { max_iter: 137, ..Settings::default() };
        let mut a = PipgSolver::with_options(PipgOptions::plain());
        a.setup(&pb, &st).unwrap();
        let sa = a.solve().unwrap();
        let mut b = PipgSolver::with_options(PipgOptions::plain());
        b.setup(&pb, &st).unwrap();
        let sb = b.solve().unwrap();
        assert_eq!(sa.iterations, 137);
        assert_eq!(sa.x, sb.x);
        assert_eq!(sa.y, sb.y);
    }

    #[test]
    fn warm_start_from_optimum_converges_at_first_check() {
        let pb = Family::RandomMixed.generate(10, 3);
        let st = Settings { eps_abs: 1e-5, eps_rel: 1e-5, max_iter: 50_000, ..Settings::default() };
        let mut s = PipgSolver::new();
        s.setup(&pb, &st).unwrap();
        let first = s.solve().unwrap();
        assert_eq!(first.status, Status::Solved);
        let again = s.solve().unwrap();
        assert_eq!(again.status, Status::Solved);
        assert!(again.iterations <= first.iterations / 2 + 25, "{} vs {}", again.iterations, first.iterations);
    }
}
