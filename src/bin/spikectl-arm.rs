//! `spikectl-arm`: the force-controlled 7-DoF arm (admittance MPC) as a ROS 2 node.
//!
//! Subscribes `joint_states` (sensor_msgs/JointState, 7 joints), `wrench`
//! (geometry_msgs/WrenchStamped: flange F/T as the contact wrench on the tool, world frame),
//! `force_setpoint` (std_msgs/Float64 [N]), `cmd_vel` (geometry_msgs/Twist: tangential tip
//! velocity) and `target_xy` (geometry_msgs/Point); publishes `effort_cmd` (JointState effort
//! [N·m]), SolveStats on `stats_topic` and `/diagnostics`. Same pattern as `spikectl-quadruped`:
//! the controller ([`ArmController`]) runs on its own 1 kHz thread on each new state; malformed
//! messages are dropped and counted; a stale state gets the safe command every tick. With
//! `mpc_thread:=true` (the default) the MPC runs on a worker thread of its own; SIGINT/SIGTERM
//! stop both threads and exit cleanly.
//!
//! Run: `spikectl-arm --ros-args -p solver:=osqp -p use_sim_time:=true` (parameters: `--help`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use r2r::QosProfile;
use r2r::geometry_msgs::msg::{Point, Twist, WrenchStamped};
use r2r::sensor_msgs::msg::JointState;
use r2r::spikectl_msgs::msg::SolveStats;
use r2r::std_msgs::msg::Float64;
use spikectl::control::arm::{ArmCommand, ArmController, ArmControllerConfig};
use spikectl::ros::arm::{
    ArmRt, ArmRtOutput, ArmStateAssembler, MAX_TANGENT_VEL, arm_effort_msg, arm_joint_names, arm_joints_from_msg,
    force_setpoint, tangent, wrench_from_msg,
};
use spikectl::ros::clock::NodeClock;
use spikectl::ros::diagnostics::{Counters, DiagnosticsPublisher};
use spikectl::ros::inputs::{InputErrors, log_every};
use spikectl::ros::params::{self, Check, ParamSpec};
use spikectl::ros::quadruped::{CommandKind, RtCounters};
use spikectl::ros::rt::{RtBridge, latest, priority_from_param};
use spikectl::ros::step::ControllerStatus;
use spikectl::ros::{drain, sensor_qos, solver_choice, stats, time_msg};
use spikectl::scenario::policy::make_arm_solver;

const NODE: &str = "spikectl_arm";

const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("solver", "spiking", Check::OneOf(&["spiking", "osqp", "pipg"]), "MPC QP solver"),
    ParamSpec::double("control_period_s", 0.001, 1e-4, 0.1, "Real-time loop period [s] (1 kHz)"),
    ParamSpec::double("stale_timeout_s", 0.05, 1e-3, 10.0, "No valid state for this long → safe command [s, wall]"),
    ParamSpec::double("sync_wait_s", 0.001, 0.0, 1.0, "Wait for a wrench as new as a joint sample [s, wall]"),
    ParamSpec::string("joint_prefix", "", Check::Any, "Joint names are <prefix>joint1 … <prefix>joint7"),
    ParamSpec::double("force_setpoint_n", 5.0, 0.0, 40.0, "Initial normal-force setpoint [N]"),
    ParamSpec::string(
        "sensor_qos",
        "sensor_data",
        Check::OneOf(&["sensor_data", "reliable"]),
        "QoS of the sensor subscriptions (sensor_data = best effort, matches any publisher)",
    ),
    ParamSpec::double("cmd_vel_timeout_s", 0.5, 0.01, 60.0, "cmd_vel older than this → zero velocity [s, wall]"),
    ParamSpec::string("stats_topic", "/spikectl/solve_stats", Check::Topic, "SolveStats output topic"),
    ParamSpec::string("diagnostics_topic", "/diagnostics", Check::Topic, "DiagnosticArray output topic"),
    ParamSpec::double("diagnostics_period_s", 1.0, 0.01, 60.0, "Diagnostics publishing period [s, wall]"),
    ParamSpec::bool(
        "mpc_thread",
        true,
        "Solve the MPC on a worker thread (true) or inside the real-time tick (false, blocks it for the solve)",
    ),
    ParamSpec::double(
        "max_solution_age_periods",
        2.0,
        0.5,
        100.0,
        "mpc_thread: an MPC solution older than this many MPC periods (10 ms) → fallback command",
    ),
    params::RT_PRIORITY,
    params::USE_SIM_TIME,
];

