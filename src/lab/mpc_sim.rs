//! Closed-loop-like MPC problem sequences, generated from simple physical models, for
//! tests and `spikectl bench mpc`.
//!
//! - Quadruped: a nonlinear single rigid body (full rotation, Euler's equations,
//!   gyroscopic term) driven by the MPC's ground-reaction forces at feet that stay put
//!   while in stance and land at Raibert footholds; the command changes over time (stand,
//!   then trot with varying forward velocity and yaw rate).
//! - Arm: the tool as a Cartesian point mass following the command point through the
//!   impedance law, pressing on a spring-damper table, driven by the admittance planner.
//!
//! Each step records the MPC input so that every solver can be replayed on exactly the
//! same sequence of QPs.

use nalgebra::{Matrix3, UnitQuaternion, Vector3};
use spikectl_robot::robots::GO1;

use crate::model::leg::Leg;
use crate::mpc::MpcError;
use crate::mpc::arm::{ArmMpcState, ArmReference, ContactModel};
use crate::mpc::gait::Gait;
use crate::mpc::quadruped::{GRAVITY, HorizonPlan, QuadrupedMpc, SrbReference, SrbState};

/// Nonlinear single-rigid-body simulator with point feet.
#[derive(Debug, Clone, PartialEq)]
pub struct SrbSim {
    /// Mass [kg].
    pub mass: f64,
    /// Body inertia (diagonal) [kg·m²].
    pub inertia: [f64; 3],
    /// CoM position [m].
    pub pos: Vector3<f64>,
    /// Velocity [m/s].
    pub vel: Vector3<f64>,
    /// Orientation body→world.
    pub rot: UnitQuaternion<f64>,
    /// Angular velocity, world [rad/s].
    pub omega: Vector3<f64>,
    /// Foot positions, world [m].
    pub feet: [Vector3<f64>; 4],
}

impl SrbSim {
    /// Standing at `height` with feet under the hips.
    pub fn standing(mass: f64, inertia: [f64; 3], height: f64) -> Self {
        let legs = Leg::go1_legs();
        let feet = [0, 1, 2, 3].map(|i| {
            let p = legs[i].foot_position(&GO1.stand_q);
            Vector3::new(p.x, p.y, 0.0)
        });
        Self {
            mass,
            inertia,
            pos: Vector3::new(0.0, 0.0, height),
            vel: Vector3::zeros(),
            rot: UnitQuaternion::identity(),
            omega: Vector3::zeros(),
            feet,
        }
    }

    /// MPC state of the body.
    pub fn srb_state(&self) -> SrbState {
        let (r, p, y) = self.rot.euler_angles();
        SrbState { rpy: [r, p, y], pos: self.pos.into(), omega: self.omega.into(), vel: self.vel.into() }
    }

    /// Integrates `duration` [s] with constant forces `f` [N] (world) at the feet, using
    /// `substeps` RK4 steps. The feet stay where they are.
    pub fn step(&mut self, f: &[[f64; 3]; 4], duration: f64, substeps: usize) {
        let h = duration / substeps.max(1) as f64;
        let ib = Matrix3::from_diagonal(&Vector3::from(self.inertia));
        let deriv = |pos: &Vector3<f64>,
                     vel: &Vector3<f64>,
                     rot: &UnitQuaternion<f64>,
                     w: &Vector3<f64>|
         -> (Vector3<f64>, Vector3<f64>, Vector3<f64>, Vector3<f64>) {
            let mut force = Vector3::new(0.0, 0.0, -self.mass * GRAVITY);
            let mut torque = Vector3::zeros();
            for i in 0..4 {
                let fi = Vector3::from(f[i]);
                force += fi;
                torque += (self.feet[i] - pos).cross(&fi);
            }
            let r = rot.to_rotation_matrix().into_inner();
            let iw = r * ib * r.transpose();
            let iw_inv = iw.try_inverse().unwrap_or_else(Matrix3::identity);
            let wdot = iw_inv * (torque - w.cross(&(iw * w)));
            (*vel, force / self.mass, *w, wdot)
        };
        for _ in 0..substeps.max(1) {
            let (p0, v0, r0, w0) = (self.pos, self.vel, self.rot, self.omega);
            let rot_at = |w: &Vector3<f64>, dt: f64| UnitQuaternion::from_scaled_axis(w * dt) * r0;
            let k1 = deriv(&p0, &v0, &r0, &w0);
            let r1 = rot_at(&k1.2, h / 2.0);
            let k2 = deriv(&(p0 + k1.0 * h / 2.0), &(v0 + k1.1 * h / 2.0), &r1, &(w0 + k1.3 * h / 2.0));
            let r2 = rot_at(&k2.2, h / 2.0);
            let k3 = deriv(&(p0 + k2.0 * h / 2.0), &(v0 + k2.1 * h / 2.0), &r2, &(w0 + k2.3 * h / 2.0));
            let r3 = rot_at(&k3.2, h);
            let k4 = deriv(&(p0 + k3.0 * h), &(v0 + k3.1 * h), &r3, &(w0 + k3.3 * h));
            self.pos = p0 + (k1.0 + k2.0 * 2.0 + k3.0 * 2.0 + k4.0) * (h / 6.0);
            self.vel = v0 + (k1.1 + k2.1 * 2.0 + k3.1 * 2.0 + k4.1) * (h / 6.0);
            let w_avg = (k1.2 + k2.2 * 2.0 + k3.2 * 2.0 + k4.2) / 6.0;
            self.rot = UnitQuaternion::from_scaled_axis(w_avg * h) * r0;
            self.omega = w0 + (k1.3 + k2.3 * 2.0 + k3.3 * 2.0 + k4.3) * (h / 6.0);
        }
    }
}

