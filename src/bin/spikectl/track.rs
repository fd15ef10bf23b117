//! `spikectl track FILE.raw`: run a tracker (the tracker network on the substrate in float or
//! Loihi 2 fixed point, network-only or refined, or the cluster baseline) over an EVT
//! 3.0 RAW recording in 1 ms windows as the file is read, writing one result per window as
//! it is produced (text, JSON lines or CSV); optionally plot the track and compare it with a
//! ground-truth CSV (`FILE.raw.gt.csv` as written by `simulate-events`).
//!
//! Memory does not grow with the recording: the file is decoded in 64 KiB chunks, windows
//! are cut as sensor time passes (long silences skipped), error statistics use a fixed
//! histogram and the plot keeps a thinned sample. A closed stdout (`… | head`) ends the
//! command quietly.
use anyhow::Context;
use clap::Parser;
use plotters::prelude::*;
use spikectl::tracking::cluster::{ClusterConfig, ClusterTracker};
use spikectl::tracking::eval::{ErrorStats, PacketResult, TrackTotals, track_raw};
use spikectl::tracking::net::{NetConfig, NetTracker};
use spikectl::tracking::raw::RawReader;
use spikectl::tracking::{Estimate, Event, Tracker};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Arguments of `spikectl track`.
#[derive(Parser, Debug)]
pub struct Args {
    /// EVT 3.0 RAW file.
    pub file: PathBuf,
    /// Plot the track over the events to this PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Write JSON lines: a header object, one object per window, a summary object.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Write CSV: one row per window.
    #[arg(long)]
    pub csv: bool,
    /// Tracker: net / net-fixed (the tracker network, float / Loihi 2 fixed point,
    /// network-only), net-refine / net-fixed-refine (with the host refinement), or cluster.
    #[arg(long, default_value = "net")]
    pub tracker: String,
    /// Ground-truth CSV (default: FILE.gt.csv when it exists).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Window length [µs].
    #[arg(long, default_value_t = 1000)]
    pub packet_us: u64,
    /// Print every n-th window (text mode; JSON and CSV print all).
    #[arg(long, default_value_t = 10)]
    pub every: usize,
    /// Sensor geometry WIDTHxHEIGHT [px]: needed when the header declares none; overrides
    /// the header's otherwise.
    #[arg(long, value_parser = parse_geometry)]
    pub geometry: Option<(u16, u16)>,
}

