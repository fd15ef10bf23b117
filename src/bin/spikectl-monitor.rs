//! `spikectl-monitor`: a ROS 2 node that listens to `spikectl_msgs/SolveStats` from the
//! controllers and publishes `diagnostic_msgs/DiagnosticArray` on `/diagnostics`: per-solver
//! solve-latency percentiles over a sliding window, deadline misses, fallbacks, non-solved
//! statuses, and the count of malformed messages (NaN, negative times, unknown status), which
//! are otherwise ignored.
//!
//! Run: `spikectl-monitor --ros-args -p deadline_s:=0.002 -p stats_topic:=/spikectl/solve_stats`
//! (parameters below; `use_sim_time:=true` stamps with `/clock`).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use r2r::QosProfile;
use r2r::spikectl_msgs::msg::SolveStats;
use spikectl::ros::clock::NodeClock;
use spikectl::ros::diagnostics::DiagnosticsPublisher;
use spikectl::ros::monitor::{MonitorConfig, SolveStatsMonitor};
use spikectl::ros::params::{self, Check, ParamSpec};
use spikectl::ros::shutdown;

const NODE: &str = "spikectl_monitor";

const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("stats_topic", "/spikectl/solve_stats", Check::Topic, "SolveStats input topic"),
    ParamSpec::string("diagnostics_topic", "/diagnostics", Check::Topic, "DiagnosticArray output topic"),
    ParamSpec::double("deadline_s", 0.002, 1e-6, 10.0, "Solve-time deadline [s]; longer solves are misses"),
    ParamSpec::int("window", 1000, 1, 1_000_000, "Latency window per solver [samples]"),
    ParamSpec::double("publish_period_s", 1.0, 0.01, 60.0, "Diagnostics publishing period [s]"),
    ParamSpec::int("queue_depth", 100, 1, 10_000, "Subscription history depth [messages]"),
    params::USE_SIM_TIME,
];

fn main() -> anyhow::Result<()> {
    if params::print_help_if_asked("spikectl-monitor [--ros-args -p name:=value ...]", PARAMS) {
        return Ok(());
    }
    shutdown::install().context("installing the SIGINT/SIGTERM handler")?;
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, NODE, "").context("creating the node")?;
    let p = params::declare(&mut node, PARAMS)?;
    let clock = NodeClock::new(&mut node, p.bool("use_sim_time")?)?;
    let cfg = MonitorConfig { window: p.int("window")? as usize, deadline_s: p.double("deadline_s")? };
    let qos = QosProfile::default().keep_last(p.int("queue_depth")? as usize);
    let mut stats = node.subscribe::<SolveStats>(p.string("stats_topic")?, qos)?;
    let diag = DiagnosticsPublisher::new(&mut node, p.string("diagnostics_topic")?)?;
    let period = Duration::from_secs_f64(p.double("publish_period_s")?);
    eprintln!(
        "[{NODE}] listening on {} (deadline {} s, window {}), diagnostics on {} every {} s",
        p.string("stats_topic")?,
        cfg.deadline_s,
        cfg.window,
        p.string("diagnostics_topic")?,
        period.as_secs_f64()
    );

    let mut monitor = SolveStatsMonitor::new(cfg);
    let mut next = Instant::now() + period;
    while !shutdown::requested() {
        node.spin_once(Duration::from_millis(10));
        // r2r takes one message per subscription and spin: empty a backlog with zero-timeout
        // spins (the tracker publishes one SolveStats per 1 ms window).
        for _ in 0..10_000 {
            let msgs = spikectl::ros::drain(&mut stats);
            if msgs.is_empty() {
                break;
            }
            for msg in msgs {
                if let Err(e) = monitor.ingest(&msg) {
                    // Rate-limited: the first 10, then every 1000th.
                    let n = monitor.malformed();
                    if n <= 10 || n.is_multiple_of(1000) {
                        eprintln!("[{NODE}] malformed SolveStats #{n}: {e}");
                    }
                }
            }
            node.spin_once(Duration::ZERO);
        }
        if Instant::now() >= next {
            next += period;
            if let Err(e) = diag.publish(clock.stamp(), monitor.report(NODE)) {
                eprintln!("[{NODE}] cannot publish diagnostics: {e}");
            }
        }
    }
    // SIGINT/SIGTERM (e.g. `ros2 launch` stopping): a one-line summary and exit 0.
    eprintln!("[{NODE}] stopped: {} SolveStats received, {} malformed", monitor.received(), monitor.malformed());
    Ok(())
}