/// One recorded quadruped MPC input.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrupedSample {
    /// Time [s].
    pub t: f64,
    /// Measured state.
    pub state: SrbState,
    /// Reference.
    pub reference: SrbReference,
    /// Contact schedule and feet.
    pub plan: HorizonPlan,
}

/// Command profile of the quadruped scenario at time `t`: (stand?, vx, yaw rate).
fn quad_command(t: f64) -> (bool, f64, f64) {
    if t < 0.2 {
        (true, 0.0, 0.0)
    } else {
        let vx = 0.25 + 0.25 * (0.8 * t).sin();
        let wz = 0.3 * (0.5 * t).sin();
        (false, vx, wz)
    }
}

/// Runs `mpc` in closed loop on [`SrbSim`] for `steps` MPC periods (one MPC step each) and
/// records every MPC input. A failed solve applies the static weight distribution.
/// Returns the samples and the final simulator state.
pub fn quadruped_closed_loop(
    mpc: &mut QuadrupedMpc,
    steps: usize,
    trot_period: f64,
) -> Result<(Vec<QuadrupedSample>, SrbSim), MpcError> {
    let cfg = mpc.config().clone();
    let n = cfg.horizon;
    let dt = cfg.dt;
    let height = GO1.stand_height;
    let mut sim = SrbSim::standing(cfg.mass, cfg.inertia, height);
    let legs = Leg::go1_legs();
    let trot = Gait::trot(trot_period, 0.5);
    let stand = Gait::stand();
    let mut samples = Vec::with_capacity(steps);
    let mut prev_stance = [true; 4];
    let mut plan = HorizonPlan::constant(n, [true; 4], [[0.0; 3]; 4]);
    for s in 0..steps {
        let t = s as f64 * dt;
        let (standing, vx, wz) = quad_command(t);
        let gait = if standing { stand } else { trot };
        let x0 = sim.srb_state();
        let yaw = x0.rpy[2];
        let (sy, cy) = yaw.sin_cos();
        let v_w = Vector3::new(cy * vx, sy * vx, 0.0);
        let stance_time = gait.stance_time().min(0.5);
        // Touchdown handling and footholds.
        let mut footholds = [Vector3::zeros(); 4];
        for i in 0..4 {
            let st = gait.in_stance(i, t);
            let hip_b = legs[i].hip + Vector3::new(0.0, legs[i].offset_y, 0.0);
            let t_td = gait.time_to_touchdown(i, t);
            let hip_w =
                sim.pos + Vector3::new(cy * hip_b.x - sy * hip_b.y, sy * hip_b.x + cy * hip_b.y, 0.0) + v_w * t_td;
            footholds[i] = Vector3::new(hip_w.x + v_w.x * stance_time / 2.0, hip_w.y + v_w.y * stance_time / 2.0, 0.0);
            if st && !prev_stance[i] {
                sim.feet[i] = Vector3::new(
                    sim.pos.x + cy * hip_b.x - sy * hip_b.y + v_w.x * stance_time / 2.0,
                    sim.pos.y + sy * hip_b.x + cy * hip_b.y + v_w.y * stance_time / 2.0,
                    0.0,
                );
            }
            prev_stance[i] = st;
        }
        let mut continuous = prev_stance;
        for k in 0..n {
            let tk = t + k as f64 * dt;
            let com = Vector3::new(sim.pos.x + v_w.x * k as f64 * dt, sim.pos.y + v_w.y * k as f64 * dt, height);
            for i in 0..4 {
                let st = gait.in_stance(i, tk);
                if !st {
                    continuous[i] = false;
                }
                plan.contact[k][i] = st;
                let foot = if continuous[i] { sim.feet[i] } else { footholds[i] };
                plan.feet[k][i] = (foot - com).into();
            }
        }
        let reference = SrbReference { v_body: [vx, 0.0], yaw_rate: wz, height, ground_z: 0.0 };
        samples.push(QuadrupedSample { t, state: x0, reference, plan: plan.clone() });
        mpc.update(&x0, &reference, &plan)?;
        let forces = match mpc.solve().map(|_| ()).and_then(|_| mpc.accept(2e-2)) {
            Ok(o) => o.forces,
            Err(_) => {
                let stance = [0, 1, 2, 3].map(|i| gait.in_stance(i, t));
                crate::control::quadruped::static_forces(&stance, cfg.weight())
            }
        };
        sim.step(&forces, dt, 10);
    }
    Ok((samples, sim))
}

