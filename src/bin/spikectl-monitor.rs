//! `spikectl-monitor`: the energy/latency monitor, a ROS 2 node. It listens to
//! `spikectl_msgs/SolveStats` from the controllers (and the tracker) and, per source node and
//! solver, keeps CPU and estimated chip latency percentiles, energy per solve and per second,
//! the EDP against the run's conventional (CPU) baseline, and deadline misses on CPU time and
//! on chip time (two deadlines). It publishes:
//!
//! - `diagnostic_msgs/DiagnosticArray` on `/diagnostics` (one status per entry, one for its
//!   input with the malformed-message counts per kind);
//! - `spikectl_msgs/MonitorSummary` on `summary_topic` (a dashboard can plot it).
//!
//! On SIGINT/SIGTERM, and on a `spikectl_msgs/srv/WriteReport` call to `~/write_report`, it
//! writes a report folder (`report_dir`: summary.md, summary.json, samples.json/.csv, PNG
//! plots; see [`spikectl::monitor::folder`]) and, on a signal, exits 0. With `record_mcap`
//! set it records its inputs and outputs (SolveStats, EnergyEstimate, diagnostics, its
//! summary, and the `record_topics` on request) to an MCAP file (CDR + ros2msg schemas).
//! Malformed messages (NaN, negative times, unknown status or arithmetic) are counted and
//! otherwise ignored.
//!
//! Run: `spikectl-monitor --ros-args -p cpu_deadline_s:=0.025 -p chip_deadline_s:=0.001
//! -p report_dir:=out/monitor -p record_mcap:=out/monitor/run.mcap` (parameters below;
//! `use_sim_time:=true` stamps with `/clock`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::{FutureExt as _, StreamExt as _};
use r2r::spikectl_msgs::msg::{MonitorSummary, SolveStats};
use r2r::spikectl_msgs::srv::WriteReport;
use r2r::{QosProfile, WrappedTypesupport as _};
use spikectl::monitor::folder::{ReportContext, write_report};
use spikectl::monitor::ledger::{LedgerConfig, Sample, summary_table};
use spikectl::ros::clock::NodeClock;
use spikectl::ros::diagnostics::DiagnosticsPublisher;
use spikectl::ros::monitor::SolveStatsMonitor;
use spikectl::ros::param_server::ParamServer;
use spikectl::ros::params::{self, Check, ParamSpec, Value};
use spikectl::ros::recording::{McapRecorder, ament_prefixes};
use spikectl::ros::shutdown;

const NODE: &str = "spikectl_monitor";

/// The parameters `ros2 param set` may change while the monitor runs (new deadlines count
/// from the next sample on).
const LIVE: &[&str] = &["cpu_deadline_s", "chip_deadline_s", "publish_period_s"];

const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("stats_topic", "/spikectl/solve_stats", Check::Topic, "SolveStats input topic"),
    ParamSpec::string("energy_topic", "/spikectl/energy", Check::Topic, "EnergyEstimate topic (recorded)"),
    ParamSpec::string("diagnostics_topic", "/diagnostics", Check::Topic, "DiagnosticArray output topic"),
    ParamSpec::string("summary_topic", "/spikectl/monitor_summary", Check::Topic, "MonitorSummary output topic"),
    ParamSpec::double("cpu_deadline_s", 0.025, 1e-6, 10.0, "Deadline on the host CPU solve time [s]"),
    ParamSpec::double("chip_deadline_s", 0.025, 1e-9, 10.0, "Deadline on the estimated chip latency [s]"),
    ParamSpec::int("window", 1000, 1, 1_000_000, "Percentile window per node and solver [samples]"),
    ParamSpec::int("max_samples", 1_000_000, 1, 100_000_000, "Samples kept for the report [count]"),
    ParamSpec::double("cpu_watts", 15.0, 0.0, 1000.0, "Stated CPU power for messages that carry none [W]"),
    ParamSpec::double("publish_period_s", 1.0, 0.01, 60.0, "Diagnostics and summary period [s, wall]"),
    ParamSpec::int("queue_depth", 100, 1, 10_000, "Subscription history depth [messages]"),
    ParamSpec::string(
        "report_dir",
        "out/monitor",
        Check::Any,
        "Report folder written on SIGINT/SIGTERM and on ~/write_report (relative to the working directory); empty: none on exit",
    ),
    ParamSpec::string(
        "record_mcap",
        "",
        Check::Any,
        "MCAP file recording the monitor's inputs and outputs; empty: off",
    ),
    ParamSpec::string(
        "record_topics",
        "",
        Check::Any,
        "Extra topics to record, comma-separated topic=pkg/msg/Type (e.g. /quadruped/effort_cmd=sensor_msgs/msg/JointState)",
    ),
    params::USE_SIM_TIME,
];

/// Seconds of a stamp.
fn secs(t: &r2r::builtin_interfaces::msg::Time) -> f64 {
    f64::from(t.sec) + f64::from(t.nanosec) * 1e-9
}

