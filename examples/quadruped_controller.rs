//! Using the quadruped controller from another crate: the MPC on the spiking solver driving
//! the MuJoCo Go1-like robot, without the scenario runner.
//!
//! `cargo run --release --example quadruped_controller` — stands for 1 s, then trots at
//! 0.3 m/s; every 0.5 s it prints the trunk height, the forward speed and the MPC solves of
//! that half second (iterations, CPU time, estimated neuromorphic energy).
use spikectl::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use spikectl::monitor::energy::NeuroCost;
use spikectl::qp::spiking::SpikingSolver;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::QuadrupedSim;
use spikectl_sim::robots::GO1;

fn main() -> anyhow::Result<()> {
    let mut sim = QuadrupedSim::new(&GO1, SensorNoise::TYPICAL, 1)?;
    // The MPC settings the runner uses: constant ω and ρ tuned for the quadruped MPC.
    let solver = SpikingSolver::new(spikectl::mpc::tuning::quadruped_spiking());
    let mut ctrl = QuadrupedController::new(Box::new(solver), QuadrupedControllerConfig::default())?;
    let cost = NeuroCost::loihi2_default();
    // Control at 500 Hz on the 2 ms physics step.
    let every = ((0.002 / sim.timestep()).round() as usize).max(1);
    let steps = (3.0 / sim.timestep()).round() as usize;
    for k in 0..steps {
        let t = sim.time();
        if k % every == 0 {
            let cmd = if t < 1.0 {
                QuadrupedCommand { gait: GaitKind::Stand, ..Default::default() }
            } else {
                QuadrupedCommand { vx: 0.3, gait: GaitKind::Trot, ..Default::default() }
            };
            let tau = ctrl.update(&sim.observe(), &cmd);
            sim.set_torques(&tau);
        }
        sim.step();
        if (k + 1) % (0.5 / sim.timestep()).round() as usize == 0 {
            let s = sim.true_state();
            let recs = ctrl.take_solve_records();
            let n = recs.len().max(1) as f64;
            let iters = recs.iter().map(|r| r.iterations as f64).sum::<f64>() / n;
            let cpu_us = recs.iter().map(|r| r.solve_time.as_secs_f64() * 1e6).sum::<f64>() / n;
            let uj =
                recs.iter().filter_map(|r| r.ops.as_ref()).map(|o| cost.estimate(o).energy_j * 1e6).sum::<f64>() / n;
            println!(
                "t {:.1} s: height {:.3} m, vx {:+.2} m/s; {} MPC solves, mean {:.0} iterations, {:.0} µs CPU, {:.1} µJ est.",
                s.t,
                s.base_pos[2],
                s.base_linvel[0],
                recs.len(),
                iters,
                cpu_us,
                uj
            );
        }
    }
    let c = ctrl.counters();
    println!(
        "controller: {} updates, {} solves, {} fallbacks, {} invalid inputs",
        c.updates, c.solves, c.fallbacks, c.invalid_inputs
    );
    Ok(())
}
