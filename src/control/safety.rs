//! Safe behaviour around any [`Controller`]: an e-stop latched until reset, a stale-state
//! rule, fall / contact-loss detection and joint limits on every command.
//!
//! [`SafetyGuard::step`] sits between the measured state and the motors, for the closed loop
//! without ROS (`scenario`) and the ROS nodes' real-time step alike. Every tick it decides:
//!
//! 1. the newest state is older than [`SafetyConfig::stale_timeout`] (the caller measures the
//!    age in its own clock) → **damping stop** on that state, with the damping faded to zero
//!    over [`SafetyConfig::stale_fade`]: no PD and no feedback that trusts old positions;
//!    the controller is not updated;
//! 2. an e-stop is latched ([`SafetyGuard::engage_estop`], cleared only by
//!    [`SafetyGuard::reset`]) or a fault is latched (a fall: tilt above
//!    [`SafetyConfig::fall_tilt`]; contact loss: no foot in contact for
//!    [`SafetyConfig::contact_loss_time`]; the arm pressing harder than
//!    [`SafetyConfig::max_contact_force`]) → **damping stop** on the fresh state;
//! 3. otherwise the controller's command.
//!
//! The damping stop is `τ = h − d·q̇` with `h` the controller's hold torque
//! ([`Controller::hold_torques`]: zero for the quadruped, gravity at the last valid posture
//! for the arm) and `d` [`Controller::stop_damping`], each joint clamped to
//! [`SafetyConfig::stop_torque_fraction`] of its torque limit. Every command then passes
//! [`JointLimits::enforce`]: beyond a position limit the torque may not push further (a
//! spring-damper wall pushes back; not during a damping stop, which already opposes the
//! motion and must not push a lying robot up), above a speed limit it may not accelerate the
//! joint further, and it is clamped to the torque limit; each violation is counted.
//!
//! The speed rule brakes with a gain `k` per joint: [`LimitGains::speed_damping`], or, when
//! the controller estimates the joint's inertia `I` ([`Controller::joint_inertia`]),
//! `I / speed_brake_time` (at least `speed_damping`): the excess speed then decays in about
//! [`LimitGains::speed_brake_time`], whatever the inertia. Under control, a damping
//! `−k·(|q̇| − (1 − speed_band)·v_max)` also acts *before* the limit, in the band of the top
//! [`LimitGains::speed_band`] of the speed range, so that a joint carried along by the others
//! (the arm's base yaw, when the wrist and elbow swing) is slowed before it reaches the limit.

use serde::{Deserialize, Serialize};

use super::{Controller, RobotState};

/// Joint limits of a robot with `N` joints, in state order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointLimits<const N: usize> {
    /// Position limits (lower, upper) [rad].
    pub position: [(f64, f64); N],
    /// Speed limits [rad/s].
    pub velocity: [f64; N],
    /// Torque limits [N·m].
    pub torque: [f64; N],
}

/// Gains of the position wall and the speed brake of [`JointLimits::enforce`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitGains {
    /// Stiffness of the wall beyond a position limit [N·m/rad].
    pub wall_stiffness: f64,
    /// Damping of the wall while moving further out [N·m·s/rad].
    pub wall_damping: f64,
    /// Braking gain on the speed in excess of a speed limit [N·m·s/rad] (the least gain, and
    /// the gain for controllers without an inertia estimate).
    pub speed_damping: f64,
    /// Time in which the speed brake removes an excess speed, for joints with an inertia
    /// estimate (gain = inertia / this) [s].
    pub speed_brake_time: f64,
    /// Fraction of each speed limit below it where the pre-limit damping starts (0 = none).
    pub speed_band: f64,
}

impl Default for LimitGains {
    fn default() -> Self {
        Self { wall_stiffness: 50.0, wall_damping: 2.0, speed_damping: 2.0, speed_brake_time: 0.01, speed_band: 0.2 }
    }
}

