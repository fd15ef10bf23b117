//! The quadruped simulator: MuJoCo scene from [`crate::mjcf::quadruped_mjcf`], torque
//! input, state read-out, pushes, sensor noise and dropout.

use std::sync::Arc;

use mujoco_rs::prelude::*;

use crate::SimError;
use crate::mjcf;
use crate::noise::{NoiseSource, SensorNoise};
use crate::robots::QuadrupedParams;
use crate::state::QuadrupedState;

/// Normal force above which a foot counts as in contact [N].
pub const CONTACT_FORCE_THRESHOLD: f64 = 1.0;

/// A push: a constant world-frame force on the trunk CoM during `[start, start + duration)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Push {
    /// Start time [s].
    pub start: f64,
    /// Duration [s].
    pub duration: f64,
    /// Force in the world frame [N].
    pub force: [f64; 3],
}

impl Push {
    fn active(&self, t: f64) -> bool {
        t >= self.start && t < self.start + self.duration
    }
}

/// The simulated quadruped.
pub struct QuadrupedSim {
    params: QuadrupedParams,
    data: MjData<Arc<MjModel>>,
    trunk_body: usize,
    foot_geoms: [usize; 4],
    floor_geom: usize,
    pushes: Vec<Push>,
    noise: NoiseSource,
    last_obs: Option<QuadrupedState>,
    torques: [f64; 12],
}

impl QuadrupedSim {
    /// Builds the scene for `params`, standing at rest on the floor (legs at
    /// [`QuadrupedParams::stand_q`], feet 5 mm above the ground), with sensor noise `noise`
    /// drawn from `seed`.
    pub fn new(params: &QuadrupedParams, noise: SensorNoise, seed: u64) -> Result<Self, SimError> {
        let xml = mjcf::quadruped_mjcf(params);
        let model = MjModel::from_xml_string(&xml).map_err(|e| SimError::Model(e.to_string()))?;
        let model = Arc::new(model);
        let id = |t: MjtObjBase, n: &str| model.name_to_id(t, n).ok_or_else(|| SimError::Model(format!("no {n}")));
        let trunk_body = id(MjtObjBase::mjOBJ_BODY, "trunk")?;
        let floor_geom = id(MjtObjBase::mjOBJ_GEOM, "floor")?;
        let mut foot_geoms = [0; 4];
        for (i, leg) in params.leg_names.iter().enumerate() {
            foot_geoms[i] = id(MjtObjBase::mjOBJ_GEOM, &format!("{leg}_foot"))?;
        }
        if model.ffi().nu != 12 || model.ffi().nq != 19 {
            return Err(SimError::Model("expected 12 actuators and nq = 19".into()));
        }
        let data = MjData::new(model);
        let mut sim = Self {
            params: *params,
            data,
            trunk_body,
            foot_geoms,
            floor_geom,
            pushes: Vec::new(),
            noise: NoiseSource::new(noise, seed),
            last_obs: None,
            torques: [0.0; 12],
        };
        sim.reset();
        Ok(sim)
    }

    /// Resets to the standing pose at t = 0 (pushes and noise stream are kept).
    pub fn reset(&mut self) {
        self.data.reset();
        let h0 = mjcf::quadruped_rest_height(&self.params) + 0.005;
        let q = self.data.qpos_mut();
        q[..7].copy_from_slice(&[0.0, 0.0, h0, 1.0, 0.0, 0.0, 0.0]);
        for leg in 0..4 {
            q[7 + 3 * leg..10 + 3 * leg].copy_from_slice(&self.params.stand_q);
        }
        self.data.forward();
        self.last_obs = None;
        self.torques = [0.0; 12];
    }

    /// Places the trunk at `pos` [m] with orientation `quat` (w, x, y, z), zero velocity,
    /// legs unchanged, and recomputes kinematics.
    pub fn set_base_pose(&mut self, pos: [f64; 3], quat: [f64; 4]) {
        let q = self.data.qpos_mut();
        q[..3].copy_from_slice(&pos);
        q[3..7].copy_from_slice(&quat);
        self.data.qvel_mut().fill(0.0);
        self.data.forward();
    }

    /// Centre of mass of the whole robot, world frame [m].
    pub fn com(&self) -> [f64; 3] {
        self.data.subtree_com()[self.trunk_body]
    }

    /// The parameters the scene was built from.
    pub fn params(&self) -> &QuadrupedParams {
        &self.params
    }
    /// Physics timestep [s].
    pub fn timestep(&self) -> f64 {
        self.data.model().ffi().opt.timestep
    }
    /// Simulation time [s].
    pub fn time(&self) -> f64 {
        self.data.time()
    }
    /// Schedules a push.
    pub fn add_push(&mut self, p: Push) {
        self.pushes.push(p);
    }
    /// Number of sensor packets dropped so far.
    pub fn dropouts(&self) -> u64 {
        self.noise.dropouts()
    }

