//! The arm simulator: MuJoCo scene from [`crate::mjcf::arm_mjcf`], torque input, joint
//! state, the flange force/torque sensor, contact read-out and sensor noise.
//!
//! Wrench sign convention (checked by tests): [`ArmState::wrench_force`] is the force the
//! environment exerts on the tool, in the world frame, so pressing the tip down on the table
//! reads +z. It is computed from MuJoCo's `force`/`torque` sensors at the flange site (which
//! report the force the arm exerts on the tool body, in the site frame) by rotating to the
//! world frame, negating, and removing the tool's static weight (what a real F/T sensor's
//! tool-gravity compensation does; the tool's acceleration, ≤ 0.1 kg × a, is not removed).

use std::sync::Arc;

use mujoco_rs::prelude::*;

use crate::SimError;
use crate::mjcf;
use crate::noise::{NoiseSource, SensorNoise};
use crate::robots::{ArmParams, ArmScene};
use crate::state::ArmState;

/// Normal force above which the tip counts as touching the table [N].
pub const TIP_CONTACT_THRESHOLD: f64 = 0.5;
const GRAVITY: f64 = 9.81;

/// The simulated arm and table.
pub struct ArmSim {
    params: ArmParams,
    scene: ArmScene,
    data: MjData<Arc<MjModel>>,
    tool_body: usize,
    ft_site: usize,
    tip_site: usize,
    tip_geom: usize,
    table_geom: usize,
    force_adr: usize,
    torque_adr: usize,
    noise: NoiseSource,
    last_obs: Option<ArmState>,
    torques: [f64; 7],
}

impl ArmSim {
    /// Builds the scene, with the arm at [`ArmParams::q_nominal`] at rest, sensor noise
    /// `noise` drawn from `seed`.
    pub fn new(params: &ArmParams, scene: &ArmScene, noise: SensorNoise, seed: u64) -> Result<Self, SimError> {
        let xml = mjcf::arm_mjcf(params, scene);
        let model = Arc::new(MjModel::from_xml_string(&xml).map_err(|e| SimError::Model(e.to_string()))?);
        let id = |t: MjtObjBase, n: &str| model.name_to_id(t, n).ok_or_else(|| SimError::Model(format!("no {n}")));
        let tool_body = id(MjtObjBase::mjOBJ_BODY, "tool")?;
        let ft_site = id(MjtObjBase::mjOBJ_SITE, "ft")?;
        let tip_site = id(MjtObjBase::mjOBJ_SITE, "tip")?;
        let tip_geom = id(MjtObjBase::mjOBJ_GEOM, "tip")?;
        let table_geom = id(MjtObjBase::mjOBJ_GEOM, "table")?;
        let fs = id(MjtObjBase::mjOBJ_SENSOR, "ft_force")?;
        let ts = id(MjtObjBase::mjOBJ_SENSOR, "ft_torque")?;
        let force_adr = model.sensor_adr()[fs] as usize;
        let torque_adr = model.sensor_adr()[ts] as usize;
        if model.ffi().nu != 7 || model.ffi().nq != 7 {
            return Err(SimError::Model("expected 7 joints and 7 actuators".into()));
        }
        let data = MjData::new(model);
        let mut sim = Self {
            params: *params,
            scene: *scene,
            data,
            tool_body,
            ft_site,
            tip_site,
            tip_geom,
            table_geom,
            force_adr,
            torque_adr,
            noise: NoiseSource::new(noise, seed),
            last_obs: None,
            torques: [0.0; 7],
        };
        sim.reset();
        Ok(sim)
    }

    /// Resets to `q_nominal` at rest, t = 0.
    pub fn reset(&mut self) {
        self.data.reset();
        self.data.qpos_mut().copy_from_slice(&self.params.q_nominal);
        self.data.forward();
        self.last_obs = None;
        self.torques = [0.0; 7];
    }

