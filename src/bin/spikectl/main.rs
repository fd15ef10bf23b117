//! `spikectl`: the command-line front end (main job, solve, benchmarks, tracking).
//!
//! Each subcommand lives in its own file beside this one and exposes
//! `pub fn run(args: Args) -> anyhow::Result<()>` with a clap `Args` struct.
use clap::{Parser, Subcommand};

mod run;

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
    /// The closed-loop main job: a scenario in MuJoCo with the spiking solver and/or OSQP.
    Run(run::Args),
    /// Benchmarks (QP, neuromorphic, MPC, tracking).
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand)]
enum BenchCmd {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Info => println!("spikectl {}", env!("CARGO_PKG_VERSION")),
        Cmd::Run(a) => run::run(a)?,
        Cmd::Bench(b) => match b {},
    }
    Ok(())
}
