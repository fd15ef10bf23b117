//! End-to-end test of the `spikectl-monitor` node: it runs as its own process, receives
//! `spikectl_msgs/SolveStats` from three source nodes (two with the same solver name, one
//! with chip estimates) plus malformed ones (NaN, infinity, negative time, unknown status,
//! unknown arithmetic, empty solver name), and `EnergyEstimate`s. It must publish
//! `/diagnostics` and a `MonitorSummary` with the right per-node numbers, write a report
//! folder on a `~/write_report` call and on SIGINT (then exit 0), and leave an MCAP file that
//! an independent reader (the `mcap` Python package; rclpy decodes its CDR) reads back with
//! the right message counts. Also: an invalid parameter makes it refuse to start.

mod ros_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use r2r::QosProfile;
use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus};
use r2r::spikectl_msgs::msg::{EnergyEstimate, MonitorSummary, SolveStats};
use r2r::spikectl_msgs::srv::WriteReport;
use ros_common::{KillOnDrop, context, drain, spin_until, topic};
use spikectl::monitor::ledger::Summary;

/// ROS domain of this test binary.
const DOMAIN: u32 = 88;
const TIMEOUT: Duration = Duration::from_secs(30);
const MONITOR: &str = env!("CARGO_BIN_EXE_spikectl-monitor");
const CPU_DEADLINE_S: f64 = 90e-6;
const CHIP_DEADLINE_S: f64 = 50e-6;
const WATTS: f64 = 15.0;

fn value(s: &DiagnosticStatus, key: &str) -> Option<f64> {
    s.values.iter().find(|kv| kv.key == key)?.value.parse().ok()
}

fn stats(node: &str, solver: &str, t_s: f64) -> SolveStats {
    SolveStats {
        node: node.into(),
        solver: solver.into(),
        arithmetic: "cpu".into(),
        status: "Solved".into(),
        solve_time_s: t_s,
        preprocess_time_s: 5e-6,
        iterations: 10,
        cpu_watts: WATTS,
        cpu_energy_j: t_s * WATTS,
        ..Default::default()
    }
}

