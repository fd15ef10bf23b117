//! `spikectl`: the command-line front end (main job, solve, benchmarks, tracking).
//!
//! Each subcommand lives in its own file beside this one and exposes
//! `pub fn run(args: Args) -> anyhow::Result<()>` with a clap `Args` struct.
use clap::{Parser, Subcommand};

mod bench_tracking;
mod simulate_events;
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
    /// Benchmarks (QP, neuromorphic, MPC, tracking).
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Track a ball in an EVT 3.0 RAW recording (spiking DNF tracker or cluster baseline).
    Track(track::Args),
    /// Simulate a table-tennis ball throw as event-camera events (RAW + ground-truth CSV).
    SimulateEvents(simulate_events::Args),
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Ball tracking: SNN vs cluster baseline on generated throws; decode throughput.
    Tracking(bench_tracking::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Info => println!("spikectl {}", env!("CARGO_PKG_VERSION")),
        Cmd::Bench(b) => match b {
            BenchCmd::Tracking(a) => bench_tracking::run(a)?,
        },
        Cmd::Track(a) => track::run(a)?,
        Cmd::SimulateEvents(a) => simulate_events::run(a)?,
    }
    Ok(())
}
