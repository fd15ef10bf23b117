//! The closed-loop runs and their metrics.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use spikectl_robot::robots::{ARM_SCENE, ArmParams, GO1, PANDA, QuadrupedParams};
use spikectl_sim::arm::ArmSim;
use spikectl_sim::mjcf;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::{QuadrupedSim, tilt_angle, yaw};

use super::controllers::ControllerChoice;
use super::{ARM_CONTACT_XY, ARM_EVAL_START_S, QUAD_EVAL_START_S, RAMP_START_S, Robot, Scenario, ScenarioError};
use crate::control::safety::{SafetyConfig, SafetyCounters, SafetyGuard};
use crate::control::{ArmControl, QuadrupedControl};
use crate::monitor::energy::{DEFAULT_CORES, EnergySummary, NeuroCost};
use crate::monitor::latency::{LatencyStats, LogHistogram};
use crate::mpc::SolveRecord;

/// Trunk height below which the quadruped counts as fallen [m].
pub const FALL_HEIGHT: f64 = 0.15;
/// Trunk tilt above which the quadruped counts as fallen [rad] (≈ 46°).
pub const FALL_TILT: f64 = 0.8;
/// Interval between trace samples [s].
pub(crate) const TRACE_DT: f64 = 0.01;

/// How to run a scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunConfig {
    /// The scenario (its duration may be overridden here).
    pub scenario: Scenario,
    /// Solver behind the MPC (or the baseline controller).
    pub solver: ControllerChoice,
    /// Seed of sensor noise and dropout.
    pub seed: u64,
    /// Sensor noise settings.
    pub noise: SensorNoise,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// The safety layer every command passes ([`crate::control::safety`]).
    #[serde(default)]
    pub safety: SafetyConfig,
    /// The simulated quadruped (default [`GO1`]; e.g. from a description file). The
    /// controller is built for it by the caller.
    #[serde(skip, default = "default_quadruped")]
    pub quadruped: QuadrupedParams,
    /// The simulated arm (default [`PANDA`]).
    #[serde(skip, default = "default_arm")]
    pub arm: ArmParams,
    /// Loihi 2 cores the network's work is spread over when its energy and chip latency are
    /// estimated ([`NeuroCost::loihi2_on`]; default [`DEFAULT_CORES`]). Checked when the run
    /// starts: 1 to the chip's 128 cores.
    #[serde(default = "default_chip_cores")]
    pub chip_cores: usize,
}

fn default_chip_cores() -> usize {
    DEFAULT_CORES
}

fn default_quadruped() -> QuadrupedParams {
    GO1
}

fn default_arm() -> ArmParams {
    PANDA
}

impl RunConfig {
    /// Default configuration: the robot's typical sensor noise ([`default_noise`]), seed 1,
    /// no progress bar.
    pub fn new(scenario: Scenario, solver: ControllerChoice) -> Self {
        Self {
            scenario,
            solver,
            seed: 1,
            noise: default_noise(scenario.robot()),
            progress: false,
            safety: SafetyConfig::default(),
            quadruped: GO1,
            arm: PANDA,
            chip_cores: DEFAULT_CORES,
        }
    }
}

/// Typical sensor noise of each robot: [`SensorNoise::TYPICAL`] (quadruped) or
/// [`SensorNoise::ARM_TYPICAL`] (arm).
pub fn default_noise(robot: Robot) -> SensorNoise {
    match robot {
        Robot::Quadruped => SensorNoise::TYPICAL,
        Robot::Arm => SensorNoise::ARM_TYPICAL,
    }
}

/// A table of time series (one header, rows of equal width).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TraceTable {
    /// Column names (with units).
    pub header: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<f64>>,
}

impl TraceTable {
    /// Index of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
    /// (column `x`, column `y`) pairs.
    pub(crate) fn xy(&self, x: &str, y: &str) -> Vec<(f64, f64)> {
        match (self.col(x), self.col(y)) {
            (Some(i), Some(j)) => self.rows.iter().map(|r| (r[i], r[j])).collect(),
            _ => Vec::new(),
        }
    }
}

