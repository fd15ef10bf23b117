//! Ruiz equilibration with cost scaling, and exact unscaling of primal and dual iterates.
//!
//! The scaled problem (OSQP's convention) is
//!
//! ```text
//! P̄ = c·D·P·D,   q̄ = c·D·q,   Ā = E·A·D,   l̄ = E·l,   ū = E·u
//! ```
//!
//! with D = diag(d) (length n), E = diag(e) (length m) and a cost factor c > 0. A point of
//! the scaled problem maps back by
//!
//! ```text
//! x = D·x̄,        y = E·ȳ / c
//! ```
//!
//! and the objective by f(x) = f̄(x̄)/c. Infinite bounds (|v| ≥ [`INFTY`]) stay ±[`INFTY`].
//!
//! [`Scaling::ruiz`] runs the modified Ruiz iteration on the KKT matrix
//! `[P Aᵀ; A 0]`: each pass divides every column (and row) by the square root of its
//! ∞-norm (norms clamped to [1e-4, 1e4]; zero norms give factor 1), then rescales the cost
//! so that max(mean column ∞-norm of P̄, ‖q̄‖∞) ≈ 1. All factors are plain `f64`, so a
//! solver that works on the scaled problem (e.g. PIPG, the spiking solver) can reproduce
//! exactly the same data by calling the same functions.

use super::{CscMatrix, INFTY, Problem};

/// Norms below this are treated as this (avoids blowing up nearly empty rows/columns).
pub(crate) const MIN_SCALING: f64 = 1e-4;
/// Norms above this are treated as this.
pub(crate) const MAX_SCALING: f64 = 1e4;

/// Diagonal scaling factors of a problem. See the module docs for the conventions.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    /// Variable scaling D (length n): x = d ∘ x̄.
    pub d: Vec<f64>,
    /// Constraint scaling E (length m): Ā = E·A·D.
    pub e: Vec<f64>,
    /// Cost scaling c (dimensionless, > 0).
    pub c: f64,
}

fn clamp_norm(v: f64) -> f64 {
    if v < MIN_SCALING { 1.0 } else { v.min(MAX_SCALING) }
}

/// Column ∞-norms of the symmetric matrix whose upper triangle `p` stores.
pub(crate) fn sym_upper_col_inf_norms(p: &CscMatrix) -> Vec<f64> {
    let mut r = vec![0.0f64; p.ncols];
    for j in 0..p.ncols {
        for k in p.colptr[j]..p.colptr[j + 1] {
            let a = p.nzval[k].abs();
            let i = p.rowval[k];
            r[j] = r[j].max(a);
            r[i] = r[i].max(a);
        }
    }
    r
}

fn scale_bound(v: f64, s: f64) -> f64 {
    if v >= INFTY {
        INFTY
    } else if v <= -INFTY {
        -INFTY
    } else {
        v * s
    }
}

impl Scaling {
    /// The identity scaling (d = 1, e = 1, c = 1).
    pub fn identity(n: usize, m: usize) -> Self {
        Self { d: vec![1.0; n], e: vec![1.0; m], c: 1.0 }
    }

    /// Runs `iters` Ruiz passes plus cost scaling on `pb`; returns the scaled problem and
    /// the factors. `iters = 0` returns an unscaled copy and the identity scaling.
    pub fn ruiz(pb: &Problem, iters: usize) -> (Problem, Scaling) {
        let (n, m) = (pb.n(), pb.m());
        if iters == 0 {
            return (pb.clone(), Self::identity(n, m));
        }
        Self::ruiz_from(pb, &Self::identity(n, m), iters)
    }

