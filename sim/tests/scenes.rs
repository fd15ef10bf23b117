//! Behaviour of the generated scenes: loading, gravity, standing, contacts, the arm's
//! force/torque sensor, and determinism.

use spikectl_sim::arm::ArmSim;
use spikectl_sim::mjcf;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::{Push, QuadrupedSim, tilt_angle};
use spikectl_sim::robots::{ARM_SCENE, GO1, PANDA};
use spikectl_sim::state::QuadrupedState;

/// Joint PD about the standing posture [N·m].
fn pd_stand(s: &QuadrupedState) -> [f64; 12] {
    let mut tau = [0.0; 12];
    for i in 0..12 {
        let qd = GO1.stand_q[i % 3];
        tau[i] = 60.0 * (qd - s.q[i]) - 2.0 * s.qd[i];
    }
    tau
}

#[test]
fn models_load_with_expected_sizes() {
    let q = QuadrupedSim::new(&GO1, SensorNoise::NONE, 0).unwrap();
    assert_eq!(q.timestep(), mjcf::QUADRUPED_TIMESTEP);
    let m = q.data().model();
    assert_eq!((m.ffi().nq, m.ffi().nv, m.ffi().nu), (19, 18, 12));
    let total: f64 = m.body_mass().iter().sum();
    assert!((total - GO1.total_mass()).abs() < 1e-9, "mass {total}");
    let a = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 0).unwrap();
    assert_eq!(a.timestep(), mjcf::ARM_TIMESTEP);
    let total: f64 = a.data().model().body_mass().iter().sum();
    let expect: f64 = PANDA.link_masses.iter().sum::<f64>() + PANDA.tool_mass;
    assert!((total - expect).abs() < 1e-9);
}

#[test]
fn arm_kinematics_match_the_dh_table_at_zero() {
    // At q = 0 the Craig DH chain puts the flange at x = a4 − a5 + a7 = 0.088 and
    // z = d1 + d3 + d5 − d_flange = 0.333 + 0.316 + 0.384 − 0.107 = 0.926 (frame 7 points down).
    let mut a = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 0).unwrap();
    a.set_q(&[0.0; 7]);
    let f = a.flange_pos();
    assert!((f[0] - 0.088).abs() < 1e-9 && f[1].abs() < 1e-9 && (f[2] - 0.926).abs() < 1e-9, "{f:?}");
    let t = a.tip_pos();
    assert!((t[2] - (0.926 - PANDA.tool_length)).abs() < 1e-9, "{t:?}");
}

#[test]
fn gravity_drop_follows_free_fall() {
    let mut q = QuadrupedSim::new(&GO1, SensorNoise::NONE, 0).unwrap();
    q.set_base_pose([0.0, 0.0, 1.5], [1.0, 0.0, 0.0, 0.0]);
    let z0 = q.com()[2];
    let n = 100; // 0.2 s
    q.step_n(n);
    let t = n as f64 * q.timestep();
    let z = q.com()[2];
    let expect = z0 - 0.5 * 9.81 * t * t;
    // Semi-implicit Euler drifts by g·t·dt/2 ≈ 2 mm over 0.2 s.
    assert!((z - expect).abs() < 4e-3, "z {z} expected {expect}");
    assert!(q.true_state().foot_contact.iter().all(|c| !c));
}

#[test]
fn joint_pd_keeps_the_quadruped_standing_and_feet_in_contact() {
    let mut q = QuadrupedSim::new(&GO1, SensorNoise::NONE, 0).unwrap();
    let h_rest = mjcf::quadruped_rest_height(&GO1);
    for _ in 0..1000 {
        let s = q.true_state();
        q.set_torques(&pd_stand(&s));
        q.step();
    }
    let s = q.true_state();
    assert!((s.base_pos[2] - h_rest).abs() < 0.04, "height {} vs {h_rest}", s.base_pos[2]);
    assert!(tilt_angle(&s.base_quat) < 0.05);
    assert_eq!(s.foot_contact, [true; 4]);
    let fz: f64 = q.foot_normal_forces().iter().sum();
    let w = GO1.total_mass() * 9.81;
    assert!((fz - w).abs() < 0.05 * w, "feet carry {fz} N, weight {w} N");
}

