//! Arm force control: the admittance planner and MPC on a point-mass tool pressing on a
//! spring-damper table; the full torque controller's statics and bad-input handling.

use nalgebra::Vector3;
use spikectl::control::arm::{AdmittancePlanner, ArmCommand, ArmController, ArmControllerConfig, ArmPhase};
use spikectl::lab::mpc_sim::ToolSim;
use spikectl::model::arm_kin::ArmModel;
use spikectl::qp::{OsqpSolver, QpSolver};
use spikectl_sim::robots::{ARM_SCENE, PANDA};
use spikectl_sim::state::ArmState;

struct Run {
    forces: Vec<f64>,
    vx: Vec<f64>,
    pos: Vec<Vector3<f64>>,
    planner: AdmittancePlanner,
}

fn run(solver: Box<dyn QpSolver>, cmd: ArmCommand, seconds: f64, table_k: f64) -> Run {
    let cfg = ArmControllerConfig::default();
    let (k, d) = (Vector3::from(cfg.k_trans), Vector3::from(cfg.d_trans));
    let mut planner = AdmittancePlanner::new(solver, cfg).expect("planner");
    let mut tool = ToolSim {
        mass: 3.0,
        table_z: ARM_SCENE.table_top_z,
        table_k,
        table_d: 50.0,
        pos: Vector3::new(0.5, 0.0, ARM_SCENE.table_top_z + 0.04),
        vel: Vector3::zeros(),
        friction: 5.0,
    };
    let h = 0.001;
    let steps = (seconds / h) as usize;
    let (mut forces, mut vx, mut pos) = (Vec::new(), Vec::new(), Vec::new());
    for s in 0..steps {
        let t = s as f64 * h;
        let fc = tool.contact_force();
        let (c, vc) = planner.step(t, &tool.pos, fc, &cmd);
        let f = (c - tool.pos).component_mul(&k) + (vc - tool.vel).component_mul(&d);
        for _ in 0..4 {
            tool.step(&f, h / 4.0);
        }
        forces.push(fc);
        vx.push(tool.vel.x);
        pos.push(tool.pos);
    }
    Run { forces, vx, pos, planner }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn approaches_makes_contact_and_regulates_force_while_sliding() {
    let cmd = ArmCommand { normal_force: 10.0, tangent_velocity: [0.05, 0.0], target_xy: None };
    let r = run(Box::new(OsqpSolver::new()), cmd, 4.0, 2e4);
    assert_eq!(r.planner.phase(), ArmPhase::Contact);
    let n = r.forces.len();
    let tail = &r.forces[n - 1000..];
    let f_mean = mean(tail);
    assert!((f_mean - 10.0).abs() < 0.2, "mean force {f_mean}");
    let f_max = r.forces.iter().cloned().fold(0.0, f64::max);
    assert!(f_max < 40.0, "peak force {f_max}");
    let v_mean = mean(&r.vx[n - 1000..]);
    assert!((v_mean - 0.05).abs() < 0.005, "tangential velocity {v_mean}");
    // Surface found where the table is.
    assert!((r.planner.surface_z() - ARM_SCENE.table_top_z).abs() < 0.005);
    // Effective stiffness learnt: impedance (1000 N/m) in series with the table (2e4 N/m).
    let k_eff = 1.0 / (1.0 / 1000.0 + 1.0 / 2e4);
    let est = r.planner.estimator().model();
    assert!(est.stiffness > 0.8 * k_eff && est.stiffness < 1.25 * k_eff, "{est:?} vs {k_eff}");
    let recs = r.planner.counters();
    assert!(recs.solves > 150 && recs.fallbacks == 0, "{recs:?}");
}

#[test]
fn goes_to_target_point_and_holds_it_within_the_workspace() {
    let cmd = ArmCommand { normal_force: 5.0, tangent_velocity: [0.0, 0.0], target_xy: Some([0.6, 0.1]) };
    let r = run(Box::new(OsqpSolver::new()), cmd, 8.0, 5e4);
    assert_eq!(r.planner.phase(), ArmPhase::Contact);
    let p = r.pos.last().expect("ran");
    assert!((p.x - 0.6).abs() < 0.01 && (p.y - 0.1).abs() < 0.01, "end position {p:?}");
    let n = r.forces.len();
    let f_mean = mean(&r.forces[n - 500..]);
    assert!((f_mean - 5.0).abs() < 0.5, "mean force {f_mean}");
}

#[test]
fn first_tick_holds_gravity_and_bad_input_is_safe() {
    let mut ctl = ArmController::new(Box::new(OsqpSolver::new()), ArmControllerConfig::default()).expect("arm");
    let model = ArmModel::default();
    let st = ArmState { t: 0.0, q: PANDA.q_nominal, ..Default::default() };
    let cmd = ArmCommand { normal_force: 5.0, ..Default::default() };
    let tau = ctl.update(&st, &cmd);
    let g = model.gravity_torques(&PANDA.q_nominal);
    // At rest at the command point, the translational and null-space terms vanish; what is
    // left is gravity plus the orientation correction towards "tool down".
    let j = model.jacobian(&PANDA.q_nominal);
    let r = model.tcp_pose(&PANDA.q_nominal).rotation;
    let z_tool = r * Vector3::z();
    let tilt = z_tool.angle(&-Vector3::z());
    let rot_bound = ArmControllerConfig::default().k_rot * tilt * j.fixed_rows::<3>(3).abs().max() * 3.0 + 1e-6;
    for k in 0..7 {
        assert!((tau[k] - g[k]).abs() <= rot_bound, "joint {k}: {} vs {} (tilt {tilt})", tau[k], g[k]);
    }
    let bad = ArmState { q: [f64::NAN; 7], qd: [f64::INFINITY; 7], ..st };
    let tau = ctl.update(&bad, &cmd);
    assert!(tau.iter().all(|v| v.is_finite()));
    let bad_cmd = ArmCommand { normal_force: f64::NAN, ..cmd };
    assert!(ctl.update(&st, &bad_cmd).iter().all(|v| v.is_finite()));
    let c = ctl.counters();
    assert_eq!((c.updates, c.invalid_inputs), (3, 2));
    for (k, t) in tau.iter().enumerate() {
        assert!(t.abs() <= PANDA.torque_limits[k]);
    }
}

/// In MuJoCo, sliding at 5 cm/s under 10 N: the controller's friction estimate (from the
/// wrench sensor) converges to the table's μ, and the feed-forward it drives keeps the tip
/// moving at the commanded speed once it has broken away.
#[test]
fn friction_estimate_converges_to_the_table_friction_while_sliding() {
    use spikectl_sim::arm::ArmSim;
    use spikectl_sim::mjcf::TABLE_FRICTION;
    use spikectl_sim::noise::SensorNoise;
    let mut sim = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::ARM_TYPICAL, 3).expect("sim");
    sim.inverse_kinematics([0.5, 0.0, ARM_SCENE.table_top_z + 0.01]);
    let mut ctl = ArmController::new(Box::new(OsqpSolver::new()), ArmControllerConfig::default()).expect("arm");
    assert_eq!(ctl.friction_estimate(), 0.0);
    let mut vx = Vec::new();
    for k in 0..3000 {
        let t = sim.time();
        let cmd = ArmCommand {
            normal_force: 10.0,
            tangent_velocity: if t < 1.0 { [0.0; 2] } else { [0.05, 0.0] },
            target_xy: None,
        };
        let s = sim.observe();
        let tau = ctl.update(&s, &cmd);
        sim.set_torques(&tau);
        sim.step();
        if k >= 2500 {
            vx.push(sim.tip_vel()[0]);
        }
    }
    assert_eq!(ctl.planner().phase(), ArmPhase::Contact);
    let mu = ctl.friction_estimate();
    assert!((mu - TABLE_FRICTION).abs() < 0.03, "μ̂ = {mu:.3}, table μ = {TABLE_FRICTION}");
    let v = mean(&vx);
    assert!((v - 0.05).abs() < 0.005, "mean tip speed {v:.4} m/s over the last 0.5 s");
}
