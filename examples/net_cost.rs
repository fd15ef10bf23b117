//! Diagnostic: CPU cost per iteration of the spiking network on one quadruped MPC problem.
//!
//! `cargo run --release --example net_cost -- [REPS]` solves the same problem REPS times with
//! exactly 100 iterations (unreachable tolerance, no warm start) and prints the minimum and
//! the median time per iteration [µs], then the fixed cost of a solve (network build, one
//! iteration and one readout: `max_iter` 1) [µs]. The minimum is robust to other load on the
//! machine. `CE=k` reads out every k iterations (default 25); `CE=1` against `CE=100` gives the
//! cost of a readout.
use std::time::Instant;

use spikectl::lab::mpc_sim::quadruped_closed_loop;
use spikectl::mpc::quadruped::{QuadrupedMpc, QuadrupedMpcConfig};
use spikectl::qp::spiking::{SpikingSettings, SpikingSolver};
use spikectl::qp::{OsqpSolver, Settings};

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let tight = Settings { eps_abs: 1e-7, eps_rel: 1e-7, max_iter: 20_000, ..Settings::default() };
    let mut gen_mpc = QuadrupedMpc::new(
        QuadrupedMpcConfig { settings: tight, ..QuadrupedMpcConfig::go1() },
        Box::new(OsqpSolver::new()),
    )
    .expect("mpc");
    let samples = quadruped_closed_loop(&mut gen_mpc, 60, 0.4).expect("sequence").0;
    let s = &samples[samples.len() / 2];
    let fixed = Settings { eps_abs: 1e-14, eps_rel: 0.0, max_iter: 100, warm_start: false, ..Settings::default() };
    let timed = |max_iter: usize| {
        let settings = Settings { max_iter, ..fixed.clone() };
        let ce = std::env::var("CE").ok().and_then(|s| s.parse().ok()).unwrap_or(25);
        let solver =
            SpikingSolver::new(SpikingSettings { check_every: ce, ..spikectl::mpc::tuning::quadruped_spiking() });
        let mut mpc = QuadrupedMpc::new(QuadrupedMpcConfig { settings, ..QuadrupedMpcConfig::go1() }, Box::new(solver))
            .expect("mpc");
        mpc.update(&s.state, &s.reference, &s.plan).expect("update");
        let mut t = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t0 = Instant::now();
            let it = mpc.solve().expect("solve").iterations;
            t.push(t0.elapsed().as_secs_f64() * 1e6 / it as f64);
        }
        t.sort_by(f64::total_cmp);
        (mpc.n(), mpc.m(), t[0], t[t.len() / 2])
    };
    let (n, m, min, med) = timed(100);
    println!("spiking network, quadruped MPC (n {n}, m {m}): per iteration min {min:.2} µs, median {med:.2} µs");
    let (_, _, min, med) = timed(1);
    println!("fixed cost of a solve (build, 1 iteration, 1 readout): min {min:.1} µs, median {med:.1} µs");
}