    /// Sets the 12 joint torques [N·m] applied from now on (clamped to the torque limits
    /// by MuJoCo's `ctrlrange`; non-finite values are replaced by 0).
    pub fn set_torques(&mut self, tau: &[f64; 12]) {
        for (i, t) in tau.iter().enumerate() {
            self.torques[i] = if t.is_finite() { *t } else { 0.0 };
        }
    }

    /// Advances the physics by one timestep, applying the torques and active pushes.
    pub fn step(&mut self) {
        let t = self.data.time();
        let mut f = [0.0; 3];
        for p in self.pushes.iter().filter(|p| p.active(t)) {
            for k in 0..3 {
                f[k] += p.force[k];
            }
        }
        self.data.xfrc_applied_mut()[self.trunk_body] = [f[0], f[1], f[2], 0.0, 0.0, 0.0];
        self.data.ctrl_mut().copy_from_slice(&self.torques);
        self.data.step();
    }

    /// Advances by `n` timesteps.
    pub fn step_n(&mut self, n: usize) {
        for _ in 0..n {
            self.step();
        }
    }

    /// Force currently applied to the trunk by pushes, world frame [N].
    pub fn push_force(&self) -> [f64; 3] {
        let f = self.data.xfrc_applied()[self.trunk_body];
        [f[0], f[1], f[2]]
    }

    /// Normal contact force on each foot from the floor (FR, FL, RR, RL) [N].
    pub fn foot_normal_forces(&self) -> [f64; 4] {
        let mut out = [0.0; 4];
        let ncon = self.data.ncon() as usize;
        for c in 0..ncon {
            let con = &self.data.contact()[c];
            let (g1, g2) = (con.geom[0] as usize, con.geom[1] as usize);
            let foot = if g1 == self.floor_geom {
                g2
            } else if g2 == self.floor_geom {
                g1
            } else {
                continue;
            };
            if let Some(leg) = self.foot_geoms.iter().position(|&g| g == foot) {
                // Contact frame: the first axis is the normal; mj_contactForce gives the
                // force in the contact frame, normal component ≥ 0.
                out[leg] += self.data.contact_force(c)[0].abs();
            }
        }
        out
    }

    /// True (noise-free) state, read from MuJoCo.
    ///
    /// Frames: `base_pos`, `base_linvel` world; `base_quat` body→world (w, x, y, z);
    /// `base_angvel_body` body frame (MuJoCo's free-joint angular velocity is already in
    /// the body frame, exactly what a gyro at the trunk CoM reads). Contacts from foot
    /// normal forces above [`CONTACT_FORCE_THRESHOLD`].
    pub fn true_state(&self) -> QuadrupedState {
        let q = self.data.qpos();
        let v = self.data.qvel();
        let mut s = QuadrupedState { t: self.data.time(), ..Default::default() };
        s.base_pos.copy_from_slice(&q[0..3]);
        s.base_quat.copy_from_slice(&q[3..7]);
        s.base_linvel.copy_from_slice(&v[0..3]);
        s.base_angvel_body.copy_from_slice(&v[3..6]);
        s.q.copy_from_slice(&q[7..19]);
        s.qd.copy_from_slice(&v[6..18]);
        let fn_ = self.foot_normal_forces();
        for i in 0..4 {
            s.foot_contact[i] = fn_[i] > CONTACT_FORCE_THRESHOLD;
        }
        s
    }

    /// Measured state: [`Self::true_state`] with seeded sensor noise; on a dropout the
    /// previous measurement is returned unchanged (same timestamp).
    pub fn observe(&mut self) -> QuadrupedState {
        if self.noise.drop_packet()
            && let Some(prev) = self.last_obs
        {
            return prev;
        }
        let mut s = self.true_state();
        let c = *self.noise.config();
        self.noise.perturb(&mut s.base_pos, c.base_pos);
        self.noise.perturb(&mut s.base_linvel, c.base_vel);
        self.noise.perturb(&mut s.base_angvel_body, c.gyro);
        self.noise.perturb(&mut s.q, c.joint_pos);
        self.noise.perturb(&mut s.qd, c.joint_vel);
        self.last_obs = Some(s);
        s
    }

    /// The underlying MuJoCo data (read-only), for diagnostics.
    pub fn data(&self) -> &MjData<Arc<MjModel>> {
        &self.data
    }
}

pub use spikectl_robot::state::quat_to_mat;

/// Tilt of the body z axis from the world z axis [rad] (0 = level).
pub fn tilt_angle(q: &[f64; 4]) -> f64 {
    quat_to_mat(q)[2][2].clamp(-1.0, 1.0).acos()
}

/// Yaw angle (rotation about world z) of a quaternion (w, x, y, z) [rad].
pub fn yaw(q: &[f64; 4]) -> f64 {
    let [w, x, y, z] = *q;
    (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z))
}
