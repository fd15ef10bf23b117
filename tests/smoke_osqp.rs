//! Smoke test: the real OSQP (crate `osqp`, OSQP C 1.0, built offline against the qdldl
//! sources that scripts/setup.sh fetched) solves a small QP whose answer is known in closed
//! form, and its KKT conditions hold.
//!
//! QP: minimise ½xᵀPx + qᵀx with
//!   P = [[4, 1, 0], [1, 2, 0], [0, 0, 1]], q = [1, 1, -2],
//!   x₀ + x₁ = 1, 0 ≤ x₀ ≤ 0.7, 0 ≤ x₁ ≤ 0.7, x₂ ≤ 1.
//! On the line x₁ = 1 − x₀ the objective in (x₀, x₁) is 2x₀² − x₀ + 2, minimised at x₀ = ¼,
//! which would need x₁ = ¾ > 0.7; so x₁ = 0.7 is active and x₀ = 0.3. The unconstrained x₂ = 2
//! violates x₂ ≤ 1, so x₂ = 1 with multiplier 1. Objective = 1.88 + 0.5 − 2 = 0.38.

use osqp::{CscMatrix, Problem, Settings, Status};

const P: [[f64; 3]; 3] = [[4.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]];
const Q: [f64; 3] = [1.0, 1.0, -2.0];
const A: [[f64; 3]; 4] = [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
// OSQP treats |bounds| ≥ 1e30 as infinite.
const L: [f64; 4] = [1.0, 0.0, 0.0, -1e30];
const U: [f64; 4] = [1.0, 0.7, 0.7, 1.0];

fn settings() -> Settings {
    Settings::default().verbose(false).eps_abs(1e-9).eps_rel(1e-9).polishing(true).max_iter(20_000)
}

fn setup() -> Problem {
    let p = CscMatrix::from(&P).into_upper_tri();
    let a = CscMatrix::from(&A);
    Problem::new(p, &Q, a, &L, &U, &settings()).expect("OSQP setup failed")
}

#[test]
fn osqp_solves_small_qp_to_the_closed_form_answer() {
    let mut prob = setup();
    let result = prob.solve();
    let (x, y, obj) = match result {
        Status::Solved(s) => (s.x().to_vec(), s.y().to_vec(), s.obj_val()),
        other => panic!("OSQP did not solve the QP: {other:?}"),
    };
    let expected = [0.3, 0.7, 1.0];
    for (xi, ei) in x.iter().zip(expected) {
        assert!((xi - ei).abs() < 1e-6, "x = {x:?}, expected {expected:?}");
    }
    assert!((obj - 0.38).abs() < 1e-6, "objective {obj}");

    // KKT: stationarity P x + q + Aᵀ y = 0 (OSQP's sign convention), primal feasibility.
    for i in 0..3 {
        let px: f64 = (0..3).map(|j| P[i][j] * x[j]).sum();
        let aty: f64 = (0..4).map(|k| A[k][i] * y[k]).sum();
        assert!((px + Q[i] + aty).abs() < 1e-6, "stationarity row {i}: {}", px + Q[i] + aty);
    }
    for k in 0..4 {
        let ax: f64 = (0..3).map(|j| A[k][j] * x[j]).sum();
        assert!(ax >= L[k] - 1e-6 && ax <= U[k] + 1e-6, "row {k}: {ax} not in [{}, {}]", L[k], U[k]);
    }
    // The bound x₂ ≤ 1 is active with multiplier +1 (upper bound active → y > 0).
    assert!((y[3] - 1.0).abs() < 1e-6, "y = {y:?}");
    // The lower bound x₀ ≥ 0 is inactive: its multiplier vanishes.
    assert!(y[1].abs() < 1e-6, "y = {y:?}");
}

#[test]
fn osqp_warm_update_of_q_moves_the_solution() {
    let mut prob = setup();
    assert!(matches!(prob.solve(), Status::Solved(_)));
    // With q₂ = −0.5 the unconstrained optimum x₂ = 0.5 is inside x₂ ≤ 1: the bound goes inactive.
    prob.update_lin_cost(&[1.0, 1.0, -0.5]);
    match prob.solve() {
        Status::Solved(s) => {
            let x = s.x();
            assert!((x[2] - 0.5).abs() < 1e-6, "x = {x:?}");
            assert!((x[0] - 0.3).abs() < 1e-6 && (x[1] - 0.7).abs() < 1e-6, "x = {x:?}");
            assert!(s.y()[3].abs() < 1e-6, "y = {:?}", s.y());
        }
        other => panic!("OSQP did not solve the updated QP: {other:?}"),
    }
}

#[test]
fn osqp_reports_primal_infeasibility() {
    // x₀ + x₁ = 1 with both x ≤ 0.4 cannot hold.
    let p = CscMatrix::from(&P).into_upper_tri();
    let a = CscMatrix::from(&A);
    let u = [1.0, 0.4, 0.4, 1.0];
    let mut prob = Problem::new(p, &Q, a, &L, &u, &settings()).expect("OSQP setup failed");
    assert!(matches!(prob.solve(), Status::PrimalInfeasible(_)), "expected primal infeasibility");
}
