//! The ANYmal MPC QP of lava-optimization's Loihi 2 QP tutorial (equality-constrained,
//! eig(P) 1e-3..1.5e3, |x*| up to 8.8e3), solved cold by the HPDHG backend and checked
//! against the exact optimum in `optimum.npz` (objective −500549.914362).
//!
//! Targets (issue 18): objective within 1e-4 relative, residuals and duality gap ≤ 1e-3 on
//! the original problem (ε_rel = 0), at most 1000 iterations.

use std::path::Path;

use spikectl::qp::hpdhg::HpdhgSolver;
use spikectl::qp::npz::{load_problem, read_npz};
use spikectl::qp::{QpSolver, Settings, Status};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/qp/lava_anymal/");

#[test]
fn hpdhg_solves_the_lava_anymal_qp_within_1000_iterations() {
    let pb = load_problem(&Path::new(DIR).join("problem.npz")).expect("problem.npz loads");
    assert_eq!((pb.n(), pb.m()), (264, 144));
    let opt = read_npz(&Path::new(DIR).join("optimum.npz")).expect("optimum.npz loads");
    let x_star = opt["x"].to_f64("x").unwrap();
    let f_star = pb.objective(&x_star);
    assert!((f_star - -500_549.914_362).abs() < 1e-3, "optimum.npz objective {f_star}");

    let st = Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter: 1000, warm_start: false, ..Settings::default() };
    let mut s = HpdhgSolver::new();
    s.setup(&pb, &st).unwrap();
    let sol = s.solve().unwrap();
    assert_eq!(sol.status, Status::Solved, "{:?} after {} iterations", sol.residuals, sol.iterations);
    assert!(sol.iterations <= 1000);
    let r = sol.residuals;
    assert!(r.prim <= 1e-3 && r.dual <= 1e-3 && r.gap <= 1e-3, "{r:?}");
    let rel = (sol.objective - f_star).abs() / f_star.abs();
    assert!(rel <= 1e-4, "objective {} vs {f_star}: relative error {rel:.2e}", sol.objective);
    let dx = sol.x.iter().zip(&x_star).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    let xmax = x_star.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    eprintln!(
        "lava ANYmal: {} iterations, {} readouts, objective rel. error {rel:.2e}, ‖x − x*‖∞/‖x*‖∞ = {:.2e}, {r:?}",
        sol.iterations,
        s.readouts(),
        dx / xmax
    );
}
