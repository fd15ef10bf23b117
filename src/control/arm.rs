//! Closed-loop arm controller: approach the table, detect contact, then regulate the normal
//! force with the admittance MPC ([`crate::mpc::arm`]) while moving tangentially.
//!
//! Two layers:
//! - [`AdmittancePlanner`] moves a virtual command point `c` (position, velocity): in free
//!   space it goes to the target above the table and descends at a fixed speed; after
//!   contact it integrates the MPC's planned acceleration; a contact estimator learns the
//!   effective stiffness/damping/offset from the measured force.
//! - [`ArmController`] makes the tool tip follow `c` with a Cartesian impedance:
//!   `τ = Jᵀ [K (c − p) + D (ċ − ṗ); K_r e_R − D_r ω] + g(q) + N (K_n (q₀ − q) − D_n q̇)`,
//!   with `g(q)` gravity compensation and `N` the null-space projector, the tool pointing
//!   straight down.
//!
//! With [`ArmControllerConfig::mpc_thread`] the MPC runs on a worker thread
//! ([`super::mpc_thread`]): the planner hands it the command point's state every
//! `mpc_period` and, every tick in contact, applies the newest finished plan's first-step
//! acceleration (with `forecast_shift`: that of the step matching the plan's age), or the
//! fallback admittance law when the plan is older than `max_solution_age_periods` (or the
//! solve failed).

use nalgebra::{Rotation3, UnitQuaternion, Vector3, Vector6};
use spikectl_robot::robots::{ARM_SCENE, ArmParams, PANDA};
use spikectl_robot::state::ArmState;

use super::mpc_host::{Finished, MpcHost, Plan};
use super::mpc_thread::{SHIFT_STEPS, solution_step};
use super::{ControlError, ControllerCounters};
use crate::model::arm_kin::{ArmModel, Vector7, nullspace_projector, orientation_error};
use crate::mpc::MpcError;
use crate::mpc::SolveRecord;
use crate::mpc::arm::{ArmMpc, ArmMpcConfig, ArmMpcOutput, ArmMpcState, ArmReference, ContactEstimator, ContactModel};
use crate::qp::QpSolver;

/// What the arm should do.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ArmCommand {
    /// Normal force to press into the table with [N].
    pub normal_force: f64,
    /// Tangential (x, y) velocity while in contact [m/s].
    pub tangent_velocity: [f64; 2],
    /// Tangential target point (x, y) [m]; overrides `tangent_velocity` when set.
    pub target_xy: Option<[f64; 2]>,
}