/// One recorded arm MPC input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmSample {
    /// Time [s].
    pub t: f64,
    /// Command-point state.
    pub state: ArmMpcState,
    /// Reference.
    pub reference: ArmReference,
    /// Contact model.
    pub model: ContactModel,
}

/// Cartesian point-mass tool pressing on a spring-damper table (normal = z).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolSim {
    /// Effective mass [kg].
    pub mass: f64,
    /// Table top height [m].
    pub table_z: f64,
    /// Table stiffness [N/m].
    pub table_k: f64,
    /// Table damping [N·s/m].
    pub table_d: f64,
    /// Tool position [m].
    pub pos: Vector3<f64>,
    /// Tool velocity [m/s].
    pub vel: Vector3<f64>,
    /// Tangential viscous friction [N·s/m].
    pub friction: f64,
}

impl ToolSim {
    /// Normal contact force on the tool [N] (≥ 0).
    pub fn contact_force(&self) -> f64 {
        let pen = self.table_z - self.pos.z;
        if pen > 0.0 { (self.table_k * pen - self.table_d * self.vel.z).max(0.0) } else { 0.0 }
    }

    /// Semi-implicit Euler step of `h` [s] under the applied force `f` [N] (gravity
    /// compensated by the controller, so not included).
    pub fn step(&mut self, f: &Vector3<f64>, h: f64) {
        let fc = self.contact_force();
        let fr = if fc > 0.0 { -self.vel * self.friction } else { Vector3::zeros() };
        let acc = (f + Vector3::new(fr.x, fr.y, fc)) / self.mass;
        self.vel += acc * h;
        self.pos += self.vel * h;
    }
}

/// Runs the arm MPC in closed loop on [`ToolSim`] (tool resting on a 2·10⁴ N/m table, in
/// contact from the start) for `steps` MPC periods with a changing force reference
/// (10 ± 5 N) and tangential velocity, the contact model estimated online; records every
/// MPC input. `k_imp`/`d_imp` are the impedance gains (x, y, z) making the tool follow the
/// command point.
pub fn arm_closed_loop(
    mpc: &mut crate::mpc::arm::ArmMpc,
    steps: usize,
    k_imp: [f64; 3],
    d_imp: [f64; 3],
) -> Result<Vec<ArmSample>, MpcError> {
    use crate::mpc::arm::ContactEstimator;
    let dt = mpc.config().dt;
    let table_z = spikectl_robot::robots::ARM_SCENE.table_top_z;
    let (k, d) = (Vector3::from(k_imp), Vector3::from(d_imp));
    let mut tool = ToolSim {
        mass: 3.0,
        table_z,
        table_k: 2e4,
        table_d: 50.0,
        pos: Vector3::new(0.5, -0.1, table_z),
        vel: Vector3::zeros(),
        friction: 5.0,
    };
    let mut est = ContactEstimator::new(k_imp[2], d_imp[2]);
    // Command point starts pressing ≈ 5 N into the surface.
    let mut c = Vector3::new(0.5, -0.1, table_z - 5.0 / k_imp[2]);
    let mut vc = Vector3::zeros();
    let ticks = 10;
    let h = dt / ticks as f64;
    let mut samples = Vec::with_capacity(steps);
    for s in 0..steps {
        let t = s as f64 * dt;
        let reference = ArmReference {
            force: 10.0 + 5.0 * (std::f64::consts::TAU * t / 1.5).sin(),
            tangent_velocity: [0.05 * (1.3 * t).cos(), 0.03 * (0.7 * t).sin()],
            target_xy: None,
        };
        let state = ArmMpcState { e: c.z - table_z, vel: vc.into(), xy: [c.x, c.y] };
        let model = est.model();
        samples.push(ArmSample { t, state, reference, model });
        mpc.update(&state, &reference, &model)?;
        let acc = match mpc.solve().map(|_| ()).and_then(|_| mpc.accept(0.1)) {
            Ok(o) => Vector3::from(o.acc),
            Err(_) => -vc / 0.05,
        };
        for _ in 0..ticks {
            vc += acc * h;
            c += vc * h;
            let f = (c - tool.pos).component_mul(&k) + (vc - tool.vel).component_mul(&d);
            tool.step(&f, h);
            est.update(c.z - table_z, vc.z, tool.contact_force());
        }
    }
    Ok(samples)
}
