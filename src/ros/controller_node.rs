//! The generic controller node: everything `spikectl-quadruped` and `spikectl-arm` share,
//! written once. A robot plugs in through [`RobotInterface`] (its parameters, topics,
//! message checks and controller); [`run`] does the rest:
//!
//! - the common parameters ([`common_params`]: solver, periods, timeouts, QoS, topics,
//!   MPC thread, real-time priority, sim time), validated at start-up, `--help`;
//! - the controller on the registry solver named by `solver`
//!   ([`crate::qp::registry::SolverSpec`], e.g. `loihi2:planes=2`), on its own fixed-period
//!   real-time thread ([`super::rt::RtBridge`] running [`super::step::RtStep`]);
//! - the ROS thread: spin, hand new states and commands to the real-time thread (never
//!   blocking it), publish `effort_cmd` (stamped with the answered state's stamp),
//!   SolveStats (source node, every priced count, chip estimate, CPU time split),
//!   EnergyEstimate per network solve and `/diagnostics`; malformed messages are dropped and counted per topic;
//! - SIGINT/SIGTERM: stop the real-time loop (joining the MPC thread), print the totals,
//!   exit 0.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use r2r::QosProfile;
use r2r::builtin_interfaces::msg::Time;
use r2r::sensor_msgs::msg::JointState;

use super::clock::NodeClock;
use super::diagnostics::{Counters, DiagnosticsPublisher, StatusBuilder};
use super::inputs::{InputErrors, log_every};
use super::params::{self, Check, ParamSpec, Params};
use super::rt::{RtBridge, latest, priority_from_param};
use super::step::{CommandKind, ControllerStatus, RtCounters, RtStep, Stamped, StepOutput};
use super::{sensor_qos, stats, time_msg};
use crate::control::Controller;
use crate::qp::registry::SolverSpec;

/// A subscription as the robot interfaces keep it.
pub type Subscription<T> = std::pin::Pin<Box<dyn futures::Stream<Item = T>>>;

/// The state type of a robot's controller.
pub(crate) type StateOf<R, const N: usize> = <<R as RobotInterface<N>>::Ctrl as Controller<N>>::State;
/// The command type of a robot's controller.
pub(crate) type CommandOf<R, const N: usize> = <<R as RobotInterface<N>>::Ctrl as Controller<N>>::Command;

/// What the generic node needs from one robot (`N` joints).
pub trait RobotInterface<const N: usize>: Sized {
    /// The controller.
    type Ctrl: Controller<N> + Send + 'static;
    /// ROS node name.
    const NODE: &'static str;
    /// Executable name (usage line, log).
    const EXE: &'static str;
    /// Default control period [s].
    const CONTROL_PERIOD_S: f64;
    /// Default and description of `sync_wait_s`.
    const SYNC_WAIT: (f64, &'static str);
    /// The MPC period, for the help of `max_solution_age_periods` (e.g. "25 ms").
    const MPC_PERIOD_TEXT: &'static str;
    /// Parameters of this robot, after the common ones.
    const PARAMS: &'static [ParamSpec];
    /// Input topics whose rejected messages are counted by name.
    const INPUTS: &'static [&'static str];
    /// The inputs the node waits for before its first command (diagnostics message).
    const WAITING_FOR: &'static str;

    /// Builds the controller on `solver` and the initial command from the parameters.
    fn controller(
        p: &Params,
        solver: Box<dyn crate::qp::QpSolver>,
        mpc_thread: bool,
        max_solution_age_periods: f64,
    ) -> anyhow::Result<(Self::Ctrl, CommandOf<Self, N>)>;

    /// The MPC solver for `spec`, with this robot's tuning.
    fn solver(spec: &SolverSpec) -> Box<dyn crate::qp::QpSolver>;

    /// Subscribes its sensor (`sensor_qos`) and command topics.
    fn subscribe(node: &mut r2r::Node, p: &Params, sensor_qos: QosProfile) -> anyhow::Result<Self>;

    /// Takes the sensor messages that arrived; a state ready for the controller, if any.
    fn poll_state(
        &mut self,
        now: Instant,
        counters: &Counters,
        errors: &mut InputErrors,
    ) -> Option<Stamped<StateOf<Self, N>>>;

    /// Takes the command messages that arrived into `cmd`; true when it changed.
    fn poll_command(
        &mut self,
        now: Instant,
        cmd: &mut CommandOf<Self, N>,
        counters: &Counters,
        errors: &mut InputErrors,
    ) -> bool;

    /// The effort command for torques `tau` [N·m], stamped `stamp`.
    fn effort_msg(&self, stamp: Time, tau: &[f64; N]) -> JointState;

    /// The command, for the start-up log line.
    fn describe(&self, cmd: &CommandOf<Self, N>) -> String;

