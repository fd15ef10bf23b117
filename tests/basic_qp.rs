//! Every backend on small problems with known answers, infeasible and unbounded problems,
//! degenerate shapes, and hostile data: never a NaN out.
use spikectl::lab::generate::Family;
use spikectl::qp::registry::by_name as solver_by_name;
use spikectl::qp::{CscMatrix, INFTY, Problem, Settings, Status};

const SOLVERS: [&str; 3] = ["pipg", "osqp", "clarabel"];

fn tight() -> Settings {
    Settings { eps_abs: 1e-8, eps_rel: 0.0, max_iter: 200_000, ..Settings::default() }
}

fn solve(name: &str, pb: &Problem, st: &Settings) -> spikectl::qp::Solution {
    let mut s = solver_by_name(name).unwrap();
    s.setup(pb, st).unwrap();
    let sol = s.solve().unwrap();
    assert!(sol.x.iter().chain(&sol.y).all(|v| v.is_finite()), "{name}: non-finite output");
    assert!(sol.objective.is_finite(), "{name}: non-finite objective");
    sol
}

/// min ½(x₁² + x₂²) − x₁ − 3x₂  s.t. x₁ + x₂ = 1.2, 0 ≤ x ≤ 0.7 (one combined row each),
/// a free row, and a one-sided row x₁ − x₂ ≥ −5 (inactive).
/// Optimum x = (0.5, 0.7), y_eq = 0.5, y(x₂ ≤ 0.7) = 1.8.
#[test]
fn known_optimum_and_multipliers() {
    let a = CscMatrix::from_dense(5, 2, &[1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, -1.0, 1.0, -1.0]);
    let pb = Problem::new(
        CscMatrix::identity(2, 1.0),
        vec![-1.0, -3.0],
        a,
        vec![1.2, 0.0, 0.0, -INFTY, -5.0],
        vec![1.2, 0.7, 0.7, INFTY, INFTY],
    )
    .unwrap();
    for name in SOLVERS {
        let sol = solve(name, &pb, &tight());
        assert_eq!(sol.status, Status::Solved, "{name}");
        assert!((sol.x[0] - 0.5).abs() < 1e-6 && (sol.x[1] - 0.7).abs() < 1e-6, "{name}: {:?}", sol.x);
        assert!((sol.y[0] - 0.5).abs() < 1e-5 && (sol.y[2] - 1.8).abs() < 1e-5, "{name}: {:?}", sol.y);
        assert!(sol.y[3].abs() < 1e-6 && sol.y[4].abs() < 1e-6, "{name}: {:?}", sol.y);
    }
}

#[test]
fn unconstrained_and_box_only() {
    // No rows at all: x = −P⁻¹q.
    let p = CscMatrix::from_dense(2, 2, &[2.0, 0.5, 0.5, 1.0]).upper_triangle();
    let pb = Problem::new(p.clone(), vec![1.0, -1.0], CscMatrix::zeros(0, 2), vec![], vec![]).unwrap();
    // [[2, .5], [.5, 1]] x = (−1, 1) → x = (−6/7, 10/7)
    for name in SOLVERS {
        let sol = solve(name, &pb, &tight());
        assert_eq!(sol.status, Status::Solved, "{name}");
        assert!((sol.x[0] + 6.0 / 7.0).abs() < 1e-5 && (sol.x[1] - 10.0 / 7.0).abs() < 1e-5, "{name}: {:?}", sol.x);
    }
    // Box with negative coefficient rows: −x₁ ∈ [−0.5, 0] ⇔ 0 ≤ x₁ ≤ 0.5; 2x₂ ≤ 1.
    let a = CscMatrix::from_dense(2, 2, &[-1.0, 0.0, 0.0, 2.0]);
    let pb = Problem::new(p, vec![-3.0, -3.0], a, vec![-0.5, -INFTY], vec![0.0, 1.0]).unwrap();
    let reference = solve("clarabel", &pb, &tight());
    for name in SOLVERS {
        let sol = solve(name, &pb, &tight());
        assert_eq!(sol.status, Status::Solved, "{name}");
        assert!((sol.objective - reference.objective).abs() < 1e-6, "{name}");
        assert!(sol.residuals.dual < 1e-6 && sol.residuals.gap < 1e-6, "{name}: {:?}", sol.residuals);
    }
}

