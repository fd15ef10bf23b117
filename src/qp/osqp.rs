//! OSQP backend (ADMM, C library OSQP 1.0 through the `osqp` crate).
//!
//! OSQP's own defaults are kept (ρ = 0.1, σ = 1e-6, α = 1.6, adaptive ρ, termination checked
//! every 25 iterations, polish off) except for what [`Settings`] carries: eps_abs, eps_rel,
//! max_iter, time limit, scaling iterations, warm starting and verbosity. OSQP's primal and
//! dual infeasibility tolerances are left at their defaults (1e-4).
//!
//! Updates of q, bounds and matrix values go to OSQP's update functions (no new setup, no
//! new symbolic factorisation). Residuals and objective in the returned [`Solution`] are
//! recomputed by [`super::residuals`] on the original problem, like every backend's.

use std::time::Instant;

use super::residuals::finish_solution;
use super::{CscMatrix, INFTY, Problem, QpError, QpSolver, Settings, Solution, Status};

/// The OSQP backend. Create with [`OsqpSolver::new`], then `setup`.
#[derive(Default)]
pub struct OsqpSolver {
    inner: Option<osqp::Problem>,
    problem: Option<Problem>,
    settings: Settings,
}

impl std::fmt::Debug for OsqpSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsqpSolver").field("setup", &self.inner.is_some()).finish()
    }
}

fn to_osqp(m: &CscMatrix) -> osqp::CscMatrix<'_> {
    osqp::CscMatrix {
        nrows: m.nrows,
        ncols: m.ncols,
        indptr: std::borrow::Cow::Borrowed(&m.colptr),
        indices: std::borrow::Cow::Borrowed(&m.rowval),
        data: std::borrow::Cow::Borrowed(&m.nzval),
    }
}

fn clamp_bounds(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x.clamp(-INFTY, INFTY)).collect()
}

/// Maps our settings onto OSQP's (OSQP defaults for everything else).
pub(crate) fn osqp_settings(s: &Settings) -> osqp::Settings {
    let o = osqp::Settings::default()
        .eps_abs(s.eps_abs)
        .eps_rel(s.eps_rel)
        .max_iter(s.max_iter.min(u32::MAX as usize / 2) as u32)
        .warm_starting(s.warm_start)
        .verbose(s.verbose)
        .polishing(false)
        .scaling(if s.scaling_iters == 0 { None } else { Some(s.scaling_iters as u32) });
    // OSQP 1.0 rejects a zero time limit, which is what the crate sends for `None`.
    match s.time_limit {
        Some(t) => o.time_limit(Some(t)),
        None => o,
    }
}

impl OsqpSolver {
    /// A backend with nothing set up yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn parts(&mut self) -> Result<(&mut osqp::Problem, &mut Problem), QpError> {
        match (self.inner.as_mut(), self.problem.as_mut()) {
            (Some(i), Some(p)) => Ok((i, p)),
            _ => Err(QpError::Usage("osqp: setup must be called first".into())),
        }
    }
}

fn check_len(what: &str, got: usize, want: usize) -> Result<(), QpError> {
    if got == want { Ok(()) } else { Err(QpError::Dimension(format!("{what} has length {got}, expected {want}"))) }
}

fn check_finite(what: &str, v: &[f64]) -> Result<(), QpError> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(QpError::NonFinite(format!("{what}[{i}]"))),
        None => Ok(()),
    }
}