/// Nanoseconds of a stamp (0 for negative times).
fn nanos(t: &r2r::builtin_interfaces::msg::Time) -> u64 {
    u64::try_from(t.sec).unwrap_or(0) * 1_000_000_000 + u64::from(t.nanosec)
}

/// Parses `record_topics`: `topic=pkg/msg/Type` pairs separated by commas.
fn parse_topics(s: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (t, ty) =
            part.split_once('=').with_context(|| format!("record_topics: {part:?} is not topic=pkg/msg/Type"))?;
        anyhow::ensure!(!t.trim().is_empty(), "record_topics: empty topic in {part:?}");
        anyhow::ensure!(ty.split('/').count() == 3, "record_topics: {ty:?} is not pkg/msg/Type");
        out.push((t.trim().to_string(), ty.trim().to_string()));
    }
    Ok(out)
}

/// A raw (CDR) subscription to record.
struct RawTopic {
    topic: String,
    stream: Box<dyn futures::Stream<Item = Vec<u8>> + Unpin>,
}

fn write_folder(dir: &Path, monitor: &SolveStatsMonitor, notes: &[String]) -> anyhow::Result<Vec<String>> {
    let summary = monitor.summary();
    let samples: Vec<&Sample> = monitor.ledger().samples().collect();
    let ctx = ReportContext { title: "spikectl-monitor report".into(), notes: notes.to_vec() };
    let (files, warnings) =
        write_report(dir, &ctx, &summary, &samples).with_context(|| format!("writing {}", dir.display()))?;
    eprintln!("[{NODE}] report: {} files in {}", files.len(), dir.display());
    Ok(warnings)
}