    /// Sets the joint positions [rad] (velocities zero) and recomputes kinematics.
    pub fn set_q(&mut self, q: &[f64; 7]) {
        self.data.qpos_mut().copy_from_slice(q);
        self.data.qvel_mut().fill(0.0);
        self.data.forward();
    }

    /// Joint angles that put the tool tip at `target` [m] (position only), found by damped
    /// least squares from [`ArmParams::q_nominal`] (which keeps the tool pointing down near
    /// the default workspace). Leaves the simulator at the returned posture, at rest.
    pub fn inverse_kinematics(&mut self, target: [f64; 3]) -> [f64; 7] {
        let mut q = self.params.q_nominal;
        for _ in 0..200 {
            self.set_q(&q);
            let p = self.tip_pos();
            let e = [target[0] - p[0], target[1] - p[1], target[2] - p[2]];
            if e.iter().all(|v| v.abs() < 1e-9) {
                break;
            }
            let j = self.tip_jacobian();
            let jm = nalgebra::SMatrix::<f64, 3, 7>::from_fn(|r, c| j[r][c]);
            let a = jm * jm.transpose() + nalgebra::Matrix3::identity() * 1e-4;
            let Some(w) = a.lu().solve(&nalgebra::Vector3::from(e)) else { break };
            let dq = jm.transpose() * w;
            for i in 0..7 {
                let (lo, hi) = self.params.q_limits[i];
                q[i] = (q[i] + dq[i]).clamp(lo, hi);
            }
        }
        self.set_q(&q);
        q
    }

    /// The arm parameters.
    pub fn params(&self) -> &ArmParams {
        &self.params
    }
    /// The table scene.
    pub fn scene(&self) -> &ArmScene {
        &self.scene
    }
    /// Physics timestep [s].
    pub fn timestep(&self) -> f64 {
        self.data.model().ffi().opt.timestep
    }
    /// Simulation time [s].
    pub fn time(&self) -> f64 {
        self.data.time()
    }
    /// Number of sensor packets dropped so far.
    pub fn dropouts(&self) -> u64 {
        self.noise.dropouts()
    }

    /// Sets the 7 joint torques [N·m] (clamped to the torque limits by MuJoCo; non-finite
    /// values are replaced by 0).
    pub fn set_torques(&mut self, tau: &[f64; 7]) {
        for (i, t) in tau.iter().enumerate() {
            self.torques[i] = if t.is_finite() { *t } else { 0.0 };
        }
    }

    /// Advances one timestep.
    pub fn step(&mut self) {
        self.data.ctrl_mut().copy_from_slice(&self.torques);
        self.data.step();
    }

    /// Advances `n` timesteps.
    pub fn step_n(&mut self, n: usize) {
        for _ in 0..n {
            self.step();
        }
    }

    /// Gravity + Coriolis generalized forces of the simulated arm at the current state
    /// (MuJoCo's `qfrc_bias`) [N·m]; for tests and baselines.
    pub fn bias_torques(&self) -> [f64; 7] {
        let mut out = [0.0; 7];
        out.copy_from_slice(&self.data.qfrc_bias()[..7]);
        out
    }

    /// Translational Jacobian (3×7, row-major) of the tool tip at the current state.
    pub fn tip_jacobian(&self) -> [[f64; 7]; 3] {
        let (jp, _) = self.data.jac_site(true, false, self.tip_site);
        let mut j = [[0.0; 7]; 3];
        for r in 0..3 {
            j[r].copy_from_slice(&jp[7 * r..7 * r + 7]);
        }
        j
    }

    /// Tool tip position (bottom of the tip sphere), world frame [m].
    pub fn tip_pos(&self) -> [f64; 3] {
        self.data.site_xpos()[self.tip_site]
    }

    /// Tool tip linear velocity, world frame [m/s].
    pub fn tip_vel(&self) -> [f64; 3] {
        let v = self.data.object_velocity(MjtObjBase::mjOBJ_SITE, self.tip_site, false);
        [v[3], v[4], v[5]]
    }