/// Limit violations counted by [`JointLimits::enforce`] (one per joint and tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LimitCounters {
    /// Joint positions found beyond a position limit [count].
    pub position: u64,
    /// Joint speeds found above a speed limit [count].
    pub velocity: u64,
    /// Commanded torques beyond the torque limit, clamped [count].
    pub torque: u64,
    /// Non-finite commanded torques, replaced by 0 before the other rules [count].
    pub non_finite: u64,
}

impl<const N: usize> JointLimits<N> {
    /// Checks that every limit is finite, positions ordered, speeds and torques positive;
    /// the error names the joints that are not.
    pub fn validate(&self) -> Result<(), String> {
        let mut bad = Vec::new();
        for j in 0..N {
            let (lo, hi) = self.position[j];
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                bad.push(format!("joint {j}: position limits ({lo}, {hi}) not finite and ordered"));
            }
            if !(self.velocity[j].is_finite() && self.velocity[j] > 0.0) {
                bad.push(format!("joint {j}: speed limit {} not positive", self.velocity[j]));
            }
            if !(self.torque[j].is_finite() && self.torque[j] > 0.0) {
                bad.push(format!("joint {j}: torque limit {} not positive", self.torque[j]));
            }
        }
        if bad.is_empty() { Ok(()) } else { Err(bad.join("; ")) }
    }

    /// The command `tau` [N·m] made safe for the measured `q` [rad], `qd` [rad/s] (see the
    /// module docs); violations are added to `count`. A non-finite `q` or `qd` skips that
    /// rule for the joint; the output is always finite and within the torque limits.
    pub fn enforce(
        &self,
        q: &[f64; N],
        qd: &[f64; N],
        tau: &[f64; N],
        gains: &LimitGains,
        count: &mut LimitCounters,
    ) -> [f64; N] {
        self.enforce_with(q, qd, tau, gains, true, None, count)
    }

    /// [`Self::enforce`]; without `control` (a damping stop) a position violation is counted
    /// but the torque left as it is (a damping stop already opposes the motion and must not
    /// push a lying robot up against gravity) and there is no pre-limit speed damping.
    /// `inertia`: the controller's estimate of each joint's inertia [kg·m²], for the brake
    /// gain (see the module docs).
    fn enforce_with(
        &self,
        q: &[f64; N],
        qd: &[f64; N],
        tau: &[f64; N],
        gains: &LimitGains,
        control: bool,
        inertia: Option<&[f64; N]>,
        count: &mut LimitCounters,
    ) -> [f64; N] {
        let walls = control;
        let mut out = [0.0; N];
        for j in 0..N {
            let mut t = tau[j];
            if !t.is_finite() {
                count.non_finite += 1;
                t = 0.0;
            }
            let (lo, hi) = self.position[j];
            let (qj, vj) = (q[j], qd[j]);
            if qj.is_finite() {
                let v = if vj.is_finite() { vj } else { 0.0 };
                if qj < lo {
                    count.position += 1;
                    // No torque further out; the wall pushes back (never pulls further out).
                    if walls {
                        t = t.max(gains.wall_stiffness * (lo - qj) - gains.wall_damping * v.min(0.0));
                    }
                } else if qj > hi {
                    count.position += 1;
                    if walls {
                        t = t.min(gains.wall_stiffness * (hi - qj) - gains.wall_damping * v.max(0.0));
                    }
                }
            }
            if vj.is_finite() {
                let vmax = self.velocity[j];
                let k = match inertia.map(|i| i[j]) {
                    Some(i) if i.is_finite() && i > 0.0 => (i / gains.speed_brake_time).max(gains.speed_damping),
                    _ => gains.speed_damping,
                };
                let vb = (1.0 - gains.speed_band) * vmax;
                if control && gains.speed_band > 0.0 {
                    if vj > vb {
                        t -= k * (vj - vb);
                    } else if vj < -vb {
                        t -= k * (vj + vb);
                    }
                }
                if vj > vmax {
                    count.velocity += 1;
                    t = t.min(-k * (vj - vmax));
                } else if vj < -vmax {
                    count.velocity += 1;
                    t = t.max(-k * (vj + vmax));
                }
            }
            let lim = self.torque[j];
            if t.abs() > lim {
                count.torque += 1;
                t = t.clamp(-lim, lim);
            }
            out[j] = t;
        }
        out
    }
}

