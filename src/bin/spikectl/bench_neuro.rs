//! `spikectl bench neuro`: the spiking QP solver on the simulated substrate vs OSQP on this
//! CPU — operation counts, estimated energy/latency/EDP on a Loihi 2 profile, a θ sweep.
use clap::Parser;
use spikectl::lab::neuro_bench::{self as bench, BenchConfig};

/// Arguments of `spikectl bench neuro`.
#[derive(Parser, Debug)]
pub struct Args {
    /// Fewer, smaller problems (a minute or less in release mode).
    #[arg(long)]
    pub quick: bool,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Stated CPU power for the OSQP energy estimate (W).
    #[arg(long, default_value_t = spikectl::neuro::energy::DEFAULT_CPU_WATTS)]
    pub cpu_watts: f64,
    /// Weight planes of the fixed-point runs (1 = plain 8-bit, one exponent per matrix).
    #[arg(long, default_value_t = 3)]
    pub planes: u32,
    /// Iteration cap of the spiking solver.
    #[arg(long, default_value_t = 10_000)]
    pub max_iter: usize,
}

/// Runs the benchmark and prints it.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = BenchConfig {
        quick: args.quick,
        cpu_watts: args.cpu_watts,
        planes: args.planes,
        max_iter: args.max_iter,
        ..BenchConfig::default()
    };
    let rep = bench::run(&cfg);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
        return Ok(());
    }
    let hw = &rep.hardware;
    println!("hardware profile: {} — {}", hw.name, hw.source);
    println!(
        "CPU baseline: OSQP wall time x {} W (stated); RAPL: {}; tolerance: eps_abs {} (rel 0)",
        cfg.cpu_watts, rep.rapl, cfg.eps_abs
    );
    println!();
    println!(
        "{:<10} {:<17} {:>4} {:>6} {:>6} {:>6} {:>5} {:>5} {:>7} {:>8} {:>9} {:>10} {:>5} {:>9} {:>9} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "family",
        "mode",
        "#",
        "n",
        "m",
        "succ",
        "+gap",
        "osqp",
        "iters",
        "tsteps",
        "messages",
        "synops",
        "act",
        "maxviol",
        "maxgap",
        "cores",
        "est_t",
        "est_E",
        "est_EDP",
        "sim_t",
        "osqp_t",
        "osqp_E",
        "osqp_EDP",
        "EDPx"
    );
    for r in &rep.rows {
        println!(
            "{:<10} {:<17} {:>4} {:>6.0} {:>6.0} {:>5.0}% {:>4.0}% {:>4.0}% {:>7.0} {:>8.0} {:>9.3e} {:>10.3e} {:>5.2} {:>9.2e} {:>9.2e} {:>5.1} {:>9.3e} {:>9.3e} {:>9.3e} {:>9.3e} {:>9.3e} {:>9.3e} {:>9.3e} {:>8.1}",
            r.family,
            r.mode,
            r.problems,
            r.n,
            r.m,
            100.0 * r.success,
            100.0 * r.success_gap,
            100.0 * r.osqp_success,
            r.iterations,
            r.timesteps,
            r.messages,
            r.synops,
            r.activity,
            r.max_violation,
            r.max_rel_gap,
            r.cores,
            r.est_time_s,
            r.est_energy_j,
            r.est_edp,
            r.sim_time_s,
            r.osqp_time_s,
            r.osqp_energy_j,
            r.osqp_edp,
            r.edp_ratio
        );
    }
    println!(
        "(succ: Solved with primal and dual residual <= eps; +gap: also duality gap <= eps; osqp: OSQP solved; \
         times s, energies J, EDP J*s; est_* on {}; EDPx = geometric mean of OSQP EDP / spiking EDP)",
        hw.name
    );
    let a = &rep.anymal_fixed;
    println!();
    println!(
        "ANYmal-sized equality MPC (n 264, m 144), fixed point {} planes, 1000 iterations max: status {}, \
         iterations {}, ||Ax-b||inf {:.3e}, rel. objective gap {:.3e} (targets 1e-3, 1e-3)",
        cfg.planes, a.status, a.iterations, a.violation, a.rel_gap
    );
    println!();
    println!("theta sweep (ANYmal-sized, fixed point, theta in scaled units, 1000 iterations max):");
    println!(
        "{:>9} {:>6} {:>15} {:>6} {:>10} {:>10} {:>6} {:>10} {:>10} {:>10}",
        "theta0", "halve", "status", "iters", "messages", "synops", "act", "viol", "relgap", "est_E"
    );
    for t in &rep.theta_sweep {
        println!(
            "{:>9.1e} {:>6} {:>15} {:>6} {:>10} {:>10} {:>6.3} {:>10.3e} {:>10.3e} {:>10.3e}",
            t.theta,
            t.halve_every,
            t.status,
            t.iterations,
            t.messages,
            t.synops,
            t.activity,
            t.violation,
            t.rel_gap,
            t.est_energy_j
        );
    }
    println!();
    println!("CPU cost of the float network (theta 0, constant omega) vs pipg plain, same iterations, this machine:");
    println!("{:<12} {:>6} {:>11} {:>11} {:>7}", "problem", "iters", "pipg_s", "spiking_s", "ratio");
    for s in &rep.speed {
        println!("{:<12} {:>6} {:>11.3e} {:>11.3e} {:>7.2}", s.problem, s.iterations, s.pipg_s, s.spiking_s, s.ratio);
    }
    Ok(())
}
