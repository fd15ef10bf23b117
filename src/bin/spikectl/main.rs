//! `spikectl`: the command-line front end (main job, solve, benchmarks, tracking, reports).
//!
//! Each subcommand lives in its own file beside this one and exposes
//! `pub fn run(args: Args) -> anyhow::Result<()>` with a clap `Args` struct.
use clap::{Parser, Subcommand};

mod bench_mpc;
mod bench_neuro;
mod bench_qp;
mod bench_sim;
mod bench_tracking;
mod report;
mod run;
mod simulate_events;
mod solve;
mod track;

#[derive(Parser)]
#[command(name = "spikectl", version, about = "Neuromorphic MPC: spiking QP solver vs OSQP, in closed loop")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print version and build information.
    Info,
    /// Solve a QP stored as .npz (qpsolvers layout).
    Solve(solve::Args),
    /// The closed-loop main job: a scenario in MuJoCo with the spiking solver and/or OSQP.
    Run(run::Args),
    /// Benchmarks (QP, neuromorphic, MPC, tracking).
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Track a ball in an EVT 3.0 RAW recording (the tracker network or the cluster baseline).
    Track(track::Args),
    /// Simulate a table-tennis ball throw as event-camera events (RAW + ground-truth CSV).
    SimulateEvents(simulate_events::Args),
    /// The energy/latency monitor's report (table, JSON, CSV, plots) of a `spikectl run` output folder.
    Report(report::Args),
}

#[derive(Subcommand)]
enum BenchCmd {
    /// QP solvers on generated problem families (qpbenchmark-style).
    Qp(bench_qp::Args),
    /// Spiking QP solver on the neuromorphic substrate vs OSQP: ops, energy, latency, EDP.
    Neuro(bench_neuro::Args),
    /// MPC solve latency and iterations per solver (quadruped trot, arm force regulation).
    Mpc(bench_mpc::Args),
    /// Simulator speed and closed-loop real-time factor per solver.
    Sim(bench_sim::Args),
    /// Ball tracking: SNN vs cluster baseline on generated throws; decode throughput.
    Tracking(bench_tracking::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Info => println!("spikectl {}", env!("CARGO_PKG_VERSION")),
        Cmd::Solve(a) => solve::run(a)?,
        Cmd::Bench(b) => match b {
            BenchCmd::Qp(a) => bench_qp::run(a)?,
            BenchCmd::Neuro(a) => bench_neuro::run(a)?,
            BenchCmd::Mpc(a) => bench_mpc::run(a)?,
            BenchCmd::Sim(a) => bench_sim::run(a)?,
            BenchCmd::Tracking(a) => bench_tracking::run(a)?,
        },
        Cmd::Run(a) => run::run(a)?,
        Cmd::Track(a) => track::run(a)?,
        Cmd::SimulateEvents(a) => simulate_events::run(a)?,
        Cmd::Report(a) => report::run(a)?,
    }
    Ok(())
}