/// Settings of [`SafetyGuard`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SafetyConfig {
    /// A state older than this at a tick is stale → damping stop [s].
    pub stale_timeout: f64,
    /// While stale, the damping on the last velocity reading fades linearly to zero over
    /// this time after `stale_timeout` [s] (an old velocity is not a measurement to brake
    /// on indefinitely).
    pub stale_fade: f64,
    /// The damping stop's torque per joint is limited to this fraction of the joint's
    /// torque limit (no torque spikes at a stop).
    pub stop_torque_fraction: f64,
    /// Quadruped: trunk tilt from upright above which the robot has fallen [rad].
    pub fall_tilt: f64,
    /// Quadruped: no foot in contact for this long counts as contact loss [s]; `None` when
    /// the contact flags are not measured (then no contact-loss rule).
    pub contact_loss_time: Option<f64>,
    /// Arm: measured contact force above this for `max_force_time` is a fault [N].
    pub max_contact_force: f64,
    /// Arm: how long the force must stay above `max_contact_force` [s] (impact spikes at
    /// touch-down are shorter).
    pub max_force_time: f64,
    /// Gains of the joint-limit wall and speed brake.
    pub limit_gains: LimitGains,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        Self {
            stale_timeout: 0.05,
            stale_fade: 0.2,
            stop_torque_fraction: 0.5,
            fall_tilt: 0.7,
            contact_loss_time: Some(0.5),
            max_contact_force: 80.0,
            max_force_time: 0.05,
            limit_gains: LimitGains::default(),
        }
    }
}

impl SafetyConfig {
    /// Checks the ranges; the error lists what is out of range.
    pub fn validate(&self) -> Result<(), String> {
        let mut bad = Vec::new();
        let pos = |v: f64| v.is_finite() && v > 0.0;
        if !pos(self.stale_timeout) {
            bad.push("stale_timeout must be positive");
        }
        if !(self.stale_fade.is_finite() && self.stale_fade >= 0.0) {
            bad.push("stale_fade must be ≥ 0");
        }
        if !(self.stop_torque_fraction > 0.0 && self.stop_torque_fraction <= 1.0) {
            bad.push("stop_torque_fraction must be in (0, 1]");
        }
        if !(self.fall_tilt > 0.0 && self.fall_tilt <= std::f64::consts::PI) {
            bad.push("fall_tilt must be in (0, π]");
        }
        if self.contact_loss_time.is_some_and(|t| !pos(t)) {
            bad.push("contact_loss_time must be positive");
        }
        if !pos(self.max_contact_force) {
            bad.push("max_contact_force must be positive");
        }
        if !(self.max_force_time.is_finite() && self.max_force_time >= 0.0) {
            bad.push("max_force_time must be ≥ 0");
        }
        let g = &self.limit_gains;
        if ![g.wall_stiffness, g.wall_damping, g.speed_damping].iter().all(|v| v.is_finite() && *v >= 0.0) {
            bad.push("limit gains must be ≥ 0");
        }
        if !(g.speed_brake_time.is_finite() && g.speed_brake_time > 0.0) {
            bad.push("speed_brake_time must be positive");
        }
        if !(0.0..1.0).contains(&g.speed_band) {
            bad.push("speed_band must be in [0, 1)");
        }
        if bad.is_empty() { Ok(()) } else { Err(bad.join("; ")) }
    }
}

