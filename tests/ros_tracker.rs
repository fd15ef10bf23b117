//! End-to-end test of the event-camera tracking node, which runs the tracker network on the
//! substrate: `spikectl-events` (simulated table-tennis throws as
//! `event_camera_msgs/EventPacket`, EVT 3.0, with the ball's true image position on a truth
//! topic) and `spikectl-tracker` run as processes; the test checks that the published
//! `spikectl_msgs/TrackEstimate`s (the network's own readout, no host refinement) follow the
//! ball within a stated pixel error, that malformed packets it injects itself (an unknown
//! encoding, a truncated EVT 3.0 payload) are counted in `/diagnostics` while the node keeps
//! tracking, and that the node publishes `SolveStats` with the network's operation counts for
//! the monitor and `EnergyEstimate`s priced against the cluster baseline. A second run replays
//! a RAW file (with its ground-truth CSV) as `mono` packets through the Loihi 2 fixed-point
//! network. A third publishes the real Gen4 recording (`../shared/data/events/evt3_trigger/`)
//! driver packet by driver packet: the node decodes the vendor's event count, publishes a
//! bounded number of finite tracks, and counts corrupt packets by kind. Also: an invalid
//! parameter makes the tracker refuse to start.

mod ros_common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use r2r::QosProfile;
use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus};
use r2r::event_camera_msgs::msg::EventPacket;
use r2r::geometry_msgs::msg::PointStamped;
use r2r::spikectl_msgs::msg::{EnergyEstimate, SolveStats, TrackEstimate};
use ros_common::{KillOnDrop, context, drain, topic};
use spikectl::ros::tracker::ns_from_time;
use spikectl::tracking::eval::SimThrow;
use spikectl::tracking::evt3::{kind, word};
use spikectl::tracking::raw::{RawHeader, write_raw_file};
use spikectl::tracking::stream::MAX_IDLE_WINDOWS;
use spikectl_sim::events::DvsParams;

/// ROS domain of this test binary.
const DOMAIN: u32 = 91;
const TRACKER: &str = env!("CARGO_BIN_EXE_spikectl-tracker");
const EVENTS: &str = env!("CARGO_BIN_EXE_spikectl-events");
const TIMEOUT: Duration = Duration::from_secs(60);
/// Stated accuracy of the network-only track on the 640×480 streams: mean and
/// 95th-percentile error [px] (the goal for the network's readout is a mean ≤ 1.5 px
/// on the noisy preset; measured 2026-12-03: mean 0.60 px, p95 1.34 px, coverage 0.997 on the
/// noisy 8 m/s throws in float; 0.47 / 0.79 px on the clean RAW replay in fixed point).
const MEAN_PX: f64 = 1.5;
const P95_PX: f64 = 3.0;

fn value(s: &DiagnosticStatus, key: &str) -> Option<f64> {
    s.values.iter().find(|kv| kv.key == key)?.value.parse().ok()
}

fn spawn(exe: &str, params: &[String]) -> KillOnDrop {
    let mut cmd = Command::new(exe);
    cmd.arg("--ros-args");
    for p in params {
        cmd.args(["-p", p]);
    }
    let child: Child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
    KillOnDrop(Some(child))
}

/// What one run of source + tracker gave.
struct Outcome {
    /// Ground-truth samples received.
    n_truth: usize,
    /// Tracks received.
    n_tracks: usize,
    /// Errors [px] of the truth samples matched by a track with confidence > 0, sorted.
    errors: Vec<f64>,
    /// Matched tracks within `P95_PX` after the malformed packets were injected.
    good_after_injection: usize,
    /// Pixel points received.
    n_points: usize,
    /// The tracker's last diagnostics status.
    status: DiagnosticStatus,
    /// The SolveStats of the busiest window, the last EnergyEstimate.
    stats: SolveStats,
    energy: EnergyEstimate,
}

