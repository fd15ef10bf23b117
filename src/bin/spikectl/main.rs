//! `spikectl`: the command-line front end (main job, solve, benchmarks, tracking).
//!
//! Each subcommand lives in its own file beside this one and exposes
//! `pub fn run(args: Args) -> anyhow::Result<()>` with a clap `Args` struct.
mod bench_neuro;

use clap::{Parser, Subcommand};

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
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Spiking QP solver on the neuromorphic substrate vs OSQP: ops, energy, latency, EDP.
    Neuro(bench_neuro::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Info => println!("spikectl {}", env!("CARGO_PKG_VERSION")),
        Cmd::Bench(b) => match b {
            BenchCmd::Neuro(a) => bench_neuro::run(a)?,
        },
    }
    Ok(())
}