/// A latched fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The trunk tilted beyond [`SafetyConfig::fall_tilt`].
    Fall,
    /// No foot in contact for [`SafetyConfig::contact_loss_time`].
    ContactLoss,
    /// The arm's contact force exceeded [`SafetyConfig::max_contact_force`] for
    /// [`SafetyConfig::max_force_time`].
    ExcessiveForce,
}

impl Fault {
    /// Short name for logs and diagnostics.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Fall => "fall",
            Fault::ContactLoss => "contact loss",
            Fault::ExcessiveForce => "excessive contact force",
        }
    }
}

/// What the guard did at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SafetyMode {
    /// The controller's command (within the joint limits).
    Control,
    /// Damping stop: the state is stale.
    Stale,
    /// Damping stop: the e-stop is latched.
    EStop,
    /// Damping stop: a fault is latched.
    Fault(Fault),
}

/// Counters of a [`SafetyGuard`] since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SafetyCounters {
    /// Ticks [count].
    pub ticks: u64,
    /// Ticks with a stale state → damping stop [count].
    pub stale_ticks: u64,
    /// Ticks stopped by the e-stop [count].
    pub estop_ticks: u64,
    /// Ticks stopped by a latched fault [count].
    pub fault_ticks: u64,
    /// Times the e-stop was engaged (from running) [count].
    pub estops: u64,
    /// Faults latched [count].
    pub faults: u64,
    /// Resets that cleared an e-stop or a fault [count].
    pub resets: u64,
    /// Joint-limit violations.
    pub limits: LimitCounters,
}

/// What a measured state tells the guard about faults (implemented per robot state type).
pub trait FaultSignals: RobotState {
    /// Trunk tilt from upright [rad], if the robot has a floating base.
    fn tilt(&self) -> Option<f64> {
        None
    }
    /// Number of feet in contact, if measured.
    fn feet_in_contact(&self) -> Option<usize> {
        None
    }
    /// Magnitude of the measured contact force [N], if measured.
    fn contact_force(&self) -> Option<f64> {
        None
    }
    /// Joint positions [rad] and velocities [rad/s], in state order.
    fn joints(&self) -> (&[f64], &[f64]);
}

impl FaultSignals for spikectl_robot::state::QuadrupedState {
    fn tilt(&self) -> Option<f64> {
        let [w, x, y, z] = self.base_quat;
        let n = w * w + x * x + y * y + z * z;
        // Body z axis's world z component: 1 − 2(x² + y²) for a unit quaternion.
        (n.is_finite() && n > 0.0).then(|| (1.0 - 2.0 * (x * x + y * y) / n).clamp(-1.0, 1.0).acos())
    }
    fn feet_in_contact(&self) -> Option<usize> {
        Some(self.foot_contact.iter().filter(|c| **c).count())
    }
    fn joints(&self) -> (&[f64], &[f64]) {
        (&self.q, &self.qd)
    }
}

impl FaultSignals for spikectl_robot::state::ArmState {
    fn contact_force(&self) -> Option<f64> {
        let f = self.wrench_force;
        let n = (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt();
        n.is_finite().then_some(n)
    }
    fn joints(&self) -> (&[f64], &[f64]) {
        (&self.q, &self.qd)
    }
}

/// The safety layer (see the module docs). Owns no controller: [`Self::step`] takes it.
#[derive(Debug, Clone)]
pub struct SafetyGuard<const N: usize> {
    cfg: SafetyConfig,
    limits: JointLimits<N>,
    estop: bool,
    fault: Option<Fault>,
    no_contact_since: Option<f64>,
    over_force_since: Option<f64>,
    last_mode: SafetyMode,
    counters: SafetyCounters,
}

impl<const N: usize> SafetyGuard<N> {
    /// A guard enforcing `limits` with `cfg`; errors list the invalid settings.
    pub fn new(cfg: SafetyConfig, limits: JointLimits<N>) -> Result<Self, super::ControlError> {
        let mut errs = Vec::new();
        if let Err(e) = cfg.validate() {
            errs.push(e);
        }
        if let Err(e) = limits.validate() {
            errs.push(e);
        }
        if !errs.is_empty() {
            return Err(super::ControlError::Config(format!("safety: {}", errs.join("; "))));
        }
        Ok(Self {
            cfg,
            limits,
            estop: false,
            fault: None,
            no_contact_since: None,
            over_force_since: None,
            last_mode: SafetyMode::Control,
            counters: SafetyCounters::default(),
        })
    }