#[test]
fn push_moves_the_trunk_sideways() {
    let mut q = QuadrupedSim::new(&GO1, SensorNoise::NONE, 0).unwrap();
    q.add_push(Push { start: 0.5, duration: 0.1, force: [0.0, 40.0, 0.0] });
    let mut peak_vy: f64 = 0.0;
    for _ in 0..500 {
        let s = q.true_state();
        peak_vy = peak_vy.max(s.base_linvel[1]);
        q.set_torques(&pd_stand(&s));
        q.step();
        // The force applied during the step that started at s.t.
        let expect = if (0.5..0.6).contains(&s.t) { 40.0 } else { 0.0 };
        assert_eq!(q.push_force()[1], expect, "t = {}", s.t);
    }
    assert!(peak_vy > 0.05, "peak lateral velocity {peak_vy}");
    assert_eq!(q.push_force(), [0.0; 3]);
}

#[test]
fn arm_sensor_reads_a_known_contact_force_with_positive_z() {
    let mut a = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 0).unwrap();
    let q0 = a.inverse_kinematics([0.5, 0.0, ARM_SCENE.table_top_z + 0.002]);
    let p = a.tip_pos();
    assert!((p[0] - 0.5).abs() < 1e-6 && p[1].abs() < 1e-6, "ik reached {p:?}");
    a.set_q(&q0);
    // In the air (tip 2 mm above the table), gravity compensated: the sensor reads ~0.
    a.set_torques(&a.bias_torques());
    a.step();
    let (f_air, _) = a.sensor_wrench();
    assert!(f_air.iter().all(|v| v.abs() < 0.05), "free tool reads {f_air:?}");
    // Hold the posture and push down with 10 N through Jᵀ F.
    let push = [0.0, 0.0, -10.0];
    for _ in 0..1500 {
        let s = a.true_state();
        let j = a.tip_jacobian();
        let g = a.bias_torques();
        let mut tau = [0.0; 7];
        for i in 0..7 {
            let jt_f: f64 = (0..3).map(|r| j[r][i] * push[r]).sum();
            tau[i] = g[i] + jt_f + 5.0 * (q0[i] - s.q[i]) - 2.0 * s.qd[i];
        }
        a.set_torques(&tau);
        a.step();
    }
    let s = a.true_state();
    let c = a.table_contact_force();
    assert!(a.tip_in_contact());
    assert!((s.wrench_force[2] - 10.0).abs() < 1.0, "sensor {:?}", s.wrench_force);
    for k in 0..3 {
        assert!((s.wrench_force[k] - c[k]).abs() < 0.1, "sensor {:?} vs contacts {c:?}", s.wrench_force);
    }
}

fn run_noisy(seed: u64) -> Vec<QuadrupedState> {
    let mut q = QuadrupedSim::new(&GO1, SensorNoise::TYPICAL, seed).unwrap();
    q.add_push(Push { start: 0.2, duration: 0.1, force: [0.0, 40.0, 0.0] });
    let mut out = Vec::new();
    for _ in 0..300 {
        let s = q.observe();
        out.push(s);
        q.set_torques(&pd_stand(&s));
        q.step();
    }
    out
}

#[test]
fn same_seed_gives_identical_trajectories() {
    let a = run_noisy(7);
    let b = run_noisy(7);
    assert_eq!(a, b);
    let c = run_noisy(8);
    assert_ne!(a, c);
}

#[test]
fn dropout_repeats_the_previous_packet() {
    let noise = SensorNoise { dropout: 0.5, ..SensorNoise::NONE };
    let mut q = QuadrupedSim::new(&GO1, noise, 3).unwrap();
    let mut repeats = 0;
    let mut prev = q.observe();
    for _ in 0..200 {
        q.step();
        let s = q.observe();
        if s.t == prev.t {
            repeats += 1;
            assert_eq!(s, prev);
        }
        prev = s;
    }
    assert!((60..140).contains(&repeats), "{repeats} repeats");
    assert!(q.dropouts() >= repeats as u64);
}
