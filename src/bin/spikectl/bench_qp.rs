//! `spikectl bench qp`: QP solvers on generated problem families (see `lab::qp_bench`).
use std::path::PathBuf;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use spikectl::lab::qp_bench as bench;
use spikectl::qp;

/// Benchmark QP backends: families × accuracy tiers, cold solves and a warm-started MPC sequence.
#[derive(Parser, Debug)]
pub struct Args {
    /// Reduced problem set (finishes within a minute).
    #[arg(long)]
    pub quick: bool,
    /// Comma-separated registry solvers (osqp, clarabel, pipg, hpdhg, spiking, loihi2; options
    /// as `loihi2:planes=2`).
    #[arg(long, default_value = "pipg,osqp,clarabel")]
    pub solvers: String,
    /// Only these families (comma-separated: mpc, random, box, equality, infeasible,
    /// lipm-condensed, lipm-sparse, wip-condensed, wip-sparse, quadruped-condensed,
    /// quadruped-sparse).
    #[arg(long)]
    pub families: Option<String>,
    /// Only these tiers (comma-separated: low, mid).
    #[arg(long)]
    pub tiers: Option<String>,
    /// Skip the warm-started sequence.
    #[arg(long)]
    pub no_warm: bool,
    /// Base seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write per-run records as CSV to this file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Print the JSON summary instead of the markdown table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut cfg = if args.quick { bench::BenchConfig::quick() } else { bench::BenchConfig::full() };
    cfg.seed = args.seed;
    if let Some(f) = &args.families {
        let keep: Vec<&str> = f.split(',').map(str::trim).collect();
        for k in &keep {
            if !spikectl::lab::generate::Family::ALL.iter().any(|fam| fam.name() == *k) {
                anyhow::bail!("unknown family '{k}'");
            }
        }
        cfg.cold.retain(|(fam, _)| keep.contains(&fam.name()));
        if !keep.contains(&"mpc") {
            cfg.warm_sizes.clear();
        }
    }
    if let Some(t) = &args.tiers {
        let mut tiers = Vec::new();
        for k in t.split(',').map(str::trim) {
            tiers.push(match k {
                "low" => bench::Tier::Low,
                "mid" => bench::Tier::Mid,
                _ => anyhow::bail!("unknown tier '{k}' (low, mid)"),
            });
        }
        cfg.tiers = tiers;
    }
    if args.no_warm {
        cfg.warm_sizes.clear();
    }
    let solvers = super::run::split_specs(&args.solvers);
    for s in &solvers {
        s.parse::<qp::registry::SolverSpec>()?;
    }
    let pbar = ProgressBar::new(cfg.units() as u64);
    pbar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} problems  {elapsed}  eta {eta}")?);
    let records = bench::run(&cfg, &solvers, &qp::registry::by_name, &mut |done, _| pbar.set_position(done as u64));
    pbar.finish_and_clear();
    let summary = bench::summarize(&records);
    if let Some(p) = &args.csv {
        std::fs::write(p, bench::csv(&records))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&bench::json(&summary))?);
    } else {
        println!(
            "QP benchmark ({}; success = solved and prim, dual, gap ≤ ε; runtime shm shift {} normalised per group; failures charged {} s)\n",
            if args.quick { "quick" } else { "full" },
            bench::fmt_time(bench::SHIFT_S),
            cfg.time_limit.as_secs_f64()
        );
        print!("{}", bench::markdown(&summary));
    }
    Ok(())
}
