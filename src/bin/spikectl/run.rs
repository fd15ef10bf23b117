//! `spikectl run`: the closed-loop main job in the MuJoCo simulator.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, ValueEnum};
use spikectl::scenario::output::{side_by_side, write_comparison_plot, write_run};
use spikectl::scenario::policy::{SolverChoice, make_arm_policy, make_quadruped_policy};
use spikectl::scenario::{Robot, RunConfig, RunResult, Scenario, default_noise, run_arm, run_quadruped};
use spikectl_sim::noise::SensorNoise;

/// Which robot to run.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RobotArg {
    /// 12-DoF quadruped (scenarios: stand, trot, trot-turn, push).
    Quadruped,
    /// 7-DoF arm at a table (scenarios: force-ramp, force-sine, slide).
    Arm,
}

/// Which solver(s).
#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum SolverArg {
    /// Spiking PIPG on the simulated neuromorphic substrate.
    Spiking,
    /// OSQP.
    Osqp,
    /// Floating-point PIPG.
    Pipg,
    /// Spiking and OSQP on the same scenario and seed, side by side.
    Both,
    /// Every available solver plus the baseline controller.
    All,
    /// No MPC: joint-PD stand (quadruped) / force PI (arm).
    Baseline,
}

/// Arguments of `spikectl run`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Robot.
    #[arg(value_enum)]
    pub robot: RobotArg,
    /// Scenario (quadruped: stand, trot, trot-turn, push; arm: force-ramp, force-sine, slide).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Solver behind the MPC.
    #[arg(long, value_enum, default_value = "both")]
    pub solver: SolverArg,
    /// Output folder (default out/<scenario>-<solver>/ per run).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Simulated duration [s] (default: the scenario's).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seed of sensor noise and dropout.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Turn sensor noise and dropout off.
    #[arg(long)]
    pub no_noise: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn run_one(robot: Robot, cfg: &RunConfig) -> anyhow::Result<RunResult> {
    Ok(match robot {
        Robot::Quadruped => {
            let mut p = make_quadruped_policy(cfg.solver)?;
            run_quadruped(cfg, p.as_mut())?
        }
        Robot::Arm => {
            let mut p = make_arm_policy(cfg.solver)?;
            run_arm(cfg, p.as_mut())?
        }
    })
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let robot = match args.robot {
        RobotArg::Quadruped => Robot::Quadruped,
        RobotArg::Arm => Robot::Arm,
    };
    let mut scenario = Scenario::parse(robot, args.scenario.as_deref())?;
    if let Some(d) = args.duration {
        anyhow::ensure!(d.is_finite() && d > 0.0, "--duration must be positive, got {d}");
        scenario.duration = d;
    }
    let solvers: Vec<SolverChoice> = match args.solver {
        SolverArg::Spiking => vec![SolverChoice::Spiking],
        SolverArg::Osqp => vec![SolverChoice::Osqp],
        SolverArg::Pipg => vec![SolverChoice::Pipg],
        SolverArg::Baseline => vec![SolverChoice::Baseline],
        SolverArg::Both => vec![SolverChoice::Spiking, SolverChoice::Osqp],
        SolverArg::All => vec![SolverChoice::Spiking, SolverChoice::Osqp, SolverChoice::Pipg, SolverChoice::Baseline],
    };
    let noise = if args.no_noise { SensorNoise::NONE } else { default_noise(robot) };
    let mut results = Vec::new();
    for &solver in &solvers {
        let cfg = RunConfig { scenario, solver, seed: args.seed, noise, progress: !args.quiet };
        let r = match run_one(robot, &cfg) {
            Ok(r) => r,
            Err(e) if solvers.len() > 1 => {
                eprintln!("skipping {}: {e:#}", solver.name());
                continue;
            }
            Err(e) => return Err(e),
        };
        let dir = match &args.out {
            Some(o) if solvers.len() == 1 => o.clone(),
            Some(o) => o.join(format!("{}-{}", scenario.name(), solver.name())),
            None => PathBuf::from("out").join(format!("{}-{}", scenario.name(), solver.name())),
        };
        let (files, warnings) = write_run(&dir, &r).with_context(|| format!("writing {}", dir.display()))?;
        for w in warnings {
            eprintln!("warning: plot skipped: {w}");
        }
        eprintln!(
            "{} / {}: {:.1} s simulated in {:.2} s wall ({:.1}x real time) -> {} ({} files)",
            scenario.name(),
            solver.name(),
            r.metrics.sim_time_s,
            r.metrics.wall_time_s,
            r.metrics.real_time_factor,
            dir.display(),
            files.len()
        );
        results.push(r);
    }
    anyhow::ensure!(!results.is_empty(), "no solver could run");
    let refs: Vec<&RunResult> = results.iter().collect();
    if refs.len() > 1 {
        let dir = match &args.out {
            Some(o) => o.clone(),
            None => PathBuf::from("out").join(format!("{}-compare", scenario.name())),
        };
        let (col, title, ylab) = match robot {
            Robot::Quadruped => ("vx", "Forward velocity, side by side", "m/s"),
            Robot::Arm => ("fz", "Normal contact force, side by side", "N"),
        };
        std::fs::create_dir_all(&dir)?;
        if let Err(e) = write_comparison_plot(&dir.join(format!("compare_{col}.png")), title, ylab, col, &refs) {
            eprintln!("warning: comparison plot skipped: {e}");
        }
        let metrics: Vec<_> = results.iter().map(|r| &r.metrics).collect();
        spikectl::monitor::report::write_json(&dir.join("compare.json"), &metrics)?;
    }
    println!("{}", side_by_side(&refs));
    let find = |name: &str| results.iter().find(|r| r.metrics.solver == name);
    if let (Some(a), Some(b)) = (find("spiking"), find("osqp")) {
        let (ta, tb, what) = match robot {
            Robot::Quadruped => (a.metrics.vel_rms_mps, b.metrics.vel_rms_mps, "velocity RMS"),
            Robot::Arm => (a.metrics.force_rms_n, b.metrics.force_rms_n, "force RMS"),
        };
        let same_fall = a.metrics.fell == b.metrics.fell;
        if let (Some(ta), Some(tb)) = (ta, tb) {
            let rel = (ta - tb).abs() / tb.abs().max(1e-12);
            println!(
                "spiking vs osqp: {what} differs by {:.1}% (target <= 10%); fall outcome {}",
                100.0 * rel,
                if same_fall { "identical" } else { "DIFFERS" }
            );
        }
    }
    Ok(())
}
