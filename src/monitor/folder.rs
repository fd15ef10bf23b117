//! The report folder of the energy/latency monitor, written by the `spikectl-monitor` node
//! (on shutdown and on request) and by `spikectl report DIR` from a `spikectl run` output
//! folder, so that simulation and ROS runs read alike:
//!
//! - `summary.json`: the [`Summary`] (per node and solver: CPU/chip latency, energy, EDP vs
//!   the baseline, deadline misses, malformed-input counts);
//! - `samples.json` and `samples.csv`: every kept [`Sample`];
//! - `summary.md`: the same table the CLI prints ([`summary_table`]) with the settings and
//!   the pricing assumptions;
//! - `latency.png` (CPU solve time and estimated chip latency over time), `energy.png`
//!   (energy per solve over time) and `hist_<k>.png` (latency histogram of entry k).
//!
//! A plot that cannot be drawn (no font) is reported as a warning, not an error.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::MonitorError;
use super::latency::LogHistogram;
use super::ledger::{Ledger, LedgerConfig, Sample, Summary, summary_table};
use super::plot::{NamedHistogram, Series, histogram_plot, line_plot};
use super::report::write_json;

/// Columns of `samples.csv`, in order.
pub const SAMPLE_COLUMNS: [&str; 25] = [
    "t_s",
    "node",
    "solver",
    "arithmetic",
    "status",
    "iterations",
    "preprocess_s",
    "solve_s",
    "objective",
    "primal_residual",
    "dual_residual",
    "timesteps",
    "neuron_updates",
    "idle_neuron_updates",
    "messages",
    "synops",
    "readouts",
    "readout_checks",
    "chip_profile",
    "chip_cores",
    "chip_latency_s",
    "chip_energy_j",
    "cpu_watts",
    "cpu_energy_j",
    "fallback",
];

fn sample_row(s: &Sample) -> Vec<String> {
    let o = &s.ops;
    vec![
        format!("{}", s.t_s),
        s.node.clone(),
        s.solver.clone(),
        s.arithmetic.clone(),
        s.status.clone(),
        s.iterations.to_string(),
        format!("{}", s.preprocess_s),
        format!("{}", s.solve_s),
        format!("{}", s.objective),
        format!("{}", s.primal_residual),
        format!("{}", s.dual_residual),
        o.timesteps.to_string(),
        o.neuron_updates.to_string(),
        o.idle_neuron_updates.to_string(),
        o.messages.to_string(),
        o.synops.to_string(),
        o.readouts.to_string(),
        o.readout_checks.to_string(),
        s.chip_profile.clone(),
        s.chip_cores.to_string(),
        format!("{}", s.chip_latency_s),
        format!("{}", s.chip_energy_j),
        format!("{}", s.cpu_watts),
        format!("{}", s.cpu_energy_j),
        u8::from(s.fallback).to_string(),
    ]
}

/// Writes `samples.csv` (header [`SAMPLE_COLUMNS`]). Names are ASCII without commas (checked
/// on ingest; commas are replaced by `;` here all the same).
pub fn write_samples_csv(path: &Path, samples: &[&Sample]) -> Result<(), MonitorError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{}", SAMPLE_COLUMNS.join(","))?;
    for s in samples {
        let row: Vec<String> = sample_row(s).into_iter().map(|v| v.replace(',', ";")).collect();
        writeln!(out, "{}", row.join(","))?;
    }
    out.flush()?;
    Ok(())
}

/// Settings and context shown at the top of `summary.md`.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    /// Title line (e.g. "spikectl-monitor report").
    pub title: String,
    /// Extra lines (source, settings), each printed as a bullet.
    pub notes: Vec<String>,
}

