//! Closed-loop quadruped controller: gait schedule → convex MPC (ground-reaction forces) →
//! stance torques `τ = −Jᵀ Rᵀ f`, and swing feet on Bézier trajectories to Raibert
//! footholds tracked by joint PD on inverse kinematics.
//!
//! [`QuadrupedController::update`] is called every control tick (e.g. 500 Hz); it runs the
//! MPC every `mpc_period` and holds the forces in between. After construction it does not
//! allocate except inside the QP backend's `solve` and one [`SolveRecord`] per MPC solve.
//!
//! With [`QuadrupedControllerConfig::mpc_thread`] the MPC runs on a worker thread instead
//! ([`super::mpc_thread`]): `update` hands it the state, reference and plan every
//! `mpc_period` and applies the newest finished solution's first-step forces (or, with
//! `forecast_shift`, those of the horizon step matching the solution's age); a solution older
//! than `max_solution_age_periods` gives way to the fallback forces (the weight shared by the
//! stance feet). The tick then never waits
//! for a solve and does not allocate (the records are built on the worker thread).

use nalgebra::{Matrix3, Vector3};
use spikectl_robot::robots::{GO1, QuadrupedParams};
use spikectl_robot::state::QuadrupedState;

use super::mpc_host::{Finished, MpcHost, Plan};
use super::mpc_thread::{SHIFT_STEPS, solution_step};
use super::swing::{SwingTrajectory, raibert_foothold};
use super::{ControlError, ControllerCounters};
use crate::model::leg::{Leg, body_com};
use crate::mpc::gait::Gait;
pub use crate::mpc::gait::GaitKind;
use crate::mpc::quadruped::{
    HorizonPlan, MpcOutput, QuadrupedMpc, QuadrupedMpcConfig, SrbReference, SrbState, base_rotation,
};
use crate::mpc::{MpcError, SolveRecord};
use crate::qp::QpSolver;

/// What the quadruped should do.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct QuadrupedCommand {
    /// Forward velocity in the heading frame [m/s].
    pub vx: f64,
    /// Lateral velocity (left positive) in the heading frame [m/s].
    pub vy: f64,
    /// Yaw rate [rad/s].
    pub yaw_rate: f64,
    /// Trunk CoM height above the ground [m] (≤ 0 means the robot's nominal height).
    pub body_height: f64,
    /// Gait.
    pub gait: GaitKind,
}

/// Controller tuning.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrupedControllerConfig {
    /// The robot (geometry, masses, limits, standing posture).
    pub robot: QuadrupedParams,
    /// MPC model, horizon and weights.
    pub mpc: QuadrupedMpcConfig,
    /// Period of the control tick, [`QuadrupedController::update`] [s] (500 Hz).
    pub control_period: f64,
    /// Time between MPC solves [s].
    pub mpc_period: f64,
    /// Trot cycle period [s].
    pub trot_period: f64,
    /// Trot duty factor.
    pub trot_duty: f64,
    /// Swing apex height [m].
    pub swing_height: f64,
    /// Swing joint PD stiffness (hip, thigh, calf) [N·m/rad].
    pub kp_swing: [f64; 3],
    /// Swing joint PD damping [N·m·s/rad].
    pub kd_swing: [f64; 3],
    /// Joint damping added on stance legs [N·m·s/rad].
    pub kd_stance: f64,
    /// Damping of the safe command (damping stop, also used by [`super::safety`]) and of a
    /// swing leg without an inverse-kinematics solution [N·m·s/rad].
    pub kd_safe: f64,
    /// Largest foothold correction from the hip [m].
    pub foothold_max_offset: f64,
    /// A solution that stopped at the iteration/time limit is still used when its primal
    /// residual is at most this (body weights).
    pub accept_prim_residual: f64,
    /// Most solve records kept between `take_solve_records` calls.
    pub max_records: usize,
    /// Integral gain on the horizontal velocity error while trotting [1/s]: the MPC's
    /// velocity reference is the command plus this integral (offset-free speed tracking
    /// despite the unmodelled leg dynamics); 0 disables it.
    pub velocity_integral_gain: f64,
    /// Limit on that integral [m/s].
    pub velocity_integral_limit: f64,
    /// Run the MPC on a worker thread of its own (see the module docs); false (the
    /// default): solve it inside `update`, as the in-process closed loop does.
    pub mpc_thread: bool,
    /// With `mpc_thread`: solutions older than this many `mpc_period`s are not used (the
    /// stance feet share the weight instead, counted in
    /// [`ControllerCounters::stale_solutions`]).
    pub max_solution_age_periods: f64,
    /// With `mpc_thread`: apply the forces of the horizon step matching the solution's age
    /// (⌊age/dt⌋) instead of the first step's. Off by default: in the MuJoCo tests with
    /// solutions 20 ms late the first step (computed from the latest measured state, held as
    /// the synchronous path holds it) tracked better (quadruped trot: largest tilt 0.05 rad
    /// against 0.15 rad shifted; `tests/mpc_thread.rs`).
    pub forecast_shift: bool,
}

