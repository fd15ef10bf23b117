//! `spikectl run`: the closed-loop main job in the MuJoCo simulator.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, ValueEnum};
use spikectl::neuro::energy::DEFAULT_CPU_WATTS;
use spikectl::qp::registry::Backend;
use spikectl::scenario::controllers::{ControllerChoice, arm_controller_for, quadruped_controller_for};
use spikectl::scenario::output::{side_by_side, write_comparison_plot, write_run};
use spikectl::scenario::{EdpComparison, Robot, RunConfig, RunResult, Scenario, default_noise, run_arm, run_quadruped};
use spikectl_robot::robots::{ArmParams, GO1, PANDA, QuadrupedParams};
use spikectl_sim::noise::SensorNoise;

/// Which robot to run.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RobotArg {
    /// 12-DoF quadruped (scenarios: stand, trot, trot-turn, push).
    Quadruped,
    /// 7-DoF arm at a table (scenarios: force-ramp, force-sine, slide).
    Arm,
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
    /// Controller(s), comma-separated: a registry solver behind the MPC (osqp, clarabel, pipg,
    /// spiking [float network], loihi2 [Loihi 2 fixed point]; options as
    /// `loihi2:planes=2,theta=1e-4`), `baseline` (no MPC), or the shortcuts `both` (loihi2 and
    /// osqp, side by side on the same seed) and `all` (loihi2, spiking, osqp, pipg, baseline).
    #[arg(long, default_value = "both")]
    pub solver: String,
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
    /// Robot description file: YAML (`kind: quadruped` or `kind: arm`; see
    /// robot/descriptions/ for the shipped defaults) or URDF (name ending in `.urdf`): the
    /// simulated robot and the controller's model both come from it.
    #[arg(long = "robot", value_name = "FILE.yaml|FILE.urdf")]
    pub description: Option<PathBuf>,
    /// YAML overlay completing a URDF `--robot` (stance, safe-stop damping, tool …: keys of a
    /// description file that URDF cannot give); without it the shipped defaults.
    #[arg(long = "robot-overlay", value_name = "FILE.yaml", requires = "description")]
    pub overlay: Option<PathBuf>,
    /// Loihi 2 cores the network's work is spread over in the energy and chip-latency
    /// estimates (1–128; more cores: shorter timesteps, longer barrier, more static power).
    #[arg(long = "chip-cores", default_value_t = spikectl::monitor::energy::DEFAULT_CORES)]
    pub chip_cores: usize,
}

/// The controllers of `--solver` (see [`Args::solver`]).
fn parse_controllers(s: &str) -> anyhow::Result<Vec<ControllerChoice>> {
    let mut out = Vec::new();
    for part in split_specs(s) {
        match part.as_str() {
            "both" => out.extend([ControllerChoice::mpc(Backend::Loihi2), ControllerChoice::mpc(Backend::Osqp)]),
            "all" => out.extend([
                ControllerChoice::mpc(Backend::Loihi2),
                ControllerChoice::mpc(Backend::Spiking),
                ControllerChoice::mpc(Backend::Osqp),
                ControllerChoice::mpc(Backend::Pipg),
                ControllerChoice::Baseline,
            ]),
            p => out.push(p.parse().with_context(|| format!("--solver {s:?}"))?),
        }
    }
    anyhow::ensure!(!out.is_empty(), "--solver names no controller");
    Ok(out)
}

/// Splits a comma-separated list of solver specs; the commas inside a spec's options
/// (`loihi2:planes=2,theta=1e-4`) stay with it (an entry with `=` and no `:` continues the
/// previous spec).
pub fn split_specs(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match out.last_mut() {
            Some(last) if part.contains('=') && !part.contains(':') && last.contains(':') => {
                last.push(',');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

/// A folder name for a controller (options spelled without `:`, `,` and `=`).
fn dir_name(c: &ControllerChoice) -> String {
    c.name().replace([':', ','], "_").replace('=', "")
}

fn run_one(robot: Robot, cfg: &RunConfig) -> anyhow::Result<RunResult> {
    Ok(match robot {
        Robot::Quadruped => {
            let mut p = quadruped_controller_for(&cfg.solver, &cfg.quadruped)?;
            run_quadruped(cfg, p.as_mut())?
        }
        Robot::Arm => {
            let mut p = arm_controller_for(&cfg.solver, &cfg.arm)?;
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
    let solvers = parse_controllers(&args.solver)?;
    spikectl::monitor::energy::NeuroCost::loihi2_on(args.chip_cores).context("--chip-cores")?;
    let noise = if args.no_noise { SensorNoise::NONE } else { default_noise(robot) };
    let (mut quadruped, mut arm) = (GO1, PANDA);
    if let Some(path) = &args.description {
        match robot {
            Robot::Quadruped => quadruped = QuadrupedParams::from_file(path, args.overlay.as_deref())?,
            Robot::Arm => arm = ArmParams::from_file(path, args.overlay.as_deref())?,
        }
        eprintln!("robot description {}", path.display());
    }
    let mut results = Vec::new();
    for solver in &solvers {
        let cfg = RunConfig {
            seed: args.seed,
            noise,
            progress: !args.quiet,
            quadruped,
            arm,
            chip_cores: args.chip_cores,
            ..RunConfig::new(scenario, solver.clone())
        };
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
            Some(o) => o.join(format!("{}-{}", scenario.name(), dir_name(solver))),
            None => PathBuf::from("out").join(format!("{}-{}", scenario.name(), dir_name(solver))),
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
        results.push((dir, r));
    }
    anyhow::ensure!(!results.is_empty(), "no solver could run");
    // Estimated chip EDP of every network run against OSQP's measured CPU time, same run.
    let osqp = results.iter().find(|(_, r)| r.metrics.solver == "osqp").map(|(_, r)| r.metrics.clone());
    if let Some(o) = &osqp {
        for (dir, r) in results.iter_mut() {
            r.metrics.edp_vs_baseline = EdpComparison::of(&r.metrics, o, DEFAULT_CPU_WATTS);
            if r.metrics.edp_vs_baseline.is_some() {
                spikectl::monitor::report::write_json(&dir.join("metrics.json"), &r.metrics)?;
            }
        }
    }
    let results: Vec<RunResult> = results.into_iter().map(|(_, r)| r).collect();
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
    let Some(b) = results.iter().find(|r| r.metrics.solver == "osqp") else { return Ok(()) };
    for a in results.iter().filter(|r| r.metrics.energy.solves > 0) {
        let (ta, tb, what) = match robot {
            Robot::Quadruped => (a.metrics.vel_rms_mps, b.metrics.vel_rms_mps, "velocity RMS"),
            Robot::Arm => (a.metrics.force_rms_n, b.metrics.force_rms_n, "force RMS"),
        };
        let same_fall = a.metrics.fell == b.metrics.fell;
        if let (Some(ta), Some(tb)) = (ta, tb) {
            let rel = (ta - tb).abs() / tb.abs().max(1e-12);
            println!(
                "{} vs osqp: {what} differs by {:.1}% (target <= 10%); fall outcome {}",
                a.metrics.solver,
                100.0 * rel,
                if same_fall { "identical" } else { "DIFFERS" }
            );
        }
    }
    Ok(())
}
