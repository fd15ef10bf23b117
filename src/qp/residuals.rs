//! Optimality residuals and the termination test, computed on the original problem and
//! shared by every backend, so that "solved" means the same thing for all of them.
//!
//! Sign convention (OSQP's): y_i > 0 pushes against the upper bound u_i, y_i < 0 against
//! the lower bound l_i. KKT conditions: Px + q + Aᵀy = 0, l ≤ Ax ≤ u, y ⟂ (Ax − [l,u]).

use super::{INFTY, Problem, Residuals, Settings, Solution, Status};
use std::time::Duration;

/// Residuals plus the norms that scale the relative tolerances.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ResidualReport {
    /// The residuals (∞-norm).
    pub res: Residuals,
    /// max(‖Ax‖∞, ‖Π(Ax)‖∞): scale of the primal tolerance.
    pub prim_scale: f64,
    /// max(‖Px‖∞, ‖Aᵀy‖∞, ‖q‖∞): scale of the dual tolerance.
    pub dual_scale: f64,
    /// max(|xᵀPx|, |qᵀx|, |support terms|): scale of the gap tolerance.
    pub gap_scale: f64,
}

impl ResidualReport {
    /// Primal tolerance eps_abs + eps_rel·prim_scale.
    pub(crate) fn eps_prim(&self, s: &Settings) -> f64 {
        s.eps_abs + s.eps_rel * self.prim_scale
    }
    /// Dual tolerance eps_abs + eps_rel·dual_scale.
    pub(crate) fn eps_dual(&self, s: &Settings) -> f64 {
        s.eps_abs + s.eps_rel * self.dual_scale
    }
    /// True when primal and dual residuals are within tolerance (OSQP's test).
    pub(crate) fn converged(&self, s: &Settings) -> bool {
        self.res.prim <= self.eps_prim(s) && self.res.dual <= self.eps_dual(s)
    }
    /// Gap tolerance eps_abs + eps_rel·gap_scale.
    pub(crate) fn eps_gap(&self, s: &Settings) -> f64 {
        s.eps_abs + s.eps_rel * self.gap_scale
    }
    /// [`Self::converged`] and the duality gap within [`Self::eps_gap`] (OSQP 1.0's test
    /// with its duality-gap check on).
    pub(crate) fn converged_with_gap(&self, s: &Settings) -> bool {
        self.converged(s) && self.res.gap <= self.eps_gap(s)
    }
    /// Normalised KKT error: the largest of primal residual, dual residual and gap over its
    /// tolerance (≤ 1: [`Self::converged_with_gap`]).
    pub(crate) fn kkt_error(&self, s: &Settings) -> f64 {
        (self.res.prim / self.eps_prim(s)).max(self.res.dual / self.eps_dual(s)).max(self.res.gap / self.eps_gap(s))
    }
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// Computes residuals of (x, y) on `pb`. Non-finite inputs give infinite residuals.
pub(crate) fn compute(pb: &Problem, x: &[f64], y: &[f64]) -> ResidualReport {
    let (n, m) = (pb.n(), pb.m());
    if x.len() != n || y.len() != m || x.iter().chain(y).any(|v| !v.is_finite()) {
        return ResidualReport {
            res: Residuals { prim: f64::INFINITY, dual: f64::INFINITY, gap: f64::INFINITY },
            ..Default::default()
        };
    }
    let mut ax = vec![0.0; m];
    pb.a.mul_add(x, &mut ax);
    let mut prim = 0.0f64;
    let mut zmax = 0.0f64;
    for i in 0..m {
        let z = ax[i].clamp(pb.l[i], pb.u[i]);
        prim = prim.max((ax[i] - z).abs());
        zmax = zmax.max(z.abs());
    }
    let mut px = vec![0.0; n];
    pb.p.sym_upper_mul_add(x, &mut px);
    let mut aty = vec![0.0; n];
    pb.a.mul_t_add(y, &mut aty);
    let mut dual = 0.0f64;
    for j in 0..n {
        dual = dual.max((px[j] + pb.q[j] + aty[j]).abs());
    }
    // Duality gap: primal obj − dual obj = xᵀPx + qᵀx + σ(y), with the support function
    // σ(y) = Σ u_i y_i⁺ − l_i y_i⁻ (infinite bounds contribute only when y has the wrong sign,
    // which the dual residual already reflects; they are skipped here).
    let xpx: f64 = x.iter().zip(&px).map(|(a, b)| a * b).sum();
    let qx: f64 = x.iter().zip(&pb.q).map(|(a, b)| a * b).sum();
    let mut support = 0.0;
    for i in 0..m {
        if y[i] > 0.0 && pb.u[i] < INFTY {
            support += pb.u[i] * y[i];
        } else if y[i] < 0.0 && pb.l[i] > -INFTY {
            support += pb.l[i] * y[i];
        }
    }
    let gap = (xpx + qx + support).abs();
    ResidualReport {
        res: Residuals { prim, dual, gap },
        prim_scale: inf_norm(&ax).max(zmax),
        dual_scale: inf_norm(&px).max(inf_norm(&aty)).max(inf_norm(&pb.q)),
        gap_scale: xpx.abs().max(qx.abs()).max(support.abs()),
    }
}

/// Builds a [`Solution`] from a backend's raw iterates: non-finite entries are replaced by
/// zeros (a solver never returns NaN), residuals and objective are recomputed on the
/// original problem `pb`, and a claimed `Solved` whose iterate is non-finite becomes
/// [`Status::NumericalError`].
pub(crate) fn finish_solution(
    pb: &Problem,
    mut x: Vec<f64>,
    mut y: Vec<f64>,
    mut status: Status,
    iterations: usize,
    solve_time: Duration,
) -> Solution {
    x.resize(pb.n(), 0.0);
    y.resize(pb.m(), 0.0);
    let bad = x.iter().chain(&y).any(|v| !v.is_finite());
    if bad {
        for v in x.iter_mut().chain(y.iter_mut()) {
            if !v.is_finite() {
                *v = 0.0;
            }
        }
        if status == Status::Solved {
            status = Status::NumericalError;
        }
    }
    let rep = compute(pb, &x, &y);
    let mut objective = pb.objective(&x);
    if objective.is_nan() {
        objective = 0.0;
    } else if objective.is_infinite() {
        objective = f64::MAX.copysign(objective);
    }
    Solution { x, y, status, iterations, residuals: rep.res, objective, solve_time, ops: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qp::CscMatrix;

    /// min ½x² − x  s.t. 0 ≤ x ≤ 0.5  →  x* = 0.5, y* = 0.5 (upper bound active).
    #[test]
    fn optimum_has_zero_residuals() {
        let pb =
            Problem::new(CscMatrix::identity(1, 1.0), vec![-1.0], CscMatrix::identity(1, 1.0), vec![0.0], vec![0.5])
                .unwrap();
        let r = compute(&pb, &[0.5], &[0.5]);
        assert!(r.res.prim < 1e-15 && r.res.dual < 1e-15 && r.res.gap < 1e-15, "{r:?}");
        assert!(r.converged(&Settings::default()));
        let r = compute(&pb, &[0.7], &[0.0]);
        assert!((r.res.prim - 0.2).abs() < 1e-12);
        assert!((r.res.dual - 0.3).abs() < 1e-12);
        assert!(!r.converged(&Settings::default()));
    }

    #[test]
    fn nan_gives_infinite_residuals() {
        let pb =
            Problem::new(CscMatrix::identity(1, 1.0), vec![-1.0], CscMatrix::identity(1, 1.0), vec![0.0], vec![0.5])
                .unwrap();
        assert!(compute(&pb, &[f64::NAN], &[0.0]).res.prim.is_infinite());
    }
}
