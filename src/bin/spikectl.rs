//! `spikectl`: the command-line front end (main job, solve, benchmarks, tracking).
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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Info => println!("spikectl {}", env!("CARGO_PKG_VERSION")),
    }
    Ok(())
}