    /// Adds the robot's key-values to the diagnostics.
    fn report(&self, b: StatusBuilder, cmd: &CommandOf<Self, N>) -> StatusBuilder;
}

/// The parameters every controller node has, with `R`'s defaults, then `R::PARAMS`.
pub(crate) fn common_params<R: RobotInterface<N>, const N: usize>() -> Vec<ParamSpec> {
    let period_help: &'static str = if R::CONTROL_PERIOD_S >= 0.002 {
        "Real-time loop period [s] (500 Hz)"
    } else {
        "Real-time loop period [s] (1 kHz)"
    };
    let age_help: &'static str = Box::leak(
        format!(
            "mpc_thread: an MPC solution older than this many MPC periods ({}) → fallback command",
            R::MPC_PERIOD_TEXT
        )
        .into_boxed_str(),
    );
    let mut v = vec![
        ParamSpec::string(
            "solver",
            "spiking",
            Check::Any,
            "MPC QP solver: osqp, clarabel, pipg, hpdhg, spiking (float network), loihi2 (Loihi 2 fixed point); options as loihi2:planes=2,theta=1e-3",
        ),
        ParamSpec::double("control_period_s", R::CONTROL_PERIOD_S, 1e-4, 0.1, period_help),
        ParamSpec::double("stale_timeout_s", 0.05, 1e-3, 10.0, "No valid state for this long → safe command [s, wall]"),
        ParamSpec::double("sync_wait_s", R::SYNC_WAIT.0, 0.0, 1.0, R::SYNC_WAIT.1),
        ParamSpec::string(
            "sensor_qos",
            "sensor_data",
            Check::OneOf(&["sensor_data", "reliable"]),
            "QoS of the sensor subscriptions (sensor_data = best effort, matches any publisher)",
        ),
        ParamSpec::double("cmd_vel_timeout_s", 0.5, 0.01, 60.0, "cmd_vel older than this → zero velocity [s, wall]"),
        ParamSpec::string("stats_topic", "/spikectl/solve_stats", Check::Topic, "SolveStats output topic"),
        ParamSpec::string(
            "energy_topic",
            "/spikectl/energy",
            Check::Topic,
            "EnergyEstimate output topic (one per network solve: chip estimate and CPU baseline)",
        ),
        ParamSpec::double(
            "cpu_watts",
            crate::neuro::energy::DEFAULT_CPU_WATTS,
            0.0,
            1000.0,
            "Stated CPU power of the CPU energy figures in SolveStats/EnergyEstimate [W] (an assumption)",
        ),
        ParamSpec::string("diagnostics_topic", "/diagnostics", Check::Topic, "DiagnosticArray output topic"),
        ParamSpec::double("diagnostics_period_s", 1.0, 0.01, 60.0, "Diagnostics publishing period [s, wall]"),
        ParamSpec::bool(
            "mpc_thread",
            true,
            "Solve the MPC on a worker thread (true) or inside the real-time tick (false, blocks it for the solve)",
        ),
        ParamSpec::double("max_solution_age_periods", 2.0, 0.5, 100.0, age_help),
        params::RT_PRIORITY,
        params::USE_SIM_TIME,
    ];
    v.extend_from_slice(R::PARAMS);
    v
}

/// A `cmd_vel`-style command that falls back to zero when no message came for `timeout`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommandTimeout {
    timeout: Duration,
    last: Option<Instant>,
}

impl CommandTimeout {
    /// A timeout of `timeout` (wall clock).
    pub fn new(timeout: Duration) -> Self {
        Self { timeout, last: None }
    }
    /// A message arrived at `now`.
    pub fn received(&mut self, now: Instant) {
        self.last = Some(now);
    }
    /// True once, when the last message is older than the timeout at `now`.
    pub(crate) fn expired(&mut self, now: Instant) -> bool {
        if self.last.is_some_and(|t| now.saturating_duration_since(t) > self.timeout) {
            self.last = None;
            return true;
        }
        false
    }
}