/// Controller tuning.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmControllerConfig {
    /// The arm (kinematics, masses, tool, limits, nominal posture).
    pub robot: ArmParams,
    /// Height of the contact surface expected during the approach [m] (the surface found at
    /// contact replaces it).
    pub surface_z: f64,
    /// MPC horizon, limits and weights.
    pub mpc: ArmMpcConfig,
    /// Period of the control tick, [`ArmController::update`] [s] (1 kHz).
    pub control_period: f64,
    /// Time between MPC solves [s].
    pub mpc_period: f64,
    /// Translational stiffness (x, y, z) [N/m].
    pub k_trans: [f64; 3],
    /// Translational damping [N·s/m].
    pub d_trans: [f64; 3],
    /// Rotational stiffness [N·m/rad].
    pub k_rot: f64,
    /// Rotational damping [N·m·s/rad].
    pub d_rot: f64,
    /// Null-space posture stiffness [N·m/rad].
    pub k_null: f64,
    /// Null-space damping [N·m·s/rad].
    pub d_null: f64,
    /// Descent speed while approaching, far from the table [m/s].
    pub approach_speed: f64,
    /// Descent speed within `slow_zone` of the known table height [m/s].
    pub touch_speed: f64,
    /// Height above the table top below which the descent slows to `touch_speed` [m].
    pub slow_zone: f64,
    /// Time after contact onset before the contact estimator starts learning [s] (impact
    /// transients do not fit the static contact model).
    pub estimator_holdoff: f64,
    /// After contact onset the MPC's force reference blends linearly from the measured onset
    /// force to the command over this time [s] (bumpless transfer; 0 = step). Avoids a first
    /// plan that saturates the normal velocity and acceleration limits (the hardest QPs of a
    /// run: 4000 spiking iterations without the blend, ≤ 1350 with 0.2 s).
    pub contact_blend_time: f64,
    /// Height above the table top at which the tool travels to a target before descending [m].
    pub hover_height: f64,
    /// Measured normal force that signals contact [N].
    pub contact_threshold: f64,
    /// Below this force [N] for `contact_lost_time` [s] the contact counts as lost.
    pub contact_lost_threshold: f64,
    /// See `contact_lost_threshold` [s].
    pub contact_lost_time: f64,
    /// Tool mass for gravity compensation [kg] (default: the simulator's tool).
    pub tool_mass: f64,
    /// Use a solution that stopped at the iteration limit when its primal residual is at most this.
    pub accept_prim_residual: f64,
    /// Most solve records kept between `take_solve_records` calls.
    pub max_records: usize,
    /// Integral gain on the tip's tangential error to a target point while in contact [1/s].
    pub target_integral_gain: f64,
    /// Limit on that integral [m].
    pub target_integral_limit: f64,
    /// Tip errors below this do not feed the integral [m].
    pub target_deadband: f64,
    /// Tangential friction feed-forward in contact: adds `μ̂ F_n` along the command point's
    /// tangential velocity to the impedance force, so the impedance no longer has to build
    /// up the friction force from a lag (and reverse it by sticking) at every start and
    /// reversal of a slide.
    pub friction_compensation: bool,
    /// Command-point speed [m/s] over which the feed-forward ramps from 0 to full (a smooth
    /// sign function: no switching at rest).
    pub friction_ramp_speed: f64,
    /// Initial friction estimate μ̂ (before any sliding was measured).
    pub friction_prior: f64,
    /// Time constant of the μ̂ estimate [s] (low-pass of −F_t·v̂ / F_n from the wrench sensor).
    pub friction_estimate_time: f64,
    /// Tip speed above which the tip counts as sliding for the μ̂ estimate [m/s].
    pub friction_min_speed: f64,
    /// Run the MPC on a worker thread of its own (see the module docs); false (the
    /// default): solve it inside `update`, as the in-process closed loop does.
    pub mpc_thread: bool,
    /// With `mpc_thread`: plans older than this many `mpc_period`s are not used (the
    /// fallback admittance law instead, counted in
    /// [`super::ControllerCounters::stale_solutions`]).
    pub max_solution_age_periods: f64,
    /// With `mpc_thread`: apply the acceleration of the horizon step matching the solution's age
    /// (⌊age/dt⌋) instead of the first step's. Off by default: in the MuJoCo tests with
    /// solutions 20 ms late the first step (computed from the latest measured state, held as
    /// the synchronous path holds it) tracked better (quadruped trot: largest tilt 0.05 rad
    /// against 0.15 rad shifted; `tests/mpc_thread.rs`).
    pub forecast_shift: bool,
}

impl Default for ArmControllerConfig {
    fn default() -> Self {
        Self {
            robot: PANDA,
            surface_z: ARM_SCENE.table_top_z,
            mpc: ArmMpcConfig::default(),
            control_period: 0.001,
            mpc_period: 0.01,
            k_trans: [800.0, 800.0, 1000.0],
            d_trans: [60.0, 60.0, 80.0],
            k_rot: 40.0,
            d_rot: 2.0,
            k_null: 5.0,
            d_null: 0.5,
            approach_speed: 0.1,
            touch_speed: 0.02,
            slow_zone: 0.02,
            estimator_holdoff: 0.2,
            contact_blend_time: 0.2,
            hover_height: 0.10,
            contact_threshold: 2.0,
            contact_lost_threshold: 0.3,
            contact_lost_time: 0.2,
            tool_mass: PANDA.tool_mass,
            accept_prim_residual: 0.1,
            max_records: 10_000,
            target_integral_gain: 1.0,
            target_integral_limit: 0.02,
            target_deadband: 0.002,
            friction_compensation: true,
            friction_ramp_speed: 0.005,
            friction_prior: 0.0,
            friction_estimate_time: 0.2,
            friction_min_speed: 0.01,
            mpc_thread: false,
            max_solution_age_periods: 2.0,
            forecast_shift: false,
        }
    }
}

/// Phase of the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmPhase {
    /// Moving in free space towards the table.
    Approach,
    /// In contact, regulating force.
    Contact,
}

