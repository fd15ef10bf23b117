//! `spikectl solve FILE.npz`: solve one QP stored in the qpsolvers `.npz` layout.
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use spikectl::monitor::energy::{EnergySummary, NeuroCost};
use spikectl::qp::registry::SolverSpec;
use spikectl::qp::{self, Settings};

/// Solve a QP from an `.npz` file (keys P, q, G, h, A, b, lb, ub; see `qp::npz`).
#[derive(Parser, Debug)]
pub struct Args {
    /// Problem file (.npz, qpsolvers layout).
    pub file: PathBuf,
    /// Registry solver: osqp, clarabel, pipg, hpdhg, spiking (float network), loihi2 (Loihi 2
    /// fixed point); options as `loihi2:planes=2,theta=1e-3,method=pipg` (the network
    /// solvers run the hpdhg method on a file by default).
    #[arg(long, default_value = "pipg")]
    pub solver: String,
    /// Absolute tolerance.
    #[arg(long, default_value_t = 1e-3)]
    pub eps_abs: f64,
    /// Relative tolerance.
    #[arg(long, default_value_t = 1e-3)]
    pub eps_rel: f64,
    /// Iteration cap.
    #[arg(long, default_value_t = 4000)]
    pub max_iter: usize,
    /// Time limit in seconds.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Print the result as JSON (includes x and y).
    #[arg(long)]
    pub json: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let pb = qp::npz::load_problem(&args.file).with_context(|| format!("loading {}", args.file.display()))?;
    let spec: SolverSpec = args.solver.parse()?;
    let mut solver = spec.build(&qp::registry::cold_preset());
    if !(args.eps_abs >= 0.0 && args.eps_rel >= 0.0) {
        anyhow::bail!("tolerances must be non-negative");
    }
    let settings = Settings {
        eps_abs: args.eps_abs,
        eps_rel: args.eps_rel,
        max_iter: args.max_iter,
        time_limit: match args.time_limit {
            Some(t) if t > 0.0 && t.is_finite() => Some(std::time::Duration::from_secs_f64(t)),
            Some(_) => anyhow::bail!("--time-limit must be positive"),
            None => None,
        },
        ..Settings::default()
    };
    let t0 = std::time::Instant::now();
    solver.setup(&pb, &settings)?;
    let setup = t0.elapsed();
    let sol = solver.solve()?;
    // Network solves: the estimate of what ran on the chip, from its operation counts.
    let energy = sol.ops.as_ref().map(|o| EnergySummary::from_ops(&NeuroCost::loihi2_default(), [Some(o)]));
    let arithmetic = spec.backend.arithmetic().label();
    if args.json {
        let v = serde_json::json!({
            "solver": solver.name(),
            "file": args.file.display().to_string(),
            "n": pb.n(),
            "m": pb.m(),
            "status": sol.status,
            "objective": sol.objective,
            "residuals": sol.residuals,
            "iterations": sol.iterations,
            "setup_time_s": setup.as_secs_f64(),
            "solve_time_s": sol.solve_time.as_secs_f64(),
            "arithmetic": arithmetic,
            "ops": sol.ops,
            "energy_estimate": energy.as_ref().map(|e| serde_json::json!({
                "energy_uj": e.mean_energy_uj,
                "chip_latency_us": e.mean_chip_latency_us,
                "profile": e.profile,
                "assumption": e.assumption,
            })),
            "x": sol.x,
            "y": sol.y,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("problem     {} (n = {}, m = {})", args.file.display(), pb.n(), pb.m());
        println!("solver      {} ({arithmetic})", solver.name());
        println!("status      {:?}", sol.status);
        println!("objective   {:.10e}", sol.objective);
        println!(
            "residuals   prim {:.3e}  dual {:.3e}  gap {:.3e}",
            sol.residuals.prim, sol.residuals.dual, sol.residuals.gap
        );
        println!("iterations  {}", sol.iterations);
        println!(
            "time        setup {:.3} ms, solve {:.3} ms",
            setup.as_secs_f64() * 1e3,
            sol.solve_time.as_secs_f64() * 1e3
        );
        if let (Some(o), Some(e)) = (&sol.ops, &energy) {
            println!(
                "network     {} timesteps, {} messages, {} synaptic ops, {} readouts",
                o.timesteps, o.messages, o.synops, o.readouts
            );
            println!(
                "estimate    {:.2} µJ, {:.1} µs on {} (from the operation counts; not measured)",
                e.mean_energy_uj, e.mean_chip_latency_us, e.profile
            );
        }
    }
    Ok(())
}
