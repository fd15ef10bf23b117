//! Clarabel backend (interior point, pure Rust): the high-accuracy reference optimum.
//!
//! `l ≤ Ax ≤ u` becomes Clarabel's `A'x + s = b, s ∈ K`:
//! - rows with `l = u` → one row `a x + s = l` in a `ZeroCone`;
//! - finite upper sides → `a x + s = u`, `s ≥ 0` (`NonnegativeCone`);
//! - finite lower sides → `−a x + s = −l`, `s ≥ 0`;
//! - infinite sides (|v| ≥ [`INFTY`]) are dropped (a free row gets no Clarabel row).
//!
//! Clarabel's multipliers z satisfy `Px + q + A'ᵀz = 0`, so the OSQP-convention multiplier
//! is y_i = z(upper row) − z(lower row) for an inequality and y_i = z for an equality.
//!
//! Clarabel has no warm start: `warm_start` is accepted and ignored, and every `solve`
//! builds a fresh Clarabel solver. Tolerances are Clarabel's defaults (1e-8), tightened to
//! `eps_abs` when that is smaller; `max_iter` is Clarabel's default (200) unless
//! `Settings::max_iter` is smaller.

use std::time::Instant;

use clarabel::algebra::CscMatrix as ClCsc;
use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};

use super::residuals::finish_solution;
use super::{INFTY, Problem, QpError, QpSolver, Settings, Solution, Status};

/// The Clarabel backend.
#[derive(Debug, Default)]
pub struct ClarabelSolver {
    problem: Option<Problem>,
    settings: Settings,
}

impl ClarabelSolver {
    /// A backend with nothing set up yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn pb(&mut self) -> Result<&mut Problem, QpError> {
        self.problem.as_mut().ok_or_else(|| QpError::Usage("clarabel: setup must be called first".into()))
    }
}

/// Which original row (and sign) each Clarabel row comes from.
struct Conic {
    a: ClCsc<f64>,
    b: Vec<f64>,
    cones: Vec<SupportedConeT<f64>>,
    /// (original row, +1 for upper/equality, −1 for lower) per Clarabel row.
    origin: Vec<(usize, f64)>,
}

fn to_conic(pb: &Problem) -> Conic {
    let m = pb.m();
    let mut origin = Vec::new();
    let mut b = Vec::new();
    let mut neq = 0;
    for i in 0..m {
        if pb.l[i] == pb.u[i] && pb.l[i].abs() < INFTY {
            origin.push((i, 1.0));
            b.push(pb.l[i]);
            neq += 1;
        }
    }
    for i in 0..m {
        if pb.l[i] == pb.u[i] && pb.l[i].abs() < INFTY {
            continue;
        }
        if pb.u[i] < INFTY {
            origin.push((i, 1.0));
            b.push(pb.u[i]);
        }
        if pb.l[i] > -INFTY {
            origin.push((i, -1.0));
            b.push(-pb.l[i]);
        }
    }
    // Rows of the new matrix: row r = sign · A[origin row]. Build by transposing A.
    let at = pb.a.transpose(); // n×m CSC: column i = row i of A
    let mut trip_i = Vec::new();
    let mut trip_j = Vec::new();
    let mut trip_v = Vec::new();
    for (r, &(i, sgn)) in origin.iter().enumerate() {
        for k in at.colptr[i]..at.colptr[i + 1] {
            trip_i.push(r);
            trip_j.push(at.rowval[k]);
            trip_v.push(sgn * at.nzval[k]);
        }
    }
    let mrows = origin.len();
    let a = if trip_v.is_empty() {
        ClCsc::zeros((mrows, pb.n()))
    } else {
        ClCsc::new_from_triplets(mrows, pb.n(), trip_i, trip_j, trip_v)
    };
    let mut cones = Vec::new();
    if neq > 0 {
        cones.push(SupportedConeT::ZeroConeT(neq));
    }
    if mrows > neq {
        cones.push(SupportedConeT::NonnegativeConeT(mrows - neq));
    }
    Conic { a, b, cones, origin }
}

