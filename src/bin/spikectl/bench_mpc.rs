//! `spikectl bench mpc`: solve latency and iterations of every QP backend on closed-loop-like
//! sequences of MPC problems (quadruped trot with changing command; arm force regulation).
//!
//! The sequences are generated once (closed loop with Clarabel, see `lab::mpc_sim`) and
//! replayed for each solver with its own warm start (previous solution shifted by one step),
//! exactly as the controllers run; solvers are interleaved problem by problem so that load
//! changes on a shared machine hit them alike. Accuracy is the largest first-step input difference from
//! Clarabel solved to 1e-8 on the same QP.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use spikectl::control::arm::ArmControllerConfig;
use spikectl::lab::mpc_sim::{ArmSample, QuadrupedSample, arm_closed_loop, quadruped_closed_loop};
use spikectl::monitor::latency::LatencyStats;
use spikectl::monitor::plot::{Series, line_plot};
use spikectl::mpc::arm::{ArmMpc, ArmMpcConfig};
use spikectl::mpc::quadruped::{QuadrupedMpc, QuadrupedMpcConfig};
use spikectl::mpc::tuning;
use spikectl::qp::registry::SolverSpec;
use spikectl::qp::spiking::{SpikingSettings, SpikingSolver};
use spikectl::qp::{ClarabelSolver, QpSolver, Settings, Solution};

/// Arguments of `spikectl bench mpc`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Quadruped MPC problems in the sequence (one per 25 ms MPC period).
    #[arg(long, default_value_t = 400)]
    pub steps: usize,
    /// Arm MPC problems in the sequence (one per 10 ms MPC period).
    #[arg(long, default_value_t = 400)]
    pub arm_steps: usize,
    /// Comma-separated registry solvers (osqp, clarabel, pipg, spiking [float network, the
    /// MPC's tuning], loihi2 [Loihi 2 fixed point, same tuning]; options as
    /// `loihi2:planes=2`), or spiking-adaptive [float network, the solver's default adaptive
    /// ω]; unknown ones are skipped.
    #[arg(long, default_value = "osqp,pipg,spiking,clarabel")]
    pub solvers: String,
    /// Absolute and relative tolerance given to every solver.
    #[arg(long, default_value_t = 1e-3)]
    pub eps: f64,
    /// Iteration cap.
    #[arg(long, default_value_t = 4000)]
    pub max_iter: usize,
    /// Quadruped MPC horizon (steps).
    #[arg(long, default_value_t = 12)]
    pub horizon: usize,
    /// Passes over each sequence (warm starts carry over between passes).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the solve-time distributions as PNG plots into this folder
    /// (`mpc_latency_quadruped.png`, `mpc_latency_arm.png`: fraction of solves done by a time).
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

/// One solver on one problem family.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// "quadruped" or "arm".
    pub family: String,
    /// Solver name.
    pub solver: String,
    /// QP size.
    pub n: usize,
    /// Constraint rows.
    pub m: usize,
    /// Nonzeros of A.
    pub nnz_a: usize,
    /// Problems solved (status Solved).
    pub solved: usize,
    /// Problems in the sequence.
    pub total: usize,
    /// Solutions used by the controller (solved or close enough).
    pub accepted: usize,
    /// Solve time as reported by the solver [µs].
    pub solve: LatencyStats,
    /// Update + warm start + solve, wall clock [µs].
    pub update_and_solve: LatencyStats,
    /// Iterations p50.
    pub iter_p50: f64,
    /// Iterations p99.
    pub iter_p99: f64,
    /// Iterations max.
    pub iter_max: usize,
    /// Largest first-step input difference from the reference (N for the quadruped, m/s²
    /// for the arm).
    pub max_u0_error: f64,
    /// p99 solve time divided by OSQP's in the same run (if OSQP ran).
    pub p99_ratio_vs_osqp: Option<f64>,
    /// Every solve time [µs], sorted (for the plots; not in the JSON).
    #[serde(skip)]
    pub samples_us: Vec<f64>,
}

/// The family an MPC solver is built for.
#[derive(Clone, Copy)]
enum Family {
    Quadruped,
    Arm,
}

