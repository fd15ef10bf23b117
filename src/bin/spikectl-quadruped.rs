//! `spikectl-quadruped`: the quadruped MPC controller as a ROS 2 node.
//!
//! Subscribes `joint_states` (sensor_msgs/JointState), `imu` (sensor_msgs/Imu), `odom`
//! (nav_msgs/Odometry, twist in the body frame), `cmd_vel` (geometry_msgs/Twist) and `gait`
//! (std_msgs/String: "stand" | "trot"); publishes `effort_cmd` (sensor_msgs/JointState with
//! `effort` [N·m]), SolveStats on `stats_topic` and `/diagnostics`. Topic names are relative:
//! put the node in a namespace or remap them (`--ros-args -r __ns:=/go1 -r odom:=/state_estimator/odom`).
//!
//! The controller ([`QuadrupedController`] on the chosen QP solver) runs on its own
//! fixed-period thread ([`RtBridge`]), on each new synchronised state; the ROS thread only
//! converts, checks and publishes. Malformed messages are dropped and counted; when no valid
//! state arrived for `stale_timeout_s`, the safe command is sent every tick. With
//! `mpc_thread:=true` (the default) the MPC QP is solved on a worker thread of its own and
//! the tick uses the newest finished solution (`control::mpc_thread`); SIGINT/SIGTERM stop
//! both threads and exit cleanly.
//!
//! Run: `spikectl-quadruped --ros-args -p solver:=osqp -p use_sim_time:=true` (parameters: `--help`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use r2r::QosProfile;
use r2r::geometry_msgs::msg::Twist;
use r2r::nav_msgs::msg::Odometry;
use r2r::sensor_msgs::msg::{Imu, JointState};
use r2r::spikectl_msgs::msg::SolveStats;
use r2r::std_msgs::msg::String as StringMsg;
use spikectl::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use spikectl::ros::clock::NodeClock;
use spikectl::ros::diagnostics::{Counters, DiagnosticsPublisher};
use spikectl::ros::inputs::{InputErrors, log_every};
use spikectl::ros::params::{self, Check, ParamSpec};
use spikectl::ros::quadruped::{
    CommandKind, QuadrupedRt, RtCounters, RtOutput, StateAssembler, effort_msg, imu_from_msg, joints_from_msg,
    odom_from_msg, twist_from_msg,
};
use spikectl::ros::rt::{RtBridge, latest, priority_from_param};
use spikectl::ros::step::ControllerStatus;
use spikectl::ros::{drain, sensor_qos, solver_choice, stats, time_msg};
use spikectl::scenario::policy::make_solver;

const NODE: &str = "spikectl_quadruped";

const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("solver", "spiking", Check::OneOf(&["spiking", "osqp", "pipg"]), "MPC QP solver"),
    ParamSpec::double("control_period_s", 0.002, 1e-4, 0.1, "Real-time loop period [s] (500 Hz)"),
    ParamSpec::double("stale_timeout_s", 0.05, 1e-3, 10.0, "No valid state for this long → safe command [s, wall]"),
    ParamSpec::double("sync_wait_s", 0.002, 0.0, 1.0, "Wait for IMU/odometry as new as a joint sample [s, wall]"),
    ParamSpec::string("gait", "stand", Check::OneOf(&["stand", "trot"]), "Initial gait (topic `gait` switches)"),
    ParamSpec::double("body_height_m", 0.0, 0.0, 0.45, "Trunk height above ground [m]; 0 = nominal"),
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
        "mpc_thread: an MPC solution older than this many MPC periods (25 ms) → fallback command",
    ),
    params::RT_PRIORITY,
    params::USE_SIM_TIME,
];

fn gait_of(s: &str) -> Option<GaitKind> {
    match s.trim() {
        "stand" => Some(GaitKind::Stand),
        "trot" => Some(GaitKind::Trot),
        _ => None,
    }
}