impl QpSolver for ClarabelSolver {
    fn name(&self) -> &'static str {
        "clarabel"
    }

    fn setup(&mut self, problem: &Problem, settings: &Settings) -> Result<(), QpError> {
        problem.validate()?;
        self.problem = Some(problem.clone());
        self.settings = settings.clone();
        Ok(())
    }

    fn update_q(&mut self, q: &[f64]) -> Result<(), QpError> {
        let pb = self.pb()?;
        let mut next = pb.clone();
        next.q = q.to_vec();
        check(&next)?;
        *pb = next;
        Ok(())
    }

    fn update_bounds(&mut self, l: &[f64], u: &[f64]) -> Result<(), QpError> {
        let pb = self.pb()?;
        let clamp = |v: &[f64]| v.iter().map(|x| x.clamp(-INFTY, INFTY)).collect::<Vec<_>>();
        let mut next = pb.clone();
        next.l = clamp(l);
        next.u = clamp(u);
        check(&next)?;
        *pb = next;
        Ok(())
    }

    fn update_matrices(&mut self, p_nzval: Option<&[f64]>, a_nzval: Option<&[f64]>) -> Result<(), QpError> {
        let pb = self.pb()?;
        let mut next = pb.clone();
        if let Some(v) = p_nzval {
            if v.len() != next.p.nnz() {
                return Err(QpError::Dimension(format!("P values: {} given, {} stored", v.len(), next.p.nnz())));
            }
            next.p.nzval.copy_from_slice(v);
        }
        if let Some(v) = a_nzval {
            if v.len() != next.a.nnz() {
                return Err(QpError::Dimension(format!("A values: {} given, {} stored", v.len(), next.a.nnz())));
            }
            next.a.nzval.copy_from_slice(v);
        }
        check(&next)?;
        *pb = next;
        Ok(())
    }

    fn warm_start(&mut self, x: Option<&[f64]>, y: Option<&[f64]>) -> Result<(), QpError> {
        let pb = self.pb()?;
        if x.is_some_and(|x| x.len() != pb.n()) || y.is_some_and(|y| y.len() != pb.m()) {
            return Err(QpError::Dimension("warm start vector length".into()));
        }
        Ok(())
    }

    fn solve(&mut self) -> Result<Solution, QpError> {
        let s = self.settings.clone();
        let pb = self.pb()?;
        let (n, m) = (pb.n(), pb.m());
        let t0 = Instant::now();
        let conic = to_conic(pb);
        let p = ClCsc::new(n, n, pb.p.colptr.clone(), pb.p.rowval.clone(), pb.p.nzval.clone());
        let mut cs = DefaultSettings::<f64> { verbose: s.verbose, ..DefaultSettings::default() };
        if s.eps_abs < cs.tol_gap_abs {
            cs.tol_gap_abs = s.eps_abs.max(1e-14);
            cs.tol_gap_rel = s.eps_abs.max(1e-14);
            cs.tol_feas = s.eps_abs.max(1e-14);
        }
        cs.max_iter = cs.max_iter.min(s.max_iter.min(u32::MAX as usize) as u32);
        if let Some(t) = s.time_limit {
            cs.time_limit = t.as_secs_f64();
        }
        let mut solver = DefaultSolver::new(&p, &pb.q, &conic.a, &conic.b, &conic.cones, cs)
            .map_err(|e| QpError::Backend { backend: "clarabel", msg: format!("{e:?}") })?;
        solver.solve();
        let elapsed = t0.elapsed();
        let sol = &solver.solution;
        let status = match sol.status {
            SolverStatus::Solved => Status::Solved,
            SolverStatus::AlmostSolved | SolverStatus::MaxIterations => Status::MaxIterations,
            SolverStatus::MaxTime => Status::TimeLimit,
            SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => Status::PrimalInfeasible,
            SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => Status::DualInfeasible,
            _ => Status::NumericalError,
        };
        let (x, y) = if matches!(status, Status::PrimalInfeasible | Status::DualInfeasible) {
            (vec![0.0; n], vec![0.0; m])
        } else {
            let mut y = vec![0.0; m];
            for (r, &(i, sgn)) in conic.origin.iter().enumerate() {
                y[i] += sgn * sol.z[r];
            }
            (sol.x.clone(), y)
        };
        Ok(finish_solution(pb, x, y, status, sol.iterations as usize, elapsed))
    }
}

fn check(pb: &Problem) -> Result<(), QpError> {
    pb.validate()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qp::CscMatrix;

    #[test]
    fn solves_mixed_constraints_with_osqp_sign_convention() {
        // min ½(x₁² + x₂²) − x₁ − x₂  s.t.  x₁ + x₂ = 1.2, 0 ≤ x ≤ 0.7, x₁ − x₂ ≥ −∞ (free row)
        let a = CscMatrix::from_dense(4, 2, &[1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, -1.0]);
        let pb = Problem::new(
            CscMatrix::identity(2, 1.0),
            vec![-1.0, -3.0],
            a,
            vec![1.2, 0.0, 0.0, -INFTY],
            vec![1.2, 0.7, 0.7, INFTY],
        )
        .unwrap();
        let mut s = ClarabelSolver::new();
        s.setup(&pb, &Settings::default()).unwrap();
        let sol = s.solve().unwrap();
        assert_eq!(sol.status, Status::Solved);
        // Optimum: x₂ hits its upper bound 0.7, x₁ = 0.5. Stationarity:
        // x₁ − 1 + y_eq = 0 → y_eq = 0.5; x₂ − 3 + y_eq + y_ub = 0 → y_ub = 1.8 (> 0: upper side).
        assert!((sol.x[0] - 0.5).abs() < 1e-7 && (sol.x[1] - 0.7).abs() < 1e-7, "{:?}", sol.x);
        assert!((sol.y[0] - 0.5).abs() < 1e-6 && (sol.y[2] - 1.8).abs() < 1e-6, "{:?}", sol.y);
        assert!(sol.y[1].abs() < 1e-6 && sol.y[3].abs() < 1e-9);
        assert!(sol.residuals.prim < 1e-7 && sol.residuals.dual < 1e-7 && sol.residuals.gap < 1e-6);
        // Lower-side activity gives a negative multiplier: min ½x² + x s.t. x ≥ 0 → y = −1.
        let pb1 =
            Problem::new(CscMatrix::identity(1, 1.0), vec![1.0], CscMatrix::identity(1, 1.0), vec![0.0], vec![INFTY])
                .unwrap();
        s.setup(&pb1, &Settings::default()).unwrap();
        let sol = s.solve().unwrap();
        assert!(sol.x[0].abs() < 1e-7 && (sol.y[0] + 1.0).abs() < 1e-7, "{:?} {:?}", sol.x, sol.y);
    }

    #[test]
    fn infeasible_is_reported() {
        let a = CscMatrix::from_dense(2, 1, &[1.0, 1.0]);
        let pb = Problem::new(CscMatrix::identity(1, 1.0), vec![0.0], a, vec![1.0, -INFTY], vec![INFTY, 0.0]).unwrap();
        let mut s = ClarabelSolver::new();
        s.setup(&pb, &Settings::default()).unwrap();
        let sol = s.solve().unwrap();
        assert_eq!(sol.status, Status::PrimalInfeasible);
        assert!(sol.x.iter().chain(&sol.y).all(|v| v.is_finite()));
    }
}
