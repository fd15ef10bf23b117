//! Kinematics and controllers checked against the MuJoCo scenes built from the same
//! robot constants (spikectl-sim): arm forward kinematics, Jacobian and gravity torques
//! against MuJoCo's; quadruped standing/trotting and arm force regulation in closed loop.

use spikectl::control::arm::{ArmCommand, ArmController, ArmControllerConfig, ArmPhase};
use spikectl::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use spikectl::model::arm_kin::ArmModel;
use spikectl::qp::OsqpSolver;
use spikectl_sim::arm::ArmSim;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::QuadrupedSim;
use spikectl_sim::robots::{ARM_SCENE, GO1, PANDA};

#[test]
fn arm_model_matches_mujoco() {
    let mut sim = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 1).expect("arm scene");
    let model = ArmModel::default();
    let qs = [PANDA.q_nominal, [0.4, 0.2, -0.3, -1.5, 0.6, 1.2, -0.4], [-1.0, 0.8, 0.9, -2.6, -1.2, 2.5, 1.5]];
    for q in &qs {
        sim.set_q(q);
        let p = model.tcp_pose(q).translation.vector;
        let tip = sim.tip_pos();
        for k in 0..3 {
            assert!((p[k] - tip[k]).abs() < 1e-9, "tip {k}: {} vs {}", p[k], tip[k]);
        }
        let j = model.jacobian(q);
        let jm = sim.tip_jacobian();
        for r in 0..3 {
            for c in 0..7 {
                assert!((j[(r, c)] - jm[r][c]).abs() < 1e-9, "J[{r},{c}]");
            }
        }
        let g = model.gravity_torques(q);
        let b = sim.bias_torques();
        for k in 0..7 {
            assert!((g[k] - b[k]).abs() < 1e-6, "gravity joint {k}: {} vs {}", g[k], b[k]);
        }
    }
}

#[test]
fn arm_presses_and_slides_on_the_mujoco_table() {
    let mut sim = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 2).expect("arm scene");
    let mut ctl = ArmController::new(Box::new(OsqpSolver::new()), ArmControllerConfig::default()).expect("arm");
    let cmd = ArmCommand { normal_force: 10.0, tangent_velocity: [0.03, 0.0], target_xy: None };
    let steps = (7.0 / sim.timestep()) as usize;
    let mut tail = Vec::new();
    for s in 0..steps {
        let st = sim.true_state();
        let tau = ctl.update(&st, &cmd);
        sim.set_torques(&tau);
        sim.step();
        if s > steps - 1000 {
            tail.push(sim.table_contact_force()[2]);
        }
    }
    assert_eq!(ctl.planner().phase(), ArmPhase::Contact);
    let mean = tail.iter().sum::<f64>() / tail.len() as f64;
    assert!((mean - 10.0).abs() < 1.0, "mean contact force {mean}");
    let c = ctl.counters();
    assert_eq!(c.invalid_inputs, 0);
    assert!(c.fallbacks * 20 <= c.solves, "{c:?}");
}

#[test]
fn quadruped_stands_and_trots_in_mujoco() {
    let mut sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 3).expect("quadruped scene");
    let mut ctl = QuadrupedController::new(Box::new(OsqpSolver::new()), QuadrupedControllerConfig::default())
        .expect("controller");
    let dt = sim.timestep();
    let steps = (4.0 / dt) as usize;
    let mut vx = Vec::new();
    for s in 0..steps {
        let t = s as f64 * dt;
        let cmd = QuadrupedCommand {
            vx: if t > 1.0 { 0.4 } else { 0.0 },
            vy: 0.0,
            yaw_rate: 0.0,
            body_height: GO1.stand_height,
            gait: if t > 0.5 { GaitKind::Trot } else { GaitKind::Stand },
        };
        let st = sim.true_state();
        let tau = ctl.update(&st, &cmd);
        sim.set_torques(&tau);
        sim.step();
        if t > 2.5 {
            vx.push(sim.true_state().base_linvel[0]);
        }
    }
    let st = sim.true_state();
    assert!((st.base_pos[2] - GO1.stand_height).abs() < 0.05, "height {}", st.base_pos[2]);
    let mean_vx = vx.iter().sum::<f64>() / vx.len() as f64;
    assert!((mean_vx - 0.4).abs() < 0.06, "mean vx {mean_vx}");
    let (w, x, y, z) = (st.base_quat[0], st.base_quat[1], st.base_quat[2], st.base_quat[3]);
    let tilt = 2.0 * (x * x + y * y).sqrt().atan2((w * w + z * z).sqrt());
    assert!(tilt < 0.2, "tilt {tilt}");
    let c = ctl.counters();
    assert_eq!(c.fallbacks, 0, "{c:?}");
}

