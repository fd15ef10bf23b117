//! Temporary tuning harness for the network tracker (removed before the final commit).
use spikectl::tracking::cluster::{ClusterConfig, ClusterTracker};
use spikectl::tracking::eval::{SimThrow, error_stats, errors, run_tracker};
use spikectl::tracking::net::{NetConfig, NetTracker};
use spikectl::tracking::Tracker;
use spikectl_sim::events::DvsParams;

fn env(k: &str, d: f64) -> f64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn main() {
    let n = env("N", 4.0) as usize;
    let presets: Vec<String> = std::env::var("PRESETS").unwrap_or("clean,noisy".into()).split(',').map(String::from).collect();
    let mut throws = Vec::new();
    for p in &presets {
        for i in 0..n {
            let speed = if n == 1 { 8.0 } else { 2.0 + 13.0 * i as f64 / (n - 1) as f64 };
            throws.push((p.clone(), speed, SimThrow::new(640, 480, DvsParams::preset(p).unwrap(), speed, 100 + i as u64)));
        }
    }
    let base = NetConfig::new(640, 480);
    let cfg = NetConfig {
        grid: env("GRID", base.grid as f64) as u16,
        fine_stride_px: env("STRIDE", base.fine_stride_px as f64) as u16,
        substeps: env("SUB", base.substeps as f64) as u32,
        ff_sigma_cells: env("SIGMA", base.ff_sigma_cells),
        w_exc: env("WEXC", base.w_exc),
        w_inh: env("WINH", base.w_inh),
        beta: env("BETA", base.beta),
        theta: env("THETA", base.theta),
        bg_events_per_px: env("BG", base.bg_events_per_px),
        min_activity: env("MINA", base.min_activity),
        recentre_px: env("RECENTRE", base.recentre_px),
        ..base
    };
    for p in &presets {
        let mut rows: Vec<(String, Vec<f64>, usize, u64)> = Vec::new();
        for (name, mk) in [
            ("net-float", Box::new(|| Box::new(NetTracker::new(cfg)) as Box<dyn Tracker>) as Box<dyn Fn() -> Box<dyn Tracker>>),
            ("net-fixed", Box::new(|| Box::new(NetTracker::new(cfg.loihi2())) as Box<dyn Tracker>)),
            ("net-float+ref", Box::new(|| Box::new(NetTracker::new(cfg.with_refine(true))) as Box<dyn Tracker>)),
            ("net-fixed+ref", Box::new(|| Box::new(NetTracker::new(cfg.loihi2().with_refine(true))) as Box<dyn Tracker>)),
            ("cluster", Box::new(|| Box::new(ClusterTracker::new(ClusterConfig::new(640, 480))) as Box<dyn Tracker>)),
        ] {
            let (mut all, mut inv, mut ns) = (Vec::new(), 0, 0u64);
            for (pp, speed, th) in &throws {
                if pp != p { continue; }
                let mut t = mk();
                let t0 = std::time::Instant::now();
                let r = run_tracker(t.as_mut(), &th.events, 1_000_000, |t| th.truth_in_view(t));
                ns += t0.elapsed().as_nanos() as u64 / r.len().max(1) as u64;
                let (e, n) = errors(&r);
                if std::env::var("VERBOSE").is_ok() {
                    let s = error_stats(e.clone(), n);
                    eprintln!("  {p} {name} speed {speed:.1}: mean {:.2} cov {:.3} p95 {:.2}", s.mean, s.coverage, s.p95);
                }
                all.extend(e);
                inv += n;
            }
            rows.push((name.into(), all, inv, ns));
        }
        for (name, e, n, ns) in rows {
            let s = error_stats(e, n);
            println!("{p:6} {name:14} mean {:.3} median {:.3} p95 {:.3} cov {:.3}  {:.1} us/pkt", s.mean, s.median, s.p95, s.coverage, ns as f64 / 1e3 / n as f64 * 0.0 + ns as f64 / 1e3 / 4.0);
        }
    }
}