/// A job for the MPC thread.
struct ArmJob {
    /// Controller time [s].
    t: f64,
    s0: ArmMpcState,
    r: ArmReference,
    model: ContactModel,
    /// Drop the warm start first (new contact).
    reset: bool,
}

/// A finished arm MPC solve, as the tick uses it.
#[derive(Clone, Copy)]
struct ArmSolution {
    /// Controller time of the state it was computed from [s].
    t: f64,
    /// Command-point acceleration per horizon step [m/s²]; `None` if the solve failed.
    acc: Option<[[f64; 3]; SHIFT_STEPS]>,
    /// Valid entries of `acc`.
    steps: usize,
}

impl Plan for ArmSolution {
    fn failed(&self) -> bool {
        self.acc.is_none()
    }
}

/// The command-point planner (approach, contact detection, MPC, estimator).
pub struct AdmittancePlanner {
    cfg: ArmControllerConfig,
    mpc: MpcHost<ArmMpc, ArmJob, ArmSolution>,
    solver_name: &'static str,
    reset_pending: bool,
    estimator: ContactEstimator,
    phase: ArmPhase,
    c: Vector3<f64>,
    vc: Vector3<f64>,
    acc: Vector3<f64>,
    initialised: bool,
    last_t: Option<f64>,
    last_mpc_t: Option<f64>,
    surface_z: f64,
    contact_t0: f64,
    f_onset: f64,
    contact_ticks: u32,
    xy_int: [f64; 2],
    low_force_time: f64,
    counters: ControllerCounters,
}

impl AdmittancePlanner {
    /// Builds the MPC on `solver`.
    pub fn new(solver: Box<dyn QpSolver>, cfg: ArmControllerConfig) -> Result<Self, ControlError> {
        if !(cfg.mpc_period > 0.0
            && cfg.approach_speed > 0.0
            && cfg.touch_speed > 0.0
            && cfg.contact_threshold > cfg.contact_lost_threshold
            && cfg.contact_blend_time >= 0.0
            && cfg.friction_ramp_speed > 0.0
            && cfg.friction_estimate_time > 0.0
            && (0.0..=1.0).contains(&cfg.friction_prior))
        {
            return Err(ControlError::Config("arm periods/speeds/thresholds out of range".into()));
        }
        if !(cfg.max_solution_age_periods.is_finite() && cfg.max_solution_age_periods > 0.0) {
            return Err(ControlError::Config("max_solution_age_periods must be positive".into()));
        }
        let estimator = ContactEstimator::new(cfg.k_trans[2], cfg.d_trans[2]);
        let solver_name = solver.name();
        let mpc = ArmMpc::new(cfg.mpc.clone(), estimator.model(), solver)?;
        let mpc = if cfg.mpc_thread {
            let accept = cfg.accept_prim_residual;
            let model = estimator.model();
            let job = || ArmJob { t: 0.0, s0: ArmMpcState::default(), r: ArmReference::default(), model, reset: false };
            MpcHost::threaded(
                "arm-mpc",
                mpc,
                job,
                move |mpc: &mut ArmMpc, job: &mut ArmJob| {
                    if job.reset {
                        mpc.reset_warm_start();
                    }
                    let (out, rec) = solve_arm(mpc, accept, job.t, &job.s0, &job.r, &job.model);
                    let steps = SHIFT_STEPS.min(mpc.config().horizon);
                    let acc = out.ok().map(|o| {
                        let mut a = [[0.0; 3]; SHIFT_STEPS];
                        a[0] = o.acc;
                        for (k, ak) in a.iter_mut().enumerate().take(steps).skip(1) {
                            *ak = step_acc(mpc, k);
                        }
                        a
                    });
                    Finished { plan: ArmSolution { t: job.t, acc, steps }, records: vec![rec] }
                },
                cfg.max_records,
            )?
        } else {
            MpcHost::inline(mpc, cfg.max_records)
        };
        Ok(Self {
            mpc,
            solver_name,
            reset_pending: false,
            estimator,
            phase: ArmPhase::Approach,
            c: Vector3::zeros(),
            vc: Vector3::zeros(),
            acc: Vector3::zeros(),
            initialised: false,
            last_t: None,
            last_mpc_t: None,
            surface_z: cfg.surface_z,
            contact_t0: 0.0,
            f_onset: 0.0,
            contact_ticks: 0,
            xy_int: [0.0; 2],
            low_force_time: 0.0,
            counters: ControllerCounters::default(),
            cfg,
        })
    }

