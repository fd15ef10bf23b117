//! Quadruped controller in closed loop on a rigid-body model with kinematic legs: the joint
//! torques it outputs are mapped back to foot forces through the leg Jacobians, which checks
//! the whole chain (state → MPC → τ = −Jᵀ Rᵀ f) including frames and signs.

use nalgebra::{Matrix3, Vector3};
use spikectl::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use spikectl::lab::mpc_sim::SrbSim;
use spikectl::model::leg::{Leg, body_com};
use spikectl::qp::OsqpSolver;
use spikectl_sim::robots::GO1;
use spikectl_sim::state::QuadrupedState;

/// The simulated rigid body is the whole robot, so its position is the whole-body CoM; the
/// trunk origin sits at `pos − R c(q)` (fixed-point iteration over the leg angles).
fn robot_state(sim: &SrbSim, t: f64, legs: &[Leg; 4], q_prev: &[f64; 12]) -> QuadrupedState {
    let r = sim.rot;
    let w_body = r.inverse() * sim.omega;
    let mut q = *q_prev;
    let mut base = sim.pos;
    for _ in 0..3 {
        base = sim.pos - r * body_com(&GO1, legs, &q);
        for i in 0..4 {
            let p_b = r.inverse() * (sim.feet[i] - base);
            if let Some(qi) = legs[i].inverse(&p_b) {
                q[3 * i..3 * i + 3].copy_from_slice(&qi);
            }
        }
    }
    QuadrupedState {
        t,
        base_pos: base.into(),
        base_quat: [r.w, r.i, r.j, r.k],
        base_linvel: (sim.vel - sim.omega.cross(&(sim.pos - base))).into(),
        base_angvel_body: w_body.into(),
        q,
        qd: [0.0; 12],
        foot_contact: [true; 4],
    }
}

#[test]
fn trot_closed_loop_through_joint_torques() {
    let cfg = QuadrupedControllerConfig::default();
    let (mass, inertia) = (cfg.mpc.mass, cfg.mpc.inertia);
    let mut ctl = QuadrupedController::new(Box::new(OsqpSolver::new()), cfg).expect("controller");
    let legs = Leg::go1_legs();
    let mut sim = SrbSim::standing(mass, inertia, GO1.stand_height);
    for f in sim.feet.iter_mut() {
        f.z = GO1.foot_radius;
    }
    let mut q = [0.0; 12];
    let dt = 0.002;
    let mut prev_stance = [true; 4];
    let mut vx_sum = 0.0;
    let mut vx_n = 0;
    let steps = 1250; // 2.5 s
    for s in 0..steps {
        let t = s as f64 * dt;
        let cmd = QuadrupedCommand {
            vx: if t > 0.3 { 0.3 } else { 0.0 },
            vy: 0.0,
            yaw_rate: 0.0,
            body_height: GO1.stand_height,
            gait: if t > 0.2 { GaitKind::Trot } else { GaitKind::Stand },
        };
        let state = robot_state(&sim, t, &legs, &q);
        q = state.q;
        let tau = ctl.update(&state, &cmd);
        assert!(tau.iter().all(|v| v.is_finite()));
        let stance = ctl.scheduled_stance(t);
        let holds = ctl.footholds();
        let rot: Matrix3<f64> = sim.rot.to_rotation_matrix().into_inner();
        let mut f = [[0.0; 3]; 4];
        for i in 0..4 {
            if stance[i] && !prev_stance[i] {
                sim.feet[i] = Vector3::from(holds[i]);
            }
            if stance[i] {
                let qi = [q[3 * i], q[3 * i + 1], q[3 * i + 2]];
                let j = legs[i].jacobian(&qi);
                let ti = Vector3::new(tau[3 * i], tau[3 * i + 1], tau[3 * i + 2]);
                // τ = −Jᵀ Rᵀ f  ⇒  f = −R J⁻ᵀ τ
                let fw = -(rot * j.transpose().try_inverse().expect("regular leg") * ti);
                f[i] = fw.into();
            }
        }
        prev_stance = stance;
        sim.step(&f, dt, 2);
        if t > 1.5 {
            vx_sum += sim.vel.x;
            vx_n += 1;
        }
    }
    let s = sim.srb_state();
    assert!((s.pos[2] - GO1.stand_height).abs() < 0.06, "height {}", s.pos[2]);
    assert!(s.rpy[0].abs() < 0.08 && s.rpy[1].abs() < 0.08, "attitude {:?}", s.rpy);
    let vx_mean = vx_sum / vx_n as f64;
    assert!((vx_mean - 0.3).abs() < 0.05, "mean vx {vx_mean}");
    let c = ctl.counters();
    assert_eq!(c.invalid_inputs, 0);
    assert!(c.solves >= 95 && c.solves <= 105, "solves {}", c.solves);
    assert_eq!(c.fallbacks, 0);
    let recs = ctl.take_solve_records();
    assert_eq!(recs.len() as u64, c.solves);
    assert!(recs.iter().all(|r| r.solver == "osqp" && !r.fallback));
    assert!(ctl.take_solve_records().is_empty());
}

#[test]
fn nan_state_gives_finite_safe_torques() {
    let mut ctl = QuadrupedController::new(Box::new(OsqpSolver::new()), QuadrupedControllerConfig::default())
        .expect("controller");
    let cmd = QuadrupedCommand { gait: GaitKind::Trot, vx: 0.2, ..Default::default() };
    let mut st = QuadrupedState { base_quat: [1.0, 0.0, 0.0, 0.0], base_pos: [0.0, 0.0, 0.3], ..Default::default() };
    st.q[4] = f64::NAN;
    st.base_linvel[0] = f64::INFINITY;
    let tau = ctl.update(&st, &cmd);
    assert!(tau.iter().all(|v| v.is_finite()));
    assert_eq!(tau[4], 0.0, "joint with NaN reading gets no torque");
    // A zero quaternion and a NaN command are invalid too.
    let st2 = QuadrupedState { base_quat: [0.0; 4], ..Default::default() };
    assert!(ctl.update(&st2, &cmd).iter().all(|v| v.is_finite()));
    let bad_cmd = QuadrupedCommand { vx: f64::NAN, ..cmd };
    let st3 = QuadrupedState { base_quat: [1.0, 0.0, 0.0, 0.0], ..Default::default() };
    assert!(ctl.update(&st3, &bad_cmd).iter().all(|v| v.is_finite()));
    let c = ctl.counters();
    assert_eq!((c.updates, c.invalid_inputs, c.solves), (3, 3, 0));
    // Torque limits hold.
    for (j, t) in tau.iter().enumerate() {
        assert!(t.abs() <= GO1.torque_limits[j % 3]);
    }
}
