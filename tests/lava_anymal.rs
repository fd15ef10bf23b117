//! The ANYmal MPC QP of lava-optimization's Loihi 2 QP tutorial (equality-constrained,
//! eig(P) 1e-3..1.5e3, |x*| up to 8.8e3), solved cold by the HPDHG backend and checked
//! against the exact optimum in `optimum.npz` (objective −500549.914362).
//!
//! Targets (issue 18): objective within 1e-4 relative, residuals and duality gap ≤ 1e-3 on
//! the original problem (ε_rel = 0), at most 1000 iterations.

use std::path::Path;

use spikectl::lab::neuro_bench::estimate_on;
use spikectl::neuro::energy::HardwareProfile;
use spikectl::qp::hpdhg::HpdhgSolver;
use spikectl::qp::npz::{load_problem, read_npz};
use spikectl::qp::spiking::{NetMethod, SpikingSettings, SpikingSolver};
use spikectl::qp::{QpSolver, Settings, Solution, Status};

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
    assert!(sol.iterations <= 1000);
    let r = sol.residuals;
    assert!(r.prim <= 1e-4 && r.dual <= 1e-4 && r.gap <= 1e-2, "{r:?} after {} iterations", sol.iterations);
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

/// The network running the HPDHG method on the lava ANYmal QP: (status, iterations,
/// objective relative error, residuals, op counts).
fn network_solve(ss: SpikingSettings) -> (Solution, f64) {
    let pb = load_problem(&Path::new(DIR).join("problem.npz")).expect("problem.npz loads");
    let opt = read_npz(&Path::new(DIR).join("optimum.npz")).expect("optimum.npz loads");
    let f_star = pb.objective(&opt["x"].to_f64("x").unwrap());
    let st = Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter: 1000, warm_start: false, ..Settings::default() };
    let ss = ss.with_method(NetMethod::Hpdhg);
    let mut s = SpikingSolver::new(ss.clone());
    s.setup(&pb, &st).unwrap();
    let sol = s.solve().unwrap();
    let rel = (sol.objective - f_star).abs() / f_star.abs();
    let ops = sol.ops.expect("network solves count their operations");
    let e = estimate_on(&pb, &ss, &ops, &HardwareProfile::loihi2_estimate());
    eprintln!(
        "lava ANYmal, network: {:?} after {} iterations, objective rel. error {rel:.2e}, {:?}, {} timesteps, {} readouts ({} checks), {} messages, {} saturations; est. {:.3e} J, {:.3e} s on {} cores",
        sol.status,
        sol.iterations,
        sol.residuals,
        ops.timesteps,
        ops.readouts,
        ops.readout_checks,
        ops.messages,
        ops.overflows,
        e.energy_j,
        e.time_s,
        e.cores
    );
    (sol, rel)
}

#[test]
fn float_network_hpdhg_solves_the_lava_anymal_qp_within_1000_iterations() {
    let (sol, rel) = network_solve(SpikingSettings::default());
    assert!(sol.iterations <= 1000);
    let r = sol.residuals;
    assert!(r.prim <= 1e-4 && r.dual <= 1e-4 && r.gap <= 1e-2, "{r:?} after {} iterations", sol.iterations);
    assert!(rel <= 1e-4, "objective relative error {rel:.2e}");
}

/// Loihi 2 fixed point (`loihi2`: the cold preset, 3 weight planes, 24-bit state, regrid at
/// restarts) to the targets: status Solved in at most 1000 network iterations (every
/// attempt counted), primal and dual residuals and the duality gap ≤ 1e-3 recomputed here from
/// (x, y), objective within 1e-4 relative of `optimum.npz`. Without regrid the network stalled
/// at primal 7.2e-3 / dual 1.0e-2 (the grids chosen from the data at the start: |x̄| 278,
/// |ȳ| 565); measured with it: 703 iterations, primal 6.7e-7, dual 9.0e-6, gap 5.4e-4.
#[test]
fn loihi2_network_hpdhg_solves_the_lava_anymal_qp_within_1000_iterations() {
    let pb = load_problem(&Path::new(DIR).join("problem.npz")).expect("problem.npz loads");
    let spec: spikectl::qp::registry::SolverSpec = "loihi2".parse().unwrap();
    let ss = spec.network_settings(&spikectl::qp::registry::cold_preset());
    assert!(ss.regrid && ss.method == NetMethod::Hpdhg);
    let (sol, rel) = network_solve(ss);
    assert_eq!(sol.status, Status::Solved, "{:?} after {} iterations", sol.residuals, sol.iterations);
    assert!(sol.iterations <= 1000);
    // Residuals recomputed from (x, y): Ax − Π[l,u](Ax), Px + q + Aᵀy, and the gap
    // |xᵀPx + qᵀx + Σ support terms| (the problem has equality rows only: support = bᵀy).
    let (n, m) = (pb.n(), pb.m());
    let (mut ax, mut aty, mut px) = (vec![0.0; m], vec![0.0; n], vec![0.0; n]);
    for j in 0..n {
        for k in pb.a.colptr[j]..pb.a.colptr[j + 1] {
            ax[pb.a.rowval[k]] += pb.a.nzval[k] * sol.x[j];
            aty[j] += pb.a.nzval[k] * sol.y[pb.a.rowval[k]];
        }
        for k in pb.p.colptr[j]..pb.p.colptr[j + 1] {
            let (i, v) = (pb.p.rowval[k], pb.p.nzval[k]);
            px[i] += v * sol.x[j];
            if i != j {
                px[j] += v * sol.x[i];
            }
        }
    }
    assert!(pb.l == pb.u, "equality rows only");
    let prim = (0..m).fold(0.0f64, |r, i| r.max((ax[i] - pb.l[i]).abs()));
    let dual = (0..n).fold(0.0f64, |r, j| r.max((px[j] + pb.q[j] + aty[j]).abs()));
    let gap = ((0..n).map(|j| sol.x[j] * (px[j] + pb.q[j])).sum::<f64>()
        + (0..m).map(|i| pb.l[i] * sol.y[i]).sum::<f64>())
    .abs();
    assert!(prim <= 1e-3 && dual <= 1e-3 && gap <= 1e-3, "prim {prim:.2e} dual {dual:.2e} gap {gap:.2e}");
    assert!(rel <= 1e-4, "objective relative error {rel:.2e}");
}