    /// Current phase.
    pub fn phase(&self) -> ArmPhase {
        self.phase
    }
    /// Command point position [m] and velocity [m/s].
    pub fn command_point(&self) -> (Vector3<f64>, Vector3<f64>) {
        (self.c, self.vc)
    }
    /// Estimated surface height [m] (set at contact).
    pub fn surface_z(&self) -> f64 {
        self.surface_z
    }
    /// Counters (solves and fallbacks; the controller adds updates and invalid inputs).
    pub fn counters(&self) -> ControllerCounters {
        self.counters
    }
    /// The contact estimator.
    pub fn estimator(&self) -> &ContactEstimator {
        &self.estimator
    }
    /// The MPC (its current QP and last solution), read-only; `None` when it runs on its
    /// own thread.
    pub fn mpc(&self) -> Option<&ArmMpc> {
        self.mpc.mpc()
    }

    /// True when the MPC runs inline, or on its own thread and that thread is alive.
    pub fn mpc_alive(&self) -> bool {
        self.mpc.alive()
    }

    /// Advances the command point to time `t` [s] given the measured tool position `p` [m]
    /// and normal force `f_n` [N] (positive when pressing). Inputs must be finite.
    pub fn step(&mut self, t: f64, p: &Vector3<f64>, f_n: f64, cmd: &ArmCommand) -> (Vector3<f64>, Vector3<f64>) {
        if !self.initialised {
            self.c = *p;
            self.vc = Vector3::zeros();
            self.initialised = true;
        }
        let dt = match self.last_t {
            Some(t0) if t > t0 => (t - t0).min(0.02),
            _ => 0.0,
        };
        self.last_t = Some(t);
        // Finished solves from the MPC thread.
        self.mpc.take_finished(&mut self.counters, None);
        let mc = self.cfg.mpc.clone();
        let f_ref = cmd.normal_force.clamp(0.0, mc.f_max);
        match self.phase {
            ArmPhase::Approach => {
                let hover = self.cfg.surface_z + self.cfg.hover_height;
                let mut v_des = Vector3::zeros();
                let mut descend = true;
                if let Some(tg) = cmd.target_xy {
                    let ws = mc.workspace_xy;
                    let d =
                        Vector3::new(tg[0].clamp(ws[0], ws[1]) - self.c.x, tg[1].clamp(ws[2], ws[3]) - self.c.y, 0.0);
                    if d.norm() > 0.01 {
                        descend = false;
                        if self.c.z < hover - 0.005 {
                            v_des.z = mc.v_max_normal;
                        } else {
                            let v = d * 2.0;
                            let n = v.norm();
                            v_des = if n > mc.v_max_tangent { v * (mc.v_max_tangent / n) } else { v };
                        }
                    }
                }
                if descend {
                    let above = p.z - self.cfg.surface_z;
                    v_des.z = if above > self.cfg.slow_zone { -self.cfg.approach_speed } else { -self.cfg.touch_speed };
                }
                let dv = v_des - self.vc;
                let lim = mc.a_max * dt;
                self.acc = dv.map(|x| if dt > 0.0 { x.clamp(-lim, lim) / dt } else { 0.0 });
                if f_n > self.cfg.contact_threshold {
                    self.contact_ticks += 1;
                } else {
                    self.contact_ticks = 0;
                }
                if self.contact_ticks >= 3 {
                    self.phase = ArmPhase::Contact;
                    self.contact_t0 = t;
                    self.f_onset = f_n.clamp(0.0, f_ref);
                    self.surface_z = p.z;
                    self.low_force_time = 0.0;
                    self.last_mpc_t = None;
                    match self.mpc.mpc_mut() {
                        Some(m) => m.reset_warm_start(),
                        None => self.reset_pending = true,
                    }
                }
            }
            ArmPhase::Contact => {
                let e = self.c.z - self.surface_z;
                if t - self.contact_t0 >= self.cfg.estimator_holdoff {
                    self.estimator.update(e, self.vc.z, f_n);
                }
                if f_n < self.cfg.contact_lost_threshold {
                    self.low_force_time += dt;
                } else {
                    self.low_force_time = 0.0;
                }
                // Friction can hold the tip short of a target the command point reached: an
                // integral on the tip's own error shifts the target the MPC steers c to.
                match cmd.target_xy {
                    Some(tg) => {
                        let lim = self.cfg.target_integral_limit;
                        for k in 0..2 {
                            // Deadband against hunting under stick-slip friction.
                            let e0 = tg[k] - p[k];
                            let err = e0 - e0.clamp(-self.cfg.target_deadband, self.cfg.target_deadband);
                            self.xy_int[k] =
                                (self.xy_int[k] + self.cfg.target_integral_gain * err * dt).clamp(-lim, lim);
                        }
                    }
                    None => self.xy_int = [0.0; 2],
                }
                let due = self.last_mpc_t.is_none_or(|t0| t - t0 >= self.cfg.mpc_period - 1e-9 || t < t0);
                // Bumpless transfer: blend the force reference from the force at contact
                // onset to the command over `contact_blend_time`.
                let blend = self.cfg.contact_blend_time;
                let w = if blend > 0.0 { ((t - self.contact_t0) / blend).clamp(0.0, 1.0) } else { 1.0 };
                let f_use = self.f_onset + w * (f_ref - self.f_onset);
                if due {
                    self.last_mpc_t = Some(t);
                    let shifted = ArmCommand {
                        target_xy: cmd.target_xy.map(|tg| [tg[0] + self.xy_int[0], tg[1] + self.xy_int[1]]),
                        ..*cmd
                    };
                    if self.mpc.is_threaded() {
                        self.submit(t, e, f_use, &shifted);
                    } else {
                        self.run_mpc(t, e, f_n, f_use, &shifted);
                    }
                }
                self.use_solution(t, f_n, f_use);
                if self.low_force_time > self.cfg.contact_lost_time {
                    self.phase = ArmPhase::Approach;
                    self.contact_ticks = 0;
                }
            }
        }
        self.vc += self.acc * dt;
        self.c += self.vc * dt;
        (self.c, self.vc)
    }