/// A Loihi 2 solve: CPU time 1 ms (simulating the network), chip latency `chip_s`, chip
/// energy `e_j`.
fn chip(chip_s: f64, e_j: f64) -> SolveStats {
    SolveStats {
        arithmetic: "loihi2-fixed".into(),
        timesteps: 100,
        neuron_updates: 4000,
        messages: 900,
        synops: 20_000,
        chip_profile: "loihi2-est".into(),
        chip_cores: 2,
        chip_latency_s: chip_s,
        chip_energy_j: e_j,
        ..stats("/b/ctrl", "loihi2", 1e-3)
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Reads `path` with the `mcap` Python package and decodes the first SolveStats with
/// rclpy; prints `topic count` lines, then the decoded node and solver.
const READ_MCAP: &str = r#"
import sys
from mcap.reader import make_reader
from rclpy.serialization import deserialize_message
from spikectl_msgs.msg import SolveStats
counts, schemas, first = {}, {}, None
with open(sys.argv[1], "rb") as f:
    reader = make_reader(f)
    assert reader.get_header().profile == "ros2", reader.get_header().profile
    for schema, channel, message in reader.iter_messages():
        assert channel.message_encoding == "cdr", channel.message_encoding
        assert schema.encoding == "ros2msg", schema.encoding
        counts[channel.topic] = counts.get(channel.topic, 0) + 1
        schemas[channel.topic] = schema.name
        if schema.name == "spikectl_msgs/msg/SolveStats" and first is None:
            first = deserialize_message(message.data, SolveStats)
for t, n in sorted(counts.items()):
    print("count", t, n, schemas[t])
print("first", first.node, first.solver, first.solve_time_s)
"#;

fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn read_summary(dir: &Path) -> Summary {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn monitor_prices_per_node_writes_a_report_and_a_recording() {
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_monitor_test", "").unwrap();
    let (t_stats, t_energy, t_diag, t_sum) =
        (topic("solve_stats"), topic("energy"), topic("diagnostics"), topic("monitor_summary"));
    let qos = QosProfile::default().keep_last(1000);
    let publisher = node.create_publisher::<SolveStats>(&t_stats, qos.clone()).unwrap();
    let energy_pub = node.create_publisher::<EnergyEstimate>(&t_energy, qos.clone()).unwrap();
    let mut diag = node.subscribe::<DiagnosticArray>(&t_diag, QosProfile::default().keep_last(100)).unwrap();
    let mut summaries = node.subscribe::<MonitorSummary>(&t_sum, QosProfile::default().keep_last(10)).unwrap();
    let tmp = std::env::temp_dir().join(format!("spikectl-ros-monitor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (report_dir, mcap) = (tmp.join("report"), tmp.join("rec/run.mcap"));
    let mon_name = "spikectl_monitor";

    let child = Command::new(MONITOR)
        .args(["--ros-args", "-p"])
        .arg(format!("stats_topic:={t_stats}"))
        .arg("-p")
        .arg(format!("energy_topic:={t_energy}"))
        .arg("-p")
        .arg(format!("diagnostics_topic:={t_diag}"))
        .arg("-p")
        .arg(format!("summary_topic:={t_sum}"))
        .arg("-p")
        .arg(format!("report_dir:={}", report_dir.display()))
        .arg("-p")
        .arg(format!("record_mcap:={}", mcap.display()))
        .args([
            "-p",
            &format!("cpu_deadline_s:={CPU_DEADLINE_S}"),
            "-p",
            &format!("chip_deadline_s:={CHIP_DEADLINE_S}"),
        ])
        .args(["-p", "publish_period_s:=0.05", "-p", "queue_depth:=1000", "-p", "cpu_watts:=15.0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start spikectl-monitor");
    let mut child = KillOnDrop(Some(child));

    // Up once it publishes diagnostics and has subscribed to both our topics.
    let up = spin_until(&mut node, TIMEOUT, || {
        let got = !drain(&mut diag).is_empty();
        let subs = |n: Option<usize>| n.unwrap_or(0) >= 1;
        (got && subs(publisher.get_inter_process_subscription_count().ok())
            && subs(energy_pub.get_inter_process_subscription_count().ok()))
        .then_some(())
    });
    assert!(up.is_some(), "spikectl-monitor did not come up");

    // /a/ctrl: 100 OSQP solves of 1..=100 µs (CPU deadline 90 µs -> 10 misses), one fallback.
    // /c/ctrl: the same solver name, 2 solves of 500 µs: a separate entry.
    // /b/ctrl: 4 Loihi 2 solves, chip 20/40/60/80 µs (chip deadline 50 µs -> 2 misses), CPU
    // 1 ms each (not judged against the chip deadline), one MaxIterations.
    let mut sent: Vec<SolveStats> =
        (1..=100).map(|k| SolveStats { fallback: k == 7, ..stats("/a/ctrl", "osqp", k as f64 * 1e-6) }).collect();
    sent.extend((0..2).map(|_| stats("/c/ctrl", "osqp", 500e-6)));
    let chip_lat = [20e-6, 40e-6, 60e-6, 80e-6];
    let chip_e = [1e-6, 2e-6, 3e-6, 4e-6];
    sent.extend((0..4).map(|k| SolveStats {
        status: if k == 2 { "MaxIterations".into() } else { "Solved".into() },
        ..chip(chip_lat[k], chip_e[k])
    }));
    let good = sent.len();
    let malformed = [
        SolveStats { solve_time_s: f64::NAN, ..stats("/a/ctrl", "osqp", 0.0) },
        SolveStats { objective: f64::INFINITY, ..stats("/a/ctrl", "osqp", 1e-6) },
        SolveStats { solve_time_s: -1e-6, ..stats("/a/ctrl", "osqp", 0.0) },
        SolveStats { status: "Exploded".into(), ..stats("/a/ctrl", "osqp", 1e-6) },
        SolveStats { arithmetic: "analog".into(), ..stats("/a/ctrl", "osqp", 1e-6) },
        SolveStats { chip_energy_j: -1.0, ..chip(1e-6, 1e-6) },
        SolveStats { primal_residual: f64::NAN, ..stats("/a/ctrl", "", 1e-6) },
    ];
    sent.extend(malformed.iter().cloned());
    for (i, m) in sent.iter().enumerate() {
        publisher.publish(m).unwrap();
        if i % 10 == 9 {
            node.spin_once(Duration::from_millis(2));
        }
    }
    for k in 0..3 {
        let e = EnergyEstimate {
            profile: "loihi2-est".into(),
            energy_j: chip_e[k],
            latency_s: chip_lat[k],
            ..Default::default()
        };
        energy_pub.publish(&e).unwrap();
    }
    let total = sent.len() as f64;

    // A report that has seen everything.
    let report = spin_until(&mut node, TIMEOUT, || {
        drain(&mut diag).into_iter().rev().find(|a| {
            a.status.iter().any(|s| s.name == format!("{mon_name}: input") && value(s, "received") == Some(total))
        })
    });
    let Some(report) = report else { panic!("no diagnostics covering all {total} messages") };
    let find = |name: &str| {
        let full = format!("{mon_name}: {name}");
        report.status.iter().find(|s| s.name == full).unwrap_or_else(|| panic!("no {full} in {report:?}"))
    };
    let input = find("input");
    assert_eq!(value(input, "malformed"), Some(malformed.len() as f64));
    assert_eq!(value(input, "malformed_non_finite"), Some(3.0));
    assert_eq!(value(input, "malformed_negative"), Some(2.0));
    let a = find("/a/ctrl osqp");
    assert_eq!(value(a, "solves"), Some(100.0));
    assert_eq!(value(a, "cpu_deadline_misses"), Some(10.0));
    assert_eq!(value(a, "fallbacks"), Some(1.0));
    assert!((value(a, "cpu_p50_us").unwrap() - 50.5).abs() < 1e-3, "{a:?}");
    assert!((value(a, "cpu_p99_us").unwrap() - 99.01).abs() < 1e-3, "{a:?}");
    assert!((value(a, "cpu_max_us").unwrap() - 100.0).abs() < 1e-3, "{a:?}");
    let c = find("/c/ctrl osqp");
    assert_eq!((value(c, "solves"), value(c, "cpu_deadline_misses")), (Some(2.0), Some(2.0)));
    let b = find("/b/ctrl loihi2");
    assert_eq!(value(b, "solves"), Some(4.0));
    assert_eq!((value(b, "cpu_deadline_misses"), value(b, "chip_deadline_misses")), (Some(4.0), Some(2.0)));
    assert_eq!(value(b, "not_solved"), Some(1.0));
    for s in &report.status {
        for kv in &s.values {
            assert!(!kv.value.to_ascii_lowercase().contains("nan"), "{}: {} = {}", s.name, kv.key, kv.value);
        }
    }
    // The summary topic carries the same entries.
    let sm =
        spin_until(&mut node, TIMEOUT, || drain(&mut summaries).into_iter().rev().find(|m| m.received as f64 == total));
    let sm = sm.expect("no MonitorSummary covering all messages");
    assert_eq!(sm.entries.len(), 3);
    let sb = sm.entries.iter().find(|e| e.node == "/b/ctrl").unwrap();
    assert!((sb.chip_energy_per_solve_j - mean(&chip_e)).abs() < 1e-15);
    assert_eq!(sb.baseline, "/a/ctrl osqp");

    // The report on request.
    let client = node
        .create_client::<WriteReport::Service>(&format!("/{mon_name}/write_report"), QosProfile::default())
        .unwrap();
    let svc_dir = tmp.join("on_request");
    let mut avail = Box::pin(r2r::Node::is_available(&client).unwrap());
    assert!(spin_until(&mut node, TIMEOUT, || avail.as_mut().now_or_never()).is_some(), "no write_report service");
    let req = WriteReport::Request { dir: svc_dir.display().to_string() };
    let mut fut = Box::pin(client.request(&req).unwrap());
    let resp = spin_until(&mut node, TIMEOUT, || fut.as_mut().now_or_never()).expect("no answer").unwrap();
    assert!(resp.success, "{}", resp.message);
    assert_eq!(read_summary(&svc_dir).received as f64, total);

    // SIGINT: the report folder, the recording, exit 0.
    let proc = child.0.as_mut().unwrap();
    assert!(proc.try_wait().unwrap().is_none(), "spikectl-monitor exited early");
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    assert_eq!(unsafe { libc::kill(proc.id() as i32, libc::SIGINT) }, 0);
    let status = wait_exit(proc, TIMEOUT).expect("spikectl-monitor did not stop on SIGINT");
    let mut err = String::new();
    std::io::Read::read_to_string(proc.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "exit {status}\n{err}");
    child.0 = None;

    // The report's numbers against what was sent.
    let s = read_summary(&report_dir);
    assert_eq!((s.received as f64, s.malformed as usize), (total, malformed.len()));
    assert_eq!((s.cpu_deadline_s, s.chip_deadline_s), (CPU_DEADLINE_S, CHIP_DEADLINE_S));
    assert_eq!(s.entries.len(), 3);
    let entry = |n: &str| s.entries.iter().find(|e| e.node == n).unwrap();
    let (ea, eb, ec) = (entry("/a/ctrl"), entry("/b/ctrl"), entry("/c/ctrl"));
    let a_times: Vec<f64> = (1..=100).map(|k| k as f64 * 1e-6).collect();
    assert!((ea.cpu.mean_us - mean(&a_times) * 1e6).abs() < 1e-6);
    assert!((ea.preprocess_mean_us - 5.0).abs() < 1e-9);
    assert!((ea.cpu_energy_per_solve_j - mean(&a_times) * WATTS).abs() < 1e-12);
    let a_edp = mean(&a_times) * WATTS * mean(&a_times);
    assert!((ea.cpu_edp_js - a_edp).abs() < 1e-15 * a_edp.max(1.0));
    assert_eq!((ec.solves, ec.cpu_deadline_misses), (2, 2));
    let b_chip = eb.chip.as_ref().expect("chip statistics");
    assert!((b_chip.mean_us - mean(&chip_lat) * 1e6).abs() < 1e-9);
    assert!((b_chip.max_us - 80.0).abs() < 1e-9);
    assert_eq!((eb.chip_deadline_misses, eb.cpu_deadline_misses, eb.not_solved), (2, 4, 1));
    let b_edp = mean(&chip_e) * mean(&chip_lat);
    assert!((eb.chip_edp_js - b_edp).abs() < 1e-9 * b_edp);
    // Baseline: OSQP with the most solves (/a/ctrl), same run.
    assert_eq!(eb.baseline, "/a/ctrl osqp");
    assert!(
        (eb.edp_vs_baseline - a_edp / b_edp).abs() < 1e-9 * (a_edp / b_edp),
        "{} vs {}",
        eb.edp_vs_baseline,
        a_edp / b_edp
    );
    let csv = std::fs::read_to_string(report_dir.join("samples.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + good);
    let md = std::fs::read_to_string(report_dir.join("summary.md")).unwrap();
    assert!(md.contains("| /b/ctrl | loihi2 | loihi2-fixed | 4 |"), "{md}");
    for f in ["latency.png", "energy.png", "hist_0.png", "samples.json"] {
        let len = std::fs::metadata(report_dir.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} missing or empty\n{err}");
    }

    // The recording, read back by an independent reader.
    let out =
        Command::new(ros_common::python()).arg("-c").arg(READ_MCAP).arg(&mcap).output().expect("cannot run python");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "mcap reader failed: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    let count = |t: &str| -> u64 {
        text.lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 4 && f[0] == "count" && f[1] == t).then(|| f[2].parse().unwrap())
            })
            .unwrap_or(0)
    };
    // Every SolveStats sent (malformed ones too: the recording is of the input) and
    // EnergyEstimate; diagnostics and summaries were published every 50 ms.
    assert_eq!(count(&t_stats), sent.len() as u64, "{text}");
    assert_eq!(count(&t_energy), 3, "{text}");
    assert!(count(&t_diag) >= 1 && count(&t_sum) >= 1, "{text}");
    assert!(text.contains(&format!("{t_stats} {} spikectl_msgs/msg/SolveStats", sent.len())), "{text}");
    assert!(text.contains("first /a/ctrl osqp 1e-06"), "{text}");
    let _ = std::fs::remove_dir_all(PathBuf::from(&tmp));
}

#[test]
fn monitor_refuses_an_invalid_parameter() {
    // Exit code 1 (a clean error, not a crash) and an error naming the parameter.
    ros_common::refuses(MONITOR, "cpu_deadline_s:=-1.0");
    ros_common::refuses(MONITOR, "record_topics:=/x=not_a_type");
}
