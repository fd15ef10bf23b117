//! Diagnostic: the MPC stand on OSQP in MuJoCo.
//!
//! `cargo run --release --example stand_debug -- SECONDS` prints the final trunk height.
//! Environment: `V=1` prints state, commanded and measured foot forces every 24 ms (and roll
//! details between 1.0 and 1.75 s); `NOISE=1` turns the typical sensor noise on; `IS=x`
//! scales the MPC inertia, `WW=x` sets the angular-velocity weights, `WR=x` the roll/pitch
//! weights, `RW=x` the force weight and `KD=x` the stance joint damping (the knobs used to
//! find the inertia fix noted in CHANGELOG.md).
use spikectl::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use spikectl::qp::OsqpSolver;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::QuadrupedSim;
use spikectl_sim::robots::GO1;

fn main() {
    let mut sim = QuadrupedSim::new(
        &GO1,
        if std::env::var("NOISE").is_ok() { SensorNoise::TYPICAL } else { SensorNoise::NONE },
        1,
    )
    .unwrap();
    let mut cfg = QuadrupedControllerConfig::default();
    let envf = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<f64>().ok());
    if let Some(v) = envf("IS") {
        for i in 0..3 {
            cfg.mpc.inertia[i] *= v;
        }
    }
    if let Some(v) = envf("WW") {
        for i in 6..9 {
            cfg.mpc.q_weights[i] = v;
        }
    }
    if let Some(v) = envf("WR") {
        cfg.mpc.q_weights[0] = v;
        cfg.mpc.q_weights[1] = v;
    }
    if let Some(v) = envf("RW") {
        cfg.mpc.r_weight = v;
    }
    if let Some(v) = envf("KD") {
        cfg.kd_stance = v;
    }
    eprintln!("inertia {:?} q {:?}", cfg.mpc.inertia, cfg.mpc.q_weights);
    let mut c = QuadrupedController::new(Box::new(OsqpSolver::new()), cfg).unwrap();
    let cmd = QuadrupedCommand { gait: GaitKind::Stand, ..Default::default() };
    let dur: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let steps = (dur / sim.timestep()).round() as usize;
    for k in 0..steps {
        let s = sim.observe();
        let tau = c.update(&s, &cmd);
        sim.set_torques(&tau);
        sim.step();
        if std::env::var("V").is_ok() && k % 12 == 0 && s.t > 1.0 && s.t < 1.75 {
            let sr = spikectl::mpc::quadruped::SrbState::from_robot(&s).unwrap();
            println!(
                "   rpy {:+.5} {:+.5} {:+.5} w {:+.4} {:+.4} {:+.4} q0 {:+.4} {:+.4} {:+.4} {:+.4}",
                sr.rpy[0], sr.rpy[1], sr.rpy[2], sr.omega[0], sr.omega[1], sr.omega[2], s.q[0], s.q[3], s.q[6], s.q[9]
            );
            let f = c.forces();
            let fm = sim.foot_normal_forces();
            println!(
                "t {:.3} z {:.3} vz {:+.3} vy {:+.3} | fz {:5.1} {:5.1} {:5.1} {:5.1} sum {:5.1} fy {:+5.1} {:+5.1} {:+5.1} {:+5.1} | meas {:5.1} {:5.1} {:5.1} {:5.1} | tau {:+5.1} {:+5.1} {:+5.1}",
                s.t,
                s.base_pos[2],
                s.base_linvel[2],
                s.base_linvel[1],
                f[0][2],
                f[1][2],
                f[2][2],
                f[3][2],
                f.iter().map(|x| x[2]).sum::<f64>(),
                f[0][1],
                f[1][1],
                f[2][1],
                f[3][1],
                fm[0],
                fm[1],
                fm[2],
                fm[3],
                tau[0],
                tau[1],
                tau[2]
            );
        }
    }
    println!("final trunk height {:.3} m", sim.true_state().base_pos[2]);
}