impl Outcome {
    fn coverage(&self) -> f64 {
        self.errors.len() as f64 / self.n_truth.max(1) as f64
    }
    fn mean(&self) -> f64 {
        self.errors.iter().sum::<f64>() / self.errors.len().max(1) as f64
    }
    fn p95(&self) -> f64 {
        self.errors.get(self.errors.len() * 95 / 100).copied().unwrap_or(f64::INFINITY)
    }
    fn print(&self, name: &str) {
        eprintln!(
            "{name}: {} truth samples, {} tracks, coverage {:.3}, error mean {:.2} px, p95 {:.2} px, max {:.2} px, \
             {} good tracks after the malformed packets",
            self.n_truth,
            self.n_tracks,
            self.coverage(),
            self.mean(),
            self.p95(),
            self.errors.last().copied().unwrap_or(0.0),
            self.good_after_injection
        );
    }
    /// The accuracy every run must reach (best-effort packets may be dropped on a loaded
    /// machine: most windows must still match).
    fn assert_accurate(&self, min_truth: usize) {
        assert!(self.n_truth > min_truth, "only {} truth samples", self.n_truth);
        assert!(self.coverage() > 0.8, "coverage {}", self.coverage());
        assert!(self.mean() < MEAN_PX, "mean error {} px", self.mean());
        assert!(self.p95() < P95_PX, "p95 error {} px", self.p95());
        assert!(self.n_points > min_truth / 2, "pixel points published: {}", self.n_points);
    }
}

/// Only one stream at a time: two trackers and sources at once on a 2-core machine would
/// measure the machine, not the tracker.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes [`ONE_AT_A_TIME`] (a failed test's poison does not matter).
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The tracker's parameters for topics named `<prefix>_…`, plus `extra`.
fn tracker_params(prefix: &str, extra: &[&str]) -> Vec<String> {
    let t = |n: &str| topic(&format!("{prefix}_{n}"));
    let mut p = vec![
        format!("events_topic:={}", t("events")),
        format!("track_topic:={}", t("track")),
        format!("point_topic:={}", t("point")),
        format!("stats_topic:={}", t("stats")),
        format!("energy_topic:={}", t("energy")),
        format!("diagnostics_topic:={}", t("diagnostics")),
        "diagnostics_period_s:=0.2".into(),
        "queue_depth:=1000".into(),
    ];
    p.extend(extra.iter().map(|s| s.to_string()));
    p
}