#[test]
fn quadruped_turns_in_place_in_mujoco() {
    let mut sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 4).expect("quadruped scene");
    let mut ctl = QuadrupedController::new(Box::new(OsqpSolver::new()), QuadrupedControllerConfig::default())
        .expect("controller");
    let dt = sim.timestep();
    let mut yaw_unwrapped = 0.0;
    let mut last_yaw = 0.0;
    for s in 0..(3.0 / dt) as usize {
        let t = s as f64 * dt;
        let cmd = QuadrupedCommand {
            yaw_rate: if t > 1.0 { 0.6 } else { 0.0 },
            gait: if t > 0.5 { GaitKind::Trot } else { GaitKind::Stand },
            ..Default::default()
        };
        let st = sim.true_state();
        let tau = ctl.update(&st, &cmd);
        sim.set_torques(&tau);
        sim.step();
        let q = st.base_quat;
        let yaw = (2.0 * (q[0] * q[3] + q[1] * q[2])).atan2(1.0 - 2.0 * (q[2] * q[2] + q[3] * q[3]));
        let mut d = yaw - last_yaw;
        if d > std::f64::consts::PI {
            d -= std::f64::consts::TAU;
        } else if d < -std::f64::consts::PI {
            d += std::f64::consts::TAU;
        }
        yaw_unwrapped += d;
        last_yaw = yaw;
    }
    // 0.6 rad/s for 2 s.
    assert!((yaw_unwrapped - 1.2).abs() < 0.25, "yaw {yaw_unwrapped}");
    let st = sim.true_state();
    assert!((st.base_pos[0].powi(2) + st.base_pos[1].powi(2)).sqrt() < 0.15, "drift {:?}", st.base_pos);
}

#[test]
fn both_controllers_cope_with_typical_sensor_noise_and_dropouts() {
    let mut sim = QuadrupedSim::new(&GO1, SensorNoise::TYPICAL, 11).expect("quadruped scene");
    let mut ctl = QuadrupedController::new(Box::new(OsqpSolver::new()), QuadrupedControllerConfig::default())
        .expect("controller");
    let dt = sim.timestep();
    let mut vx = Vec::new();
    for s in 0..(4.0 / dt) as usize {
        let t = s as f64 * dt;
        let cmd = QuadrupedCommand {
            vx: if t > 1.0 { 0.4 } else { 0.0 },
            gait: if t > 0.5 { GaitKind::Trot } else { GaitKind::Stand },
            ..Default::default()
        };
        let st = sim.observe();
        let tau = ctl.update(&st, &cmd);
        sim.set_torques(&tau);
        sim.step();
        if t > 2.5 {
            vx.push(sim.true_state().base_linvel[0]);
        }
    }
    let mean_vx = vx.iter().sum::<f64>() / vx.len() as f64;
    assert!((mean_vx - 0.4).abs() < 0.08, "noisy quadruped mean vx {mean_vx}");
    assert_eq!(ctl.counters().fallbacks, 0);

    let mut sim = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::TYPICAL, 12).expect("arm scene");
    let mut ctl = ArmController::new(Box::new(OsqpSolver::new()), ArmControllerConfig::default()).expect("arm");
    let cmd = ArmCommand { normal_force: 10.0, tangent_velocity: [0.03, 0.0], target_xy: None };
    let steps = (7.0 / sim.timestep()) as usize;
    let mut tail = Vec::new();
    for s in 0..steps {
        let st = sim.observe();
        let tau = ctl.update(&st, &cmd);
        sim.set_torques(&tau);
        sim.step();
        if s > steps - 1000 {
            tail.push(sim.table_contact_force()[2]);
        }
    }
    let mean = tail.iter().sum::<f64>() / tail.len() as f64;
    assert!((mean - 10.0).abs() < 1.0, "noisy arm mean force {mean}");
}
