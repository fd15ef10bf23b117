//! Writing a run's reports (JSON, CSV) and plots (PNG), and the side-by-side table.

use std::path::{Path, PathBuf};

use super::run::RunResult;
use crate::monitor::MonitorError;
use crate::monitor::plot::{Series, line_plot};
use crate::monitor::report::{write_csv, write_json};

/// Writes `metrics.json`, `trace.csv`, `solves.csv` and the plots of `r` into `dir`.
/// Returns the files written; a plot that cannot be drawn (e.g. no font) is reported in
/// the returned warnings instead of failing the run.
pub fn write_run(dir: &Path, r: &RunResult) -> Result<(Vec<PathBuf>, Vec<String>), MonitorError> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let p = dir.join("metrics.json");
    write_json(&p, &r.metrics)?;
    files.push(p);
    let p = dir.join("trace.csv");
    let hdr: Vec<&str> = r.trace.header.iter().map(String::as_str).collect();
    write_csv(&p, &hdr, &r.trace.rows)?;
    files.push(p);
    let p = dir.join("solves.csv");
    let rows: Vec<Vec<f64>> = r
        .solves
        .iter()
        .map(|s| {
            vec![
                s.t,
                s.solve_time.as_secs_f64() * 1e6,
                s.iterations as f64,
                f64::from(u8::from(s.status.is_solved())),
                f64::from(u8::from(s.fallback)),
                s.residuals.prim,
                s.residuals.dual,
                s.ops.map_or(0.0, |o| o.synops as f64),
                s.ops.map_or(0.0, |o| o.timesteps as f64),
                s.ops.map_or(0.0, |o| o.neuron_updates as f64),
                s.ops.map_or(0.0, |o| o.idle_neuron_updates as f64),
                s.ops.map_or(0.0, |o| o.messages as f64),
                s.ops.map_or(0.0, |o| o.readouts as f64),
                s.ops.map_or(0.0, |o| o.readout_checks as f64),
                s.preprocess_time.as_secs_f64() * 1e6,
                s.objective,
            ]
        })
        .collect();
    // Every count the energy model prices, so `spikectl report` can price the run again.
    write_csv(
        &p,
        &[
            "t",
            "solve_us",
            "iterations",
            "solved",
            "fallback",
            "r_prim",
            "r_dual",
            "synops",
            "timesteps",
            "neuron_updates",
            "idle_neuron_updates",
            "messages",
            "readouts",
            "readout_checks",
            "preprocess_us",
            "objective",
        ],
        &rows,
    )?;
    files.push(p);

    let tr = &r.trace;
    let mut plots: Vec<(&str, &str, &str, Vec<Series>)> = Vec::new();
    if r.metrics.robot == "quadruped" {
        plots.push((
            "velocity.png",
            "Base velocity (heading frame)",
            "m/s, rad/s",
            vec![
                Series::new("vx", tr.xy("t", "vx")),
                Series::new("vx cmd", tr.xy("t", "vx_cmd")),
                Series::new("vy", tr.xy("t", "vy")),
                Series::new("yaw rate", tr.xy("t", "wz")),
                Series::new("yaw rate cmd", tr.xy("t", "wz_cmd")),
            ],
        ));
        plots.push(("height.png", "Trunk height", "m", vec![Series::new("height", tr.xy("t", "height"))]));
        plots.push((
            "foot_forces.png",
            "Foot normal forces",
            "N",
            vec![
                Series::new("FR", tr.xy("t", "f_fr")),
                Series::new("FL", tr.xy("t", "f_fl")),
                Series::new("RR", tr.xy("t", "f_rr")),
                Series::new("RL", tr.xy("t", "f_rl")),
                Series::new("push y", tr.xy("t", "push_y")),
            ],
        ));
    } else {
        plots.push((
            "force.png",
            "Normal contact force",
            "N",
            vec![
                Series::new("table contact", tr.xy("t", "fz")),
                Series::new("F/T sensor", tr.xy("t", "fz_sensor")),
                Series::new("command", tr.xy("t", "fz_cmd")),
            ],
        ));
        plots.push((
            "tip.png",
            "Tool tip position",
            "m",
            vec![
                Series::new("x", tr.xy("t", "tip_x")),
                Series::new("y", tr.xy("t", "tip_y")),
                Series::new("z", tr.xy("t", "tip_z")),
            ],
        ));
    }
    if !r.solves.is_empty() {
        let pts = r.solves.iter().map(|s| (s.t, s.solve_time.as_secs_f64() * 1e6)).collect();
        let mut series = vec![Series::new(format!("{} solve time", r.metrics.solver), pts)];
        if let Some(per) = r.metrics.mpc_period_s {
            let t1 = r.metrics.sim_time_s;
            series.push(Series::new("deadline (MPC period)", vec![(0.0, per * 1e6), (t1, per * 1e6)]));
        }
        plots.push(("latency.png", "MPC solve latency (wall clock, this CPU)", "µs", series));
    }
    for (name, title, ylab, series) in plots {
        let p = dir.join(name);
        match line_plot(&p, title, "t [s]", ylab, &series) {
            Ok(()) => files.push(p),
            Err(e) => warnings.push(format!("{}: {e}", p.display())),
        }
    }
    Ok((files, warnings))
}