/// The Markdown summary: title, notes, deadlines, pricing, the table and the malformed counts.
pub fn summary_markdown(ctx: &ReportContext, s: &Summary) -> String {
    let mut md = format!("# {}\n\n", ctx.title);
    for n in &ctx.notes {
        md.push_str(&format!("- {n}\n"));
    }
    md.push_str(&format!(
        "- deadlines: CPU solve time {} ms, chip latency {} ms\n- {}\n- EDP = energy x latency of the mean solve; \
         \"EDP gain vs baseline\" = baseline CPU EDP / this entry's EDP (chip EDP when estimated), > 1: better than the baseline\n",
        s.cpu_deadline_s * 1e3,
        s.chip_deadline_s * 1e3,
        s.pricing
    ));
    if let Some(b) = s.entries.iter().find(|e| !e.baseline.is_empty()) {
        md.push_str(&format!("- baseline: {} (CPU arithmetic, measured on this run)\n", b.baseline));
    } else {
        md.push_str("- baseline: none (no CPU-arithmetic solver in this run)\n");
    }
    md.push_str(&format!("- samples received {}, malformed {}", s.received, s.malformed));
    if !s.malformed_by_kind.is_empty() {
        let kinds: Vec<String> = s.malformed_by_kind.iter().map(|(k, v)| format!("{k} {v}")).collect();
        md.push_str(&format!(" ({})", kinds.join(", ")));
    }
    md.push_str("\n\n");
    md.push_str(&summary_table(s));
    md
}

fn entry_label(node: &str, solver: &str) -> String {
    if node.is_empty() { solver.to_string() } else { format!("{node} {solver}") }
}

/// Writes the report folder of `summary` and `samples` into `dir` (see the module docs).
/// Returns the files written and the plot warnings.
pub fn write_report(
    dir: &Path,
    ctx: &ReportContext,
    summary: &Summary,
    samples: &[&Sample],
) -> Result<(Vec<PathBuf>, Vec<String>), MonitorError> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let p = dir.join("summary.json");
    write_json(&p, summary)?;
    files.push(p);
    let p = dir.join("samples.json");
    write_json(&p, &samples)?;
    files.push(p);
    let p = dir.join("samples.csv");
    write_samples_csv(&p, samples)?;
    files.push(p);
    let p = dir.join("summary.md");
    std::fs::write(&p, summary_markdown(ctx, summary))?;
    files.push(p);

    let t0 = samples.iter().map(|s| s.t_s).fold(f64::INFINITY, f64::min);
    let t0 = if t0.is_finite() { t0 } else { 0.0 };
    let (mut lat, mut energy) = (Vec::new(), Vec::new());
    let mut plots: Vec<(PathBuf, Result<(), MonitorError>)> = Vec::new();
    for (k, e) in summary.entries.iter().enumerate() {
        let mine = || samples.iter().filter(|s| s.node == e.node && s.solver == e.solver);
        let label = entry_label(&e.node, &e.solver);
        lat.push(Series::new(format!("{label} CPU"), mine().map(|s| (s.t_s - t0, s.solve_s * 1e6)).collect()));
        energy.push(Series::new(format!("{label} CPU"), mine().map(|s| (s.t_s - t0, s.cpu_energy_j * 1e6)).collect()));
        let chip: Vec<&&Sample> = mine().filter(|s| s.has_chip()).collect();
        let mut hists = vec![NamedHistogram { label: "CPU solve time".into(), hist: LogHistogram::new(1.0, 1e5, 40) }];
        for s in mine() {
            hists[0].hist.add(s.solve_s * 1e6);
        }
        if !chip.is_empty() {
            lat.push(Series::new(
                format!("{label} chip"),
                chip.iter().map(|s| (s.t_s - t0, s.chip_latency_s * 1e6)).collect(),
            ));
            energy.push(Series::new(
                format!("{label} chip"),
                chip.iter().map(|s| (s.t_s - t0, s.chip_energy_j * 1e6)).collect(),
            ));
            let mut h = LogHistogram::new(1.0, 1e5, 40);
            for s in &chip {
                h.add(s.chip_latency_s * 1e6);
            }
            hists.push(NamedHistogram { label: format!("chip latency ({})", e.chip_profile), hist: h });
        }
        let p = dir.join(format!("hist_{k}.png"));
        let r = histogram_plot(&p, &format!("Latency histogram: {label}"), "latency [µs]", &hists);
        plots.push((p, r));
    }
    let p = dir.join("latency.png");
    let r = line_plot(&p, "Solve latency: host CPU (measured), chip (estimate)", "t [s]", "µs", &lat);
    plots.push((p, r));
    let p = dir.join("energy.png");
    let r = line_plot(&p, "Energy per solve: host CPU (time x stated power), chip (estimate)", "t [s]", "µJ", &energy);
    plots.push((p, r));
    for (p, r) in plots {
        match r {
            Ok(()) => files.push(p),
            Err(e) => warnings.push(format!("{}: {e}", p.display())),
        }
    }
    Ok((files, warnings))
}