#[test]
fn infeasible_problems_are_detected_by_every_backend() {
    for seed in 0..3 {
        let pb = Family::Infeasible.generate(10, seed);
        for name in SOLVERS {
            let sol = solve(name, &pb, &Settings { max_iter: 50_000, ..Settings::default() });
            assert_eq!(sol.status, Status::PrimalInfeasible, "{name} seed {seed}");
        }
    }
    // Contradictory box rows on one variable (caught by PIPG's box split at once).
    let a = CscMatrix::from_dense(2, 1, &[1.0, 2.0]);
    let pb = Problem::new(CscMatrix::identity(1, 1.0), vec![0.0], a, vec![1.0, -INFTY], vec![INFTY, 0.0]).unwrap();
    for name in SOLVERS {
        assert_eq!(solve(name, &pb, &Settings::default()).status, Status::PrimalInfeasible, "{name}");
    }
}

#[test]
fn unbounded_lp_is_dual_infeasible() {
    // min −x₁ s.t. x₁ − x₂ = 0, x₂ ≥ 0: unbounded along (1, 1).
    let a = CscMatrix::from_dense(2, 2, &[1.0, -1.0, 0.0, 1.0]);
    let pb = Problem::new(CscMatrix::zeros(2, 2), vec![-1.0, 0.0], a, vec![0.0, 0.0], vec![0.0, INFTY]).unwrap();
    for name in SOLVERS {
        let sol = solve(name, &pb, &Settings { max_iter: 50_000, ..Settings::default() });
        assert_eq!(sol.status, Status::DualInfeasible, "{name}");
    }
}

#[test]
fn badly_scaled_data_never_produces_nan() {
    // Entries spanning 1e-9 … 1e12 and huge bounds.
    let p = CscMatrix::from_dense(3, 3, &[1e12, 0.0, 0.0, 0.0, 1e-9, 0.0, 0.0, 0.0, 1.0]).upper_triangle();
    let a = CscMatrix::from_dense(2, 3, &[1e9, 1.0, 0.0, 0.0, 1e-8, 1e6]);
    let pb = Problem::new(p, vec![1e10, -1e-6, 3.0], a, vec![-1e25, -1.0], vec![1e25, 1.0]).unwrap();
    for name in SOLVERS {
        for max_iter in [1, 10, 5000] {
            let _ = solve(name, &pb, &Settings { max_iter, ..Settings::default() });
        }
    }
}

#[test]
fn updates_keep_every_backend_consistent() {
    let seq = spikectl::lab::generate::mpc_sequence(6, 6, 4);
    let st = Settings { eps_abs: 1e-7, eps_rel: 0.0, max_iter: 100_000, ..Settings::default() };
    for name in SOLVERS {
        let mut s = solver_by_name(name).unwrap();
        s.setup(&seq.base, &st).unwrap();
        for k in 0..seq.steps.len() {
            let (q, l, u) = &seq.steps[k];
            s.update_q(q).unwrap();
            s.update_bounds(l, u).unwrap();
            let sol = s.solve().unwrap();
            let fresh = solve("clarabel", &seq.problem(k), &tight());
            assert_eq!(sol.status, Status::Solved, "{name} step {k}");
            assert!((sol.objective - fresh.objective).abs() < 1e-5 * fresh.objective.abs().max(1.0), "{name} step {k}");
        }
        // Bad updates are errors, not panics.
        assert!(s.update_q(&[1.0]).is_err());
        assert!(s.update_bounds(&[1.0; 1], &[0.0; 1]).is_err());
        let m = seq.base.m();
        let mut l = seq.steps[0].1.clone();
        l[0] = seq.steps[0].2[0] + 1.0;
        assert!(s.update_bounds(&l, &seq.steps[0].2).is_err(), "{name}: l > u accepted");
        assert_eq!(l.len(), m);
        assert!(s.update_matrices(Some(&[1.0]), None).is_err());
        assert!(s.warm_start(Some(&[f64::NAN; 1]), None).is_err());
    }
}

#[test]
fn matrix_update_matches_fresh_setup() {
    let pb = Family::RandomMixed.generate(8, 2);
    let pv: Vec<f64> = pb.p.nzval.iter().map(|v| 2.0 * v).collect();
    let av: Vec<f64> = pb.a.nzval.iter().map(|v| 0.5 * v).collect();
    let mut changed = pb.clone();
    changed.p.nzval = pv.clone();
    changed.a.nzval = av.clone();
    let want = solve("clarabel", &changed, &tight()).objective;
    for name in SOLVERS {
        let mut s = solver_by_name(name).unwrap();
        s.setup(&pb, &tight()).unwrap();
        s.solve().unwrap();
        s.update_matrices(Some(&pv), Some(&av)).unwrap();
        let sol = s.solve().unwrap();
        assert_eq!(sol.status, Status::Solved, "{name}");
        assert!((sol.objective - want).abs() < 1e-6 * want.abs().max(1.0), "{name}: {} vs {want}", sol.objective);
    }
}