impl Default for QuadrupedControllerConfig {
    fn default() -> Self {
        Self::for_robot(&GO1)
    }
}

impl QuadrupedControllerConfig {
    /// The defaults for robot `p` (its MPC model from [`QuadrupedMpcConfig::for_robot`]).
    pub fn for_robot(p: &QuadrupedParams) -> Self {
        Self {
            robot: *p,
            mpc: QuadrupedMpcConfig::for_robot(p),
            control_period: 0.002,
            mpc_period: 0.025,
            trot_period: 0.3,
            trot_duty: 0.5,
            swing_height: 0.06,
            kp_swing: [100.0, 100.0, 100.0],
            kd_swing: [2.0, 2.0, 2.0],
            kd_stance: 1.0,
            kd_safe: p.safe_damping,
            foothold_max_offset: 0.15,
            accept_prim_residual: 2e-2,
            max_records: 10_000,
            velocity_integral_gain: 1.0,
            velocity_integral_limit: 0.3,
            mpc_thread: false,
            max_solution_age_periods: 2.0,
            forecast_shift: false,
        }
    }
}

/// A job for the MPC thread: what one solve needs.
struct QuadJob {
    /// Controller time of the state [s].
    t: f64,
    srb: SrbState,
    r: SrbReference,
    plan: HorizonPlan,
}

/// Forces of the first [`SHIFT_STEPS`] horizon steps of a solution.
type StepForces = [[[f64; 3]; 4]; SHIFT_STEPS];

/// A finished solve, as the tick uses it.
#[derive(Clone, Copy)]
struct QuadSolution {
    /// Controller time of the state it was computed from [s].
    t: f64,
    /// Forces per horizon step, world frame [N]; `None` if the solve failed.
    forces: Option<StepForces>,
    /// Valid entries of `forces`.
    steps: usize,
}

impl Plan for QuadSolution {
    fn failed(&self) -> bool {
        self.forces.is_none()
    }
}

/// The quadruped controller (see the module docs).
pub struct QuadrupedController {
    cfg: QuadrupedControllerConfig,
    mpc: MpcHost<QuadrupedMpc, QuadJob, QuadSolution>,
    solver_name: &'static str,
    legs: [Leg; 4],
    gait: Gait,
    gait_kind: GaitKind,
    gait_t0: f64,
    last_mpc_t: Option<f64>,
    forces: [[f64; 3]; 4],
    swing_active: [bool; 4],
    liftoff: [Vector3<f64>; 4],
    plan: HorizonPlan,
    ground_z: Option<f64>,
    footholds: [Vector3<f64>; 4],
    v_int: [f64; 2],
    last_t: Option<f64>,
    counters: ControllerCounters,
}

/// Per-tick quantities derived from the measured state.
struct Kin {
    rot: Matrix3<f64>,
    /// Trunk origin, world [m].
    base: Vector3<f64>,
    /// Trunk origin velocity, world [m/s].
    base_vel: Vector3<f64>,
    /// Whole-body CoM offset from the trunk origin, world axes [m].
    com_off: Vector3<f64>,
    /// Whole-body CoM, world [m].
    pos: Vector3<f64>,
    vel: Vector3<f64>,
    feet_world: [Vector3<f64>; 4],
    srb: SrbState,
}