/// Loihi 2 fixed point with iterative refinement (`loihi2:method=hpdhg,refine=6`,
/// `qp::refine`): the host computes the residuals of the original problem, the network solves
/// the scaled correction problem with its data re-quantised, the host adds the correction back.
/// Within 1000 network iterations over all rounds (every attempt counted, the ones discarded
/// after a saturation included): status Solved (primal, dual and gap ≤ 1e-3), the objective
/// within 1e-4 of `optimum.npz`. The network regrids at its restarts (cold preset), so the
/// first solve (500 iterations, half the budget) is cut short of the 703 the network alone
/// needs and the rounds finish it: measured rounds 500/200/200, objective 7.8e-10 relative,
/// primal 5.0e-7, dual 6.8e-6, gap 4.0e-4 (before regrid the gap stayed at 4.0e-3).
#[test]
fn loihi2_refined_on_the_lava_anymal_qp_within_1000_iterations() {
    use spikectl::qp::refine::RefinedSolver;
    let pb = load_problem(&Path::new(DIR).join("problem.npz")).expect("problem.npz loads");
    let opt = read_npz(&Path::new(DIR).join("optimum.npz")).expect("optimum.npz loads");
    let f_star = pb.objective(&opt["x"].to_f64("x").unwrap());
    let st = Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter: 1000, warm_start: false, ..Settings::default() };
    let spec: spikectl::qp::registry::SolverSpec = "loihi2:method=hpdhg,refine=6".parse().unwrap();
    let ss = spec.network_settings(&spikectl::qp::registry::cold_preset());
    let opts = spikectl::qp::refine::RefineOptions { max_rounds: 6, ..Default::default() };
    let mut s = RefinedSolver::network(ss.clone(), opts);
    s.setup(&pb, &st).unwrap();
    let sol = s.solve().unwrap();
    assert_eq!(s.name(), "loihi2");
    let rel = (sol.objective - f_star).abs() / f_star.abs();
    let ops = sol.ops.expect("the network's counts");
    let e = estimate_on(&pb, &ss, &ops, &HardwareProfile::loihi2_estimate());
    let stt = s.stats();
    eprintln!(
        "lava ANYmal, loihi2 refined: {:?} after {} iterations (rounds {:?}, scales {:?}), objective rel. error {rel:.2e}, {:?}; {} reconfigurations ({} host writes), {} host residual evaluations; {} timesteps, {} saturations; est. {:.3e} J, {:.3e} s",
        sol.status,
        sol.iterations,
        stt.round_iterations,
        stt.scales,
        sol.residuals,
        stt.reconfigurations,
        stt.reload_writes,
        stt.host_residual_evals,
        ops.timesteps,
        ops.overflows,
        e.energy_j,
        e.time_s
    );
    assert!(sol.iterations <= 1000);
    let r = sol.residuals;
    assert_eq!(sol.status, Status::Solved, "{r:?} after {} iterations", sol.iterations);
    assert!(r.prim <= 1e-4 && r.dual <= 1e-4 && r.gap <= 1e-3, "{r:?} after {} iterations", sol.iterations);
    assert!(rel <= 1e-4, "objective relative error {rel:.2e}");
    assert!(stt.reconfigurations >= 1, "the fixed point alone does not reach the target: refinement ran");
    assert_eq!(stt.round_iterations.iter().sum::<usize>(), sol.iterations);
}