    /// Continues the Ruiz passes from `start` (e.g. the scaling of the previous problem of
    /// an MPC sequence): `iters` passes on `start`'s scaling of `pb`, so that a slowly
    /// changing problem stays equilibrated for a fraction of a cold start's passes.
    /// `start` must have `pb`'s dimensions (otherwise the identity is used).
    pub(crate) fn ruiz_from(pb: &Problem, start: &Scaling, iters: usize) -> (Problem, Scaling) {
        let (n, m) = (pb.n(), pb.m());
        let mut s = if start.d.len() == n && start.e.len() == m { start.clone() } else { Self::identity(n, m) };
        let sp = s.scale_problem(pb);
        if iters == 0 {
            return (sp, s);
        }
        let Problem { mut p, mut a, mut q, .. } = sp;
        for _ in 0..iters {
            let pn = sym_upper_col_inf_norms(&p);
            let an = a.col_inf_norms();
            let dd: Vec<f64> = (0..n).map(|j| 1.0 / clamp_norm(pn[j].max(an[j])).sqrt()).collect();
            let rn = a.row_inf_norms();
            let de: Vec<f64> = rn.iter().map(|&v| 1.0 / clamp_norm(v).sqrt()).collect();
            p.scale(&dd, &dd);
            a.scale(&de, &dd);
            for j in 0..n {
                q[j] *= dd[j];
                s.d[j] *= dd[j];
            }
            for i in 0..m {
                s.e[i] *= de[i];
            }
            // Cost scaling, recomputed each pass (as OSQP does).
            let pn = sym_upper_col_inf_norms(&p);
            let mean = if n > 0 { pn.iter().sum::<f64>() / n as f64 } else { 0.0 };
            let qn = q.iter().fold(0.0f64, |mx, v| mx.max(v.abs()));
            let cost = 1.0 / clamp_norm(mean.max(qn));
            for v in p.nzval.iter_mut() {
                *v *= cost;
            }
            for v in q.iter_mut() {
                *v *= cost;
            }
            s.c *= cost;
        }
        let scaled = s.scale_problem(pb);
        (scaled, s)
    }

    /// Applies these factors to a problem with the same dimensions (e.g. after an update of
    /// q, bounds or matrix values). Computed directly from `pb`, so repeated application
    /// does not accumulate rounding.
    pub(crate) fn scale_problem(&self, pb: &Problem) -> Problem {
        let mut p = pb.p.clone();
        self.scale_p_values(&pb.p, &mut p.nzval);
        let mut a = pb.a.clone();
        self.scale_a_values(&pb.a, &mut a.nzval);
        let (l, u) = self.scale_bounds(&pb.l, &pb.u);
        Problem { p, q: self.scale_q(&pb.q), a, l, u }
    }

    /// Scaled values of P (c·D·P·D) for `orig`'s pattern, written into `out` (len nnz).
    pub(crate) fn scale_p_values(&self, orig: &CscMatrix, out: &mut [f64]) {
        for j in 0..orig.ncols {
            for k in orig.colptr[j]..orig.colptr[j + 1] {
                out[k] = self.c * self.d[orig.rowval[k]] * orig.nzval[k] * self.d[j];
            }
        }
    }

    /// Scaled values of A (E·A·D) for `orig`'s pattern, written into `out` (len nnz).
    pub(crate) fn scale_a_values(&self, orig: &CscMatrix, out: &mut [f64]) {
        for j in 0..orig.ncols {
            for k in orig.colptr[j]..orig.colptr[j + 1] {
                out[k] = self.e[orig.rowval[k]] * orig.nzval[k] * self.d[j];
            }
        }
    }

    /// q̄ = c·D·q.
    pub(crate) fn scale_q(&self, q: &[f64]) -> Vec<f64> {
        q.iter().zip(&self.d).map(|(v, d)| self.c * d * v).collect()
    }

    /// (E·l, E·u), keeping infinite bounds at ±[`INFTY`].
    pub(crate) fn scale_bounds(&self, l: &[f64], u: &[f64]) -> (Vec<f64>, Vec<f64>) {
        (
            l.iter().zip(&self.e).map(|(&v, &e)| scale_bound(v, e)).collect(),
            u.iter().zip(&self.e).map(|(&v, &e)| scale_bound(v, e)).collect(),
        )
    }