/// Starts `spikectl-tracker` on topics named `<prefix>_…` (with `tracker_extra` parameters),
/// then `spikectl-events` with `source_params`; collects tracks and truth until the source has
/// finished. With `inject`, publishes an unknown-encoding packet and a truncated EVT 3.0
/// packet after 150 truth samples.
fn run_stream(prefix: &str, source_params: &[&str], tracker_extra: &[&str], inject: bool) -> Outcome {
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, &format!("spikectl_tracker_test_{prefix}"), "").unwrap();
    let t = |n: &str| topic(&format!("{prefix}_{n}"));
    let qos = QosProfile::default().keep_last(5000);
    let mut tracks = node.subscribe::<TrackEstimate>(&t("track"), qos.clone()).unwrap();
    let mut truth = node.subscribe::<PointStamped>(&t("truth"), qos.clone()).unwrap();
    let mut points = node.subscribe::<PointStamped>(&t("point"), qos.clone()).unwrap();
    let mut stats = node.subscribe::<SolveStats>(&t("stats"), QosProfile::default().keep_last(10)).unwrap();
    let mut energy = node.subscribe::<EnergyEstimate>(&t("energy"), QosProfile::default().keep_last(10)).unwrap();
    let mut diag = node.subscribe::<DiagnosticArray>(&t("diagnostics"), QosProfile::default().keep_last(100)).unwrap();
    let injector = node.create_publisher::<EventPacket>(&t("events"), QosProfile::sensor_data().keep_last(10)).unwrap();

    let mut tracker = spawn(TRACKER, &tracker_params(prefix, tracker_extra));
    // The tracker is up once it publishes diagnostics and subscribes to the events topic.
    let up = ros_common::spin_until(&mut node, TIMEOUT, || {
        let got = !drain(&mut diag).is_empty();
        (got && injector.get_inter_process_subscription_count().unwrap_or(0) > 0).then_some(())
    });
    assert!(up.is_some(), "spikectl-tracker did not come up");
    let mut params = vec![
        format!("topic:={}", t("events")),
        format!("truth_topic:={}", t("truth")),
        "wait_for_subscriber_s:=30.0".to_string(),
        "wait_for_truth_subscriber:=true".to_string(),
    ];
    params.extend(source_params.iter().map(|p| p.to_string()));
    let mut source = spawn(EVENTS, &params);

    // Collect until the source has finished and the tracker's report has settled.
    let mut track_by_stamp: BTreeMap<u64, TrackEstimate> = BTreeMap::new();
    let mut truth_samples: Vec<(u64, f64, f64)> = Vec::new();
    let (mut n_points, mut last_stats, mut last_energy, mut last_diag) = (0usize, None, None, None);
    let mut injected_at: Option<u64> = None;
    let mut source_done: Option<Instant> = None;
    let end = Instant::now() + TIMEOUT;
    while Instant::now() < end {
        node.spin_once(Duration::from_millis(1));
        // r2r takes one message per subscription and spin: empty the backlog with zero-timeout spins.
        for _ in 0..200 {
            let (a, b) = (drain(&mut tracks), drain(&mut truth));
            let busy = !a.is_empty() || !b.is_empty();
            for m in a {
                track_by_stamp.insert(ns_from_time(&m.header.stamp), m);
            }
            for m in b {
                truth_samples.push((ns_from_time(&m.header.stamp), m.point.x, m.point.y));
            }
            n_points += drain(&mut points).len();
            // Keep the busiest window's stats (the windows after the stream ends are empty).
            for m in drain(&mut stats) {
                if last_stats.as_ref().is_none_or(|b: &SolveStats| m.synops > b.synops) {
                    last_stats = Some(m);
                }
            }
            if let Some(m) = drain(&mut energy).pop() {
                last_energy = Some(m);
            }
            if let Some(m) = drain(&mut diag).pop() {
                last_diag = Some(m);
            }
            if !busy {
                break;
            }
            node.spin_once(Duration::ZERO);
        }
        // Mid-way through the first throw: an unknown encoding and a truncated EVT 3.0 packet
        // (two trigger words, which change no decoder state, and one stray byte).
        if inject && injected_at.is_none() && truth_samples.len() >= 150 {
            let bad = EventPacket {
                height: 480,
                width: 640,
                encoding: "libcaer_cmp".into(),
                events: vec![1, 2, 3, 4],
                ..Default::default()
            };
            let mut bytes = Vec::new();
            for w in [word(kind::EXT_TRIGGER, 1), word(kind::EXT_TRIGGER, 0)] {
                bytes.extend_from_slice(&w.to_le_bytes());
            }
            bytes.push(0x21);
            let truncated = EventPacket { encoding: "evt3".into(), events: bytes, ..bad.clone() };
            injector.publish(&bad).unwrap();
            injector.publish(&truncated).unwrap();
            injected_at = truth_samples.last().map(|s| s.0);
        }
        let proc = source.0.as_mut().unwrap();
        if source_done.is_none() && proc.try_wait().unwrap().is_some() {
            source_done = Some(Instant::now());
        }
        if source_done.is_some_and(|t| t.elapsed() > Duration::from_millis(800)) {
            break;
        }
    }
    let status = source.0.as_mut().unwrap().try_wait().unwrap();
    assert!(status.is_some_and(|s| s.success()), "spikectl-events did not finish cleanly: {status:?}");
    assert!(
        !inject || injected_at.is_some(),
        "the first throw was not seen: {} truth samples, {} tracks",
        truth_samples.len(),
        track_by_stamp.len()
    );
    assert!(tracker.0.as_mut().unwrap().try_wait().unwrap().is_none(), "spikectl-tracker exited");

    // Match each truth sample with the track of the same window (stamps agree to < 1 µs:
    // the EVT 3.0 µs clock).
    let mut errors = Vec::new();
    let mut good_after_injection = 0;
    for &(s, u, v) in &truth_samples {
        let hit = track_by_stamp.range(s.saturating_sub(5_000)..=s + 5_000).next();
        if let Some((_, tr)) = hit
            && tr.confidence > 0.0
        {
            let e = (tr.x - u).hypot(tr.y - v);
            errors.push(e);
            good_after_injection += usize::from(injected_at.is_some_and(|i| s > i) && e < P95_PX);
        }
    }
    errors.sort_by(f64::total_cmp);
    // The stream ended: after `idle_flush_s` the node reported the track lost.
    let newest = track_by_stamp.values().next_back().expect("tracks");
    assert_eq!(newest.confidence, 0.0, "the last track says lost: {newest:?}");
    let report = last_diag.expect("diagnostics");
    let status = report.status.into_iter().find(|s| s.name == "spikectl_tracker: tracking").expect("tracker status");
    Outcome {
        n_truth: truth_samples.len(),
        n_tracks: track_by_stamp.len(),
        errors,
        good_after_injection,
        n_points,
        status,
        stats: last_stats.expect("SolveStats"),
        energy: last_energy.expect("EnergyEstimate"),
    }
}