/// Metrics of one run (the JSON report).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RunMetrics {
    /// Scenario name.
    pub scenario: String,
    /// Robot.
    pub robot: String,
    /// Solver name.
    pub solver: String,
    /// Controller name.
    pub controller: String,
    /// Arithmetic the solver ran in (`float64 CPU`, `float network, op-counted`, `Loihi 2
    /// fixed point`); the energy and chip-latency figures are those of this arithmetic's
    /// operation counts, priced on [`EnergySummary::profile`].
    pub arithmetic: String,
    /// Seed.
    pub seed: u64,
    /// Simulated time reached [s].
    pub sim_time_s: f64,
    /// Wall-clock time of the whole loop [s].
    pub wall_time_s: f64,
    /// Simulated time / wall time.
    pub real_time_factor: f64,
    /// Wall-clock time spent inside the controller's `update` (MPC build + solve + torque
    /// mapping) [s].
    pub controller_time_s: f64,
    /// Wall-clock time spent stepping the physics [s].
    pub physics_time_s: f64,
    /// Sensor packets dropped.
    pub dropouts: u64,
    /// Quadruped: fell (height < [`FALL_HEIGHT`] or tilt > [`FALL_TILT`]).
    pub fell: bool,
    /// Quadruped: time of the fall [s].
    pub fall_time_s: Option<f64>,
    /// Quadruped: RMS of the horizontal velocity error (heading frame) after
    /// [`QUAD_EVAL_START_S`] [m/s].
    pub vel_rms_mps: Option<f64>,
    /// Quadruped: RMS yaw-rate error after [`QUAD_EVAL_START_S`] [rad/s].
    pub yaw_rate_rms: Option<f64>,
    /// Quadruped: mean forward velocity after [`QUAD_EVAL_START_S`] [m/s].
    pub mean_vx_mps: Option<f64>,
    /// Quadruped: lowest trunk height [m].
    pub min_height_m: Option<f64>,
    /// Quadruped: largest trunk tilt [deg].
    pub max_tilt_deg: Option<f64>,
    /// Arm: RMS normal-force error after [`ARM_EVAL_START_S`] (table contact force vs
    /// command) [N].
    pub force_rms_n: Option<f64>,
    /// Arm: RMS normal-force error over the final 20 N hold of the ramp scenario [N].
    pub force_hold_rms_n: Option<f64>,
    /// Arm: largest force above the command after [`RAMP_START_S`] [N].
    pub force_overshoot_n: Option<f64>,
    /// Arm: contact losses after the first contact (no contact for at least
    /// [`CONTACT_LOSS_MIN_S`]).
    pub contact_losses: Option<usize>,
    /// Arm: RMS tangential tip-velocity error while sliding [m/s].
    pub slide_vel_rms_mps: Option<f64>,
    /// MPC solves.
    pub solves: usize,
    /// MPC period (deadline) [s].
    pub mpc_period_s: Option<f64>,
    /// Solve-time statistics (wall clock on this CPU), deadline = MPC period.
    pub latency: LatencyStats,
    /// Mean CPU time of the solving thread per solve [µs] (`SolveRecord::cpu_time`; unlike
    /// `latency` it excludes time the thread waited while other processes ran); `None` when a
    /// solve lacks the measurement.
    #[serde(default)]
    pub cpu_solve_mean_us: Option<f64>,
    /// Histogram of the solve times (log bins from 1 µs to 100 ms).
    pub latency_histogram: Option<LogHistogram>,
    /// Mean iterations per solve.
    pub iterations_mean: f64,
    /// Maximum iterations of a solve.
    pub iterations_max: usize,
    /// Solves that did not reach `Solved`.
    pub not_solved: usize,
    /// Solves whose result the controller replaced by its safe command.
    pub fallbacks: usize,
    /// Estimated neuromorphic energy (network solvers).
    pub energy: EnergySummary,
    /// What the safety layer did: stops, faults, joint-limit violations.
    #[serde(default)]
    pub safety: SafetyCounters,
    /// Energy-delay product against the conventional baseline run in the same command, when
    /// there was one (filled by the caller that ran both).
    pub edp_vs_baseline: Option<EdpComparison>,
}