    /// With the MPC thread: waits (up to `timeout`) until every job handed to it has
    /// finished and takes the results, as if the solver were faster than one tick. Blocks:
    /// for tests and offline runs, never called by `step`. Returns false on timeout; true at
    /// once without the MPC thread.
    pub fn wait_for_mpc(&mut self, timeout: std::time::Duration) -> bool {
        self.mpc.take_finished(&mut self.counters, Some(timeout))
    }

    /// The MPC inside the tick (synchronous mode).
    fn run_mpc(&mut self, t: f64, e: f64, f_n: f64, f_ref: f64, cmd: &ArmCommand) {
        let s0 = ArmMpcState { e, vel: [self.vc.x, self.vc.y, self.vc.z], xy: [self.c.x, self.c.y] };
        let r = ArmReference { force: f_ref, tangent_velocity: cmd.tangent_velocity, target_xy: cmd.target_xy };
        let model = self.estimator.model();
        let Some(mpc) = self.mpc.mpc_mut() else { return };
        self.counters.solves += 1;
        let (out, rec) = solve_arm(mpc, self.cfg.accept_prim_residual, t, &s0, &r, &model);
        self.counters.solves_finished += 1;
        match out {
            Ok(o) => self.acc = Vector3::from(o.acc),
            Err(_) => {
                self.counters.fallbacks += 1;
                self.acc = self.fallback_acc(f_ref, f_n);
            }
        }
        self.mpc.record(rec);
    }

    /// Fallback: admittance PI-like law on the normal, stop tangentially [m/s²].
    fn fallback_acc(&self, f_ref: f64, f_n: f64) -> Vector3<f64> {
        let mc = &self.cfg.mpc;
        let vz_des = (-0.002 * (f_ref - f_n)).clamp(-mc.v_max_normal, mc.v_max_normal);
        let v_des = Vector3::new(0.0, 0.0, vz_des);
        ((v_des - self.vc) / 0.05).map(|x| x.clamp(-mc.a_max, mc.a_max))
    }