    /// A guard for `ctrl`, with its joint limits.
    pub fn for_controller<C: Controller<N> + ?Sized>(cfg: SafetyConfig, ctrl: &C) -> Result<Self, super::ControlError> {
        Self::new(cfg, ctrl.joint_limits())
    }

    /// The settings.
    pub fn config(&self) -> &SafetyConfig {
        &self.cfg
    }
    /// The joint limits enforced.
    pub fn limits(&self) -> &JointLimits<N> {
        &self.limits
    }
    /// Counters since construction.
    pub fn counters(&self) -> SafetyCounters {
        self.counters
    }
    /// What the last tick did.
    pub fn mode(&self) -> SafetyMode {
        self.last_mode
    }
    /// True while the e-stop is latched.
    pub fn estop_engaged(&self) -> bool {
        self.estop
    }
    /// The latched fault, if any.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// Engages the e-stop: every tick is a damping stop until [`Self::reset`].
    pub fn engage_estop(&mut self) {
        if !self.estop {
            self.counters.estops += 1;
        }
        self.estop = true;
    }

    /// Clears the e-stop and the latched fault (a fault whose cause persists latches again
    /// at the next tick).
    pub fn reset(&mut self) {
        if self.estop || self.fault.is_some() {
            self.counters.resets += 1;
        }
        self.estop = false;
        self.fault = None;
        self.no_contact_since = None;
        self.over_force_since = None;
    }

    /// One tick: the joint torques [N·m] for the newest `state`, which is `age` seconds old
    /// now (in the caller's clock), and command `cmd` (see the module docs). Always finite
    /// and within the torque limits. The controller is updated only in [`SafetyMode::Control`].
    pub fn step<C>(&mut self, ctrl: &mut C, state: &C::State, cmd: &C::Command, age: f64) -> [f64; N]
    where
        C: Controller<N> + ?Sized,
        C::State: FaultSignals,
    {
        self.counters.ticks += 1;
        let stale = !(age.is_finite() && age <= self.cfg.stale_timeout);
        if !stale {
            self.check_faults(state);
        }
        let mode = if stale {
            SafetyMode::Stale
        } else if let Some(f) = self.fault {
            SafetyMode::Fault(f)
        } else if self.estop {
            SafetyMode::EStop
        } else {
            SafetyMode::Control
        };
        let (q, qd) = state.joints();
        let q: [f64; N] = std::array::from_fn(|j| q.get(j).copied().unwrap_or(f64::NAN));
        let qd: [f64; N] = std::array::from_fn(|j| qd.get(j).copied().unwrap_or(f64::NAN));
        let tau = match mode {
            SafetyMode::Control => ctrl.update(state, cmd),
            _ => {
                let fade = if stale && age.is_finite() {
                    let over = age - self.cfg.stale_timeout;
                    if self.cfg.stale_fade > 0.0 { (1.0 - over / self.cfg.stale_fade).clamp(0.0, 1.0) } else { 0.0 }
                } else if stale {
                    0.0
                } else {
                    1.0
                };
                match mode {
                    SafetyMode::Stale => self.counters.stale_ticks += 1,
                    SafetyMode::EStop => self.counters.estop_ticks += 1,
                    _ => self.counters.fault_ticks += 1,
                }
                self.stop_torques(ctrl, state, &qd, fade)
            }
        };
        self.last_mode = mode;
        let control = mode == SafetyMode::Control;
        // The inertia estimate only where a speed rule acts (it costs a kinematics pass).
        let band = 1.0 - self.cfg.limit_gains.speed_band;
        let fast = (0..N).any(|j| qd[j].is_finite() && qd[j].abs() > band * self.limits.velocity[j]);
        let inertia = if fast { ctrl.joint_inertia(state) } else { None };
        self.limits.enforce_with(
            &q,
            &qd,
            &tau,
            &self.cfg.limit_gains,
            control,
            inertia.as_ref(),
            &mut self.counters.limits,
        )
    }

