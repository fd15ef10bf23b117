//! End-to-end test of the `spikectl-monitor` node: it runs as its own process, receives
//! `spikectl_msgs/SolveStats` (well-formed and malformed: NaN, infinity, negative time, unknown
//! status, empty solver name) and must publish `/diagnostics` with the right latency
//! percentiles, deadline misses, fallbacks and malformed count, without crashing. Also: an
//! invalid parameter makes it refuse to start with a clear message.

mod ros_common;

use std::process::{Command, Stdio};
use std::time::Duration;

use r2r::QosProfile;
use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus};
use r2r::spikectl_msgs::msg::SolveStats;
use ros_common::{KillOnDrop, context, drain, spin_until, topic};

/// ROS domain of this test binary.
const DOMAIN: u32 = 88;
const TIMEOUT: Duration = Duration::from_secs(30);
const MONITOR: &str = env!("CARGO_BIN_EXE_spikectl-monitor");

fn value(s: &DiagnosticStatus, key: &str) -> Option<f64> {
    s.values.iter().find(|kv| kv.key == key)?.value.parse().ok()
}

fn stats(solver: &str, t_s: f64) -> SolveStats {
    SolveStats {
        solver: solver.into(),
        status: "Solved".into(),
        solve_time_s: t_s,
        iterations: 10,
        ..Default::default()
    }
}

#[test]
fn monitor_reports_latency_misses_and_malformed_input_without_crashing() {
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_monitor_test", "").unwrap();
    let (t_stats, t_diag) = (topic("solve_stats"), topic("diagnostics"));
    let qos = QosProfile::default().keep_last(1000);
    let publisher = node.create_publisher::<SolveStats>(&t_stats, qos.clone()).unwrap();
    let mut diag = node.subscribe::<DiagnosticArray>(&t_diag, QosProfile::default().keep_last(100)).unwrap();

    let child = Command::new(MONITOR)
        .args(["--ros-args", "-p"])
        .arg(format!("stats_topic:={t_stats}"))
        .arg("-p")
        .arg(format!("diagnostics_topic:={t_diag}"))
        .args(["-p", "deadline_s:=0.00009", "-p", "publish_period_s:=0.05", "-p", "queue_depth:=1000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start spikectl-monitor");
    let mut child = KillOnDrop(Some(child));

    // The monitor is up once it publishes diagnostics and has subscribed to our topic.
    let up = spin_until(&mut node, TIMEOUT, || {
        let got = !drain(&mut diag).is_empty();
        (got && publisher.get_inter_process_subscription_count().unwrap_or(0) > 0).then_some(())
    });
    assert!(up.is_some(), "spikectl-monitor did not come up");

    // 100 osqp solves of 1..=100 µs (deadline 90 µs → 10 misses), 4 spiking solves with one
    // fallback and one MaxIterations, and 5 malformed messages.
    let mut sent: Vec<SolveStats> = (1..=100).map(|k| stats("osqp", k as f64 * 1e-6)).collect();
    sent.extend((0..4).map(|k| SolveStats {
        fallback: k == 1,
        status: if k == 2 { "MaxIterations".into() } else { "Solved".into() },
        ..stats("spiking", 20e-6)
    }));
    let malformed = [
        SolveStats { solve_time_s: f64::NAN, ..stats("osqp", 0.0) },
        SolveStats { objective: f64::INFINITY, ..stats("osqp", 1e-6) },
        SolveStats { solve_time_s: -1e-6, ..stats("spiking", 0.0) },
        SolveStats { status: "Exploded".into(), ..stats("osqp", 1e-6) },
        SolveStats { primal_residual: f64::NAN, ..stats("", 1e-6) },
    ];
    sent.extend(malformed.iter().cloned());
    for (i, m) in sent.iter().enumerate() {
        publisher.publish(m).unwrap();
        if i % 10 == 9 {
            node.spin_once(Duration::from_millis(2));
        }
    }
    let total = sent.len() as f64;

    // Wait for a report that has seen everything.
    let report = spin_until(&mut node, TIMEOUT, || {
        drain(&mut diag).into_iter().rev().find(|a| {
            a.status.iter().any(|s| s.name == "spikectl_monitor: input" && value(s, "received") == Some(total))
        })
    });
    let Some(report) = report else { panic!("no diagnostics covering all {total} messages") };
    let find = |name: &str| report.status.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no {name}"));

    let input = find("spikectl_monitor: input");
    assert_eq!(value(input, "malformed"), Some(5.0));
    let osqp = find("spikectl_monitor: osqp");
    assert_eq!(value(osqp, "solves"), Some(100.0));
    assert_eq!(value(osqp, "deadline_misses"), Some(10.0));
    assert!((value(osqp, "p50_us").unwrap() - 50.5).abs() < 1e-3, "{osqp:?}");
    assert!((value(osqp, "p99_us").unwrap() - 99.01).abs() < 1e-3, "{osqp:?}");
    assert!((value(osqp, "max_us").unwrap() - 100.0).abs() < 1e-3, "{osqp:?}");
    let spiking = find("spikectl_monitor: spiking");
    assert_eq!(value(spiking, "solves"), Some(4.0));
    assert_eq!(value(spiking, "fallbacks"), Some(1.0));
    assert_eq!(value(spiking, "not_solved"), Some(1.0));
    assert_eq!(value(spiking, "deadline_misses"), Some(0.0));
    // No NaN anywhere in the report.
    for s in &report.status {
        for kv in &s.values {
            assert!(!kv.value.to_ascii_lowercase().contains("nan"), "{}: {} = {}", s.name, kv.key, kv.value);
        }
    }
    // The node is alive after the malformed input.
    let proc = child.0.as_mut().unwrap();
    assert!(proc.try_wait().unwrap().is_none(), "spikectl-monitor exited");
    // Keeps reporting after the malformed input.
    let more = spin_until(&mut node, TIMEOUT, || (!drain(&mut diag).is_empty()).then_some(()));
    assert!(more.is_some(), "no diagnostics after the malformed input");
    assert!(proc.try_wait().unwrap().is_none(), "spikectl-monitor exited");
}

#[test]
fn monitor_refuses_an_invalid_parameter() {
    // Exit code 1 (a clean error, not a crash) and an error naming `deadline_s`.
    ros_common::refuses(MONITOR, "deadline_s:=-1.0");
}