/// Estimated chip energy-delay product of a network run against a CPU baseline's measured
/// solve time × a stated CPU power, per solve.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct EdpComparison {
    /// Baseline solver name.
    pub baseline: String,
    /// Stated CPU power of the baseline estimate [W] (not measured).
    pub cpu_watts: f64,
    /// Baseline mean solve time, measured on this CPU [µs]: the solving thread's CPU time
    /// when every solve has it (`RunMetrics::cpu_solve_mean_us`), else the wall clock.
    pub cpu_solve_us: f64,
    /// Which time `cpu_solve_us` is: `"thread CPU time"` or `"wall clock"`.
    #[serde(default)]
    pub cpu_time_basis: String,
    /// Baseline EDP per solve: (t·P)·t [J·s].
    pub cpu_edp_js: f64,
    /// Estimated chip energy per solve [µJ].
    pub chip_energy_uj: f64,
    /// Estimated chip latency per solve [µs].
    pub chip_latency_us: f64,
    /// Estimated chip EDP per solve [J·s].
    pub chip_edp_js: f64,
    /// cpu_edp / chip_edp (> 1: the chip estimate is better).
    pub ratio: f64,
}

impl EdpComparison {
    /// The comparison of `net` (a run with operation counts) against `cpu` (a run of the CPU
    /// baseline) at `cpu_watts`; `None` when either lacks solves.
    pub fn of(net: &RunMetrics, cpu: &RunMetrics, cpu_watts: f64) -> Option<Self> {
        if net.energy.solves == 0 || cpu.latency.count == 0 {
            return None;
        }
        let (cpu_us, basis) = match cpu.cpu_solve_mean_us {
            Some(us) if us > 0.0 => (us, "thread CPU time"),
            _ => (cpu.latency.mean_us, "wall clock"),
        };
        let t = cpu_us * 1e-6;
        let cpu_edp_js = crate::neuro::energy::CpuCost::new(t, cpu_watts, None).edp;
        let chip_edp_js = net.energy.mean_energy_uj * 1e-6 * net.energy.mean_chip_latency_us * 1e-6;
        Some(Self {
            baseline: cpu.solver.clone(),
            cpu_watts,
            cpu_solve_us: cpu_us,
            cpu_time_basis: basis.to_string(),
            cpu_edp_js,
            chip_energy_uj: net.energy.mean_energy_uj,
            chip_latency_us: net.energy.mean_chip_latency_us,
            chip_edp_js,
            ratio: if chip_edp_js > 0.0 { cpu_edp_js / chip_edp_js } else { f64::INFINITY },
        })
    }
}

/// Metrics, traces and solve records of one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Metrics.
    pub metrics: RunMetrics,
    /// Sampled traces every [`TRACE_DT`].
    pub trace: TraceTable,
    /// Every MPC solve.
    pub solves: Vec<SolveRecord>,
}