fn parse_csv(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), MonitorError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| MonitorError::Invalid("empty CSV".into()))?
        .split(',')
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, l) in lines.enumerate() {
        let r: Vec<String> = l.split(',').map(|v| v.trim().to_string()).collect();
        if r.len() != header.len() {
            return Err(MonitorError::Invalid(format!(
                "row {} has {} values, header {}",
                i + 1,
                r.len(),
                header.len()
            )));
        }
        rows.push(r);
    }
    Ok((header, rows))
}

/// The arithmetic name ([`super::ledger::ARITHMETICS`]) of a `metrics.json` arithmetic label.
fn arithmetic_of_label(label: &str) -> &'static str {
    let l = label.to_ascii_lowercase();
    if l.contains("loihi") {
        "loihi2-fixed"
    } else if l.contains("network") {
        "float-network"
    } else {
        "cpu"
    }
}

/// The samples of one `spikectl run` output folder (`metrics.json` + `solves.csv`): node
/// `run:<scenario>`, the run's solver and arithmetic, time = controller time [s]. Columns
/// missing from older folders (preprocess time, objective, some counts) read as 0.
pub fn read_run_samples(dir: &Path) -> Result<Vec<Sample>, MonitorError> {
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json"))?)?;
    let field = |k: &str| metrics.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let (scenario, solver, arith) = (field("scenario"), field("solver"), field("arithmetic"));
    if solver.is_empty() {
        return Err(MonitorError::Invalid(format!("{}: metrics.json names no solver", dir.display())));
    }
    let (header, rows) = parse_csv(&std::fs::read_to_string(dir.join("solves.csv"))?)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &str| col(name).ok_or_else(|| MonitorError::Invalid(format!("solves.csv has no column {name}")));
    let (i_t, i_us) = (need("t")?, need("solve_us")?);
    let num = |r: &[String], name: &str| -> Result<f64, MonitorError> {
        match col(name) {
            None => Ok(0.0),
            Some(i) => {
                r[i].parse::<f64>().map_err(|_| MonitorError::Invalid(format!("solves.csv: {name} = {:?}", r[i])))
            }
        }
    };
    let count = |r: &[String], name: &str| -> Result<u64, MonitorError> {
        let v = num(r, name)?;
        if v.is_finite() && v >= 0.0 {
            Ok(v as u64)
        } else {
            Err(MonitorError::Invalid(format!("solves.csv: {name} = {v}")))
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let ops = crate::neuro::OpCounts {
            timesteps: count(r, "timesteps")?,
            neuron_updates: count(r, "neuron_updates")?,
            idle_neuron_updates: count(r, "idle_neuron_updates")?,
            messages: count(r, "messages")?,
            synops: count(r, "synops")?,
            readouts: count(r, "readouts")?,
            readout_checks: count(r, "readout_checks")?,
            ..Default::default()
        };
        let solved = num(r, "solved")? != 0.0;
        out.push(Sample {
            t_s: r[i_t].parse().map_err(|_| MonitorError::Invalid(format!("solves.csv: t = {:?}", r[i_t])))?,
            node: format!("run:{scenario}"),
            solver: solver.clone(),
            arithmetic: arithmetic_of_label(&arith).to_string(),
            // solves.csv keeps solved yes/no only; a non-solved status is shown as MaxIterations.
            status: if solved { "Solved" } else { "MaxIterations" }.into(),
            iterations: count(r, "iterations")?,
            preprocess_s: num(r, "preprocess_us")? * 1e-6,
            solve_s: r[i_us].parse::<f64>().map_err(|_| MonitorError::Invalid("solves.csv: solve_us".into()))? * 1e-6,
            objective: num(r, "objective")?,
            primal_residual: num(r, "r_prim")?,
            dual_residual: num(r, "r_dual")?,
            ops,
            fallback: num(r, "fallback")? != 0.0,
            ..Default::default()
        });
    }
    Ok(out)
}

/// The run folders under `dir`: `dir` itself when it holds `metrics.json` and `solves.csv`,
/// else its immediate subfolders that do (a multi-solver `spikectl run --out`), sorted.
pub fn run_folders(dir: &Path) -> Result<Vec<PathBuf>, MonitorError> {
    let is_run = |d: &Path| d.join("metrics.json").is_file() && d.join("solves.csv").is_file();
    if is_run(dir) {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?.flatten().map(|e| e.path()).filter(|p| is_run(p)).collect();
    v.sort();
    if v.is_empty() {
        return Err(MonitorError::Invalid(format!(
            "{}: no spikectl run output (metrics.json + solves.csv)",
            dir.display()
        )));
    }
    Ok(v)
}

/// Books every solve of the run folders under `dir` ([`run_folders`]) into a ledger with
/// `cfg`. Bad rows are counted by the ledger like bad messages.
pub fn ledger_from_runs(dir: &Path, cfg: LedgerConfig) -> Result<(Ledger, Vec<PathBuf>), MonitorError> {
    let folders = run_folders(dir)?;
    let mut ledger = Ledger::new(cfg);
    for f in &folders {
        for s in read_run_samples(f)? {
            let _ = ledger.ingest(s);
        }
    }
    Ok((ledger, folders))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::ledger::LedgerConfig;

    #[test]
    fn run_folder_reads_back_into_the_same_numbers() {
        let dir = std::env::temp_dir().join(format!("spikectl-folder-{}", std::process::id()));
        let run = dir.join("stand-osqp");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("metrics.json"), r#"{"scenario":"stand","solver":"osqp","arithmetic":"float64 CPU"}"#)
            .unwrap();
        std::fs::write(
            run.join("solves.csv"),
            "t,solve_us,iterations,solved,fallback,r_prim,r_dual,synops,timesteps\n0,100,5,1,0,1e-5,1e-5,0,0\n0.025,300,7,0,1,1e-5,1e-5,0,0\n",
        )
        .unwrap();
        let net = dir.join("stand-loihi2");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(
            net.join("metrics.json"),
            r#"{"scenario":"stand","solver":"loihi2","arithmetic":"Loihi 2 fixed point"}"#,
        )
        .unwrap();
        std::fs::write(
            net.join("solves.csv"),
            "t,solve_us,iterations,solved,fallback,r_prim,r_dual,synops,timesteps,neuron_updates\n0,5000,50,1,0,1e-5,1e-5,20000,100,4000\n",
        )
        .unwrap();
        let cfg = LedgerConfig { cpu_deadline_s: 250e-6, ..Default::default() };
        let (ledger, folders) = ledger_from_runs(&dir, cfg).unwrap();
        assert_eq!(folders.len(), 2);
        let s = ledger.summary();
        assert_eq!(s.entries.len(), 2);
        let o = s.entries.iter().find(|e| e.solver == "osqp").unwrap();
        assert_eq!((o.solves, o.cpu_deadline_misses, o.fallbacks, o.not_solved), (2, 1, 1, 1));
        assert!((o.cpu.mean_us - 200.0).abs() < 1e-9);
        let l = s.entries.iter().find(|e| e.solver == "loihi2").unwrap();
        assert_eq!(l.arithmetic, "loihi2-fixed");
        assert!(l.chip.is_some() && l.edp_vs_baseline > 0.0 && l.baseline == "run:stand osqp");

        let out = dir.join("report");
        let samples: Vec<&Sample> = ledger.samples().collect();
        let ctx = ReportContext { title: "test".into(), notes: vec![] };
        let (files, _warnings) = write_report(&out, &ctx, &s, &samples).unwrap();
        assert!(files.iter().any(|f| f.ends_with("summary.md")));
        let csv = std::fs::read_to_string(out.join("samples.csv")).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.starts_with(&SAMPLE_COLUMNS.join(",")));
        let back: Summary = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!((back.entries.len(), back.received, back.malformed), (2, 3, 0));
        let lb = back.entries.iter().find(|e| e.solver == "loihi2").unwrap();
        assert!((lb.edp_vs_baseline - l.edp_vs_baseline).abs() <= 1e-12 * l.edp_vs_baseline);
        let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(md.contains(&summary_table(&s)));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_run_folders_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("spikectl-folder-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(run_folders(&dir), Err(MonitorError::Invalid(_))));
        std::fs::write(dir.join("metrics.json"), r#"{"scenario":"x","solver":"osqp"}"#).unwrap();
        std::fs::write(dir.join("solves.csv"), "t,solve_us\n0,abc\n").unwrap();
        assert!(read_run_samples(&dir).is_err());
        std::fs::write(dir.join("solves.csv"), "t,iterations\n0,1\n").unwrap();
        assert!(read_run_samples(&dir).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