/// Runs the controller node of robot `R` until SIGINT/SIGTERM (see the module docs).
pub fn run<R: RobotInterface<N>, const N: usize>() -> anyhow::Result<()>
where
    StateOf<R, N>: Send + 'static,
    CommandOf<R, N>: Send + std::fmt::Debug + 'static,
{
    let specs = common_params::<R, N>();
    let usage = format!("{} [--ros-args -p name:=value ... -r topic:=new_topic]", R::EXE);
    if params::print_help_if_asked(&usage, &specs) {
        return Ok(());
    }
    let node_name = R::NODE;
    super::shutdown::install().context("installing the SIGINT/SIGTERM handler")?;
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, node_name, "").context("creating the node")?;
    let p = params::declare(&mut node, &specs)?;
    let clock = NodeClock::new(&mut node, p.bool("use_sim_time")?)?;
    let spec: SolverSpec = p.string("solver")?.parse().context("parameter 'solver'")?;
    let mpc_thread = p.bool("mpc_thread")?;
    let (ctrl, mut cmd) = R::controller(&p, R::solver(&spec), mpc_thread, p.double("max_solution_age_periods")?)?;
    let period = Duration::from_secs_f64(p.double("control_period_s")?);
    let stale_timeout = Duration::from_secs_f64(p.double("stale_timeout_s")?);

    let mut robot = R::subscribe(&mut node, &p, sensor_qos(p.string("sensor_qos")?))?;
    let effort_pub = node.create_publisher::<JointState>("effort_cmd", QosProfile::default().keep_last(10))?;
    let fq_name = node.fully_qualified_name().unwrap_or_else(|_| format!("/{node_name}"));
    let stats_src = stats::StatsSource::new(&fq_name, &spec, p.double("cpu_watts")?);
    let stats_pub =
        stats::StatsPublisher::new(&mut node, p.string("stats_topic")?, p.string("energy_topic")?, stats_src)?;
    let diag = DiagnosticsPublisher::new(&mut node, p.string("diagnostics_topic")?)?;

    let counters = Arc::new(Counters::default());
    let rt_counters = Arc::new(RtCounters::default());
    let (cmd_tx, cmd_rx) = latest::<CommandOf<R, N>>();
    let mut rt: RtStep<R::Ctrl, N> = RtStep::new(ctrl, cmd, stale_timeout, counters.clone(), rt_counters.clone());
    let rt_priority = priority_from_param(p.int("rt_priority")?);
    let thread = format!("{}-rt", R::EXE.trim_start_matches("spikectl-"));
    let bridge = RtBridge::spawn_with_priority(&thread, period, counters.clone(), rt_priority, move |_tick, state| {
        rt.step(Instant::now(), state, cmd_rx.take())
    })?;
    let solver_label = spec.label();
    eprintln!(
        "[{node_name}] solver {solver_label} ({}, {}), period {} s, stale timeout {} s, {}, sim time {}",
        spec.backend.arithmetic().label(),
        if mpc_thread { "MPC thread" } else { "MPC in the tick" },
        period.as_secs_f64(),
        stale_timeout.as_secs_f64(),
        robot.describe(&cmd),
        clock.is_sim_time()
    );

    let diag_period = Duration::from_secs_f64(p.double("diagnostics_period_s")?);
    let mut next_diag = Instant::now() + diag_period;
    let mut status = ControllerStatus::new(&counters);
    let mut last_output: Option<(f64, CommandKind)> = None;
    let mut errors = InputErrors::new(node_name, R::INPUTS);
    while !super::shutdown::requested() {
        node.spin_once(Duration::from_millis(1));
        let now = Instant::now();
        if let Some(s) = robot.poll_state(now, &counters, &mut errors) {
            bridge.send_state(s);
        }
        if robot.poll_command(now, &mut cmd, &counters, &mut errors) {
            cmd_tx.send(cmd);
        }
        for StepOutput { stamp_s, tau, kind, records } in bridge.outputs() {
            if let Err(e) = effort_pub.publish(&robot.effort_msg(time_msg(stamp_s), &tau)) {
                log_every(node_name, 1, || format!("cannot publish effort_cmd: {e}"));
            }
            last_output = Some((stamp_s, kind));
            stats_pub.publish(&clock.stamp(), &records, node_name);
        }
        if !bridge.is_running() {
            anyhow::bail!("the real-time thread stopped");
        }
        if now >= next_diag {
            next_diag += diag_period;
            let started = last_output.is_some();
            let b = status.report(node_name, &solver_label, &counters, &rt_counters, started, R::WAITING_FOR);
            let b = robot
                .report(errors.add_to(b), &cmd)
                .kv("dropped_outputs", bridge.dropped_outputs())
                .kv_f("last_command_stamp_s", last_output.map(|o| o.0).unwrap_or(0.0));
            if let Err(e) = diag.publish(clock.stamp(), vec![b.build()]) {
                log_every(node_name, 1, || format!("cannot publish diagnostics: {e}"));
            }
        }
    }
    // SIGINT/SIGTERM: stop the real-time loop; dropping its step joins the MPC thread.
    let report = bridge.stop();
    let snap = counters.snapshot();
    eprintln!(
        "[{node_name}] stopped: {} steps, {} deadline misses, longest step {:.3} ms, tick p99 {} µs, {} MPC solves \
         started / {} finished, {} stale-solution ticks, {} fallbacks",
        report.steps,
        snap.deadline_misses,
        report.max_step_s * 1e3,
        counters.tick_times.quantile(0.99).as_micros(),
        rt_counters.solves.load(Ordering::Relaxed),
        rt_counters.solves_finished.load(Ordering::Relaxed),
        rt_counters.stale_solutions.load(Ordering::Relaxed),
        snap.fallbacks,
    );
    Ok(())
}
