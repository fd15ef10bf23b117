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
use r2r::std_msgs::msg::{
    Bool as BoolMsg, Empty as EmptyMsg, Float64MultiArray, MultiArrayDimension, MultiArrayLayout,
};
use r2r::std_srvs::srv::Trigger;

use super::clock::NodeClock;
use super::diagnostics::{Counters, DiagnosticsPublisher, StatusBuilder};
use super::inputs::{InputErrors, log_every};
use super::param_server::ParamServer;
use super::params::{self, Check, ParamSpec, Params, Value};
use super::rt::{RtBridge, latest, priority_from_param};
use super::step::{CommandKind, ControllerStatus, RtCounters, RtStep, Stamped, StepOutput};
use super::{drain, sensor_qos, stats, time_msg};
use crate::control::Controller;
use crate::control::safety::{FaultSignals, SafetyConfig};
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

    /// This robot's parameters that `ros2 param set` may change while the node runs (applied
    /// by [`RobotInterface::set_param`]); the others are refused with the reason.
    const LIVE: &'static [&'static str] = &[];

    /// Applies an accepted change of a [`RobotInterface::LIVE`] parameter (validated); true
    /// when it changed the command.
    fn set_param(&mut self, _name: &str, _value: &Value, _cmd: &mut CommandOf<Self, N>) -> bool {
        false
    }
}

/// Answers a Trigger request (success; a failed send is logged).
fn respond(node_name: &str, req: r2r::ServiceRequest<Trigger::Service>, message: &str) {
    let r = Trigger::Response { success: true, message: message.into() };
    if let Err(e) = req.respond(r) {
        log_every(node_name, 1, || format!("cannot answer a Trigger request: {e}"));
    }
}

/// Where the robot description comes from (parameters `robot_description`, `robot_file`,
/// `robot_overlay`).
pub(crate) enum DescriptionSource {
    /// None given: the shipped default robot.
    Default,
    /// A file (YAML, or URDF when it ends in `.urdf`) and the overlay file for a URDF.
    File(String, Option<std::path::PathBuf>),
    /// URDF text and the overlay's text.
    Urdf(String, Option<String>),
}

impl DescriptionSource {
    /// The description the parameters name: `default` when none, else loaded with
    /// `from_file` (a file and its overlay) or `from_urdf` (URDF text and the overlay's text).
    pub(crate) fn load<T>(
        p: &Params,
        default: T,
        from_file: impl FnOnce(&str, Option<&std::path::Path>) -> Result<T, spikectl_robot::description::DescriptionError>,
        from_urdf: impl FnOnce(&str, Option<&str>) -> Result<T, spikectl_robot::description::DescriptionError>,
    ) -> anyhow::Result<T> {
        Ok(match Self::of(p)? {
            Self::Default => default,
            Self::File(f, ov) => from_file(&f, ov.as_deref()).with_context(|| format!("parameter robot_file {f:?}"))?,
            Self::Urdf(u, ov) => from_urdf(&u, ov.as_deref()).context("parameter robot_description")?,
        })
    }