/// The QP solver `name` for `family`, built as the closed loop builds it
/// (`mpc::tuning::quadruped_solver` / `arm_solver`: the MPC's network preset, the
/// quadruped's `loihi2` planes): any registry spec; `spiking-adaptive` is the float network
/// with the solver's default adaptive ω instead of the preset. `None` for unknown names.
fn make_solver(name: &str, family: Family) -> Option<Box<dyn QpSolver>> {
    match name {
        "spiking-adaptive" => Some(Box::new(SpikingSolver::new(SpikingSettings::default()))),
        n => n.parse::<SolverSpec>().ok().map(|spec| match family {
            Family::Quadruped => tuning::quadruped_solver(&spec),
            Family::Arm => tuning::arm_solver(&spec),
        }),
    }
}

fn settings(eps: f64, max_iter: usize) -> Settings {
    Settings { eps_abs: eps, eps_rel: eps, max_iter, ..Settings::default() }
}

fn tight() -> Settings {
    Settings { eps_abs: 1e-8, eps_rel: 1e-8, max_iter: 100_000, ..Settings::default() }
}

struct Acc {
    solve_us: Vec<f64>,
    total_us: Vec<f64>,
    iters: Vec<f64>,
    solved: usize,
    accepted: usize,
    max_err: f64,
}

impl Acc {
    fn new() -> Self {
        Self { solve_us: vec![], total_us: vec![], iters: vec![], solved: 0, accepted: 0, max_err: 0.0 }
    }
    /// Books one solve: its solve time, update+solve time, iterations and status.
    fn record(&mut self, sol: &Solution, total: Duration) {
        self.solve_us.push(sol.solve_time.as_secs_f64() * 1e6);
        self.total_us.push(total.as_secs_f64() * 1e6);
        self.iters.push(sol.iterations as f64);
        if sol.status.is_solved() {
            self.solved += 1;
        }
    }
    fn row(self, family: &str, solver: &str, dims: (usize, usize, usize)) -> BenchRow {
        let mut it = self.iters.clone();
        it.sort_by(f64::total_cmp);
        BenchRow {
            family: family.into(),
            solver: solver.into(),
            n: dims.0,
            m: dims.1,
            nnz_a: dims.2,
            solved: self.solved,
            total: self.solve_us.len(),
            accepted: self.accepted,
            solve: LatencyStats::from_micros(&self.solve_us, None),
            update_and_solve: LatencyStats::from_micros(&self.total_us, None),
            iter_p50: spikectl::monitor::latency::percentile(&it, 50.0),
            iter_p99: spikectl::monitor::latency::percentile(&it, 99.0),
            iter_max: it.last().copied().unwrap_or(0.0) as usize,
            max_u0_error: self.max_err,
            p99_ratio_vs_osqp: None,
            samples_us: {
                let mut v = self.solve_us.clone();
                v.sort_by(f64::total_cmp);
                v
            },
        }
    }
}

fn quad_cfg(horizon: usize, s: Settings) -> QuadrupedMpcConfig {
    QuadrupedMpcConfig { horizon, settings: s, ..QuadrupedMpcConfig::go1() }
}

fn run_quadruped(args: &Args, names: &[&str]) -> anyhow::Result<Vec<BenchRow>> {
    let mut gen_mpc = QuadrupedMpc::new(quad_cfg(args.horizon, tight()), Box::new(ClarabelSolver::new()))?;
    let (samples, _) = quadruped_closed_loop(&mut gen_mpc, args.steps, 0.4)?;
    let mut reference = QuadrupedMpc::new(quad_cfg(args.horizon, tight()), Box::new(ClarabelSolver::new()))?;
    let mut refs = Vec::with_capacity(samples.len());
    for s in &samples {
        reference.update(&s.state, &s.reference, &s.plan)?;
        let off = reference.u_offset(0);
        let x = reference.solve()?.x[off..off + 12].to_vec();
        refs.push(x);
    }
    let mg = reference.config().weight();
    let mut runs = Vec::new();
    for &name in names {
        let Some(solver) = make_solver(name, Family::Quadruped) else { continue };
        let mpc = QuadrupedMpc::new(quad_cfg(args.horizon, settings(args.eps, args.max_iter)), solver)?;
        runs.push((name, mpc, Acc::new()));
    }
    // Interleaved: every solver solves problem k before any solves k + 1, so changes in
    // machine load hit all solvers alike.
    for _ in 0..args.repeat.max(1) {
        for (s, r) in samples.iter().zip(&refs) {
            for (_, mpc, acc) in runs.iter_mut() {
                run_one_quad(mpc, s, r, mg, acc)?;
            }
        }
    }
    Ok(runs
        .into_iter()
        .map(|(name, mpc, acc)| acc.row("quadruped", name, (mpc.n(), mpc.m(), mpc.problem().a.nnz())))
        .collect())
}