fn main() -> anyhow::Result<()> {
    if params::print_help_if_asked("spikectl-arm [--ros-args -p name:=value ... -r topic:=new_topic]", PARAMS) {
        return Ok(());
    }
    spikectl::ros::shutdown::install().context("installing the SIGINT/SIGTERM handler")?;
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, NODE, "").context("creating the node")?;
    let p = params::declare(&mut node, PARAMS)?;
    let clock = NodeClock::new(&mut node, p.bool("use_sim_time")?)?;
    let solver_choice = solver_choice(p.string("solver")?);
    let mpc_thread = p.bool("mpc_thread")?;
    let cfg = ArmControllerConfig {
        mpc_thread,
        max_solution_age_periods: p.double("max_solution_age_periods")?,
        ..Default::default()
    };
    let ctrl = ArmController::new(make_arm_solver(solver_choice)?, cfg)?;
    let names = arm_joint_names(p.string("joint_prefix")?);
    let period = Duration::from_secs_f64(p.double("control_period_s")?);
    let stale_timeout = Duration::from_secs_f64(p.double("stale_timeout_s")?);
    let cmd_vel_timeout = Duration::from_secs_f64(p.double("cmd_vel_timeout_s")?);
    let mut cmd = ArmCommand { normal_force: p.double("force_setpoint_n")?, ..Default::default() };

    let sensor_qos = sensor_qos(p.string("sensor_qos")?);
    let mut joint_sub = node.subscribe::<JointState>("joint_states", sensor_qos.clone())?;
    let mut wrench_sub = node.subscribe::<WrenchStamped>("wrench", sensor_qos)?;
    let mut force_sub = node.subscribe::<Float64>("force_setpoint", QosProfile::default())?;
    let mut cmd_vel_sub = node.subscribe::<Twist>("cmd_vel", QosProfile::default())?;
    let mut target_sub = node.subscribe::<Point>("target_xy", QosProfile::default())?;
    let effort_pub = node.create_publisher::<JointState>("effort_cmd", QosProfile::default().keep_last(10))?;
    let stats_pub =
        node.create_publisher::<SolveStats>(p.string("stats_topic")?, QosProfile::default().keep_last(100))?;
    let diag = DiagnosticsPublisher::new(&mut node, p.string("diagnostics_topic")?)?;

    let counters = Arc::new(Counters::default());
    let quad = Arc::new(RtCounters::default());
    let (cmd_tx, cmd_rx) = latest::<ArmCommand>();
    let mut rt = ArmRt::new(ctrl, cmd, stale_timeout, counters.clone(), quad.clone());
    let rt_priority = priority_from_param(p.int("rt_priority")?);
    let bridge =
        RtBridge::spawn_with_priority("arm-rt", period, counters.clone(), rt_priority, move |_tick, state| {
            rt.step(Instant::now(), state, cmd_rx.take())
        })?;
    eprintln!(
        "[{NODE}] solver {} ({}), period {} s, stale timeout {} s, force setpoint {} N, joints {}…, sim time {}",
        solver_choice.name(),
        if mpc_thread { "MPC thread" } else { "MPC in the tick" },
        period.as_secs_f64(),
        stale_timeout.as_secs_f64(),
        cmd.normal_force,
        names[0],
        clock.is_sim_time()
    );

    let mut assembler = ArmStateAssembler::new(Duration::from_secs_f64(p.double("sync_wait_s")?), stale_timeout);
    let diag_period = Duration::from_secs_f64(p.double("diagnostics_period_s")?);
    let mut next_diag = Instant::now() + diag_period;
    let mut status = ControllerStatus::new(&counters);
    let mut last_cmd_vel: Option<Instant> = None;
    let mut last_output: Option<(f64, CommandKind)> = None;
    let mut errors = InputErrors::new(NODE, &["joint_states", "wrench", "force_setpoint", "cmd_vel", "target_xy"]);
    while !spikectl::ros::shutdown::requested() {
        node.spin_once(Duration::from_millis(1));
        let now = Instant::now();
        for m in drain(&mut joint_sub) {
            Counters::bump(&counters.received);
            match arm_joints_from_msg(&m, &names) {
                Ok(r) => assembler.set_joints(r, now),
                Err(e) => errors.reject(&counters, "joint_states", &e),
            }
        }
        for m in drain(&mut wrench_sub) {
            Counters::bump(&counters.received);
            match wrench_from_msg(&m) {
                Ok(r) => assembler.set_wrench(r, now),
                Err(e) => errors.reject(&counters, "wrench", &e),
            }
        }
        if let Some(s) = assembler.poll(now) {
            bridge.send_state(s);
        }
        let mut changed = false;
        for m in drain(&mut force_sub) {
            Counters::bump(&counters.received);
            match force_setpoint(m.data) {
                Ok(f) => {
                    cmd.normal_force = f;
                    changed = true;
                }
                Err(e) => errors.reject(&counters, "force_setpoint", &e),
            }
        }
        for m in drain(&mut cmd_vel_sub) {
            Counters::bump(&counters.received);
            match tangent("cmd_vel", [m.linear.x, m.linear.y], MAX_TANGENT_VEL) {
                Ok(v) => {
                    cmd.tangent_velocity = v;
                    cmd.target_xy = None;
                    last_cmd_vel = Some(now);
                    changed = true;
                }
                Err(e) => errors.reject(&counters, "cmd_vel", &e),
            }
        }
        if last_cmd_vel.is_some_and(|t| now.saturating_duration_since(t) > cmd_vel_timeout) {
            cmd.tangent_velocity = [0.0; 2];
            last_cmd_vel = None;
            changed = true;
        }
        for m in drain(&mut target_sub) {
            Counters::bump(&counters.received);
            match tangent("target_xy", [m.x, m.y], f64::INFINITY) {
                Ok(xy) => {
                    cmd.target_xy = Some(xy);
                    changed = true;
                }
                Err(e) => errors.reject(&counters, "target_xy", &e),
            }
        }
        if changed {
            cmd_tx.send(cmd);
        }
        for ArmRtOutput { stamp_s, tau, kind, records } in bridge.outputs() {
            if let Err(e) = effort_pub.publish(&arm_effort_msg(time_msg(stamp_s), &names, &tau)) {
                log_every(NODE, 1, || format!("cannot publish effort_cmd: {e}"));
            }
            last_output = Some((stamp_s, kind));
            stats::publish_records(&stats_pub, &clock.stamp(), &records, NODE);
        }
        if !bridge.is_running() {
            anyhow::bail!("the real-time thread stopped");
        }
        if now >= next_diag {
            next_diag += diag_period;
            let started = last_output.is_some();
            let status = errors
                .add_to(status.report(NODE, solver_choice.name(), &counters, &quad, started, "joint_states and wrench"))
                .kv("dropped_outputs", bridge.dropped_outputs())
                .kv_f("force_setpoint_n", cmd.normal_force)
                .kv_f("last_command_stamp_s", last_output.map(|o| o.0).unwrap_or(0.0))
                .build();
            if let Err(e) = diag.publish(clock.stamp(), vec![status]) {
                log_every(NODE, 1, || format!("cannot publish diagnostics: {e}"));
            }
        }
    }
    // SIGINT/SIGTERM: stop the real-time loop; dropping its step joins the MPC thread.
    let report = bridge.stop();
    let snap = counters.snapshot();
    eprintln!(
        "[{NODE}] stopped: {} steps, {} deadline misses, longest step {:.3} ms, tick p99 {} µs, {} MPC solves \
         started / {} finished, {} stale-solution ticks, {} fallbacks",
        report.steps,
        snap.deadline_misses,
        report.max_step_s * 1e3,
        counters.tick_times.quantile(0.99).as_micros(),
        quad.solves.load(std::sync::atomic::Ordering::Relaxed),
        quad.solves_finished.load(std::sync::atomic::Ordering::Relaxed),
        quad.stale_solutions.load(std::sync::atomic::Ordering::Relaxed),
        snap.fallbacks,
    );
    Ok(())
}