    /// The damping stop: hold torque minus `fade`·d·q̇, each joint within
    /// `stop_torque_fraction` of its limit [N·m].
    fn stop_torques<C>(&self, ctrl: &C, state: &C::State, qd: &[f64; N], fade: f64) -> [f64; N]
    where
        C: Controller<N> + ?Sized,
    {
        let hold = ctrl.hold_torques(state);
        let d = ctrl.stop_damping();
        std::array::from_fn(|j| {
            let v = if qd[j].is_finite() { qd[j] } else { 0.0 };
            let h = if hold[j].is_finite() { hold[j] } else { 0.0 };
            let lim = self.cfg.stop_torque_fraction * self.limits.torque[j];
            (h - fade * d * v).clamp(-lim, lim)
        })
    }

    /// Latches a fault the fresh `state` shows.
    fn check_faults<S: FaultSignals>(&mut self, state: &S) {
        let t = state.stamp();
        let mut found = None;
        if state.tilt().is_some_and(|a| a > self.cfg.fall_tilt) {
            found = Some(Fault::Fall);
        }
        if let (Some(limit), Some(n)) = (self.cfg.contact_loss_time, state.feet_in_contact()) {
            if n == 0 {
                let since = *self.no_contact_since.get_or_insert(t);
                if t - since >= limit && found.is_none() {
                    found = Some(Fault::ContactLoss);
                }
            } else {
                self.no_contact_since = None;
            }
        }
        if state.contact_force().is_some_and(|f| f > self.cfg.max_contact_force) {
            let since = *self.over_force_since.get_or_insert(t);
            if t - since >= self.cfg.max_force_time && found.is_none() {
                found = Some(Fault::ExcessiveForce);
            }
        } else {
            self.over_force_since = None;
        }
        if let Some(f) = found
            && self.fault.is_none()
        {
            self.fault = Some(f);
            self.counters.faults += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> JointLimits<2> {
        JointLimits { position: [(-1.0, 1.0), (-0.5, 0.5)], velocity: [2.0, 3.0], torque: [10.0, 5.0] }
    }

    #[test]
    fn torque_is_clamped_and_counted() {
        let mut c = LimitCounters::default();
        let t = limits().enforce(&[0.0, 0.0], &[0.0, 0.0], &[25.0, -7.0], &LimitGains::default(), &mut c);
        assert_eq!(t, [10.0, -5.0]);
        assert_eq!(c.torque, 2);
        let t = limits().enforce(&[0.0, 0.0], &[0.0, 0.0], &[f64::NAN, 1.0], &LimitGains::default(), &mut c);
        assert_eq!(t, [0.0, 1.0]);
        assert_eq!(c.non_finite, 1);
    }

    #[test]
    fn beyond_a_position_limit_the_torque_never_pushes_further() {
        let g = LimitGains::default();
        let mut c = LimitCounters::default();
        // Joint 0 at 1.1 > 1.0 moving out; the controller pushes further out (+8).
        let t = limits().enforce(&[1.1, -0.6], &[0.5, -0.1], &[8.0, -3.0], &g, &mut c);
        assert!(t[0] <= g.wall_stiffness * (1.0 - 1.1) - g.wall_damping * 0.5 + 1e-12, "{t:?}");
        assert!(t[0] < 0.0);
        assert!(t[1] > 0.0, "{t:?}");
        assert_eq!(c.position, 2);
        // A torque already pulling back is kept.
        let t = limits().enforce(&[1.1, 0.0], &[0.0, 0.0], &[-9.0, 0.0], &g, &mut c);
        assert_eq!(t[0], -9.0);
    }

    #[test]
    fn above_a_speed_limit_the_torque_brakes() {
        let g = LimitGains::default();
        let mut c = LimitCounters::default();
        let t = limits().enforce(&[0.0, 0.0], &[2.5, -4.0], &[3.0, -2.0], &g, &mut c);
        assert!((t[0] - (-g.speed_damping * 0.5)).abs() < 1e-12, "{t:?}");
        assert!((t[1] - g.speed_damping * 1.0).abs() < 1e-12, "{t:?}");
        assert_eq!(c.velocity, 2);
        assert_eq!(c.position, 0);
    }

    #[test]
    fn the_speed_brake_scales_with_inertia_and_starts_before_the_limit() {
        let g = LimitGains::default();
        let mut c = LimitCounters::default();
        let l = limits();
        // Joint 0 at 1.8 rad/s: in the band (above 0.8 · 2.0 = 1.6), below the limit.
        let inertia = [0.5, 0.001];
        let t = l.enforce_with(&[0.0; 2], &[1.8, 0.0], &[3.0, 0.0], &g, true, Some(&inertia), &mut c);
        let k = 0.5 / g.speed_brake_time;
        assert!((t[0] - (3.0 - k * 0.2)).abs() < 1e-9, "{t:?}");
        assert_eq!(c.velocity, 0);
        // Not during a damping stop.
        let t = l.enforce_with(&[0.0; 2], &[1.8, 0.0], &[3.0, 0.0], &g, false, Some(&inertia), &mut c);
        assert_eq!(t[0], 3.0);
        // Above the limit: the brake with the inertia's gain (clamped to the torque limit);
        // a tiny inertia falls back to speed_damping.
        let t = l.enforce_with(&[0.0; 2], &[2.1, -3.5], &[3.0, 0.0], &g, false, Some(&inertia), &mut c);
        assert!((t[0] - (-k * 0.1)).abs() < 1e-9, "{t:?}");
        assert!((t[1] - g.speed_damping * 0.5).abs() < 1e-9, "{t:?}");
        assert_eq!(c.velocity, 2);
        let bad = SafetyConfig {
            limit_gains: LimitGains { speed_band: 1.0, speed_brake_time: 0.0, ..g },
            ..Default::default()
        };
        let e = bad.validate().unwrap_err();
        assert!(e.contains("speed_band") && e.contains("speed_brake_time"), "{e}");
    }

    #[test]
    fn invalid_settings_are_listed() {
        let cfg = SafetyConfig { stale_timeout: -1.0, stop_torque_fraction: 2.0, ..Default::default() };
        let e = cfg.validate().unwrap_err();
        assert!(e.contains("stale_timeout") && e.contains("stop_torque_fraction"), "{e}");
        let mut l = limits();
        l.position[1] = (0.5, -0.5);
        l.torque[0] = 0.0;
        let e = SafetyGuard::new(SafetyConfig::default(), l).unwrap_err().to_string();
        assert!(e.contains("joint 1: position") && e.contains("joint 0: torque"), "{e}");
    }

    #[test]
    fn no_foot_in_contact_for_the_contact_loss_time_latches_a_fault() {
        use crate::control::quadruped::{QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
        let mut ctrl =
            QuadrupedController::new(Box::new(crate::qp::OsqpSolver::new()), QuadrupedControllerConfig::default())
                .unwrap();
        let cfg = SafetyConfig { contact_loss_time: Some(0.2), ..Default::default() };
        let mut guard = SafetyGuard::for_controller(cfg, &ctrl).unwrap();
        let mut s = spikectl_robot::state::QuadrupedState {
            base_pos: [0.0, 0.0, 0.3],
            base_quat: [1.0, 0.0, 0.0, 0.0],
            q: std::array::from_fn(|j| spikectl_robot::robots::GO1.stand_q[j % 3]),
            foot_contact: [true; 4],
            ..Default::default()
        };
        let cmd = QuadrupedCommand::default();
        for k in 0..200 {
            s.t = 0.002 * k as f64;
            // Lifted off the ground from 0.1 s on.
            s.foot_contact = [s.t < 0.1; 4];
            s.qd = [0.5; 12];
            let tau = guard.step(&mut ctrl, &s, &cmd, 0.0);
            if s.t < 0.1 + 0.2 - 1e-3 {
                assert_eq!(guard.mode(), SafetyMode::Control, "at {}", s.t);
            } else if s.t > 0.1 + 0.2 + 1e-3 {
                assert_eq!(guard.mode(), SafetyMode::Fault(Fault::ContactLoss), "at {}", s.t);
                // The damping stop, not the controller.
                assert!(tau.iter().all(|t| (t + ctrl.stop_damping() * 0.5).abs() < 1e-12), "{tau:?}");
            }
        }
        // Contact again does not clear it; a reset does.
        s.foot_contact = [true; 4];
        guard.step(&mut ctrl, &s, &cmd, 0.0);
        assert_eq!(guard.fault(), Some(Fault::ContactLoss));
        guard.reset();
        guard.step(&mut ctrl, &s, &cmd, 0.0);
        assert_eq!(guard.mode(), SafetyMode::Control);
        // A stale state is not checked for faults (its contact flags are old).
        assert_eq!(guard.counters().faults, 1);
    }

    #[test]
    fn arm_force_above_the_limit_for_max_force_time_latches_a_fault() {
        use crate::control::arm::{ArmCommand, ArmController};
        let mut ctrl = ArmController::new(Box::new(crate::qp::OsqpSolver::new()), Default::default()).unwrap();
        let cfg = SafetyConfig { max_contact_force: 50.0, max_force_time: 0.05, ..Default::default() };
        let mut guard = SafetyGuard::for_controller(cfg, &ctrl).unwrap();
        let mut s =
            spikectl_robot::state::ArmState { q: spikectl_robot::robots::PANDA.q_nominal, ..Default::default() };
        let cmd = ArmCommand { normal_force: 5.0, ..Default::default() };
        // A 30 ms spike of 90 N: no fault.
        for k in 0..100 {
            s.t = 0.001 * k as f64;
            s.wrench_force = [0.0, 0.0, if (0.02..0.05).contains(&s.t) { 90.0 } else { 5.0 }];
            guard.step(&mut ctrl, &s, &cmd, 0.0);
            assert_eq!(guard.mode(), SafetyMode::Control, "at {}", s.t);
        }
        // 90 N that lasts: a fault once 50 ms have passed, then the gravity hold (no damping
        // at rest) instead of the controller.
        let t0 = s.t + 0.001;
        for k in 0..100 {
            s.t = t0 + 0.001 * k as f64;
            s.wrench_force = [0.0, 30.0, 85.0];
            let tau = guard.step(&mut ctrl, &s, &cmd, 0.0);
            if s.t - t0 < 0.05 - 1e-6 {
                assert_eq!(guard.mode(), SafetyMode::Control, "at {}", s.t);
            } else if s.t - t0 > 0.05 + 1e-6 {
                assert_eq!(guard.mode(), SafetyMode::Fault(Fault::ExcessiveForce), "at {}", s.t);
                let hold = ctrl.hold_torques(&s);
                for j in 0..7 {
                    let lim = 0.5 * spikectl_robot::robots::PANDA.torque_limits[j];
                    assert!((tau[j] - hold[j].clamp(-lim, lim)).abs() < 1e-9, "joint {j}: {tau:?} vs {hold:?}");
                }
            }
        }
        assert_eq!(guard.counters().faults, 1);
    }
}
