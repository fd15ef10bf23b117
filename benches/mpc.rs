//! Criterion benchmarks of the quadruped MPC step (update + warm-started solve) with OSQP and
//! the spiking solver on a recorded closed-loop sequence, and of the spiking network's cost
//! per iteration (a fixed 100 iterations, no early stop) on one MPC problem, in float and in
//! Loihi 2 fixed point (1 and 3 weight planes).
//!
//! `cargo bench --bench mpc`; the ratios live in `spikectl bench mpc`, which runs the solvers
//! interleaved on the same problems.
use criterion::{Criterion, criterion_group, criterion_main};
use spikectl::lab::mpc_sim::{QuadrupedSample, quadruped_closed_loop};
use spikectl::mpc::quadruped::{QuadrupedMpc, QuadrupedMpcConfig};
use spikectl::qp::spiking::{SpikingSettings, SpikingSolver};
use spikectl::qp::{OsqpSolver, QpSolver, Settings};

fn cfg(s: Settings) -> QuadrupedMpcConfig {
    QuadrupedMpcConfig { settings: s, ..QuadrupedMpcConfig::go1() }
}

fn low() -> Settings {
    Settings { eps_abs: 1e-3, eps_rel: 1e-3, max_iter: 4000, ..Settings::default() }
}

fn sequence() -> Vec<QuadrupedSample> {
    let tight = Settings { eps_abs: 1e-7, eps_rel: 1e-7, max_iter: 20_000, ..Settings::default() };
    let mut gen_mpc = QuadrupedMpc::new(cfg(tight), Box::new(OsqpSolver::new())).expect("mpc");
    quadruped_closed_loop(&mut gen_mpc, 120, 0.4).expect("sequence").0
}

fn spiking() -> Box<dyn QpSolver> {
    Box::new(SpikingSolver::new(spikectl::mpc::tuning::quadruped_spiking()))
}

fn mpc_step(c: &mut Criterion) {
    let samples = sequence();
    let mut g = c.benchmark_group("quadruped_mpc_step");
    g.sample_size(30);
    for (name, solver) in [("osqp", Box::new(OsqpSolver::new()) as Box<dyn QpSolver>), ("spiking", spiking())] {
        let mut mpc = QuadrupedMpc::new(cfg(low()), solver).expect("mpc");
        let mut k = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                let s = &samples[k % samples.len()];
                k += 1;
                mpc.update(&s.state, &s.reference, &s.plan).unwrap();
                mpc.solve().unwrap();
                let _ = mpc.accept(2e-2);
            })
        });
    }
    g.finish();
}

fn network_iterations(c: &mut Criterion) {
    let samples = sequence();
    let s = &samples[samples.len() / 2];
    // Tolerances no iterate meets: exactly max_iter iterations per solve.
    let fixed = Settings { eps_abs: 1e-14, eps_rel: 0.0, max_iter: 100, warm_start: false, ..Settings::default() };
    let mut g = c.benchmark_group("spiking_network");
    g.sample_size(20);
    // The float network, and the Loihi 2 fixed-point network with 1 and 3 weight planes (the
    // fixed-point step: quantized delivery per plane, shifts and saturation at the dendrites).
    let nets = [
        ("quadruped_mpc_100_iterations", spikectl::mpc::tuning::quadruped_spiking()),
        ("loihi2_p1_quadruped_mpc_100_iterations", loihi2(1)),
        ("loihi2_p3_quadruped_mpc_100_iterations", loihi2(3)),
    ];
    for (name, ss) in nets {
        let mut mpc = QuadrupedMpc::new(cfg(fixed.clone()), Box::new(SpikingSolver::new(ss))).expect("mpc");
        mpc.update(&s.state, &s.reference, &s.plan).unwrap();
        g.bench_function(name, |b| b.iter(|| mpc.solve().unwrap().iterations));
    }
    g.finish();
}

/// The quadruped MPC's network settings in Loihi 2 fixed point with `planes` weight planes.
fn loihi2(planes: u32) -> SpikingSettings {
    SpikingSettings { arith: SpikingSettings::loihi2(planes).arith, ..spikectl::mpc::tuning::quadruped_spiking() }
}

criterion_group!(benches, mpc_step, network_iterations);
criterion_main!(benches);
