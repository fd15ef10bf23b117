//! `spikectl bench sim`: physics speed of the MuJoCo scenes and the real-time factor of the
//! closed loop per solver, measured in one run (ratios are to real time).

use std::time::Instant;

use clap::Args as ClapArgs;
use spikectl::scenario::controllers::{ControllerChoice, arm_controller, quadruped_controller};
use spikectl::scenario::{Robot, RunConfig, Scenario, ScenarioKind, run_arm, run_quadruped};
use spikectl_robot::robots::{ARM_SCENE, GO1, PANDA};
use spikectl_sim::arm::ArmSim;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::QuadrupedSim;

/// Arguments of `spikectl bench sim`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Simulated seconds per closed-loop run.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Physics steps timed per scene (physics only, zero torques at the standing pose).
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,
    /// Controllers for the closed loop (comma-separated: baseline or any registry solver:
    /// osqp, clarabel, pipg, spiking, loihi2).
    #[arg(long, default_value = "baseline,osqp,pipg,spiking")]
    pub solvers: String,
}

/// Runs the benchmark and prints the table.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.duration > 0.0 && args.steps > 0, "duration and steps must be positive");
    println!("{:<34} {:>12} {:>14} {:>12}", "what", "steps/s", "sim s / wall s", "wall [s]");
    let mut q = QuadrupedSim::new(&GO1, SensorNoise::NONE, 0)?;
    let t0 = Instant::now();
    for _ in 0..args.steps {
        q.step();
        if q.true_state().base_pos[2] < 0.1 {
            q.reset();
        }
    }
    let w = t0.elapsed().as_secs_f64();
    let sps = args.steps as f64 / w;
    println!("{:<34} {:>12.0} {:>13.1}x {:>12.3}", "physics: quadruped (2 ms step)", sps, sps * q.timestep(), w);
    let mut a = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 0)?;
    let t0 = Instant::now();
    for _ in 0..args.steps {
        a.set_torques(&a.bias_torques());
        a.step();
    }
    let w = t0.elapsed().as_secs_f64();
    let sps = args.steps as f64 / w;
    println!("{:<34} {:>12.0} {:>13.1}x {:>12.3}", "physics: arm (1 ms step)", sps, sps * a.timestep(), w);
    for s in super::run::split_specs(&args.solvers) {
        let solver: ControllerChoice = s.parse()?;
        for kind in [ScenarioKind::Trot, ScenarioKind::ForceRamp] {
            let mut sc = Scenario::new(kind);
            sc.duration = args.duration;
            let cfg = RunConfig::new(sc, solver.clone());
            let r = match sc.robot() {
                Robot::Quadruped => run_quadruped(&cfg, quadruped_controller(&solver)?.as_mut())?,
                Robot::Arm => run_arm(&cfg, arm_controller(&solver)?.as_mut())?,
            };
            let m = &r.metrics;
            let label = format!("closed loop: {} {}", sc.name(), solver.name());
            let steps = m.sim_time_s / if sc.robot() == Robot::Quadruped { 0.002 } else { 0.001 };
            println!(
                "{:<34} {:>12.0} {:>13.1}x {:>12.3}",
                label,
                steps / m.wall_time_s,
                m.real_time_factor,
                m.wall_time_s
            );
        }
    }
    Ok(())
}