fn main() -> anyhow::Result<()> {
    if params::print_help_if_asked("spikectl-monitor [--ros-args -p name:=value ...]", PARAMS) {
        return Ok(());
    }
    shutdown::install().context("installing the SIGINT/SIGTERM handler")?;
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, NODE, "").context("creating the node")?;
    let p = params::declare(&mut node, PARAMS)?;
    let mut param_server = ParamServer::start(&mut node, PARAMS, &p, LIVE)?;
    let clock = NodeClock::new(&mut node, p.bool("use_sim_time")?)?;
    let cfg = LedgerConfig {
        window: p.int("window")? as usize,
        cpu_deadline_s: p.double("cpu_deadline_s")?,
        chip_deadline_s: p.double("chip_deadline_s")?,
        max_samples: p.int("max_samples")? as usize,
        cpu_watts: p.double("cpu_watts")?,
    };
    let extra = parse_topics(p.string("record_topics")?)?;
    let qos = QosProfile::default().keep_last(p.int("queue_depth")? as usize);
    let (stats_topic, energy_topic) = (p.string("stats_topic")?.to_string(), p.string("energy_topic")?.to_string());
    let (diag_topic, summary_topic) =
        (p.string("diagnostics_topic")?.to_string(), p.string("summary_topic")?.to_string());
    let mut stats = node.subscribe::<SolveStats>(&stats_topic, qos.clone())?;
    let diag = DiagnosticsPublisher::new(&mut node, &diag_topic)?;
    let summary_pub = node.create_publisher::<MonitorSummary>(&summary_topic, QosProfile::default().keep_last(10))?;
    let mut service = node.create_service::<WriteReport::Service>("~/write_report", QosProfile::default())?;
    let mut period = Duration::from_secs_f64(p.double("publish_period_s")?);
    let report_dir = p.string("report_dir")?.to_string();

    let mcap_path = p.string("record_mcap")?.to_string();
    let mut recorder = None;
    let mut raw: Vec<RawTopic> = Vec::new();
    if !mcap_path.is_empty() {
        let mut rec = McapRecorder::create(Path::new(&mcap_path), ament_prefixes())
            .with_context(|| format!("record_mcap: creating {mcap_path}"))?;
        let mut topics = vec![
            (stats_topic.clone(), "spikectl_msgs/msg/SolveStats".to_string()),
            (energy_topic.clone(), "spikectl_msgs/msg/EnergyEstimate".to_string()),
            (diag_topic.clone(), "diagnostic_msgs/msg/DiagnosticArray".to_string()),
        ];
        topics.extend(extra.iter().cloned());
        for (t, ty) in &topics {
            rec.add_topic(t, ty).with_context(|| format!("record_mcap: topic {t} ({ty})"))?;
            let stream =
                node.subscribe_raw(t, ty, qos.clone()).with_context(|| format!("subscribing to {t} ({ty})"))?;
            raw.push(RawTopic { topic: t.clone(), stream: Box::new(stream) });
        }
        rec.add_topic(&summary_topic, "spikectl_msgs/msg/MonitorSummary")?;
        recorder = Some(rec);
    }
    let notes = vec![
        format!(
            "source topic {stats_topic}; clock: {}",
            if p.bool("use_sim_time")? { "simulated (/clock)" } else { "system" }
        ),
        format!(
            "percentile window {} samples per entry; CPU power for messages without one {} W",
            cfg.window, cfg.cpu_watts
        ),
    ];
    eprintln!(
        "[{NODE}] listening on {stats_topic} (deadlines: CPU {} s, chip {} s; window {}), diagnostics on {diag_topic}, summary on {summary_topic} every {} s, report to {:?}, recording {}",
        cfg.cpu_deadline_s,
        cfg.chip_deadline_s,
        cfg.window,
        period.as_secs_f64(),
        report_dir,
        if mcap_path.is_empty() { "off".to_string() } else { format!("to {mcap_path}") }
    );

    let mut monitor = SolveStatsMonitor::new(cfg);
    let mut record_errors = 0u64;
    let mut next = Instant::now() + period;
    while !shutdown::requested() {
        node.spin_once(Duration::from_millis(10));
        // r2r takes one message per subscription and spin: empty a backlog with zero-timeout
        // spins (the tracker publishes one SolveStats per 1 ms window).
        for _ in 0..10_000 {
            let msgs = spikectl::ros::drain(&mut stats);
            let mut got = !msgs.is_empty();
            let now = secs(&clock.stamp());
            for msg in msgs {
                if let Err(e) = monitor.ingest(&msg, now) {
                    // Rate-limited: the first 10, then every 1000th.
                    let n = monitor.malformed();
                    if n <= 10 || n.is_multiple_of(1000) {
                        eprintln!("[{NODE}] malformed SolveStats #{n}: {e}");
                    }
                }
            }
            if let Some(rec) = recorder.as_mut() {
                let t_ns = nanos(&clock.stamp());
                for r in raw.iter_mut() {
                    for bytes in spikectl::ros::drain(&mut r.stream) {
                        got = true;
                        if rec.write(&r.topic, t_ns, &bytes).is_err() {
                            record_errors += 1;
                        }
                    }
                }
            }
            if !got {
                break;
            }
            node.spin_once(Duration::ZERO);
        }
        for (name, v) in param_server.poll() {
            let (cpu, chip) = monitor.deadlines();
            match (name, v) {
                ("cpu_deadline_s", Value::Double(x)) => monitor.set_deadlines(x, chip),
                ("chip_deadline_s", Value::Double(x)) => monitor.set_deadlines(cpu, x),
                ("publish_period_s", Value::Double(x)) => {
                    period = Duration::from_secs_f64(x);
                    next = Instant::now() + period;
                }
                _ => {}
            }
        }
        while let Some(Some(req)) = service.next().now_or_never() {
            let dir = if req.message.dir.is_empty() { report_dir.clone() } else { req.message.dir.clone() };
            let resp = if dir.is_empty() {
                WriteReport::Response {
                    success: false,
                    message: "no folder: report_dir is empty and none was given".into(),
                }
            } else {
                match write_folder(&PathBuf::from(&dir), &monitor, &notes) {
                    Ok(_) => WriteReport::Response { success: true, message: dir },
                    Err(e) => WriteReport::Response { success: false, message: format!("{e:#}") },
                }
            };
            if let Err(e) = req.respond(resp) {
                eprintln!("[{NODE}] cannot answer write_report: {e}");
            }
        }
        if Instant::now() >= next {
            next += period;
            let stamp = clock.stamp();
            if let Err(e) = diag.publish(stamp.clone(), monitor.report(NODE)) {
                eprintln!("[{NODE}] cannot publish diagnostics: {e}");
            }
            let sm = monitor.summary_msg(stamp.clone());
            if let Err(e) = summary_pub.publish(&sm) {
                eprintln!("[{NODE}] cannot publish the summary: {e}");
            }
            if let Some(rec) = recorder.as_mut() {
                let ok = sm
                    .to_serialized_bytes()
                    .map_err(|e| e.to_string())
                    .and_then(|b| rec.write(&summary_topic, nanos(&stamp), &b).map_err(|e| e.to_string()));
                if ok.is_err() {
                    record_errors += 1;
                }
            }
        }
    }
    // SIGINT/SIGTERM (e.g. `ros2 launch` stopping): the report, the recording, a summary, exit 0.
    let summary = monitor.summary();
    eprintln!("[{NODE}] stopped: {} SolveStats received, {} malformed", summary.received, summary.malformed);
    eprint!("{}", summary_table(&summary));
    let mut failed = false;
    if !report_dir.is_empty() {
        match write_folder(Path::new(&report_dir), &monitor, &notes) {
            Ok(warnings) => {
                for w in warnings {
                    eprintln!("[{NODE}] plot skipped: {w}");
                }
            }
            Err(e) => {
                eprintln!("[{NODE}] {e:#}");
                failed = true;
            }
        }
    }
    if let Some(rec) = recorder {
        let path = rec.path().to_path_buf();
        match rec.finish() {
            Ok(counts) => {
                let c: Vec<String> = counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
                eprintln!("[{NODE}] recording {}: {} ({record_errors} write errors)", path.display(), c.join(", "));
            }
            Err(e) => {
                eprintln!("[{NODE}] recording {}: {e}", path.display());
                failed = true;
            }
        }
    }
    if !failed {
        shutdown::bound_teardown(NODE, shutdown::TEARDOWN_LIMIT);
    }
    anyhow::ensure!(!failed, "the report or the recording could not be written");
    Ok(())
}
