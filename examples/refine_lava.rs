//! Iterative refinement of the Loihi 2 fixed-point network on the lava ANYmal QP
//! (`../shared/data/qp/lava_anymal/`): per-round scales, iterations and residuals.
//!
//! ```text
//! cargo run --release --example refine_lava -- [SPEC] [MAX_ITER] [REDUCTION]
//! ```
//! SPEC is a registry spec (default `loihi2:method=hpdhg,refine=6`), MAX_ITER the budget of
//! network iterations over all rounds (default 1000), REDUCTION the residual reduction asked
//! of one round (default: the registry's).

use std::path::Path;

use spikectl::lab::neuro_bench::estimate_on;
use spikectl::neuro::energy::HardwareProfile;
use spikectl::qp::npz::{load_problem, read_npz};
use spikectl::qp::refine::{RefineOptions, RefinedSolver};
use spikectl::qp::registry::{SolverSpec, cold_preset};
use spikectl::qp::{QpSolver, Settings};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec: SolverSpec =
        args.first().map_or("loihi2:method=hpdhg,refine=6", String::as_str).parse().expect("solver spec");
    let max_iter: usize = args.get(1).map_or(1000, |v| v.parse().expect("MAX_ITER"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/qp/lava_anymal");
    let pb = load_problem(&dir.join("problem.npz")).expect("problem.npz");
    let opt = read_npz(&dir.join("optimum.npz")).expect("optimum.npz");
    let f_star = pb.objective(&opt["x"].to_f64("x").unwrap());
    let st =
        Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter, warm_start: false, verbose: true, ..Settings::default() };
    let ss = spec.network_settings(&cold_preset());
    let mut ro = RefineOptions { max_rounds: spec.refine.unwrap_or(0), ..RefineOptions::default() };
    if let Some(r) = args.get(2) {
        ro.reduction = r.parse().expect("REDUCTION");
    }
    if let Some(r) = args.get(3) {
        ro.common_scale = r != "separate";
    }
    if let Some(r) = args.get(5) {
        ro.round_iters = r.parse().expect("ROUND_ITERS");
    }
    if let Some(r) = args.get(4) {
        ro.max_growth = r.parse().expect("GROWTH");
    }
    let mut s = RefinedSolver::network(ss.clone(), ro);
    s.setup(&pb, &st).expect("setup");
    let sol = s.solve().expect("solve");
    let rel = (sol.objective - f_star).abs() / f_star.abs();
    let ops = sol.ops.unwrap_or_default();
    let e = estimate_on(&pb, &ss, &ops, &HardwareProfile::loihi2_estimate());
    let stt = s.stats();
    println!("spec {spec}, budget {max_iter}");
    println!(
        "{:?} after {} iterations (rounds {:?}), objective rel. error {rel:.3e}, {:?}",
        sol.status, sol.iterations, stt.round_iterations, sol.residuals
    );
    println!(
        "reconfigurations {} ({} host writes), rejected {}, host residual evals {}, host flops {}, host time {:?}",
        stt.reconfigurations, stt.reload_writes, stt.rejected, stt.host_residual_evals, stt.host_flops, stt.host_time
    );
    for (k, ((sc, r), it)) in stt.scales.iter().zip(&stt.residuals).zip(&stt.round_iterations).enumerate() {
        println!("  round {k}: Δ_P {:.3e} Δ_D {:.3e}, {it} iterations -> {r:?}", sc.0, sc.1);
    }
    println!(
        "ops: {} timesteps, {} readouts ({} checks), {} messages, {} saturations; est. {:.3e} J, {:.3e} s on {} cores (Loihi 2 estimate profile)",
        ops.timesteps, ops.readouts, ops.readout_checks, ops.messages, ops.overflows, e.energy_j, e.time_s, e.cores
    );
}