fn parse_geometry(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s.split_once('x').ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT"))?;
    let p = |v: &str| v.trim().parse::<u16>().map_err(|e| format!("{v:?}: {e}"));
    Ok((p(w)?, p(h)?))
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

/// Error statistics in fixed memory: exact count, mean and standard deviation; median and
/// p95 from a histogram of 0.01 px bins up to 100 px (larger errors in the last bin).
struct ErrorAcc {
    n: u64,
    in_view: u64,
    sum: f64,
    sum2: f64,
    bins: Vec<u64>,
}

impl ErrorAcc {
    const BIN_PX: f64 = 0.01;

    fn new() -> Self {
        Self { n: 0, in_view: 0, sum: 0.0, sum2: 0.0, bins: vec![0; 10_001] }
    }

    fn add(&mut self, r: &PacketResult) {
        self.in_view += u64::from(r.truth.is_some());
        if let Some(e) = r.error_px() {
            self.n += 1;
            self.sum += e;
            self.sum2 += e * e;
            let k = ((e / Self::BIN_PX) as usize).min(self.bins.len() - 1);
            self.bins[k] += 1;
        }
    }

    fn percentile(&self, p: f64) -> f64 {
        let rank = ((p / 100.0) * (self.n.saturating_sub(1)) as f64).round() as u64;
        let mut seen = 0;
        for (k, c) in self.bins.iter().enumerate() {
            seen += c;
            if seen > rank {
                return (k as f64 + 0.5) * Self::BIN_PX;
            }
        }
        0.0
    }

    fn stats(&self) -> ErrorStats {
        if self.n == 0 {
            return ErrorStats { packets: self.in_view as usize, ..ErrorStats::default() };
        }
        let n = self.n as f64;
        let mean = self.sum / n;
        ErrorStats {
            packets: self.in_view as usize,
            coverage: n / self.in_view.max(1) as f64,
            mean,
            median: self.percentile(50.0),
            p95: self.percentile(95.0),
            std: (self.sum2 / n - mean * mean).max(0.0).sqrt(),
        }
    }
}

/// Keeps at most `cap` items of a stream, evenly thinned (every 2ᵏ-th item).
struct Thinned<T> {
    items: Vec<T>,
    stride: u64,
    seen: u64,
    cap: usize,
}

impl<T> Thinned<T> {
    fn new(cap: usize) -> Self {
        Self { items: Vec::new(), stride: 1, seen: 0, cap: cap.max(2) }
    }

    fn push(&mut self, item: T) {
        if self.seen.is_multiple_of(self.stride) {
            self.items.push(item);
            if self.items.len() >= self.cap {
                let mut k = 0;
                self.items.retain(|_| {
                    k += 1;
                    k % 2 == 1
                });
                self.stride *= 2;
            }
        }
        self.seen += 1;
    }
}

/// Whether an error chain ends in a closed pipe (the reader of stdout went away).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Runs the command. A closed stdout ends it quietly with success.
pub fn run(args: Args) -> anyhow::Result<()> {
    match run_inner(args) {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        r => r,
    }
}

fn fmt_opt(v: Option<f64>, prec: usize) -> String {
    v.map_or(String::new(), |v| format!("{v:.prec$}"))
}

fn run_inner(args: Args) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let mut reader =
        RawReader::with_geometry(file, args.geometry).with_context(|| format!("reading {}", args.file.display()))?;
    let (w, h) = reader.geometry();
    if let (Some(g), Ok(Some(d))) = (args.geometry, reader.header().geometry())
        && g != d
    {
        let _ = writeln!(
            std::io::stderr(),
            "note: using --geometry {}x{} instead of the header's {}x{}",
            g.0,
            g.1,
            d.0,
            d.1
        );
    }
    let packet_ns = args.packet_us.max(1) * 1000;
    let mut tracker: Box<dyn Tracker> = match args.tracker.as_str() {
        "net" | "net-fixed" | "net-refine" | "net-fixed-refine" => {
            let cfg = NetConfig { packet_ns, ..NetConfig::new(w, h) };
            let cfg = if args.tracker.contains("fixed") { cfg.loihi2() } else { cfg };
            Box::new(NetTracker::new(cfg.with_refine(args.tracker.ends_with("refine"))))
        }
        "cluster" => Box::new(ClusterTracker::new(ClusterConfig::new(w, h))),
        t => anyhow::bail!("unknown tracker {t:?} (net, net-fixed, net-refine, net-fixed-refine, cluster)"),
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
    let name = tracker.name();
    let mut out = BufWriter::new(std::io::stdout().lock());
    if args.json {
        let j = serde_json::json!({
            "type": "header", "file": args.file, "width": w, "height": h, "tracker": name,
            "window_us": args.packet_us,
        });
        writeln!(out, "{j}")?;
    } else if args.csv {
        writeln!(out, "t_end_ns,events,x_px,y_px,vx_px_s,vy_px_s,radius_px,err_px,cpu_ns")?;
    } else {
        writeln!(out, "{}: {}x{}, tracker {}, windows of {} µs", args.file.display(), w, h, name, args.packet_us)?;
        writeln!(
            out,
            "{:>11} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8}",
            "t_ms", "events", "x_px", "y_px", "vx_px/s", "vy_px/s", "err_px"
        )?;
    }
    let mut errs = ErrorAcc::new();
    let plotting = args.plot.is_some();
    let mut plot_events: Thinned<(u16, u16)> = Thinned::new(40_000);
    let mut plot_track: Thinned<Estimate> = Thinned::new(20_000);
    let every = args.every.max(1) as u64;
    let mut k = 0u64;
    let in_image = |(u, v): (f64, f64)| u >= 0.0 && v >= 0.0 && u < f64::from(w) && v < f64::from(h);
    let totals: TrackTotals = track_raw(
        &mut reader,
        tracker.as_mut(),
        packet_ns,
        |t| interp(&truth, t).filter(|&p| in_image(p)),
        |r: &PacketResult, events: &[Event]| -> anyhow::Result<()> {
            errs.add(r);
            if plotting {
                for e in events {
                    plot_events.push((e.x, e.y));
                }
                if let Some(e) = r.est {
                    plot_track.push(e);
                }
            }
            if args.json {
                let mut j = serde_json::to_value(r)?;
                j["type"] = "window".into();
                writeln!(out, "{j}")?;
            } else if args.csv {
                let e = r.est;
                writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{}",
                    r.t_end_ns,
                    r.n_events,
                    fmt_opt(e.map(|e| e.x), 3),
                    fmt_opt(e.map(|e| e.y), 3),
                    fmt_opt(e.map(|e| e.vx), 1),
                    fmt_opt(e.map(|e| e.vy), 1),
                    fmt_opt(e.map(|e| e.radius_px), 2),
                    fmt_opt(r.error_px(), 3),
                    r.cpu_ns
                )?;
            } else if k.is_multiple_of(every) {
                let err = r.error_px().map_or("-".to_string(), |e| format!("{e:.2}"));
                let t_ms = r.t_end_ns as f64 * 1e-6;
                match r.est {
                    Some(e) => writeln!(
                        out,
                        "{:>11.1} {:>7} {:>8.2} {:>8.2} {:>9.0} {:>9.0} {:>8}",
                        t_ms, r.n_events, e.x, e.y, e.vx, e.vy, err
                    )?,
                    None => writeln!(
                        out,
                        "{:>11.1} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8}",
                        t_ms, r.n_events, "-", "-", "-", "-", "-"
                    )?,
                }
            }
            k += 1;
            Ok(())
        },
    )
    .with_context(|| format!("tracking {}", args.file.display()))?;
    let stats = (!truth.is_empty()).then(|| errs.stats());
    let d = &totals.decode;
    if args.json {
        let j = serde_json::json!({
            "type": "summary", "events": d.events, "windows": totals.windows, "decode_stats": d, "errors": stats,
        });
        writeln!(out, "{j}")?;
    } else if !args.csv {
        let s = &totals.windows;
        writeln!(
            out,
            "{} events, {} windows ({} empty windows skipped, {} late events), {} triggers",
            d.events, s.windows, s.skipped_windows, s.late_events, d.triggers
        )?;
        if let Some(s) = stats {
            writeln!(
                out,
                "error vs ground truth: mean {:.2} px, median {:.2} px, p95 {:.2} px, coverage {:.1}% of {} windows in view",
                s.mean,
                s.median,
                s.p95,
                100.0 * s.coverage,
                s.packets
            )?;
        }
    }
    out.flush()?;
    warn_decode(&totals, (w, h));
    if let Some(p) = &args.plot {
        plot(p, w, h, &plot_events.items, &plot_track.items, &truth)?;
        if !args.json && !args.csv {
            writeln!(out, "plot: {}", p.display())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Tells on stderr about everything the decoder dropped, skipped or repaired.
fn warn_decode(t: &TrackTotals, (w, h): (u16, u16)) {
    let d = &t.decode;
    let mut err = std::io::stderr().lock();
    if d.out_of_bounds > 0 {
        let _ = writeln!(
            err,
            "warning: {} events outside the {w}x{h} sensor dropped (largest x {}, y {}): is the geometry right?",
            d.out_of_bounds, d.out_of_bounds_max_x, d.out_of_bounds_max_y
        );
    }
    if d.before_time > 0 {
        let _ = writeln!(err, "warning: {} events before the first TIME_HIGH dropped (no valid time)", d.before_time);
    }
    if d.truncated_bytes > 0 {
        let _ = writeln!(err, "warning: the file ends in the middle of a word; decoded up to the last complete word");
    }
    if d.reserved_words > 0 || d.orphan_continued > 0 {
        let _ = writeln!(
            err,
            "warning: corrupt data: {} words of reserved types and {} stray CONTINUED words skipped",
            d.reserved_words, d.orphan_continued
        );
    }
    if d.time_glitches > 0 {
        let _ = writeln!(err, "warning: {} corrupt TIME_HIGH words ignored", d.time_glitches);
    }
    if d.time_jumps > 0 {
        let _ = writeln!(
            err,
            "note: {} jumps of the sensor clock (gaps in the data); {} events timed before the jump was confirmed",
            d.time_jumps, d.held_events
        );
    }
    if t.windows.overflow_events > 0 {
        let _ = writeln!(err, "warning: {} events dropped: too many in one window", t.windows.overflow_events);
    }
}

fn plot(
    path: &std::path::Path,
    w: u16,
    h: u16,
    events: &[(u16, u16)],
    track: &[Estimate],
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
    chart.draw_series(
        events.iter().map(|&(x, y)| Circle::new((f64::from(x), f64::from(y)), 1, RGBColor(200, 200, 200).filled())),
    )?;
    chart
        .draw_series(track.iter().map(|e| Circle::new((e.x, e.y), 2, RED.filled())))?
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