fn rms(v: &[f64]) -> Option<f64> {
    if v.is_empty() { None } else { Some((v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()) }
}

fn progress_bar(on: bool, n: u64, label: String) -> ProgressBar {
    if !on {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(n);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>24} [{bar:30}] {percent:>3}% sim {msg} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(label);
    pb
}

fn solve_metrics(m: &mut RunMetrics, solves: &[SolveRecord], period: Option<f64>, cost: &NeuroCost) {
    m.solves = solves.len();
    m.mpc_period_s = period;
    let times: Vec<Duration> = solves.iter().map(|r| r.solve_time).collect();
    m.latency = LatencyStats::from_durations(&times, period.map(Duration::from_secs_f64));
    let cpu: Option<Vec<f64>> = solves.iter().map(|r| r.cpu_time.map(|d| d.as_secs_f64() * 1e6)).collect();
    m.cpu_solve_mean_us = cpu.filter(|c| !c.is_empty()).map(|c| c.iter().sum::<f64>() / c.len() as f64);
    if !times.is_empty() {
        let mut h = LogHistogram::new(1.0, 1e5, 25);
        for t in &times {
            h.add(t.as_secs_f64() * 1e6);
        }
        m.latency_histogram = Some(h);
    }
    if !solves.is_empty() {
        m.iterations_mean = solves.iter().map(|r| r.iterations as f64).sum::<f64>() / solves.len() as f64;
    }
    m.iterations_max = solves.iter().map(|r| r.iterations).max().unwrap_or(0);
    m.not_solved = solves.iter().filter(|r| !r.status.is_solved()).count();
    m.fallbacks = solves.iter().filter(|r| r.fallback).count();
    m.energy = EnergySummary::from_ops(cost, solves.iter().map(|r| r.ops.as_ref()));
}

/// The chip cost model of `cfg` (the Loihi 2 estimate on `cfg.chip_cores` cores).
fn chip_cost(cfg: &RunConfig) -> Result<NeuroCost, ScenarioError> {
    NeuroCost::loihi2_on(cfg.chip_cores).map_err(|e| ScenarioError::Invalid(format!("chip cores: {e}")))
}

/// Checks that `sc` belongs to `robot` and has a usable duration.
fn validate(sc: &Scenario, robot: Robot) -> Result<(), ScenarioError> {
    if sc.robot() != robot {
        let what = match robot {
            Robot::Quadruped => "a quadruped",
            Robot::Arm => "an arm",
        };
        return Err(ScenarioError::Invalid(format!("{} is not {what} scenario", sc.name())));
    }
    if !(sc.duration.is_finite() && sc.duration > 0.0) {
        return Err(ScenarioError::Invalid(format!("duration {}", sc.duration)));
    }
    Ok(())
}

/// Metrics of a run about to start.
fn new_metrics(cfg: &RunConfig, robot: &str, controller: String) -> RunMetrics {
    RunMetrics {
        scenario: cfg.scenario.name().into(),
        robot: robot.into(),
        solver: cfg.solver.name(),
        arithmetic: cfg.solver.arithmetic().label().into(),
        controller,
        seed: cfg.seed,
        ..Default::default()
    }
}

/// Wall-clock bookkeeping of a closed loop: whole loop, controller and physics.
struct LoopClock {
    wall: Instant,
    ctrl: Duration,
    phys: Duration,
}

impl LoopClock {
    fn start() -> Self {
        Self { wall: Instant::now(), ctrl: Duration::ZERO, phys: Duration::ZERO }
    }

    /// Runs `f` as controller time.
    fn control<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let out = f();
        self.ctrl += t0.elapsed();
        out
    }

    /// Runs `f` as physics time.
    fn physics<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let out = f();
        self.phys += t0.elapsed();
        out
    }

    /// Writes the timing fields of `m` for a run that reached `sim_time` [s].
    fn finish(&self, m: &mut RunMetrics, sim_time: f64, dropouts: u64) {
        m.wall_time_s = self.wall.elapsed().as_secs_f64();
        m.sim_time_s = sim_time;
        m.real_time_factor = m.sim_time_s / m.wall_time_s.max(1e-9);
        m.controller_time_s = self.ctrl.as_secs_f64();
        m.physics_time_s = self.phys.as_secs_f64();
        m.dropouts = dropouts;
    }
}

