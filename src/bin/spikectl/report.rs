//! `spikectl report DIR`: the monitor's report from a `spikectl run` output folder (one run,
//! or a folder of runs as `spikectl run --solver both --out DIR` writes): the same table the
//! `spikectl-monitor` node prints and the same report folder it writes on shutdown, so
//! simulation and ROS runs read alike.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;
use spikectl::monitor::folder::{ReportContext, ledger_from_runs, run_folders, write_report};
use spikectl::monitor::ledger::{LedgerConfig, Sample, summary_table};
use spikectl::neuro::energy::DEFAULT_CPU_WATTS;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// A `spikectl run` output folder (metrics.json + solves.csv), or a folder of them.
    pub dir: PathBuf,
    /// Where to write the report folder (default: DIR/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Deadline on the host CPU solve time [s] (default: the run's MPC period, else 0.025).
    #[arg(long)]
    pub cpu_deadline: Option<f64>,
    /// Deadline on the estimated chip latency [s] (default: the CPU deadline).
    #[arg(long)]
    pub chip_deadline: Option<f64>,
    /// Stated CPU power of the CPU energy figures [W].
    #[arg(long, default_value_t = DEFAULT_CPU_WATTS)]
    pub cpu_watts: f64,
}

/// The MPC period of the first run folder's metrics.json [s], if it states one.
fn mpc_period(dir: &std::path::Path) -> Option<f64> {
    let first = run_folders(dir).ok()?.into_iter().next()?;
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(first.join("metrics.json")).ok()?).ok()?;
    v.get("mpc_period_s")?.as_f64()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cpu = args.cpu_deadline.or_else(|| mpc_period(&args.dir)).unwrap_or(0.025);
    let chip = args.chip_deadline.unwrap_or(cpu);
    for (name, v) in [("--cpu-deadline", cpu), ("--chip-deadline", chip), ("--cpu-watts", args.cpu_watts)] {
        anyhow::ensure!(v.is_finite() && v >= 0.0, "{name} must be a finite non-negative number, got {v}");
    }
    let cfg =
        LedgerConfig { cpu_deadline_s: cpu, chip_deadline_s: chip, cpu_watts: args.cpu_watts, ..Default::default() };
    let (ledger, folders) =
        ledger_from_runs(&args.dir, cfg).with_context(|| format!("reading {}", args.dir.display()))?;
    let summary = ledger.summary();
    let out = args.out.unwrap_or_else(|| args.dir.join("report"));
    let notes = vec![
        format!(
            "source: spikectl run output {} ({} run folder{})",
            args.dir.display(),
            folders.len(),
            if folders.len() == 1 { "" } else { "s" }
        ),
        "time axis: controller (simulated) time of each solve".into(),
    ];
    let ctx = ReportContext { title: "spikectl report".into(), notes };
    let samples: Vec<&Sample> = ledger.samples().collect();
    let (files, warnings) =
        write_report(&out, &ctx, &summary, &samples).with_context(|| format!("writing {}", out.display()))?;
    for w in warnings {
        eprintln!("warning: plot skipped: {w}");
    }
    print!("{}", summary_table(&summary));
    if summary.malformed > 0 {
        eprintln!("{} rows rejected: {:?}", summary.malformed, summary.malformed_by_kind);
    }
    eprintln!("report: {} files in {}", files.len(), out.display());
    Ok(())
}