impl QpSolver for OsqpSolver {
    fn name(&self) -> &'static str {
        "osqp"
    }

    fn setup(&mut self, problem: &Problem, settings: &Settings) -> Result<(), QpError> {
        problem.validate()?;
        let mut pb = problem.clone();
        pb.l = clamp_bounds(&pb.l);
        pb.u = clamp_bounds(&pb.u);
        let os = osqp_settings(settings);
        let inner = osqp::Problem::new(to_osqp(&pb.p), &pb.q, to_osqp(&pb.a), &pb.l, &pb.u, &os)
            .map_err(|e| QpError::Backend { backend: "osqp", msg: format!("{e}") })?;
        self.inner = Some(inner);
        self.problem = Some(pb);
        self.settings = settings.clone();
        Ok(())
    }

    fn update_q(&mut self, q: &[f64]) -> Result<(), QpError> {
        let (inner, pb) = self.parts()?;
        check_len("q", q.len(), pb.n())?;
        check_finite("q", q)?;
        inner.update_lin_cost(q);
        pb.q.copy_from_slice(q);
        Ok(())
    }

    fn update_bounds(&mut self, l: &[f64], u: &[f64]) -> Result<(), QpError> {
        let (inner, pb) = self.parts()?;
        check_len("l", l.len(), pb.m())?;
        check_len("u", u.len(), pb.m())?;
        let (l, u) = (clamp_bounds(l), clamp_bounds(u));
        for i in 0..l.len() {
            if l[i].is_nan() || u[i].is_nan() {
                return Err(QpError::NonFinite(format!("bounds of row {i}")));
            }
            if l[i] > u[i] {
                return Err(QpError::BoundOrder { row: i, l: l[i], u: u[i] });
            }
        }
        inner.update_bounds(&l, &u);
        pb.l = l;
        pb.u = u;
        Ok(())
    }

    fn update_matrices(&mut self, p_nzval: Option<&[f64]>, a_nzval: Option<&[f64]>) -> Result<(), QpError> {
        let (inner, pb) = self.parts()?;
        if let Some(v) = p_nzval {
            check_len("P values", v.len(), pb.p.nnz())?;
            check_finite("P", v)?;
        }
        if let Some(v) = a_nzval {
            check_len("A values", v.len(), pb.a.nnz())?;
            check_finite("A", v)?;
        }
        if let Some(v) = p_nzval {
            pb.p.nzval.copy_from_slice(v);
            inner.update_P(to_osqp(&pb.p));
        }
        if let Some(v) = a_nzval {
            pb.a.nzval.copy_from_slice(v);
            inner.update_A(to_osqp(&pb.a));
        }
        Ok(())
    }

    fn warm_start(&mut self, x: Option<&[f64]>, y: Option<&[f64]>) -> Result<(), QpError> {
        let (inner, pb) = self.parts()?;
        if let Some(x) = x {
            check_len("x", x.len(), pb.n())?;
            check_finite("x", x)?;
            inner.warm_start_x(x);
        }
        if let Some(y) = y {
            check_len("y", y.len(), pb.m())?;
            check_finite("y", y)?;
            inner.warm_start_y(y);
        }
        Ok(())
    }

    fn solve(&mut self) -> Result<Solution, QpError> {
        let (inner, pb) = self.parts()?;
        let (n, m) = (pb.n(), pb.m());
        let t0 = Instant::now();
        let st = inner.solve();
        let elapsed = t0.elapsed();
        let iters = st.iter() as usize;
        let (x, y, status) = match &st {
            osqp::Status::Solved(s) => (s.x().to_vec(), s.y().to_vec(), Status::Solved),
            osqp::Status::SolvedInaccurate(s) | osqp::Status::MaxIterationsReached(s) => {
                (s.x().to_vec(), s.y().to_vec(), Status::MaxIterations)
            }
            osqp::Status::TimeLimitReached(s) => (s.x().to_vec(), s.y().to_vec(), Status::TimeLimit),
            osqp::Status::PrimalInfeasible(_) | osqp::Status::PrimalInfeasibleInaccurate(_) => {
                (vec![0.0; n], vec![0.0; m], Status::PrimalInfeasible)
            }
            osqp::Status::DualInfeasible(_) | osqp::Status::DualInfeasibleInaccurate(_) => {
                (vec![0.0; n], vec![0.0; m], Status::DualInfeasible)
            }
            _ => (vec![0.0; n], vec![0.0; m], Status::NumericalError),
        };
        Ok(finish_solution(pb, x, y, status, iters, elapsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qp::residuals;

    /// min ½(x₁² + x₂²) − x₁ − x₂  s.t.  x₁ + x₂ = 1, 0 ≤ x ≤ 0.7  →  x = (0.5, 0.5), y_eq = 0.5.
    fn small() -> Problem {
        let a = CscMatrix::from_dense(3, 2, &[1.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
        Problem::new(CscMatrix::identity(2, 1.0), vec![-1.0, -1.0], a, vec![1.0, 0.0, 0.0], vec![1.0, 0.7, 0.7])
            .unwrap()
    }

    fn tight() -> Settings {
        Settings { eps_abs: 1e-9, eps_rel: 1e-9, max_iter: 20000, ..Settings::default() }
    }

    #[test]
    fn solves_small_known_problem() {
        let mut s = OsqpSolver::new();
        s.setup(&small(), &tight()).unwrap();
        let sol = s.solve().unwrap();
        assert_eq!(sol.status, Status::Solved);
        assert!((sol.x[0] - 0.5).abs() < 1e-6 && (sol.x[1] - 0.5).abs() < 1e-6, "{:?}", sol.x);
        assert!((sol.y[0] - 0.5).abs() < 1e-6, "{:?}", sol.y);
        assert!((sol.objective + 0.75).abs() < 1e-6);
        let r = residuals::compute(&small(), &sol.x, &sol.y);
        assert_eq!(r.res, sol.residuals);
    }

    #[test]
    fn updates_without_setup_and_warm_start() {
        let mut s = OsqpSolver::new();
        s.setup(&small(), &tight()).unwrap();
        s.solve().unwrap();
        // Push the optimum onto the upper bounds: q = (−2, −2) with x₁ + x₂ = 1.2.
        s.update_q(&[-2.0, -2.0]).unwrap();
        s.update_bounds(&[1.2, 0.0, 0.0], &[1.2, 0.7, 0.7]).unwrap();
        let sol = s.solve().unwrap();
        assert_eq!(sol.status, Status::Solved);
        assert!((sol.x[0] - 0.6).abs() < 1e-6 && (sol.x[1] - 0.6).abs() < 1e-6);
        // A warm start at the optimum converges almost at once.
        s.warm_start(Some(&sol.x), Some(&sol.y)).unwrap();
        let again = s.solve().unwrap();
        assert!(again.iterations <= 50, "{}", again.iterations);
        // Matrix update: scale P by 2 → x = (0.6, 0.6) still (equality binds), y changes.
        s.update_matrices(Some(&[2.0, 2.0]), None).unwrap();
        let sol = s.solve().unwrap();
        assert!((sol.y[0] - 0.8).abs() < 1e-5, "{:?}", sol.y);
        assert!(s.update_q(&[1.0]).is_err());
        assert!(s.update_bounds(&[2.0, 0.0, 0.0], &[1.0, 1.0, 1.0]).is_err());
    }

    #[test]
    fn infeasible_detected_without_nan() {
        // x ≥ 1 and x ≤ 0 as two rows.
        let a = CscMatrix::from_dense(2, 1, &[1.0, 1.0]);
        let pb = Problem::new(CscMatrix::identity(1, 1.0), vec![0.0], a, vec![1.0, -INFTY], vec![INFTY, 0.0]).unwrap();
        let mut s = OsqpSolver::new();
        s.setup(&pb, &Settings::default()).unwrap();
        let sol = s.solve().unwrap();
        assert_eq!(sol.status, Status::PrimalInfeasible);
        assert!(sol.x.iter().chain(&sol.y).all(|v| v.is_finite()));
    }

    #[test]
    fn solve_before_setup_is_an_error() {
        assert!(OsqpSolver::new().solve().is_err());
    }
}