#[test]
fn tracker_follows_the_simulated_ball_and_survives_malformed_packets() {
    // Two noisy throws at 8 m/s, EVT 3.0, streamed at half real time (the test checks
    // tracking, not speed; debug builds on a shared machine are slow).
    let _one = one_at_a_time();
    let params = ["throws:=2", "speed_mps:=8.0", "noise:=noisy", "seed:=5", "encoding:=evt3", "real_time_factor:=0.5"];
    let out = run_stream("sim", &params, &[], true);
    out.print("ros_tracker (sim, evt3)");
    out.assert_accurate(400);
    assert!(
        out.good_after_injection > 200,
        "tracking went on after the malformed packets: {}",
        out.good_after_injection
    );

    // The diagnostics counted exactly the two malformed packets, by kind.
    let s = &out.status;
    assert_eq!(value(s, "malformed"), Some(2.0), "{s:?}");
    assert_eq!(value(s, "malformed_encoding"), Some(1.0), "{s:?}");
    assert_eq!(value(s, "malformed_truncated"), Some(1.0), "{s:?}");
    assert!(value(s, "windows").unwrap() > 400.0, "{s:?}");
    assert!(value(s, "synops").unwrap() > 0.0, "{s:?}");
    // SolveStats for the monitor: the network's work per window; energy per window.
    let st = &out.stats;
    assert_eq!((st.solver.as_str(), st.arithmetic.as_str()), ("net-float", "float-network"));
    assert!(st.timesteps == 4 && st.synops > 0 && st.solve_time_s > 0.0, "{st:?}");
    assert_eq!(spikectl::ros::stats::validate(st), Ok(()));
    let en = &out.energy;
    assert!(en.energy_j > 0.0 && en.energy_j < 1e-3 && en.latency_s > 0.0 && en.profile == "loihi", "{en:?}");
    // The CPU side is the event-cluster baseline timed on the same window on its thread.
    assert!(en.cpu_time_s > 0.0 && en.cpu_time_s < 0.1 && en.cpu_energy_j > 0.0, "{en:?}");
    assert!(value(s, "baseline_cpu_per_window_s").unwrap() > 0.0, "{s:?}");
    assert!(value(s, "baseline_windows_priced").unwrap() > 100.0, "{s:?}");
}

#[test]
fn tracker_follows_a_raw_replay_in_mono_encoding() {
    // A RAW recording of a clean 6 m/s throw with its ground-truth CSV, written here through
    // the library (as `spikectl simulate-events` does), replayed as `mono` packets.
    let _one = one_at_a_time();
    let th = SimThrow::new(640, 480, DvsParams::clean(), 6.0, 3);
    let raw = std::env::temp_dir().join(format!("spikectl_ros_tracker_{}.raw", std::process::id()));
    write_raw_file(&raw, &RawHeader::evt3(640, 480), &th.events).unwrap();
    let mut gt = String::from("t_ns,u_px,v_px,radius_px\n");
    for s in &th.rec.truth {
        gt += &format!("{},{},{},{}\n", s.t_ns, s.u, s.v, s.radius_px);
    }
    let gt_path = raw.with_extension("raw.gt.csv");
    std::fs::write(&gt_path, gt).unwrap();
    let raw_param = format!("raw_file:={}", raw.display());
    let params = ["source:=raw", raw_param.as_str(), "throws:=1", "encoding:=mono", "real_time_factor:=0.5"];
    let out = run_stream("raw", &params, &["arithmetic:=loihi2"], false);
    let _ = (std::fs::remove_file(&raw), std::fs::remove_file(&gt_path));
    out.print("ros_tracker (raw replay, mono, Loihi 2 fixed point)");
    out.assert_accurate(200);
    assert_eq!(value(&out.status, "malformed"), Some(0.0), "{:?}", out.status);
    assert_eq!((out.stats.solver.as_str(), out.stats.arithmetic.as_str()), ("net-fixed", "loihi2-fixed"));
    assert!(out.stats.synops > 0 && out.stats.timesteps == 4, "{:?}", out.stats);
}