    /// Hands the MPC thread a job (thread mode). Never blocks, no allocation.
    fn submit(&mut self, t: f64, e: f64, f_ref: f64, cmd: &ArmCommand) {
        let model = self.estimator.model();
        let s0 = ArmMpcState { e, vel: [self.vc.x, self.vc.y, self.vc.z], xy: [self.c.x, self.c.y] };
        let r = ArmReference { force: f_ref, tangent_velocity: cmd.tangent_velocity, target_xy: cmd.target_xy };
        let reset = self.reset_pending;
        if self.mpc.submit(&mut self.counters, |job| {
            (job.t, job.s0, job.r, job.model, job.reset) = (t, s0, r, model, reset);
        }) {
            self.reset_pending = false;
        }
    }

    /// The acceleration of the tick in contact: the newest plan's, at the step matching its
    /// age, or the fallback law (thread mode: every tick; inline mode: the held one).
    fn use_solution(&mut self, t: f64, f_n: f64, f_ref: f64) {
        if !self.mpc.is_threaded() {
            if let Some(t0) = self.last_mpc_t {
                self.note_age(t - t0);
            }
            return;
        }
        let newest = self.mpc.newest();
        let max_age = self.cfg.max_solution_age_periods * self.cfg.mpc_period;
        // Plans from before this contact do not apply.
        let fresh = newest.filter(|s| s.t >= self.contact_t0).and_then(|s| {
            let age = t - s.t;
            let steps = if self.cfg.forecast_shift { s.steps } else { 1 };
            solution_step(age, self.cfg.mpc.dt, max_age, steps).map(|k| (age, s.acc.map(|a| a[k])))
        });
        match fresh {
            Some((age, a)) => {
                self.note_age(age);
                self.acc = match a {
                    Some(a) => Vector3::from(a),
                    None => self.fallback_acc(f_ref, f_n),
                };
            }
            None => {
                self.counters.stale_solutions += 1;
                self.acc = self.fallback_acc(f_ref, f_n);
            }
        }
    }

    fn note_age(&mut self, age: f64) {
        let us = (age.max(0.0) * 1e6).round() as u64;
        self.counters.max_solution_age_us = self.counters.max_solution_age_us.max(us);
    }
}