/// Runs a quadruped scenario with `policy`.
pub fn run_quadruped(cfg: &RunConfig, policy: &mut QuadrupedControl) -> Result<RunResult, ScenarioError> {
    let sc = cfg.scenario;
    validate(&sc, Robot::Quadruped)?;
    let cost = chip_cost(cfg)?;
    let mut sim = QuadrupedSim::new(&cfg.quadruped, cfg.noise, cfg.seed)?;
    for p in sc.pushes() {
        sim.add_push(p);
    }
    let dt = sim.timestep();
    let every = ((policy.control_period() / dt).round() as usize).max(1);
    let trace_every = ((TRACE_DT / dt).round() as usize).max(1);
    let steps = (sc.duration / dt).round() as usize;
    let header = [
        "t", "vx", "vy", "wz", "vx_cmd", "vy_cmd", "wz_cmd", "height", "tilt_deg", "x", "y", "f_fr", "f_fl", "f_rr",
        "f_rl", "push_y",
    ];
    let mut trace = TraceTable { header: header.iter().map(|s| s.to_string()).collect(), rows: Vec::new() };
    let mut solves = Vec::new();
    let (mut ev, mut ew, mut vxs) = (Vec::new(), Vec::new(), Vec::new());
    let mut m = new_metrics(cfg, "quadruped", policy.name());
    let (mut min_h, mut max_tilt) = (f64::INFINITY, 0.0f64);
    let pb = progress_bar(cfg.progress, steps as u64, format!("{} {}", sc.name(), cfg.solver.name()));
    let mut cmd = sc.quad_command(0.0);
    let mut guard = SafetyGuard::for_controller(cfg.safety, &*policy)?;
    let mut clock = LoopClock::start();
    for k in 0..steps {
        let t = sim.time();
        if k % every == 0 {
            let s = sim.observe();
            cmd = sc.quad_command(t);
            // A dropped packet repeats the previous state: its age grows.
            let tau = clock.control(|| guard.step(&mut *policy, &s, &cmd, t - s.t));
            sim.set_torques(&tau);
            solves.extend(policy.take_solve_records());
        }
        clock.physics(|| sim.step());
        if (k + 1) % trace_every == 0 {
            let s = sim.true_state();
            let t = s.t;
            let psi = yaw(&s.base_quat);
            let (c, sn) = (psi.cos(), psi.sin());
            let vx = c * s.base_linvel[0] + sn * s.base_linvel[1];
            let vy = -sn * s.base_linvel[0] + c * s.base_linvel[1];
            let rm = spikectl_sim::quadruped::quat_to_mat(&s.base_quat);
            // Yaw rate: world z component of the angular velocity.
            let w = s.base_angvel_body;
            let wz = rm[2][0] * w[0] + rm[2][1] * w[1] + rm[2][2] * w[2];
            let tilt = tilt_angle(&s.base_quat);
            let h = s.base_pos[2];
            min_h = min_h.min(h);
            max_tilt = max_tilt.max(tilt);
            let f = sim.foot_normal_forces();
            let cmd_t = sc.quad_command(t);
            if t >= QUAD_EVAL_START_S {
                ev.push(((vx - cmd_t.vx).powi(2) + (vy - cmd_t.vy).powi(2)).sqrt());
                ew.push(wz - cmd_t.yaw_rate);
                vxs.push(vx);
            }
            trace.rows.push(vec![
                t,
                vx,
                vy,
                wz,
                cmd_t.vx,
                cmd_t.vy,
                cmd_t.yaw_rate,
                h,
                tilt.to_degrees(),
                s.base_pos[0],
                s.base_pos[1],
                f[0],
                f[1],
                f[2],
                f[3],
                sim.push_force()[1],
            ]);
            if h < FALL_HEIGHT || tilt > FALL_TILT {
                m.fell = true;
                m.fall_time_s = Some(t);
                break;
            }
            if (k + 1) % (50 * trace_every) == 0 {
                pb.set_position(k as u64 + 1);
                pb.set_message(format!("{t:5.1}s"));
            }
        }
        let _ = cmd;
    }
    pb.finish_and_clear();
    clock.finish(&mut m, sim.time(), sim.dropouts());
    m.safety = guard.counters();
    m.vel_rms_mps = rms(&ev);
    m.yaw_rate_rms = rms(&ew);
    m.mean_vx_mps = if vxs.is_empty() { None } else { Some(vxs.iter().sum::<f64>() / vxs.len() as f64) };
    m.min_height_m = min_h.is_finite().then_some(min_h);
    m.max_tilt_deg = Some(max_tilt.to_degrees());
    solve_metrics(&mut m, &solves, policy.mpc_period(), &cost);
    Ok(RunResult { metrics: m, trace, solves })
}