impl QuadrupedController {
    /// Builds the MPC on `solver` (which is set up here).
    pub fn new(solver: Box<dyn QpSolver>, cfg: QuadrupedControllerConfig) -> Result<Self, ControlError> {
        let pos_ok = |v: f64| v.is_finite() && v > 0.0;
        if !(pos_ok(cfg.mpc_period) && pos_ok(cfg.trot_period) && cfg.trot_duty > 0.0 && cfg.trot_duty <= 1.0) {
            return Err(ControlError::Config("periods must be positive and duty in (0, 1]".into()));
        }
        if !(cfg.max_solution_age_periods.is_finite() && cfg.max_solution_age_periods > 0.0) {
            return Err(ControlError::Config("max_solution_age_periods must be positive".into()));
        }
        let n = cfg.mpc.horizon;
        let solver_name = solver.name();
        let mpc = QuadrupedMpc::new(cfg.mpc.clone(), solver)?;
        let mpc = if cfg.mpc_thread {
            let accept = cfg.accept_prim_residual;
            let job = || QuadJob {
                t: 0.0,
                srb: SrbState::default(),
                r: SrbReference::default(),
                plan: HorizonPlan::constant(n, [true; 4], [[0.0; 3]; 4]),
            };
            MpcHost::threaded(
                "quadruped-mpc",
                mpc,
                job,
                move |mpc: &mut QuadrupedMpc, job: &mut QuadJob| {
                    let (out, rec) = solve_mpc(mpc, accept, job.t, &job.srb, &job.r, &job.plan);
                    let steps = SHIFT_STEPS.min(mpc.config().horizon);
                    let forces = out.ok().map(|o| {
                        let mut f = [[[0.0; 3]; 4]; SHIFT_STEPS];
                        f[0] = o.forces;
                        for (k, fk) in f.iter_mut().enumerate().take(steps).skip(1) {
                            *fk = step_forces(mpc, k);
                        }
                        f
                    });
                    Finished { plan: QuadSolution { t: job.t, forces, steps }, records: vec![rec] }
                },
                cfg.max_records,
            )?
        } else {
            MpcHost::inline(mpc, cfg.max_records)
        };
        Ok(Self {
            legs: Leg::legs(&cfg.robot),
            gait: Gait::stand(),
            gait_kind: GaitKind::Stand,
            gait_t0: 0.0,
            last_mpc_t: None,
            forces: [[0.0; 3]; 4],
            swing_active: [false; 4],
            liftoff: [Vector3::zeros(); 4],
            plan: HorizonPlan::constant(n, [true; 4], [[0.0; 3]; 4]),
            ground_z: None,
            footholds: [Vector3::zeros(); 4],
            v_int: [0.0; 2],
            last_t: None,
            counters: ControllerCounters::default(),
            mpc,
            solver_name,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &QuadrupedControllerConfig {
        &self.cfg
    }

    /// Solve records since the last call (no allocation when there are none).
    pub fn take_solve_records(&mut self) -> Vec<SolveRecord> {
        self.mpc.take_records()
    }

    /// Name of the QP backend behind the MPC.
    pub(crate) fn solver_name(&self) -> &'static str {
        self.solver_name
    }

    /// Counters since construction.
    pub fn counters(&self) -> ControllerCounters {
        self.counters
    }

    /// The MPC (for inspection); `None` when it runs on its own thread.
    pub fn mpc(&self) -> Option<&QuadrupedMpc> {
        self.mpc.mpc()
    }

    /// True when the MPC runs on its own thread and that thread is alive, or runs inline.
    pub fn mpc_alive(&self) -> bool {
        self.mpc.alive()
    }

    /// Ground-reaction forces currently applied, world frame [N].
    pub fn forces(&self) -> [[f64; 3]; 4] {
        self.forces
    }

    /// Planned touchdown points of the feet (world frame, foot centre) [m], as of the last
    /// update.
    pub fn footholds(&self) -> [[f64; 3]; 4] {
        self.footholds.map(|f| f.into())
    }

    /// Gait scheduled stance flags at time `t` [s].
    pub fn scheduled_stance(&self, t: f64) -> [bool; 4] {
        let tg = t - self.gait_t0;
        [0, 1, 2, 3].map(|i| self.gait.in_stance(i, tg))
    }

    /// Safe command: joint PD towards the standing posture where the joint reading is
    /// finite, zero torque otherwise; clamped to the motor limits.
    /// Safe command: joint damping only, `−kd_safe·q̇` where the velocity reading is finite,
    /// within the torque limits [N·m] (no PD: positions are not trusted here).
    pub(crate) fn safe_torques(&self, state: &QuadrupedState) -> [f64; 12] {
        std::array::from_fn(|j| {
            let qd = state.qd[j];
            let t = if qd.is_finite() { -self.cfg.kd_safe * qd } else { 0.0 };
            clamp_torque(&self.cfg.robot, j, t)
        })
    }

    /// The robot's joint limits, in state order.
    pub(crate) fn joint_limits(&self) -> super::safety::JointLimits<12> {
        let r = &self.cfg.robot;
        super::safety::JointLimits {
            position: std::array::from_fn(|j| r.joint_limits[j % 3]),
            velocity: std::array::from_fn(|j| r.velocity_limits[j % 3]),
            torque: std::array::from_fn(|j| r.torque_limits[j % 3]),
        }
    }

    /// Damping of the damping stop [N·m·s/rad].
    pub(crate) fn stop_damping(&self) -> f64 {
        self.cfg.kd_safe
    }

    /// No hold torque: the damping stop lets the quadruped lie down.
    pub(crate) fn hold_torques(&self, _state: &QuadrupedState) -> [f64; 12] {
        [0.0; 12]
    }

    /// No joint-inertia estimate: the speed brake uses its fixed gain (the legs' joints stay
    /// far below their speed limits in a trot).
    pub(crate) fn joint_inertia(&self, _state: &QuadrupedState) -> Option<[f64; 12]> {
        None
    }

    fn valid(state: &QuadrupedState, cmd: &QuadrupedCommand) -> bool {
        let finite = state.t.is_finite()
            && state.base_pos.iter().all(|v| v.is_finite())
            && state.base_quat.iter().all(|v| v.is_finite())
            && state.base_linvel.iter().all(|v| v.is_finite())
            && state.base_angvel_body.iter().all(|v| v.is_finite())
            && state.q.iter().all(|v| v.is_finite())
            && state.qd.iter().all(|v| v.is_finite())
            && cmd.vx.is_finite()
            && cmd.vy.is_finite()
            && cmd.yaw_rate.is_finite()
            && cmd.body_height.is_finite();
        let qn = state.base_quat.iter().map(|v| v * v).sum::<f64>();
        finite && (0.25..4.0).contains(&qn)
    }

    /// One control tick: returns joint torques [N·m] (FR, FL, RR, RL × hip, thigh, calf),
    /// clamped to the robot's torque limits and always finite.
    pub fn update(&mut self, state: &QuadrupedState, cmd: &QuadrupedCommand) -> [f64; 12] {
        self.counters.updates += 1;
        if !Self::valid(state, cmd) {
            self.counters.invalid_inputs += 1;
            return self.safe_torques(state);
        }
        let Some(kin) = self.kinematics(state) else {
            self.counters.invalid_inputs += 1;
            return self.safe_torques(state);
        };
        let t = state.t;
        if cmd.gait != self.gait_kind {
            self.gait_kind = cmd.gait;
            self.gait = Gait::of_kind(cmd.gait, self.cfg.trot_period, self.cfg.trot_duty);
            self.gait_t0 = t;
            self.last_mpc_t = None;
        }
        let tg = t - self.gait_t0;
        let stance_now: [bool; 4] = [0, 1, 2, 3].map(|i| self.gait.in_stance(i, tg));
        // Ground height from the feet in stance (foot centre minus radius).
        let mut zsum = 0.0;
        let mut nst = 0;
        for i in 0..4 {
            if stance_now[i] {
                zsum += kin.feet_world[i].z - self.cfg.robot.foot_radius;
                nst += 1;
            }
        }
        if nst > 0 {
            let g = zsum / nst as f64;
            self.ground_z = Some(match self.ground_z {
                Some(old) => 0.9 * old + 0.1 * g,
                None => g,
            });
        }
        let ground_z = self.ground_z.unwrap_or(0.0);
        let height = if cmd.body_height > 0.05 { cmd.body_height.min(0.45) } else { self.cfg.robot.stand_height };
        // Standing cannot walk: velocity commands apply to the trot only.
        let (cmd_vx, cmd_vy, cmd_wz) =
            if self.gait_kind == GaitKind::Stand { (0.0, 0.0, 0.0) } else { (cmd.vx, cmd.vy, cmd.yaw_rate) };
        let (sy, cy) = kin.srb.rpy[2].sin_cos();
        let v_cmd_w = [cy * cmd_vx - sy * cmd_vy, sy * cmd_vx + cy * cmd_vy];
        // Integral of the velocity error (heading frame) while trotting.
        let dt_tick = match self.last_t {
            Some(t0) if t > t0 => (t - t0).min(0.02),
            _ => 0.0,
        };
        self.last_t = Some(t);
        if self.gait_kind == GaitKind::Trot {
            let vh = [cy * kin.vel.x + sy * kin.vel.y, -sy * kin.vel.x + cy * kin.vel.y];
            let lim = self.cfg.velocity_integral_limit;
            for k in 0..2 {
                let e = [cmd_vx, cmd_vy][k] - vh[k];
                self.v_int[k] = (self.v_int[k] + self.cfg.velocity_integral_gain * e * dt_tick).clamp(-lim, lim);
            }
        } else {
            self.v_int = [0.0; 2];
        }
        // Swing bookkeeping and footholds.
        let mut footholds = [Vector3::zeros(); 4];
        for i in 0..4 {
            if stance_now[i] {
                self.swing_active[i] = false;
            } else if !self.swing_active[i] {
                self.swing_active[i] = true;
                self.liftoff[i] = kin.feet_world[i];
            }
            let t_td = self.gait.time_to_touchdown(i, tg);
            let hip_b = self.legs[i].hip + Vector3::new(0.0, self.legs[i].offset_y, 0.0);
            let hip_w = [
                kin.base.x + cy * hip_b.x - sy * hip_b.y + v_cmd_w[0] * t_td,
                kin.base.y + sy * hip_b.x + cy * hip_b.y + v_cmd_w[1] * t_td,
            ];
            let f = raibert_foothold(
                hip_w,
                [kin.vel.x, kin.vel.y],
                v_cmd_w,
                cmd_wz,
                self.gait.stance_time(),
                height,
                self.cfg.foothold_max_offset,
            );
            footholds[i] = Vector3::new(f[0], f[1], ground_z + self.cfg.robot.foot_radius);
        }
        self.footholds = footholds;
        // Finished solves from the MPC thread.
        self.mpc.take_finished(&mut self.counters, None);
        // MPC when due.
        let due = match self.last_mpc_t {
            None => true,
            Some(t0) => t - t0 >= self.cfg.mpc_period - 1e-9 || t < t0,
        };
        if due {
            self.last_mpc_t = Some(t);
            // The MPC tracks the whole-body CoM: its height is the trunk's plus the offset.
            let height_com = height + kin.com_off.z;
            let v_ref = [cmd_vx + self.v_int[0], cmd_vy + self.v_int[1]];
            let r = SrbReference { v_body: v_ref, yaw_rate: cmd_wz, height: height_com, ground_z };
            if self.mpc.is_threaded() {
                let (n, dt, gait) = (self.cfg.mpc.horizon, self.cfg.mpc.dt, &self.gait);
                self.mpc.submit(&mut self.counters, |job| {
                    fill_plan(&mut job.plan, gait, n, dt, tg, &kin, &r, &stance_now, &footholds);
                    (job.t, job.srb, job.r) = (t, kin.srb, r);
                });
            } else {
                self.run_mpc(t, tg, &kin, &r, &stance_now, &footholds);
            }
        }
        // The forces in use and their age.
        let age = if !self.mpc.is_threaded() {
            self.last_mpc_t.map(|t0| t - t0)
        } else {
            let max_age = self.cfg.max_solution_age_periods * self.cfg.mpc_period;
            // Plans made for another gait (before the switch) do not apply.
            let fresh = self.mpc.newest().filter(|s| s.t >= self.gait_t0).and_then(|s| {
                let age = t - s.t;
                let steps = if self.cfg.forecast_shift { s.steps } else { 1 };
                solution_step(age, self.cfg.mpc.dt, max_age, steps).map(|k| (age, s.forces.map(|f| f[k])))
            });
            match fresh {
                Some((age, f)) => {
                    // A failed solve (counted when it came back): the fallback forces.
                    self.forces = f.unwrap_or_else(|| static_forces(&stance_now, self.cfg.mpc.weight()));
                    Some(age)
                }
                None => {
                    self.counters.stale_solutions += 1;
                    self.forces = static_forces(&stance_now, self.cfg.mpc.weight());
                    None
                }
            }
        };
        if let Some(a) = age {
            let us = (a.max(0.0) * 1e6).round() as u64;
            self.counters.max_solution_age_us = self.counters.max_solution_age_us.max(us);
        }
        // Torques.
        let rt = kin.rot.transpose();
        let mut tau = [0.0; 12];
        for i in 0..4 {
            let qi = [state.q[3 * i], state.q[3 * i + 1], state.q[3 * i + 2]];
            let qdi = [state.qd[3 * i], state.qd[3 * i + 1], state.qd[3 * i + 2]];
            let j = self.legs[i].jacobian(&qi);
            // Leg links held against gravity, so the foot force is what the MPC asked for.
            let up_b = rt * Vector3::z();
            let tau_g = self.legs[i].gravity_torques(&qi, &up_b, &self.cfg.robot.link_masses);
            let ti = tau_g
                + if stance_now[i] {
                    let f = rt * Vector3::from(self.forces[i]);
                    -(j.transpose() * f) - Vector3::from(qdi) * self.cfg.kd_stance
                } else {
                    let s = self.gait.swing_progress(i, tg).unwrap_or(1.0);
                    let tr = SwingTrajectory {
                        start: self.liftoff[i],
                        end: footholds[i],
                        height: self.cfg.swing_height,
                        duration: self.gait.swing_time(),
                    };
                    let (pw, vw) = tr.eval(s);
                    let pb = rt * (pw - kin.base);
                    let omega_w = Vector3::from(kin.srb.omega);
                    let vb = rt * (vw - kin.base_vel - omega_w.cross(&(pw - kin.base)));
                    match self.legs[i].inverse(&pb) {
                        Some(qd_des) => {
                            let qdot_des = j.try_inverse().map(|ji| ji * vb).unwrap_or_else(Vector3::zeros);
                            Vector3::from_fn(|k, _| {
                                self.cfg.kp_swing[k] * (qd_des[k] - qi[k])
                                    + self.cfg.kd_swing[k] * (qdot_des[k] - qdi[k])
                            })
                        }
                        None => Vector3::from(qdi) * -self.cfg.kd_safe,
                    }
                };
            for k in 0..3 {
                tau[3 * i + k] = clamp_torque(&self.cfg.robot, 3 * i + k, ti[k]);
            }
        }
        tau
    }

    /// Rigid-body quantities about the whole-body CoM (the legs carry ≈ 60 % of the mass
    /// and shift the CoM by centimetres from the trunk origin).
    fn kinematics(&self, state: &QuadrupedState) -> Option<Kin> {
        let mut srb = SrbState::from_robot(state)?;
        let rot = base_rotation(&state.base_quat).to_rotation_matrix().into_inner();
        let base = Vector3::from(state.base_pos);
        let com_off = rot * body_com(&self.cfg.robot, &self.legs, &state.q);
        let pos = base + com_off;
        let vel = Vector3::from(state.base_linvel) + Vector3::from(srb.omega).cross(&com_off);
        srb.pos = pos.into();
        srb.vel = vel.into();
        let mut feet_world = [Vector3::zeros(); 4];
        for i in 0..4 {
            let qi = [state.q[3 * i], state.q[3 * i + 1], state.q[3 * i + 2]];
            feet_world[i] = base + rot * self.legs[i].foot_position(&qi);
        }
        let base_vel = Vector3::from(state.base_linvel);
        Some(Kin { rot, base, base_vel, pos, vel, com_off, feet_world, srb })
    }

    /// With the MPC thread: waits (up to `timeout`) until every job handed to it has
    /// finished and takes the results, as if the solver were faster than one tick. Blocks:
    /// for tests and offline runs, never called by `update`. Returns false on timeout; true
    /// at once without the MPC thread.
    pub fn wait_for_mpc(&mut self, timeout: std::time::Duration) -> bool {
        self.mpc.take_finished(&mut self.counters, Some(timeout))
    }

    /// The MPC inside the tick (synchronous mode).
    fn run_mpc(
        &mut self,
        t: f64,
        tg: f64,
        kin: &Kin,
        r: &SrbReference,
        stance_now: &[bool; 4],
        footholds: &[Vector3<f64>; 4],
    ) {
        let (n, dt) = (self.cfg.mpc.horizon, self.cfg.mpc.dt);
        fill_plan(&mut self.plan, &self.gait, n, dt, tg, kin, r, stance_now, footholds);
        let Some(mpc) = self.mpc.mpc_mut() else { return };
        self.counters.solves += 1;
        let (out, rec) = solve_mpc(mpc, self.cfg.accept_prim_residual, t, &kin.srb, r, &self.plan);
        self.counters.solves_finished += 1;
        match out {
            Ok(o) => self.forces = o.forces,
            Err(_) => {
                self.counters.fallbacks += 1;
                self.forces = static_forces(stance_now, self.cfg.mpc.weight());
            }
        }
        self.mpc.record(rec);
    }
}

/// The contact schedule and foot positions (relative to the planned CoM) over the horizon:
/// `n` steps of `dt` [s] from gait time `tg` [s]. Feet in stance since now stay where they
/// are; the others land on their footholds.
fn fill_plan(
    plan: &mut HorizonPlan,
    gait: &Gait,
    n: usize,
    dt: f64,
    tg: f64,
    kin: &Kin,
    r: &SrbReference,
    stance_now: &[bool; 4],
    footholds: &[Vector3<f64>; 4],
) {
    let (sy, cy) = kin.srb.rpy[2].sin_cos();
    let v_w = [cy * r.v_body[0] - sy * r.v_body[1], sy * r.v_body[0] + cy * r.v_body[1]];
    let mut continuous = *stance_now;
    for k in 0..n {
        let tk = tg + k as f64 * dt;
        let com = Vector3::new(kin.pos.x + v_w[0] * k as f64 * dt, kin.pos.y + v_w[1] * k as f64 * dt, {
            // Height moves from the measured one to the reference over the horizon.
            let a = (k as f64 / n as f64).min(1.0);
            (1.0 - a) * kin.pos.z + a * (r.ground_z + r.height)
        });
        for i in 0..4 {
            let st = gait.in_stance(i, tk);
            if !st {
                continuous[i] = false;
            }
            plan.contact[k][i] = st;
            let foot = if continuous[i] { kin.feet_world[i] } else { footholds[i] };
            let rel = foot - com;
            plan.feet[k][i] = [rel.x, rel.y, rel.z];
        }
    }
}

/// One MPC solve at controller time `t` [s]: the first-step output (or why there is none;
/// the warm start is then dropped) and its record.
fn solve_mpc(
    mpc: &mut QuadrupedMpc,
    accept_prim_residual: f64,
    t: f64,
    srb: &SrbState,
    r: &SrbReference,
    plan: &HorizonPlan,
) -> (Result<MpcOutput, MpcError>, SolveRecord) {
    let started = std::time::Instant::now();
    let updated = mpc.update(srb, r, plan);
    let preprocess_time = started.elapsed();
    let (res, cpu_time) = match updated {
        Ok(()) => crate::mpc::with_cpu_time(|| mpc.solve().map(|_| ())),
        Err(e) => (Err(e), None),
    };
    let mut rec = SolveRecord::of_solve(t, mpc.solver_name(), mpc.last_solution());
    rec.preprocess_time = preprocess_time;
    rec.cpu_time = cpu_time;
    let out = res.and_then(|_| mpc.accept(accept_prim_residual));
    if out.is_err() {
        rec.fallback = true;
        mpc.reset_warm_start();
    }
    (out, rec)
}

/// Forces of horizon step `k` of the last accepted solution, world frame [N], projected onto
/// the friction pyramid and force bounds as [`QuadrupedMpc::accept`] does for step 0.
fn step_forces(mpc: &QuadrupedMpc, k: usize) -> [[f64; 3]; 4] {
    let Some(sol) = mpc.last_solution() else { return [[0.0; 3]; 4] };
    let (mg, mu) = (mpc.config().weight(), mpc.config().mu);
    let mut forces = [[0.0; 3]; 4];
    for i in 0..4 {
        let c = mpc.u_offset(k) + 3 * i;
        let (Some(&fx), Some(&fy), Some(&fz)) = (sol.x.get(c), sol.x.get(c + 1), sol.x.get(c + 2)) else { break };
        let fz = fz.clamp(0.0, mpc.problem().u[mpc.force_row(k, i)].max(0.0));
        let lim = mu * fz;
        forces[i] = [fx.clamp(-lim, lim) * mg, fy.clamp(-lim, lim) * mg, fz * mg];
    }
    forces
}

/// Weight shared equally by the stance feet, vertical [N].
pub fn static_forces(stance: &[bool; 4], weight: f64) -> [[f64; 3]; 4] {
    let n = stance.iter().filter(|s| **s).count().max(1) as f64;
    stance.map(|s| if s { [0.0, 0.0, weight / n] } else { [0.0; 3] })
}

fn clamp_torque(robot: &QuadrupedParams, j: usize, t: f64) -> f64 {
    let lim = robot.torque_limits[j % 3];
    if t.is_finite() { t.clamp(-lim, lim) } else { 0.0 }
}
