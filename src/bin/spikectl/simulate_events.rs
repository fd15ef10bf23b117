//! `spikectl simulate-events`: simulate a table-tennis ball throw seen by an event camera
//! and write an EVT 3.0 RAW file plus a ground-truth CSV beside it (`<out>.gt.csv`).
use anyhow::Context;
use clap::Parser;
use spikectl::tracking::Event;
use spikectl::tracking::raw::{RawHeader, write_raw_file};
use spikectl_sim::events::{Camera, DvsParams, Simulator, Throw};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `spikectl simulate-events`.
#[derive(Parser, Debug)]
pub struct Args {
    /// Throw speed [m/s].
    #[arg(long, default_value_t = 8.0)]
    pub speed: f64,
    /// Sensor preset: clean or noisy (v2e).
    #[arg(long, default_value = "noisy")]
    pub preset: String,
    /// Image width [px].
    #[arg(long, default_value_t = 640)]
    pub width: u16,
    /// Image height [px].
    #[arg(long, default_value_t = 480)]
    pub height: u16,
    /// Random seed (throw direction, thresholds, noise).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output RAW file.
    #[arg(long, default_value = "ball.raw")]
    pub out: PathBuf,
}

/// Path of the ground-truth CSV written beside a RAW file.
pub fn truth_path(raw: &Path) -> PathBuf {
    let mut s = raw.as_os_str().to_owned();
    s.push(".gt.csv");
    PathBuf::from(s)
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dvs = DvsParams::preset(&args.preset).with_context(|| format!("unknown preset {:?}", args.preset))?;
    let sim = Simulator::new(Camera::side_view(args.width, args.height), dvs, args.seed);
    let throw = Throw::along_table(args.speed, args.seed);
    let rec = sim.run(&throw);
    let events: Vec<Event> = rec.events.iter().map(|&e| e.into()).collect();
    let mut header = RawHeader::evt3(args.width, args.height);
    header.set("spikectl_sim", &format!("speed={} preset={} seed={}", args.speed, args.preset, args.seed));
    write_raw_file(&args.out, &header, &events).with_context(|| format!("writing {}", args.out.display()))?;
    let gt = truth_path(&args.out);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&gt)?);
    writeln!(f, "t_ns,u_px,v_px,radius_px,x_m,y_m,z_m")?;
    for t in &rec.truth {
        writeln!(
            f,
            "{},{:.4},{:.4},{:.4},{:.5},{:.5},{:.5}",
            t.t_ns, t.u, t.v, t.radius_px, t.world[0], t.world[1], t.world[2]
        )?;
    }
    f.flush()?;
    println!(
        "wrote {} ({} events: {} ON + {} OFF signal, {} shot, {} leak; {:.3} s, {} bounce(s)) and {}",
        args.out.display(),
        events.len(),
        rec.counts.signal[0],
        rec.counts.signal[1],
        rec.counts.shot,
        rec.counts.leak,
        rec.trajectory().duration(),
        rec.trajectory().bounces,
        gt.display()
    );
    Ok(())
}