/// Minimum duration without contact that counts as a contact loss [s] (shorter gaps are
/// contact chatter at the physics rate).
pub(crate) const CONTACT_LOSS_MIN_S: f64 = 0.005;

/// Counts contact losses: after the first contact, gaps without contact of at least
/// `min_steps` consecutive physics steps (shorter gaps are chatter at the physics rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactLosses {
    min_steps: usize,
    touched: bool,
    gap: usize,
    losses: usize,
}

impl ContactLosses {
    /// A counter for gaps of at least `min_steps` steps (at least 1).
    pub fn new(min_steps: usize) -> Self {
        Self { min_steps: min_steps.max(1), touched: false, gap: 0, losses: 0 }
    }
    /// Books one physics step with or without contact.
    pub fn step(&mut self, contact: bool) {
        if contact {
            self.gap = 0;
        } else if self.touched {
            self.gap += 1;
            if self.gap == self.min_steps {
                self.losses += 1;
            }
        }
        self.touched |= contact;
    }
    /// Contact losses so far.
    pub fn losses(&self) -> usize {
        self.losses
    }
}

/// Height above the table at which arm runs start (tip above [`ARM_CONTACT_XY`]) [m].
pub(crate) const ARM_START_CLEARANCE: f64 = 0.03;

/// Runs an arm scenario with `policy`. The arm starts at rest with the tip
/// [`ARM_START_CLEARANCE`] above the table at [`ARM_CONTACT_XY`].
pub fn run_arm(cfg: &RunConfig, policy: &mut ArmControl) -> Result<RunResult, ScenarioError> {
    let sc = cfg.scenario;
    validate(&sc, Robot::Arm)?;
    let cost = chip_cost(cfg)?;
    let mut sim = ArmSim::new(&cfg.arm, &ARM_SCENE, cfg.noise, cfg.seed)?;
    sim.inverse_kinematics([ARM_CONTACT_XY[0], ARM_CONTACT_XY[1], ARM_SCENE.table_top_z + ARM_START_CLEARANCE]);
    let dt = sim.timestep();
    debug_assert!((dt - mjcf::ARM_TIMESTEP).abs() < 1e-12);
    let every = ((policy.control_period() / dt).round() as usize).max(1);
    let trace_every = ((TRACE_DT / dt).round() as usize).max(1);
    let steps = (sc.duration / dt).round() as usize;
    let header = ["t", "fz", "fz_cmd", "fz_sensor", "fx", "fy", "tip_x", "tip_y", "tip_z", "vx", "vx_cmd", "contact"];
    let mut trace = TraceTable { header: header.iter().map(|s| s.to_string()).collect(), rows: Vec::new() };
    let mut solves = Vec::new();
    let mut m = new_metrics(cfg, "arm", policy.name());
    let (mut ef, mut ehold, mut evs) = (Vec::new(), Vec::new(), Vec::new());
    let mut overshoot = 0.0f64;
    let mut losses = ContactLosses::new((CONTACT_LOSS_MIN_S / dt).round() as usize);
    let pb = progress_bar(cfg.progress, steps as u64, format!("{} {}", sc.name(), cfg.solver.name()));
    let hold_start = RAMP_START_S + super::RAMP_LEN_S + 0.5;
    let mut guard = SafetyGuard::for_controller(cfg.safety, &*policy)?;
    let mut clock = LoopClock::start();
    for k in 0..steps {
        let t = sim.time();
        if k % every == 0 {
            let s = sim.observe();
            let task = sc.arm_command(t);
            let tau = clock.control(|| guard.step(&mut *policy, &s, &task, t - s.t));
            sim.set_torques(&tau);
            solves.extend(policy.take_solve_records());
        }
        clock.physics(|| sim.step());
        // Contact bookkeeping every physics step (losses can be short).
        let fc = sim.table_contact_force();
        let contact = fc[2] > spikectl_sim::arm::TIP_CONTACT_THRESHOLD;
        losses.step(contact);
        if (k + 1) % trace_every == 0 {
            let t = sim.time();
            let task = sc.arm_command(t);
            let p = sim.tip_pos();
            let v = sim.tip_vel();
            let (fs, _) = sim.sensor_wrench();
            let e = fc[2] - task.normal_force;
            if t >= ARM_EVAL_START_S {
                ef.push(e);
                if task.target_xy.is_none() {
                    evs.push(
                        ((v[0] - task.tangent_velocity[0]).powi(2) + (v[1] - task.tangent_velocity[1]).powi(2)).sqrt(),
                    );
                }
            }
            if sc.kind == super::ScenarioKind::ForceRamp && t >= hold_start {
                ehold.push(e);
            }
            if t >= RAMP_START_S {
                overshoot = overshoot.max(e);
            }
            trace.rows.push(vec![
                t,
                fc[2],
                task.normal_force,
                fs[2],
                fc[0],
                fc[1],
                p[0],
                p[1],
                p[2],
                v[0],
                task.tangent_velocity[0],
                f64::from(u8::from(contact)),
            ]);
            if (k + 1) % (50 * trace_every) == 0 {
                pb.set_position(k as u64 + 1);
                pb.set_message(format!("{t:5.1}s"));
            }
        }
    }
    pb.finish_and_clear();
    clock.finish(&mut m, sim.time(), sim.dropouts());
    m.safety = guard.counters();
    m.force_rms_n = rms(&ef);
    m.force_hold_rms_n = rms(&ehold);
    m.force_overshoot_n = Some(overshoot);
    m.contact_losses = Some(losses.losses());
    m.slide_vel_rms_mps = rms(&evs);
    solve_metrics(&mut m, &solves, policy.mpc_period(), &cost);
    Ok(RunResult { metrics: m, trace, solves })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::energy::EnergySummary;

    fn run_with(solver: &str, wall_mean_us: f64, cpu_mean_us: Option<f64>) -> RunMetrics {
        RunMetrics {
            solver: solver.into(),
            latency: LatencyStats { count: 10, mean_us: wall_mean_us, ..LatencyStats::default() },
            cpu_solve_mean_us: cpu_mean_us,
            energy: EnergySummary {
                solves: 10,
                mean_energy_uj: 2.0,
                mean_chip_latency_us: 100.0,
                ..EnergySummary::default()
            },
            ..RunMetrics::default()
        }
    }

    /// The baseline's EDP uses its thread CPU time when measured (wall time on a loaded
    /// machine includes waiting), the wall clock otherwise, and says which.
    #[test]
    fn edp_baseline_uses_thread_cpu_time_when_measured() {
        let net = run_with("loihi2", 0.0, None);
        let cpu = EdpComparison::of(&net, &run_with("osqp", 900.0, Some(300.0)), 15.0).unwrap();
        assert_eq!((cpu.cpu_solve_us, cpu.cpu_time_basis.as_str()), (300.0, "thread CPU time"));
        let chip = 2e-6 * 100e-6;
        assert!((cpu.ratio - (300e-6 * 15.0 * 300e-6) / chip).abs() < 1e-9 * cpu.ratio);
        let wall = EdpComparison::of(&net, &run_with("osqp", 900.0, None), 15.0).unwrap();
        assert_eq!((wall.cpu_solve_us, wall.cpu_time_basis.as_str()), (900.0, "wall clock"));
        assert!((wall.ratio / cpu.ratio - 9.0).abs() < 1e-9);
    }
}