/// One arm MPC solve at controller time `t` [s]: the first-step output (or why there is
/// none; the warm start is then dropped) and its record.
fn solve_arm(
    mpc: &mut ArmMpc,
    accept_prim_residual: f64,
    t: f64,
    s0: &ArmMpcState,
    r: &ArmReference,
    model: &ContactModel,
) -> (Result<ArmMpcOutput, MpcError>, SolveRecord) {
    let started = std::time::Instant::now();
    let updated = mpc.update(s0, r, model);
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

/// Command-point acceleration of horizon step `k` of the last accepted solution, clamped to
/// the limits [m/s²].
fn step_acc(mpc: &ArmMpc, k: usize) -> [f64; 3] {
    let Some(sol) = mpc.last_solution() else { return [0.0; 3] };
    let (a, am) = (mpc.acc_col(k), mpc.config().a_max);
    match sol.x.get(a..a + 3) {
        Some(v) => [v[0].clamp(-am, am), v[1].clamp(-am, am), v[2].clamp(-am, am)],
        None => [0.0; 3],
    }
}

/// The arm controller (see the module docs).
pub struct ArmController {
    planner: AdmittancePlanner,
    model: ArmModel,
    r_des: UnitQuaternion<f64>,
    last_gravity: Vector7,
    mu_hat: f64,
    last_t: Option<f64>,
}

impl ArmController {
    /// Builds the controller and its MPC on `solver`.
    pub fn new(solver: Box<dyn QpSolver>, cfg: ArmControllerConfig) -> Result<Self, ControlError> {
        let model = ArmModel { tool_mass: cfg.tool_mass, ..ArmModel::new(&cfg.robot) };
        // Tool pointing straight down, heading taken from the nominal posture.
        let r_nom = model.tcp_pose(&cfg.robot.q_nominal).rotation;
        let x_nom = r_nom * Vector3::x();
        let mut x = Vector3::new(x_nom.x, x_nom.y, 0.0);
        if x.norm() < 1e-6 {
            x = Vector3::x();
        }
        let x = x.normalize();
        let z = -Vector3::z();
        let y = z.cross(&x);
        let r_des = UnitQuaternion::from_rotation_matrix(&Rotation3::from_basis_unchecked(&[x, y, z]));
        let last_gravity = model.gravity_torques(&cfg.robot.q_nominal);
        let mu_hat = cfg.friction_prior.clamp(0.0, 1.0);
        Ok(Self { planner: AdmittancePlanner::new(solver, cfg)?, model, r_des, last_gravity, mu_hat, last_t: None })
    }

    /// Current estimate of the tip–surface friction coefficient μ̂ (from the wrench sensor
    /// while sliding).
    pub fn friction_estimate(&self) -> f64 {
        self.mu_hat
    }

    /// Friction feed-forward [N] (x, y) and the μ̂ update, in contact only.
    fn friction_feedforward(&mut self, t: f64, v: &Vector3<f64>, vc: &Vector3<f64>, f_env: &[f64; 3]) -> [f64; 2] {
        let cfg = &self.planner.cfg;
        let dt = match self.last_t {
            Some(t0) if t > t0 => (t - t0).min(0.02),
            _ => 0.0,
        };
        self.last_t = Some(t);
        if !cfg.friction_compensation || self.planner.phase != ArmPhase::Contact {
            return [0.0; 2];
        }
        let f_n = f_env[2].clamp(0.0, cfg.mpc.f_max);
        // Estimate: friction opposes the tip's sliding velocity, μ = −F_t·v̂ / F_n.
        let speed = v.x.hypot(v.y);
        if dt > 0.0 && speed > cfg.friction_min_speed && f_n > cfg.contact_threshold {
            let mu = (-(f_env[0] * v.x + f_env[1] * v.y) / speed / f_n).clamp(0.0, 1.0);
            let a = (dt / cfg.friction_estimate_time.max(dt)).min(1.0);
            self.mu_hat += a * (mu - self.mu_hat);
        }
        let vcs = vc.x.hypot(vc.y);
        if vcs < 1e-9 {
            return [0.0; 2];
        }
        // Smooth sign: full friction force above `friction_ramp_speed`.
        let g = self.mu_hat * f_n * (vcs / cfg.friction_ramp_speed.max(1e-6)).min(1.0) / vcs;
        [g * vc.x, g * vc.y]
    }

    /// The configuration.
    pub fn config(&self) -> &ArmControllerConfig {
        &self.planner.cfg
    }

    /// The planner (phase, command point, estimator).
    pub fn planner(&self) -> &AdmittancePlanner {
        &self.planner
    }

    /// Solve records since the last call.
    pub fn take_solve_records(&mut self) -> Vec<SolveRecord> {
        self.planner.mpc.take_records()
    }

    /// Name of the QP backend behind the MPC.
    pub(crate) fn solver_name(&self) -> &'static str {
        self.planner.solver_name
    }

    /// Counters since construction.
    pub fn counters(&self) -> ControllerCounters {
        self.planner.counters
    }

    /// See [`AdmittancePlanner::mpc_alive`].
    pub fn mpc_alive(&self) -> bool {
        self.planner.mpc_alive()
    }

    /// See [`AdmittancePlanner::wait_for_mpc`].
    pub fn wait_for_mpc(&mut self, timeout: std::time::Duration) -> bool {
        self.planner.wait_for_mpc(timeout)
    }

    /// Safe command: gravity compensation at the last valid posture plus joint damping where
    /// the velocity reading is finite; clamped.
    pub(crate) fn safe_torques(&self, state: &ArmState) -> [f64; 7] {
        let mut tau = [0.0; 7];
        for j in 0..7 {
            let qd = state.qd[j];
            let d = self.planner.cfg.robot.safe_damping;
            let damp = if qd.is_finite() { -d * qd } else { 0.0 };
            tau[j] = clamp_torque(&self.planner.cfg.robot, j, self.last_gravity[j] + damp);
        }
        tau
    }

    /// The arm's joint limits.
    pub(crate) fn joint_limits(&self) -> super::safety::JointLimits<7> {
        let r = &self.planner.cfg.robot;
        super::safety::JointLimits { position: r.q_limits, velocity: r.velocity_limits, torque: r.torque_limits }
    }

    /// Damping of the damping stop [N·m·s/rad].
    pub(crate) fn stop_damping(&self) -> f64 {
        self.planner.cfg.robot.safe_damping
    }

    /// Gravity torque (tool included) at the last valid posture [N·m]: the arm does not
    /// sag during a damping stop. A feed-forward, no feedback on the state.
    pub(crate) fn hold_torques(&self, _state: &ArmState) -> [f64; 7] {
        self.last_gravity.into()
    }

    /// Diagonal of the joint-space inertia at the state's posture, from the model's point
    /// masses (links at their CoMs, the tool at its mid-length): `I_i = Σ_k m_k·|z_i × (c_k −
    /// o_i)|²` over the masses beyond joint `i` [kg·m²]. The links' own rotational inertia is
    /// left out, so this underestimates (the speed brake then errs on the soft side).
    /// `None` for a non-finite posture.
    pub(crate) fn joint_inertia(&self, state: &ArmState) -> Option<[f64; 7]> {
        if !state.q.iter().all(|v| v.is_finite()) {
            return None;
        }
        let m = &self.model;
        let f = m.frames(&state.q);
        let mut masses: Vec<(usize, f64, Vector3<f64>)> = (0..7)
            .map(|k| {
                let c = f.links[k] * nalgebra::Point3::from(Vector3::from(m.coms[k]));
                (k, m.params.link_masses[k], c.coords)
            })
            .collect();
        if m.tool_mass > 0.0 {
            let c = f.links[6] * nalgebra::Point3::new(0.0, 0.0, m.params.flange_d + 0.5 * m.params.tool_length);
            masses.push((6, m.tool_mass, c.coords));
        }
        Some(std::array::from_fn(|i| {
            let z = f.links[i].rotation * Vector3::z();
            let o = f.links[i].translation.vector;
            masses.iter().filter(|(k, _, _)| *k >= i).map(|(_, mk, c)| mk * z.cross(&(c - o)).norm_squared()).sum()
        }))
    }

    /// One control tick: joint torques [N·m], clamped to the robot's torque limits, never NaN.
    pub fn update(&mut self, state: &ArmState, cmd: &ArmCommand) -> [f64; 7] {
        self.planner.counters.updates += 1;
        let valid = state.t.is_finite()
            && state.q.iter().chain(&state.qd).chain(&state.wrench_force).all(|v| v.is_finite())
            && cmd.normal_force.is_finite()
            && cmd.tangent_velocity.iter().all(|v| v.is_finite())
            && cmd.target_xy.is_none_or(|t| t.iter().all(|v| v.is_finite()));
        if !valid {
            self.planner.counters.invalid_inputs += 1;
            return self.safe_torques(state);
        }
        let frames = self.model.frames(&state.q);
        let j = self.model.jacobian(&state.q);
        let qd = Vector7::from(state.qd);
        let q = Vector7::from(state.q);
        let twist: Vector6<f64> = j * qd;
        let p = frames.tcp.translation.vector;
        let v = Vector3::new(twist[0], twist[1], twist[2]);
        let w = Vector3::new(twist[3], twist[4], twist[5]);
        let f_n = state.wrench_force[2];
        let (c, vc) = self.planner.step(state.t, &p, f_n, cmd);
        let cfg = &self.planner.cfg;
        let cfg_k = Vector3::from(cfg.k_trans);
        let cfg_d = Vector3::from(cfg.d_trans);
        let mut f = (c - p).component_mul(&cfg_k) + (vc - v).component_mul(&cfg_d);
        let ff = self.friction_feedforward(state.t, &v, &vc, &state.wrench_force);
        f.x += ff[0];
        f.y += ff[1];
        let cfg = &self.planner.cfg;
        let m = orientation_error(&frames.tcp.rotation, &self.r_des) * cfg.k_rot - w * cfg.d_rot;
        let wrench = Vector6::new(f.x, f.y, f.z, m.x, m.y, m.z);
        let g = self.model.gravity_torques(&state.q);
        self.last_gravity = g;
        let n = nullspace_projector(&j, 1e-2);
        let q0 = Vector7::from(cfg.robot.q_nominal);
        let tau_null = n * ((q0 - q) * cfg.k_null - qd * cfg.d_null);
        let tau = j.transpose() * wrench + g + tau_null;
        let mut out = [0.0; 7];
        for k in 0..7 {
            out[k] = clamp_torque(&cfg.robot, k, tau[k]);
        }
        out
    }
}

fn clamp_torque(robot: &ArmParams, j: usize, t: f64) -> f64 {
    let lim = robot.torque_limits[j];
    if t.is_finite() { t.clamp(-lim, lim) } else { 0.0 }
}