    /// x = D·x̄ (scaled → original).
    pub(crate) fn unscale_x(&self, xs: &[f64]) -> Vec<f64> {
        xs.iter().zip(&self.d).map(|(v, d)| v * d).collect()
    }

    /// x̄ = D⁻¹·x (original → scaled).
    pub(crate) fn scale_x(&self, x: &[f64]) -> Vec<f64> {
        x.iter().zip(&self.d).map(|(v, d)| v / d).collect()
    }

    /// y = E·ȳ / c (scaled → original).
    pub(crate) fn unscale_y(&self, ys: &[f64]) -> Vec<f64> {
        ys.iter().zip(&self.e).map(|(v, e)| v * e / self.c).collect()
    }

    /// ȳ = c·E⁻¹·y (original → scaled).
    pub(crate) fn scale_y(&self, y: &[f64]) -> Vec<f64> {
        y.iter().zip(&self.e).map(|(v, e)| self.c * v / e).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Problem {
        let p = CscMatrix::from_dense(3, 3, &[400.0, 2.0, 0.0, 2.0, 0.01, 0.0, 0.0, 0.0, 3.0]).upper_triangle();
        let a = CscMatrix::from_dense(2, 3, &[1000.0, 1.0, 0.0, 0.0, 0.001, 5.0]);
        Problem::new(p, vec![1.0, -200.0, 3.0], a, vec![-1.0, -INFTY], vec![2.0, 7.0]).unwrap()
    }

    #[test]
    fn scaled_problem_matches_definition_and_roundtrips() {
        let pb = sample();
        let (sp, s) = Scaling::ruiz(&pb, 10);
        assert_eq!(sp.l[1], -INFTY);
        // f̄(x̄) = c f(D x̄) and Ā x̄ = E A x.
        let xs = [0.3, -1.2, 0.7];
        let x = s.unscale_x(&xs);
        assert!((sp.objective(&xs) - s.c * pb.objective(&x)).abs() < 1e-12 * (1.0 + pb.objective(&x).abs()));
        let (mut ax, mut axs) = (vec![0.0; 2], vec![0.0; 2]);
        pb.a.mul_add(&x, &mut ax);
        sp.a.mul_add(&xs, &mut axs);
        for i in 0..2 {
            assert!((axs[i] - s.e[i] * ax[i]).abs() < 1e-12 * (1.0 + ax[i].abs()));
        }
        let y = [0.5, -2.0];
        let back = s.unscale_y(&s.scale_y(&y));
        let xb = s.unscale_x(&s.scale_x(&x));
        for i in 0..2 {
            assert!((back[i] - y[i]).abs() < 1e-14 * y[i].abs().max(1.0));
        }
        for j in 0..3 {
            assert!((xb[j] - x[j]).abs() < 1e-14);
        }
    }

    #[test]
    fn ruiz_equilibrates() {
        let pb = sample();
        let (sp, _) = Scaling::ruiz(&pb, 25);
        let pn = sym_upper_col_inf_norms(&sp.p);
        let an = sp.a.col_inf_norms();
        let cols: Vec<f64> = (0..3).map(|j| pn[j].max(an[j])).collect();
        let (mx, mn) = cols.iter().fold((0.0f64, f64::MAX), |(a, b), &v| (a.max(v), b.min(v)));
        // Before: column norms span 0.01·… to 1000; after, within a small ratio.
        assert!(mx / mn < 5.0, "{cols:?}");
        for r in sp.a.row_inf_norms() {
            assert!(r > 0.05 && r < 20.0, "{r}");
        }
    }

    #[test]
    fn zero_iterations_is_identity() {
        let pb = sample();
        let (sp, s) = Scaling::ruiz(&pb, 0);
        assert_eq!(sp, pb);
        assert_eq!(s, Scaling::identity(3, 2));
    }
}