/// The real Gen4 recording's driver packets (1280×720 EVT 3.0), as the driver published them.
fn recording_packets() -> Vec<EventPacket> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/events/evt3_trigger/");
    let file = std::fs::read(format!("{dir}recording.raw")).expect("the shared evt3_trigger recording");
    let body = &file[file.windows(6).position(|w| w == b"% end\n").expect("header end") + 6..];
    let index = std::fs::read_to_string(format!("{dir}packets.csv")).expect("packets.csv");
    index
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let (offset, len): (usize, usize) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            let stamp: u64 = f[4].parse().unwrap();
            let mut m = EventPacket {
                width: 1280,
                height: 720,
                seq: f[0].parse().unwrap(),
                encoding: "evt3".into(),
                events: body[offset..offset + len].to_vec(),
                ..Default::default()
            };
            m.header.stamp = spikectl::ros::tracker::time_from_ns(stamp);
            m.header.frame_id = "camera".into();
            m
        })
        .collect()
}

#[test]
fn tracker_streams_the_real_recording_and_counts_corrupt_packets() {
    let _one = one_at_a_time();
    let packets = recording_packets();
    assert_eq!(packets.len(), 105);
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_tracker_test_real", "").unwrap();
    let t = |n: &str| topic(&format!("real_{n}"));
    let qos = QosProfile::default().keep_last(5000);
    let mut tracks = node.subscribe::<TrackEstimate>(&t("track"), qos.clone()).unwrap();
    let mut stats = node.subscribe::<SolveStats>(&t("stats"), qos.clone()).unwrap();
    let mut energy = node.subscribe::<EnergyEstimate>(&t("energy"), qos).unwrap();
    let mut diag = node.subscribe::<DiagnosticArray>(&t("diagnostics"), QosProfile::default().keep_last(100)).unwrap();
    // Reliable both ways: the test counts every event.
    let publisher = node.create_publisher::<EventPacket>(&t("events"), QosProfile::default().keep_last(200)).unwrap();
    let _tracker = spawn(TRACKER, &tracker_params("real", &["sensor_qos:=reliable", "idle_flush_s:=0.2"]));
    let up = ros_common::spin_until(&mut node, TIMEOUT, || {
        let got = !drain(&mut diag).is_empty();
        (got && publisher.get_inter_process_subscription_count().unwrap_or(0) > 0).then_some(())
    });
    assert!(up.is_some(), "spikectl-tracker did not come up");

    let mut all_tracks: Vec<TrackEstimate> = Vec::new();
    let mut all_stats: Vec<SolveStats> = Vec::new();
    let mut all_energy: Vec<EnergyEstimate> = Vec::new();
    let mut last_status: Option<DiagnosticStatus> = None;
    // Spins for a while, collecting everything the tracker published.
    macro_rules! collect {
        ($for_time:expr) => {{
            let end = Instant::now() + $for_time;
            while Instant::now() < end {
                node.spin_once(Duration::from_millis(2));
                for _ in 0..200 {
                    let a = drain(&mut tracks);
                    let busy = !a.is_empty();
                    all_tracks.extend(a);
                    all_stats.extend(drain(&mut stats));
                    all_energy.extend(drain(&mut energy));
                    for m in drain(&mut diag) {
                        if let Some(s) = m.status.into_iter().find(|s| s.name == "spikectl_tracker: tracking") {
                            last_status = Some(s);
                        }
                    }
                    if !busy {
                        break;
                    }
                    node.spin_once(Duration::ZERO);
                }
            }
        }};
    }
    // The recording's 1.25 s of sensor time at about real time: one driver packet per 12 ms.
    for p in &packets {
        publisher.publish(p).unwrap();
        collect!(Duration::from_millis(12));
    }
    // The quiet stream is flushed (idle_flush_s) and reported lost; diagnostics settle.
    collect!(Duration::from_millis(1500));
    let s = last_status.clone().expect("tracker diagnostics");
    eprintln!(
        "real recording: {} tracks, {} SolveStats, {} EnergyEstimates; {s:?}",
        all_tracks.len(),
        all_stats.len(),
        all_energy.len()
    );
    // Decoded as the vendor does: every event, nothing malformed, no gaps.
    assert_eq!(value(&s, "events"), Some(82_469.0), "{s:?}");
    assert_eq!(
        (value(&s, "malformed"), value(&s, "seq_gaps"), value(&s, "packets")),
        (Some(0.0), Some(0.0), Some(105.0))
    );
    // Bounded output: one window per ms of the recording's 1252 ms, plus the flush.
    let windows = value(&s, "windows").unwrap();
    assert!((1252.0..=1253.0 + (MAX_IDLE_WINDOWS + 12) as f64).contains(&windows), "{windows} windows");
    assert_eq!(all_tracks.len() as f64, windows, "one TrackEstimate per window");
    assert_eq!(all_stats.len(), all_tracks.len(), "one SolveStats per window");
    for tr in &all_tracks {
        assert!(tr.x.is_finite() && tr.y.is_finite() && (0.0..=1.0).contains(&tr.confidence), "{tr:?}");
        if tr.confidence == 1.0 {
            // Fresh network readouts lie on the sensor, give or take the field's two-cell spread.
            assert!((-4.0..=1284.0).contains(&tr.x) && (-4.0..=724.0).contains(&tr.y), "{tr:?}");
        }
    }
    assert_eq!(all_tracks.last().unwrap().confidence, 0.0, "the flushed stream ends lost");
    assert!(
        all_stats
            .iter()
            .all(|m| m.solver == "net-float" && m.timesteps == 4 && spikectl::ros::stats::validate(m).is_ok())
    );
    let busy = all_stats.iter().map(|m| m.synops).max().unwrap();
    assert!(busy > 0 && value(&s, "synops").unwrap() > 0.0, "op counts: {busy}");
    // The baseline priced windows on its thread (all but the first, at this rate).
    assert!(all_energy.len() > 1000, "{} EnergyEstimates", all_energy.len());
    assert!(all_energy.iter().all(|e| e.energy_j > 0.0 && e.cpu_time_s > 0.0 && e.cpu_time_s < 0.1), "energy");

    // Corrupt packets: flipped bits, a bad geometry, a cut payload, an unknown encoding.
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut bad = Vec::new();
    for p in &packets[..20] {
        let mut q = p.clone();
        q.seq += 1000;
        for _ in 0..40 {
            let i = (next() as usize) % q.events.len();
            q.events[i] ^= 1 << (next() % 8);
        }
        bad.push(q);
    }
    bad.push(EventPacket { width: 5000, ..packets[0].clone() });
    let mut cut = packets[1].clone();
    cut.events.pop();
    bad.push(cut);
    bad.push(EventPacket { encoding: "evt2".into(), ..packets[2].clone() });
    for p in &bad {
        publisher.publish(p).unwrap();
        collect!(Duration::from_millis(5));
    }
    collect!(Duration::from_millis(1500));
    let s2 = last_status.clone().expect("tracker diagnostics");
    eprintln!("after corrupt packets: {s2:?}");
    assert_eq!(value(&s2, "packets"), Some(105.0 + bad.len() as f64), "{s2:?}");
    assert_eq!((value(&s2, "malformed_geometry"), value(&s2, "malformed_encoding")), (Some(1.0), Some(1.0)));
    assert!(value(&s2, "malformed_truncated").unwrap() >= 1.0, "{s2:?}");
    // Flipped bits give reserved words or events off the sensor in most of the 20 packets.
    assert!(value(&s2, "malformed_corrupt").unwrap() >= 5.0, "{s2:?}");
    let m = value(&s2, "malformed").unwrap();
    assert!((8.0..=bad.len() as f64).contains(&m), "{m} malformed of {}", bad.len());
    assert!(all_tracks.iter().all(|tr| tr.x.is_finite() && tr.y.is_finite()));
    assert!(value(&s2, "windows").unwrap() >= windows, "the node kept running");
}

#[test]
fn tracker_refuses_an_invalid_parameter() {
    ros_common::refuses(TRACKER, "window_us:=5");
}