fn run_one_quad(mpc: &mut QuadrupedMpc, s: &QuadrupedSample, r: &[f64], mg: f64, acc: &mut Acc) -> anyhow::Result<()> {
    let off = mpc.u_offset(0);
    let t0 = Instant::now();
    mpc.update(&s.state, &s.reference, &s.plan)?;
    let sol = mpc.solve()?;
    let total = t0.elapsed();
    acc.record(sol, total);
    let err = sol.x[off..off + 12].iter().zip(r).map(|(a, b)| (a - b).abs() * mg).fold(0.0, f64::max);
    if mpc.accept(2e-2).is_ok() {
        acc.accepted += 1;
        acc.max_err = acc.max_err.max(err);
    }
    Ok(())
}

fn arm_cfg(s: Settings) -> ArmMpcConfig {
    ArmMpcConfig { settings: s, ..ArmMpcConfig::default() }
}

fn run_arm(args: &Args, names: &[&str]) -> anyhow::Result<Vec<BenchRow>> {
    let ctl = ArmControllerConfig::default();
    let est = spikectl::mpc::arm::ContactEstimator::new(ctl.k_trans[2], ctl.d_trans[2]).model();
    let mut gen_mpc = ArmMpc::new(arm_cfg(tight()), est, Box::new(ClarabelSolver::new()))?;
    let samples = arm_closed_loop(&mut gen_mpc, args.arm_steps, ctl.k_trans, ctl.d_trans)?;
    let mut reference = ArmMpc::new(arm_cfg(tight()), est, Box::new(ClarabelSolver::new()))?;
    let mut refs = Vec::with_capacity(samples.len());
    for s in &samples {
        reference.update(&s.state, &s.reference, &s.model)?;
        let off = reference.acc_col(0);
        refs.push(reference.solve()?.x[off..off + 3].to_vec());
    }
    let mut runs = Vec::new();
    for &name in names {
        let Some(solver) = make_solver(name, Family::Arm) else { continue };
        let mpc = ArmMpc::new(arm_cfg(settings(args.eps, args.max_iter)), est, solver)?;
        runs.push((name, mpc, Acc::new()));
    }
    for _ in 0..args.repeat.max(1) {
        for (s, r) in samples.iter().zip(&refs) {
            for (_, mpc, acc) in runs.iter_mut() {
                run_one_arm(mpc, s, r, acc)?;
            }
        }
    }
    Ok(runs
        .into_iter()
        .map(|(name, mpc, acc)| {
            let p = mpc.problem();
            acc.row("arm", name, (p.n(), p.m(), p.a.nnz()))
        })
        .collect())
}

fn run_one_arm(mpc: &mut ArmMpc, s: &ArmSample, r: &[f64], acc: &mut Acc) -> anyhow::Result<()> {
    let off = mpc.acc_col(0);
    let t0 = Instant::now();
    mpc.update(&s.state, &s.reference, &s.model)?;
    let sol = mpc.solve()?;
    let total = t0.elapsed();
    acc.record(sol, total);
    let err = sol.x[off..off + 3].iter().zip(r).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    if mpc.accept(0.1).is_ok() {
        acc.accepted += 1;
        acc.max_err = acc.max_err.max(err);
    }
    Ok(())
}