/// Draws one comparison plot of column `y` over time for several runs into `path`.
pub fn write_comparison_plot(
    path: &Path,
    title: &str,
    ylab: &str,
    y: &str,
    runs: &[&RunResult],
) -> Result<(), MonitorError> {
    let series: Vec<Series> = runs.iter().map(|r| Series::new(r.metrics.solver.clone(), r.trace.xy("t", y))).collect();
    line_plot(path, title, "t [s]", ylab, &series)
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-".into(), |x| format!("{x:.prec$}"))
}

/// The side-by-side table of several runs (one column per run), as text.
pub fn side_by_side(runs: &[&RunResult]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |name: &str, f: &dyn Fn(&RunResult) -> String| {
        rows.push((name.to_string(), runs.iter().map(|r| f(r)).collect()));
    };
    add("controller", &|r| r.metrics.controller.clone());
    add("arithmetic", &|r| r.metrics.arithmetic.clone());
    add("sim time [s]", &|r| format!("{:.2}", r.metrics.sim_time_s));
    add("real-time factor", &|r| format!("{:.1}x", r.metrics.real_time_factor));
    add("wall: ctrl / physics [s]", &|r| {
        format!("{:.2} / {:.2}", r.metrics.controller_time_s, r.metrics.physics_time_s)
    });
    let quad = runs.first().is_some_and(|r| r.metrics.robot == "quadruped");
    if quad {
        add("fell", &|r| match r.metrics.fall_time_s {
            Some(t) => format!("yes @ {t:.2}s"),
            None => "no".into(),
        });
        add("vel RMS [m/s]", &|r| opt(r.metrics.vel_rms_mps, 3));
        add("yaw-rate RMS [rad/s]", &|r| opt(r.metrics.yaw_rate_rms, 3));
        add("mean vx [m/s]", &|r| opt(r.metrics.mean_vx_mps, 3));
        add("min height [m]", &|r| opt(r.metrics.min_height_m, 3));
        add("max tilt [deg]", &|r| opt(r.metrics.max_tilt_deg, 1));
    } else {
        add("force RMS [N]", &|r| opt(r.metrics.force_rms_n, 3));
        add("20 N hold RMS [N]", &|r| opt(r.metrics.force_hold_rms_n, 3));
        add("overshoot [N]", &|r| opt(r.metrics.force_overshoot_n, 2));
        add("contact losses", &|r| r.metrics.contact_losses.map_or("-".into(), |v| v.to_string()));
        add("slide vel RMS [m/s]", &|r| opt(r.metrics.slide_vel_rms_mps, 4));
    }
    add("MPC solves", &|r| r.metrics.solves.to_string());
    add("solve p50 [us]", &|r| format!("{:.1}", r.metrics.latency.p50_us));
    add("solve p99 [us]", &|r| format!("{:.1}", r.metrics.latency.p99_us));
    add("solve max [us]", &|r| format!("{:.1}", r.metrics.latency.max_us));
    add("solve CPU time mean [us]", &|r| r.metrics.cpu_solve_mean_us.map_or("-".into(), |c| format!("{c:.1}")));
    add("deadline misses", &|r| match r.metrics.mpc_period_s {
        Some(p) => format!("{} (period {:.0} ms)", r.metrics.latency.deadline_misses, p * 1e3),
        None => "-".into(),
    });
    add("iterations mean/max", &|r| format!("{:.1}/{}", r.metrics.iterations_mean, r.metrics.iterations_max));
    add("not solved / fallback", &|r| format!("{}/{}", r.metrics.not_solved, r.metrics.fallbacks));
    add("energy/solve [uJ]", &|r| {
        if r.metrics.energy.solves > 0 { format!("{:.2}", r.metrics.energy.mean_energy_uj) } else { "-".into() }
    });
    add("chip latency/solve [us]", &|r| {
        if r.metrics.energy.solves > 0 { format!("{:.1}", r.metrics.energy.mean_chip_latency_us) } else { "-".into() }
    });
    add("est. EDP vs CPU baseline", &|r| match &r.metrics.edp_vs_baseline {
        Some(e) => format!("{:.2}x vs {}", e.ratio, e.baseline),
        None => "-".into(),
    });
    let w0 = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(8);
    let mut widths: Vec<usize> = runs.iter().map(|r| r.metrics.solver.len()).collect();
    for (_, vals) in &rows {
        for (i, v) in vals.iter().enumerate() {
            widths[i] = widths[i].max(v.chars().count());
        }
    }
    let mut out = String::new();
    let head: Vec<String> = runs.iter().zip(&widths).map(|(r, w)| format!("{:>w$}", r.metrics.solver)).collect();
    out.push_str(&format!(
        "{:<w0$} | {}\n",
        format!(
            "{} / {}",
            runs.first().map_or("", |r| r.metrics.scenario.as_str()),
            if quad { "quadruped" } else { "arm" }
        ),
        head.join(" | ")
    ));
    out.push_str(&format!("{}\n", "-".repeat(w0 + 3 + widths.iter().map(|w| w + 3).sum::<usize>().saturating_sub(3))));
    for (name, vals) in rows {
        let v: Vec<String> = vals.iter().zip(&widths).map(|(s, w)| format!("{s:>w$}")).collect();
        out.push_str(&format!("{name:<w0$} | {}\n", v.join(" | ")));
    }
    out
}