    /// Reads the three parameters; an error for contradictory ones.
    pub(crate) fn of(p: &Params) -> anyhow::Result<Self> {
        let overlay = p.string("robot_overlay")?;
        let ov = (!overlay.is_empty()).then(|| std::path::PathBuf::from(overlay));
        Ok(match (p.string("robot_description")?, p.string("robot_file")?) {
            ("", "") => {
                anyhow::ensure!(
                    ov.is_none(),
                    "parameter robot_overlay completes a URDF: set robot_description or a .urdf robot_file"
                );
                Self::Default
            }
            ("", f) => Self::File(f.to_string(), ov),
            (urdf, "") => {
                let text = match &ov {
                    Some(o) => Some(
                        std::fs::read_to_string(o)
                            .with_context(|| format!("parameter robot_overlay {}", o.display()))?,
                    ),
                    None => None,
                };
                Self::Urdf(urdf.to_string(), text)
            }
            (_, f) => anyhow::bail!("parameters robot_description and robot_file ({f:?}) are both set: use one"),
        })
    }
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
        ParamSpec::double("stale_timeout_s", 0.05, 1e-3, 10.0, "No valid state for this long → damping stop [s, wall]"),
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
            "effort_array_topic",
            "",
            Check::OptionalTopic,
            "Also publish the torques as std_msgs/Float64MultiArray in the description's joint order (a ros2_control effort controller's `commands`); empty = off",
        ),
        ParamSpec::string(
            "robot_file",
            "",
            Check::Any,
            "Robot description: YAML (robot/descriptions/*.yaml format) or URDF (name ending in .urdf); empty = the shipped default robot",
        ),
        ParamSpec::string(
            "robot_description",
            "",
            Check::Any,
            "Robot description as URDF text (as robot_state_publisher's parameter); used instead of robot_file; empty = off",
        ),
        ParamSpec::string(
            "robot_overlay",
            "",
            Check::Any,
            "YAML overlay completing a URDF (stance, safe-stop damping, tool …; keys of a description file); empty = the shipped defaults",
        ),
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
        ParamSpec::double(
            "stop_torque_fraction",
            0.5,
            0.01,
            1.0,
            "Damping stop (e-stop, fault, stale state): torque per joint within this fraction of its limit",
        ),
        ParamSpec::double(
            "fall_tilt_rad",
            0.7,
            0.05,
            std::f64::consts::PI,
            "Quadruped: trunk tilt above this is a fall → damping stop, ERROR [rad]",
        ),
        ParamSpec::double(
            "max_contact_force_n",
            80.0,
            1.0,
            10_000.0,
            "Arm: measured contact force above this for 50 ms is a fault → damping stop, ERROR [N]",
        ),
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
    /// A new timeout, from the next message on.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
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

/// The torques [N·m] as a ros2_control effort command: one dimension `joints` of size `N`,
/// in the description's joint order.
pub fn effort_array<const N: usize>(tau: &[f64; N]) -> Float64MultiArray {
    let n = N as u32;
    Float64MultiArray {
        layout: MultiArrayLayout {
            dim: vec![MultiArrayDimension { label: "joints".into(), size: n, stride: n }],
            data_offset: 0,
        },
        data: tau.to_vec(),
    }
}

/// Under simulated time, wall-clock time without a new state beyond which the silence counts
/// toward the state's age [s] (see [`run`]): longer than a loaded host's scheduling stalls.
const SIM_SILENCE: Duration = Duration::from_secs(1);

/// The clock on which the real-time step measures a state's age: the monotonic wall clock,
/// or, under simulated time, the ROS clock's time [s] mapped onto `Instant`s from `origin`.
#[derive(Clone)]
struct StateClock {
    /// Under simulated time: the node's clock and the origin of the mapping.
    sim: Option<(NodeClock, Instant)>,
}

impl StateClock {
    fn now(&self) -> Instant {
        match &self.sim {
            None => Instant::now(),
            Some((clock, origin)) => *origin + Duration::from_secs_f64(clock.now_s().max(0.0)),
        }
    }
}