fn add_ratios(rows: &mut [BenchRow]) {
    let families: Vec<String> = rows.iter().map(|r| r.family.clone()).collect();
    for fam in families {
        let osqp = rows.iter().find(|r| r.family == fam && r.solver == "osqp").map(|r| r.solve.p99_us);
        if let Some(o) = osqp.filter(|o| *o > 0.0) {
            for r in rows.iter_mut().filter(|r| r.family == fam) {
                r.p99_ratio_vs_osqp = Some(r.solve.p99_us / o);
            }
        }
    }
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.steps == 0 && args.arm_steps == 0 {
        bail!("nothing to run: --steps and --arm-steps are both 0");
    }
    let specs = super::run::split_specs(&args.solvers);
    let names: Vec<&str> = specs.iter().map(String::as_str).collect();
    let skipped: Vec<&str> = names.iter().copied().filter(|n| make_solver(n, Family::Quadruped).is_none()).collect();
    let mut rows = Vec::new();
    if args.steps > 0 {
        rows.extend(run_quadruped(&args, &names).context("quadruped MPC sequence")?);
    }
    if args.arm_steps > 0 {
        rows.extend(run_arm(&args, &names).context("arm MPC sequence")?);
    }
    add_ratios(&mut rows);
    if let Some(dir) = &args.plot {
        for family in ["quadruped", "arm"] {
            let series: Vec<Series> = rows
                .iter()
                .filter(|r| r.family == family && !r.samples_us.is_empty())
                .map(|r| {
                    let n = r.samples_us.len() as f64;
                    let pts = r.samples_us.iter().enumerate().map(|(i, &t)| (t.max(1.0).log10(), (i + 1) as f64 / n));
                    Series::new(r.solver.clone(), pts.collect())
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let path = dir.join(format!("mpc_latency_{family}.png"));
            let title = format!("{family} MPC: fraction of solves done by a time");
            match line_plot(&path, &title, "log10 solve time [µs]", "fraction of solves", &series) {
                Ok(()) => eprintln!("wrote {}", path.display()),
                Err(e) => eprintln!("no plot {}: {e}", path.display()),
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "rows": rows, "skipped": skipped }))?);
        return Ok(());
    }
    println!(
        "MPC solve latency (eps {:.0e}, max_iter {}, warm-started, {} quadruped + {} arm problems)",
        args.eps, args.max_iter, args.steps, args.arm_steps
    );
    println!(
        "{:<10} {:<16} {:>5} {:>5} {:>6} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>11} {:>8}",
        "family",
        "solver",
        "n",
        "m",
        "nnzA",
        "solved",
        "it p50",
        "it p99",
        "it max",
        "p50 µs",
        "p99 µs",
        "max µs",
        "upd+p99",
        "max|Δu0|",
        "p99/osqp"
    );
    for r in &rows {
        println!(
            "{:<10} {:<16} {:>5} {:>5} {:>6} {:>4}/{:<4} {:>8.0} {:>8.0} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>11.2e} {:>8}",
            r.family,
            r.solver,
            r.n,
            r.m,
            r.nnz_a,
            r.solved,
            r.total,
            r.iter_p50,
            r.iter_p99,
            r.iter_max,
            r.solve.p50_us,
            r.solve.p99_us,
            r.solve.max_us,
            r.update_and_solve.p99_us,
            r.max_u0_error,
            r.p99_ratio_vs_osqp.map_or("-".to_string(), |v| format!("{v:.2}"))
        );
    }
    if !skipped.is_empty() {
        println!("not available in this build: {}", skipped.join(", "));
    }
    println!("max|Δu0|: first-step input vs Clarabel at 1e-8 (quadruped: N; arm: m/s²), over accepted solutions");
    for (family, target) in [("quadruped", 1.0), ("arm", 1.5)] {
        if let Some(sp) = rows.iter().find(|r| r.family == family && r.solver == "spiking") {
            println!(
                "target ({family}, spiking float): p99/osqp {} ≤ {target}: {}",
                sp.p99_ratio_vs_osqp.map_or("-".into(), |v| format!("{v:.2}")),
                sp.p99_ratio_vs_osqp.is_some_and(|v| v <= target)
            );
        }
    }
    Ok(())
}
