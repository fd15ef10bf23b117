//! `spikectl track FILE.raw`: run the spiking tracker (or the cluster baseline) over an EVT
//! 3.0 RAW recording in 1 ms packets; print the track, optionally plot it and compare it
//! with a ground-truth CSV (`FILE.raw.gt.csv` as written by `simulate-events`).
use anyhow::Context;
use clap::Parser;
use plotters::prelude::*;
use spikectl::tracking::Tracker;
use spikectl::tracking::cluster::{ClusterConfig, ClusterTracker};
use spikectl::tracking::eval::{error_stats, errors, run_tracker};
use spikectl::tracking::raw::read_raw_file;
use spikectl::tracking::snn::{DnfConfig, DnfTracker};
use std::path::PathBuf;

/// Arguments of `spikectl track`.
#[derive(Parser, Debug)]
pub struct Args {
    /// EVT 3.0 RAW file.
    pub file: PathBuf,
    /// Plot the track over the events to this PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Tracker: snn or cluster.
    #[arg(long, default_value = "snn")]
    pub tracker: String,
    /// Ground-truth CSV (default: FILE.gt.csv when it exists).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Packet length [µs].
    #[arg(long, default_value_t = 1000)]
    pub packet_us: u64,
    /// Print every n-th packet of the track (text mode).
    #[arg(long, default_value_t = 10)]
    pub every: usize,
}

fn read_truth(path: &std::path::Path) -> anyhow::Result<Vec<(u64, f64, f64)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        anyhow::ensure!(f.len() >= 3, "{}:{}: expected t_ns,u,v", path.display(), i + 1);
        out.push((f[0].trim().parse()?, f[1].trim().parse()?, f[2].trim().parse()?));
    }
    Ok(out)
}

fn interp(truth: &[(u64, f64, f64)], t: u64) -> Option<(f64, f64)> {
    let k = truth.partition_point(|s| s.0 <= t);
    if k == 0 || k >= truth.len() {
        return None;
    }
    let (a, b) = (truth[k - 1], truth[k]);
    let f = (t - a.0) as f64 / (b.0 - a.0).max(1) as f64;
    Some((a.1 + f * (b.1 - a.1), a.2 + f * (b.2 - a.2)))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let rec = read_raw_file(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let (w, h) = rec.geometry;
    let mut tracker: Box<dyn Tracker> = match args.tracker.as_str() {
        "snn" => Box::new(DnfTracker::new(DnfConfig { packet_ns: args.packet_us * 1000, ..DnfConfig::new(w, h) })),
        "cluster" => Box::new(ClusterTracker::new(ClusterConfig::new(w, h))),
        t => anyhow::bail!("unknown tracker {t:?} (snn, cluster)"),
    };
    let truth_file = args.truth.clone().or_else(|| {
        let mut s = args.file.as_os_str().to_owned();
        s.push(".gt.csv");
        let p = PathBuf::from(s);
        p.exists().then_some(p)
    });
    let truth = match &truth_file {
        Some(p) => read_truth(p)?,
        None => Vec::new(),
    };
    let results = run_tracker(tracker.as_mut(), &rec.events, args.packet_us * 1000, |t| {
        interp(&truth, t).filter(|&(u, v)| u >= 0.0 && v >= 0.0 && u < f64::from(w) && v < f64::from(h))
    });
    let (errs, in_view) = errors(&results);
    let stats = (!truth.is_empty()).then(|| error_stats(errs, in_view));
    if args.json {
        let j = serde_json::json!({
            "file": args.file, "width": w, "height": h, "events": rec.events.len(),
            "tracker": tracker.name(), "decode_stats": rec.stats, "errors": stats, "packets": results,
        });
        println!("{}", serde_json::to_string(&j)?);
    } else {
        println!(
            "{}: {}x{}, {} events, {} packets of {} µs, tracker {}",
            args.file.display(),
            w,
            h,
            rec.events.len(),
            results.len(),
            args.packet_us,
            tracker.name()
        );
        println!(
            "{:>9} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8}",
            "t_ms", "events", "x_px", "y_px", "vx_px/s", "vy_px/s", "err_px"
        );
        for r in results.iter().step_by(args.every.max(1)) {
            let err = r.error_px().map_or("-".to_string(), |e| format!("{e:.2}"));
            match r.est {
                Some(e) => println!(
                    "{:>9.1} {:>7} {:>8.2} {:>8.2} {:>9.0} {:>9.0} {:>8}",
                    r.t_end_ns as f64 * 1e-6,
                    r.n_events,
                    e.x,
                    e.y,
                    e.vx,
                    e.vy,
                    err
                ),
                None => println!(
                    "{:>9.1} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8}",
                    r.t_end_ns as f64 * 1e-6,
                    r.n_events,
                    "-",
                    "-",
                    "-",
                    "-",
                    "-"
                ),
            }
        }
        if let Some(s) = stats {
            println!(
                "error vs ground truth: mean {:.2} px, median {:.2} px, p95 {:.2} px, coverage {:.1}% of {} packets in view",
                s.mean,
                s.median,
                s.p95,
                100.0 * s.coverage,
                s.packets
            );
        }
    }
    if let Some(p) = &args.plot {
        plot(p, w, h, &rec.events, &results, &truth)?;
        if !args.json {
            println!("plot: {}", p.display());
        }
    }
    Ok(())
}

fn plot(
    path: &std::path::Path,
    w: u16,
    h: u16,
    events: &[spikectl::tracking::Event],
    results: &[spikectl::tracking::eval::PacketResult],
    truth: &[(u64, f64, f64)],
) -> anyhow::Result<()> {
    let (pw, ph) = (1000u32, (1000.0 * f64::from(h) / f64::from(w)).round() as u32 + 60);
    let root = BitMapBackend::new(path, (pw, ph)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("ball track (image plane)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0f64..f64::from(w), f64::from(h)..0f64)?;
    chart.configure_mesh().x_desc("x [px]").y_desc("y [px]").draw()?;
    let step = (events.len() / 40_000).max(1);
    chart.draw_series(
        events
            .iter()
            .step_by(step)
            .map(|e| Circle::new((f64::from(e.x), f64::from(e.y)), 1, RGBColor(200, 200, 200).filled())),
    )?;
    chart
        .draw_series(results.iter().filter_map(|r| r.est).map(|e| Circle::new((e.x, e.y), 2, RED.filled())))?
        .label("tracker")
        .legend(|(x, y)| Circle::new((x + 7, y), 3, RED.filled()));
    if !truth.is_empty() {
        chart
            .draw_series(LineSeries::new(truth.iter().map(|t| (t.1, t.2)), BLUE.stroke_width(1)))?
            .label("ground truth")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], BLUE));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