/// Runs the controller node of robot `R` until SIGINT/SIGTERM (see the module docs).
pub fn run<R: RobotInterface<N>, const N: usize>() -> anyhow::Result<()>
where
    StateOf<R, N>: Send + FaultSignals + 'static,
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
    let live: Vec<&'static str> = ["diagnostics_period_s"].into_iter().chain(R::LIVE.iter().copied()).collect();
    let mut param_server = ParamServer::start(&mut node, &specs, &p, &live)?;
    let clock = NodeClock::new(&mut node, p.bool("use_sim_time")?)?;
    let spec: SolverSpec = p.string("solver")?.parse().context("parameter 'solver'")?;
    let mpc_thread = p.bool("mpc_thread")?;
    let (ctrl, mut cmd) = R::controller(&p, R::solver(&spec), mpc_thread, p.double("max_solution_age_periods")?)?;
    let period = Duration::from_secs_f64(p.double("control_period_s")?);
    let stale_timeout = Duration::from_secs_f64(p.double("stale_timeout_s")?);

    let mut robot = R::subscribe(&mut node, &p, sensor_qos(p.string("sensor_qos")?))?;
    let effort_pub = node.create_publisher::<JointState>("effort_cmd", QosProfile::default().keep_last(10))?;
    let array_pub = match p.string("effort_array_topic")? {
        "" => None,
        t => Some(node.create_publisher::<Float64MultiArray>(t, QosProfile::default().keep_last(10))?),
    };
    let fq_name = node.fully_qualified_name().unwrap_or_else(|_| format!("/{node_name}"));
    let stats_src = stats::StatsSource::new(&fq_name, &spec, p.double("cpu_watts")?);
    let stats_pub =
        stats::StatsPublisher::new(&mut node, p.string("stats_topic")?, p.string("energy_topic")?, stats_src)?;
    let diag = DiagnosticsPublisher::new(&mut node, p.string("diagnostics_topic")?)?;

    let counters = Arc::new(Counters::default());
    let rt_counters = Arc::new(RtCounters::default());
    let (cmd_tx, cmd_rx) = latest::<CommandOf<R, N>>();
    let safety = SafetyConfig {
        stale_timeout: stale_timeout.as_secs_f64(),
        stop_torque_fraction: p.double("stop_torque_fraction")?,
        fall_tilt: p.double("fall_tilt_rad")?,
        max_contact_force: p.double("max_contact_force_n")?,
        // The ROS state carries no foot contact flags.
        contact_loss_time: None,
        ..SafetyConfig::default()
    };
    let mut rt: RtStep<R::Ctrl, N> = RtStep::new(ctrl, cmd, safety, counters.clone(), rt_counters.clone())?;
    // E-stop: `estop` true latches it (false is ignored); `estop_reset` clears it and a
    // latched fault.
    let mut estop_sub = Box::pin(node.subscribe::<BoolMsg>("estop", QosProfile::default().keep_last(10))?);
    let mut reset_sub = Box::pin(node.subscribe::<EmptyMsg>("estop_reset", QosProfile::default().keep_last(10))?);
    // The same as std_srvs/Trigger services `~/estop` and `~/estop_reset` (node-private names).
    let mut estop_srv = node.create_service::<Trigger::Service>("~/estop", QosProfile::default())?;
    let mut reset_srv = node.create_service::<Trigger::Service>("~/estop_reset", QosProfile::default())?;
    let rt_priority = priority_from_param(p.int("rt_priority")?);
    let thread = format!("{}-rt", R::EXE.trim_start_matches("spikectl-"));
    // On simulated time the loop ticks with the simulator's samples, so the controller keeps
    // its control rate in simulated time at any real-time factor.
    let on_input = clock.is_sim_time();
    // The age of a state, which the stale rule judges, is measured on the node's clock: wall
    // time on a robot; simulated time under `use_sim_time`, mapped onto `Instant`s from a
    // fixed origin. In lockstep the simulator waits for each command, so a state that waited
    // on a loaded host is not old in the simulated world; if `/clock` runs on while the
    // samples stop, the age grows and the stale rule stops the robot as on hardware.
    // The simulated clock stops with the simulator, though: so wall-clock silence (no new
    // state) longer than `SIM_SILENCE` is added to the age, and a simulator that died or hung
    // still ends in the damping stop.
    let state_clock = StateClock { sim: on_input.then(|| (clock.clone(), Instant::now())) };
    let rt_clock = state_clock.clone();
    let mut last_input = Instant::now();
    let bridge = RtBridge::spawn_with_priority(
        &thread,
        period,
        counters.clone(),
        rt_priority,
        on_input,
        move |_tick, state| {
            let wall = Instant::now();
            if state.is_some() {
                last_input = wall;
            }
            let mut now = rt_clock.now();
            let silence = wall - last_input;
            if rt_clock.sim.is_some() && silence > SIM_SILENCE {
                now += silence;
            }
            rt.step(now, state, cmd_rx.take())
        },
    )?;
    let solver_label = spec.label();
    eprintln!(
        "[{node_name}] solver {solver_label} ({}, {}), period {} s, stale timeout {} s, {}, sim time {} (ticks {})",
        spec.backend.arithmetic().label(),
        if mpc_thread { "MPC thread" } else { "MPC in the tick" },
        period.as_secs_f64(),
        stale_timeout.as_secs_f64(),
        robot.describe(&cmd),
        clock.is_sim_time(),
        if on_input { "on each sensor sample" } else { "on the wall clock" }
    );

    let mut diag_period = Duration::from_secs_f64(p.double("diagnostics_period_s")?);
    let mut next_diag = Instant::now() + diag_period;
    let mut status = ControllerStatus::new(&counters);
    let mut last_output: Option<(f64, CommandKind)> = None;
    let mut errors = InputErrors::new(node_name, R::INPUTS);
    while !super::shutdown::requested() {
        node.spin_once(Duration::from_millis(1));
        let now = Instant::now();
        if let Some(mut s) = robot.poll_state(now, &counters, &mut errors) {
            s.received = state_clock.now();
            bridge.send_state(s);
        }
        let mut cmd_changed = robot.poll_command(now, &mut cmd, &counters, &mut errors);
        for (name, v) in param_server.poll() {
            match (name, &v) {
                ("diagnostics_period_s", Value::Double(x)) => {
                    diag_period = Duration::from_secs_f64(*x);
                    next_diag = now + diag_period;
                }
                _ => cmd_changed |= robot.set_param(name, &v, &mut cmd),
            }
        }
        if cmd_changed {
            cmd_tx.send(cmd);
        }
        // A reset and an e-stop in the same spin: the reset is applied first.
        for _ in drain(&mut reset_sub) {
            Counters::bump(&counters.received);
            rt_counters.reset_requests.fetch_add(1, Ordering::Relaxed);
            eprintln!("[{node_name}] estop_reset received");
        }
        for req in drain(&mut reset_srv) {
            Counters::bump(&counters.received);
            rt_counters.reset_requests.fetch_add(1, Ordering::Relaxed);
            eprintln!("[{node_name}] estop_reset service called");
            respond(node_name, req, "reset: the e-stop and a latched fault clear on the next tick");
        }
        for m in drain(&mut estop_sub) {
            Counters::bump(&counters.received);
            if m.data {
                rt_counters.estop_requests.fetch_add(1, Ordering::Relaxed);
                log_every(node_name, rt_counters.estop_requests.load(Ordering::Relaxed), || {
                    "e-stop engaged: damping stop until estop_reset".into()
                });
            }
        }
        for req in drain(&mut estop_srv) {
            Counters::bump(&counters.received);
            rt_counters.estop_requests.fetch_add(1, Ordering::Relaxed);
            log_every(node_name, rt_counters.estop_requests.load(Ordering::Relaxed), || {
                "e-stop engaged (service): damping stop until estop_reset".into()
            });
            respond(node_name, req, "e-stop latched: damping stop from the next tick until estop_reset");
        }
        for StepOutput { stamp_s, tau, kind, records } in bridge.outputs() {
            if let Err(e) = effort_pub.publish(&robot.effort_msg(time_msg(stamp_s), &tau)) {
                log_every(node_name, 1, || format!("cannot publish effort_cmd: {e}"));
            }
            if let Some(pb) = &array_pub
                && let Err(e) = pb.publish(&effort_array(&tau))
            {
                log_every(node_name, 1, || format!("cannot publish the effort array: {e}"));
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
    super::shutdown::bound_teardown(node_name, super::shutdown::TEARDOWN_LIMIT);
    Ok(())
}