fn main() -> anyhow::Result<()> {
    if params::print_help_if_asked("spikectl-quadruped [--ros-args -p name:=value ... -r topic:=new_topic]", PARAMS) {
        return Ok(());
    }
    spikectl::ros::shutdown::install().context("installing the SIGINT/SIGTERM handler")?;
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, NODE, "").context("creating the node")?;
    let p = params::declare(&mut node, PARAMS)?;
    let clock = NodeClock::new(&mut node, p.bool("use_sim_time")?)?;
    let solver_choice = solver_choice(p.string("solver")?);
    let solver = make_solver(solver_choice)?;
    let mpc_thread = p.bool("mpc_thread")?;
    let cfg = QuadrupedControllerConfig {
        mpc_thread,
        max_solution_age_periods: p.double("max_solution_age_periods")?,
        ..Default::default()
    };
    let ctrl = QuadrupedController::new(solver, cfg)?;
    let period = Duration::from_secs_f64(p.double("control_period_s")?);
    let stale_timeout = Duration::from_secs_f64(p.double("stale_timeout_s")?);
    let cmd_vel_timeout = Duration::from_secs_f64(p.double("cmd_vel_timeout_s")?);
    let mut cmd = QuadrupedCommand {
        body_height: p.double("body_height_m")?,
        gait: gait_of(p.string("gait")?).unwrap_or_default(),
        ..Default::default()
    };

    let sensor_qos = sensor_qos(p.string("sensor_qos")?);
    let mut joint_sub = node.subscribe::<JointState>("joint_states", sensor_qos.clone())?;
    let mut imu_sub = node.subscribe::<Imu>("imu", sensor_qos.clone())?;
    let mut odom_sub = node.subscribe::<Odometry>("odom", sensor_qos)?;
    let mut cmd_vel_sub = node.subscribe::<Twist>("cmd_vel", QosProfile::default())?;
    let mut gait_sub = node.subscribe::<StringMsg>("gait", QosProfile::default())?;
    let effort_pub = node.create_publisher::<JointState>("effort_cmd", QosProfile::default().keep_last(10))?;
    let stats_pub =
        node.create_publisher::<SolveStats>(p.string("stats_topic")?, QosProfile::default().keep_last(100))?;
    let diag = DiagnosticsPublisher::new(&mut node, p.string("diagnostics_topic")?)?;

    let counters = Arc::new(Counters::default());
    let quad = Arc::new(RtCounters::default());
    let (cmd_tx, cmd_rx) = latest::<QuadrupedCommand>();
    let mut rt = QuadrupedRt::new(ctrl, cmd, stale_timeout, counters.clone(), quad.clone());
    let rt_priority = priority_from_param(p.int("rt_priority")?);
    let bridge =
        RtBridge::spawn_with_priority("quadruped-rt", period, counters.clone(), rt_priority, move |_tick, state| {
            rt.step(Instant::now(), state, cmd_rx.take())
        })?;
    eprintln!(
        "[{NODE}] solver {} ({}), period {} s, stale timeout {} s, gait {:?}, sim time {}",
        solver_choice.name(),
        if mpc_thread { "MPC thread" } else { "MPC in the tick" },
        period.as_secs_f64(),
        stale_timeout.as_secs_f64(),
        cmd.gait,
        clock.is_sim_time()
    );

    let mut assembler = StateAssembler::new(Duration::from_secs_f64(p.double("sync_wait_s")?), stale_timeout);
    let diag_period = Duration::from_secs_f64(p.double("diagnostics_period_s")?);
    let mut next_diag = Instant::now() + diag_period;
    let mut status = ControllerStatus::new(&counters);
    let mut last_cmd_vel: Option<Instant> = None;
    let mut last_output: Option<(f64, CommandKind)> = None;
    let mut errors = InputErrors::new(NODE, &["joint_states", "imu", "odom", "cmd_vel", "gait"]);
    while !spikectl::ros::shutdown::requested() {
        node.spin_once(Duration::from_millis(1));
        let now = Instant::now();
        for m in drain(&mut joint_sub) {
            Counters::bump(&counters.received);
            match joints_from_msg(&m) {
                Ok(r) => assembler.set_joints(r, now),
                Err(e) => errors.reject(&counters, "joint_states", &e),
            }
        }
        for m in drain(&mut imu_sub) {
            Counters::bump(&counters.received);
            match imu_from_msg(&m) {
                Ok(r) => assembler.set_imu(r, now),
                Err(e) => errors.reject(&counters, "imu", &e),
            }
        }
        for m in drain(&mut odom_sub) {
            Counters::bump(&counters.received);
            match odom_from_msg(&m) {
                Ok(r) => assembler.set_odom(r, now),
                Err(e) => errors.reject(&counters, "odom", &e),
            }
        }
        if let Some(s) = assembler.poll(now) {
            bridge.send_state(s);
        }
        let mut cmd_changed = false;
        for m in drain(&mut cmd_vel_sub) {
            Counters::bump(&counters.received);
            match twist_from_msg(&m) {
                Ok([vx, vy, wz]) => {
                    (cmd.vx, cmd.vy, cmd.yaw_rate) = (vx, vy, wz);
                    last_cmd_vel = Some(now);
                    cmd_changed = true;
                }
                Err(e) => errors.reject(&counters, "cmd_vel", &e),
            }
        }
        if last_cmd_vel.is_some_and(|t| now.saturating_duration_since(t) > cmd_vel_timeout) {
            (cmd.vx, cmd.vy, cmd.yaw_rate) = (0.0, 0.0, 0.0);
            last_cmd_vel = None;
            cmd_changed = true;
        }
        for m in drain(&mut gait_sub) {
            Counters::bump(&counters.received);
            match gait_of(&m.data) {
                Some(g) => {
                    cmd.gait = g;
                    cmd_changed = true;
                }
                None => errors.reject(&counters, "gait", &format!("unknown gait {:?}", m.data)),
            }
        }
        if cmd_changed {
            cmd_tx.send(cmd);
        }
        for RtOutput { stamp_s, tau, kind, records } in bridge.outputs() {
            if let Err(e) = effort_pub.publish(&effort_msg(time_msg(stamp_s), &tau)) {
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
                .add_to(status.report(
                    NODE,
                    solver_choice.name(),
                    &counters,
                    &quad,
                    started,
                    "joint_states, imu and odom",
                ))
                .kv("dropped_outputs", bridge.dropped_outputs())
                .kv("gait", format!("{:?}", cmd.gait))
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