    /// Flange F/T sensor site position, world frame [m].
    pub fn flange_pos(&self) -> [f64; 3] {
        self.data.site_xpos()[self.ft_site]
    }

    /// Contact force the table exerts on the tip, world frame [N], summed over contacts
    /// (independent of the F/T sensor; used to validate it).
    pub fn table_contact_force(&self) -> [f64; 3] {
        let mut f = [0.0; 3];
        for c in 0..self.data.ncon() as usize {
            let con = &self.data.contact()[c];
            let (g1, g2) = (con.geom[0] as usize, con.geom[1] as usize);
            let sign = if g1 == self.table_geom && g2 == self.tip_geom {
                1.0 // contact normal points from geom1 (table) to geom2 (tip)
            } else if g2 == self.table_geom && g1 == self.tip_geom {
                -1.0
            } else {
                continue;
            };
            let fc = self.data.contact_force(c);
            // Contact frame rows: normal, tangent 1, tangent 2 (world coordinates).
            let fr = &con.frame;
            for k in 0..3 {
                f[k] += sign * (fc[0] * fr[k] + fc[1] * fr[3 + k] + fc[2] * fr[6 + k]);
            }
        }
        f
    }

    /// True when the tip touches the table with more than [`TIP_CONTACT_THRESHOLD`].
    pub fn tip_in_contact(&self) -> bool {
        self.table_contact_force()[2] > TIP_CONTACT_THRESHOLD
    }

    /// Noise-free wrench from the flange F/T sensor (see the module docs for the
    /// convention): (force [N], torque about the sensor site [N·m]), world frame.
    pub fn sensor_wrench(&self) -> ([f64; 3], [f64; 3]) {
        let sd = self.data.sensordata();
        let fs = &sd[self.force_adr..self.force_adr + 3];
        let ts = &sd[self.torque_adr..self.torque_adr + 3];
        let r = self.data.site_xmat()[self.ft_site]; // row-major site→world
        let mut f = [0.0; 3];
        let mut t = [0.0; 3];
        for i in 0..3 {
            for k in 0..3 {
                f[i] -= r[3 * i + k] * fs[k];
                t[i] -= r[3 * i + k] * ts[k];
            }
        }
        // Remove the tool's weight: F_env = −F_arm→tool − m g, τ_env = −τ − (c − p) × m g.
        let w = self.params.tool_mass * GRAVITY;
        f[2] += w;
        let c = self.data.xipos()[self.tool_body];
        let p = self.flange_pos();
        let d = [c[0] - p[0], c[1] - p[1], c[2] - p[2]];
        // (d × (0, 0, −w)) = (−d_y w, d_x w, 0); subtract it.
        t[0] += d[1] * w;
        t[1] -= d[0] * w;
        (f, t)
    }

    /// True (noise-free) state.
    pub fn true_state(&self) -> ArmState {
        let (f, t) = self.sensor_wrench();
        let mut s = ArmState { t: self.data.time(), wrench_force: f, wrench_torque: t, ..Default::default() };
        s.q.copy_from_slice(self.data.qpos());
        s.qd.copy_from_slice(self.data.qvel());
        s
    }

    /// Measured state: seeded noise on joints and wrench; on a dropout the previous
    /// measurement is returned unchanged.
    pub fn observe(&mut self) -> ArmState {
        if self.noise.drop_packet()
            && let Some(prev) = self.last_obs
        {
            return prev;
        }
        let mut s = self.true_state();
        let c = *self.noise.config();
        self.noise.perturb(&mut s.q, c.joint_pos);
        self.noise.perturb(&mut s.qd, c.joint_vel);
        self.noise.perturb(&mut s.wrench_force, c.force);
        self.noise.perturb(&mut s.wrench_torque, 0.1 * c.force);
        self.last_obs = Some(s);
        s
    }

    /// The underlying MuJoCo data (read-only), for diagnostics.
    pub fn data(&self) -> &MjData<Arc<MjModel>> {
        &self.data
    }
}
