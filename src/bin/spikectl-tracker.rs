//! `spikectl-tracker`: the event-camera ball tracker network as a ROS 2 node.
//!
//! Subscribes `event_camera_msgs/EventPacket` on `events_topic` (default
//! `/event_camera/events`, best-effort sensor QoS as the drivers publish; encodings `evt3` and
//! `mono`), cuts the events into windows of `window_us` of sensor time and runs the tracker
//! network on the neuromorphic substrate ([`spikectl::tracking::net::NetTracker`] through
//! [`spikectl::tracking::stream::StreamTracker`]; `arithmetic` float or Loihi 2 fixed point;
//! positions read out by the network, or with `refine:=true` after the host refinement) once
//! per window. Publishes per window: `spikectl_msgs/TrackEstimate` on `track_topic`
//! (confidence 0 when lost), `geometry_msgs/PointStamped` in pixel coordinates on
//! `point_topic` (while tracking), `spikectl_msgs/SolveStats` on `stats_topic` (solver
//! `net-float` / `net-fixed`, `+refine` when refining: host time and the network's operation
//! counts, aggregated by `spikectl-monitor`); per window the baseline priced,
//! `spikectl_msgs/EnergyEstimate` on `energy_topic` (the chip estimate of the window's
//! operation counts, and as the CPU side the conventional event-cluster tracker's host wall
//! time on the same window × `cpu_watts`; the cluster tracker runs on a background thread
//! behind a queue of `baseline_queue` windows that drops and counts windows when it falls
//! behind); and `/diagnostics` every `diagnostics_period_s`. Outputs are stamped with the
//! window end on the packets' clock.
//!
//! A window is processed when the stream's time passes its end (normally with the next
//! packet); after `idle_flush_s` without packets the node processes the pending window and
//! enough empty ones for the tracker to report the track lost (confidence 0).
//!
//! Malformed packets (unknown encoding, truncated payload, reserved EVT 3.0 words, events
//! outside the sensor, impossible geometry) are logged (rate-limited), counted per kind in the
//! diagnostics, and the node keeps tracking. The tracker runs on the ROS thread as packets
//! arrive (data-driven: one network step per window of sensor time; `spikectl bench tracking`
//! times this path on 25 k-event bursts).
//!
//! Run: `spikectl-tracker --ros-args -p events_topic:=/event_camera/events` (parameters: `--help`).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use r2r::QosProfile;
use r2r::event_camera_msgs::msg::EventPacket;
use r2r::geometry_msgs::msg::PointStamped;
use r2r::spikectl_msgs::msg::{EnergyEstimate, SolveStats, TrackEstimate};
use spikectl::neuro::energy::{DEFAULT_CPU_WATTS, HardwareProfile};
use spikectl::ros::clock::NodeClock;
use spikectl::ros::diagnostics::{Counters, DiagnosticsPublisher};
use spikectl::ros::drain;
use spikectl::ros::inputs::log_every;
use spikectl::ros::param_server::ParamServer;
use spikectl::ros::params::{self, Check, ParamSpec, Value};
use spikectl::ros::sensor_qos;
use spikectl::ros::shutdown;
use spikectl::ros::tracker::{TrackerDiagnostics, energy_msg, packet_from_msg, point_msg, solve_stats_msg, track_msg};
use spikectl::tracking::baseline::BaselinePrice;
use spikectl::tracking::stream::{StreamConfig, StreamTracker, WindowResult};

const NODE: &str = "spikectl_tracker";

/// The parameters `ros2 param set` may change while the tracker runs.
const LIVE: &[&str] = &["diagnostics_period_s", "idle_flush_s"];

const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("events_topic", "/event_camera/events", Check::Topic, "EventPacket input topic"),
    ParamSpec::string("track_topic", "/spikectl/track", Check::Topic, "TrackEstimate output topic"),
    ParamSpec::string("point_topic", "/spikectl/track_point", Check::Topic, "PointStamped output topic [px]"),
    ParamSpec::string("stats_topic", "/spikectl/solve_stats", Check::Topic, "SolveStats output topic (monitor)"),
    ParamSpec::string("energy_topic", "/spikectl/energy", Check::Topic, "EnergyEstimate output topic"),
    ParamSpec::string("diagnostics_topic", "/diagnostics", Check::Topic, "DiagnosticArray output topic"),
    ParamSpec::double("diagnostics_period_s", 1.0, 0.01, 60.0, "Diagnostics publishing period [s, wall]"),
    ParamSpec::int("window_us", 1000, 100, 100_000, "Tracker window [µs of sensor time]"),
    ParamSpec::string(
        "arithmetic",
        "float",
        Check::OneOf(&["float", "loihi2"]),
        "Arithmetic of the tracker network: float or Loihi 2 fixed point",
    ),
    ParamSpec::bool("refine", false, "Host refinement after the network's readout (false: network-only positions)"),
    ParamSpec::int("substeps", 4, 4, 64, "Network timesteps per window"),
    ParamSpec::int(
        "baseline_queue",
        16,
        0,
        1024,
        "Windows queued for the cluster baseline's thread (CPU side of EnergyEstimate); 0 = no baseline",
    ),
    ParamSpec::string(
        "energy_profile",
        "loihi",
        Check::OneOf(&["loihi", "loihi2-est"]),
        "Hardware profile of the energy estimate",
    ),
    ParamSpec::double(
        "cpu_watts",
        DEFAULT_CPU_WATTS,
        0.0,
        1000.0,
        "Assumed CPU power of the baseline (cluster tracker) [W]",
    ),
    ParamSpec::string(
        "sensor_qos",
        "sensor_data",
        Check::OneOf(&["sensor_data", "reliable"]),
        "QoS of the event subscription (sensor_data = best effort, matches any publisher)",
    ),
    ParamSpec::int("queue_depth", 100, 1, 100_000, "Event subscription history depth [packets]"),
    ParamSpec::double(
        "idle_flush_s",
        0.05,
        0.001,
        60.0,
        "No packet for this long → track the last events and report the track lost [s, wall]",
    ),
    ParamSpec::string("frame_id", "", Check::Any, "Frame of the outputs; empty = the packets' frame"),
    params::USE_SIM_TIME,
];

/// The per-window publishers.
struct Outputs {
    track: r2r::Publisher<TrackEstimate>,
    point: r2r::Publisher<PointStamped>,
    stats: r2r::Publisher<SolveStats>,
    energy: r2r::Publisher<EnergyEstimate>,
    profile: String,
    cpu_watts: f64,
    tracker: &'static str,
    fixed_point: bool,
}

impl Outputs {
    /// Publishes the messages of one window; failures are counted in `errors` and logged
    /// (rate-limited).
    fn publish(&self, r: &WindowResult, frame: &str, errors: &mut u64) {
        let mut results = vec![self.track.publish(&track_msg(r, frame))];
        if let Some(pt) = point_msg(r, frame) {
            results.push(self.point.publish(&pt));
        }
        results.push(self.stats.publish(&solve_stats_msg(r, self.tracker, self.fixed_point, NODE)));
        Self::count(results, errors);
    }

    /// Publishes the `EnergyEstimate`s of the windows the baseline priced.
    fn publish_prices(&self, prices: &mut Vec<BaselinePrice>, frame: &str, errors: &mut u64) {
        let results =
            prices.drain(..).map(|p| self.energy.publish(&energy_msg(&p, &self.profile, self.cpu_watts, frame)));
        Self::count(results.collect(), errors);
    }

    fn count(results: Vec<Result<(), r2r::Error>>, errors: &mut u64) {
        for res in results {
            if let Err(e) = res {
                *errors += 1;
                log_every(NODE, *errors, || format!("cannot publish: {e}"));
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    if params::print_help_if_asked("spikectl-tracker [--ros-args -p name:=value ...]", PARAMS) {
        return Ok(());
    }
    shutdown::install().context("installing the SIGINT/SIGTERM handler")?;
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, NODE, "").context("creating the node")?;
    let p = params::declare(&mut node, PARAMS)?;
    let mut param_server = ParamServer::start(&mut node, PARAMS, &p, LIVE)?;
    let clock = NodeClock::new(&mut node, p.bool("use_sim_time")?)?;
    let hardware = match p.string("energy_profile")? {
        "loihi2-est" => HardwareProfile::loihi2_estimate(),
        _ => HardwareProfile::loihi(),
    };
    let cfg = StreamConfig {
        window_ns: p.int("window_us")? as u64 * 1000,
        fixed_point: p.string("arithmetic")? == "loihi2",
        refine: p.bool("refine")?,
        substeps: p.int("substeps")? as u32,
        hardware,
        baseline_queue: p.int("baseline_queue")? as usize,
    };
    let fixed_frame = p.string("frame_id")?.to_string();

    let qos = sensor_qos(p.string("sensor_qos")?).keep_last(p.int("queue_depth")? as usize);
    let mut events_sub = node.subscribe::<EventPacket>(p.string("events_topic")?, qos)?;
    let out_qos = QosProfile::default().keep_last(100);
    let out = Outputs {
        track: node.create_publisher(p.string("track_topic")?, out_qos.clone())?,
        point: node.create_publisher(p.string("point_topic")?, out_qos.clone())?,
        stats: node.create_publisher(p.string("stats_topic")?, out_qos.clone())?,
        energy: node.create_publisher(p.string("energy_topic")?, out_qos)?,
        profile: cfg.hardware.name.clone(),
        cpu_watts: p.double("cpu_watts")?,
        tracker: cfg.net(1, 1).name(),
        fixed_point: cfg.fixed_point,
    };
    let diag = DiagnosticsPublisher::new(&mut node, p.string("diagnostics_topic")?)?;
    eprintln!(
        "[{NODE}] events on {}, window {} µs, tracker {} ({} substeps), energy profile {}, baseline queue {}",
        p.string("events_topic")?,
        cfg.window_ns / 1000,
        out.tracker,
        cfg.substeps,
        cfg.hardware.name,
        cfg.baseline_queue
    );

    let mut st = StreamTracker::new(cfg);
    let counters = Counters::default();
    let mut diagnostics = TrackerDiagnostics::new();
    let mut windows: Vec<WindowResult> = Vec::new();
    let mut prices: Vec<BaselinePrice> = Vec::new();
    let mut last: Option<WindowResult> = None;
    let mut frame = fixed_frame.clone();
    let mut diag_period = Duration::from_secs_f64(p.double("diagnostics_period_s")?);
    let mut next_diag = Instant::now() + diag_period;
    let mut reported = counters.snapshot();
    let mut publish_errors = 0u64;
    let mut idle_flush = Duration::from_secs_f64(p.double("idle_flush_s")?);
    let mut last_packet: Option<Instant> = None;
    let mut published = 0u64;
    while !shutdown::requested() {
        node.spin_once(Duration::from_millis(1));
        // r2r takes one message per subscription and spin: take a backlog with zero-timeout
        // spins (at most 1000 in a row, so diagnostics still go out under a flood).
        for _ in 0..1000 {
            let msgs = drain(&mut events_sub);
            if msgs.is_empty() {
                break;
            }
            last_packet = Some(Instant::now());
            for m in msgs {
                Counters::bump(&counters.received);
                if fixed_frame.is_empty() && m.header.frame_id != frame {
                    frame = m.header.frame_id.chars().take(256).collect();
                }
                windows.clear();
                if let Err(e) = st.ingest(&packet_from_msg(m), &mut windows) {
                    Counters::bump(&counters.malformed);
                    diagnostics.record(&e);
                    let n = counters.snapshot().malformed;
                    log_every(NODE, n, || format!("malformed event packet #{n}: {e}"));
                }
                for r in &windows {
                    out.publish(r, &frame, &mut publish_errors);
                }
                published += windows.len() as u64;
                if let Some(r) = windows.last() {
                    last = Some(*r);
                }
            }
            node.spin_once(Duration::ZERO);
        }
        for (name, v) in param_server.poll() {
            match (name, v) {
                ("diagnostics_period_s", Value::Double(x)) => {
                    diag_period = Duration::from_secs_f64(x);
                    next_diag = Instant::now() + diag_period;
                }
                ("idle_flush_s", Value::Double(x)) => idle_flush = Duration::from_secs_f64(x),
                _ => {}
            }
        }
        st.poll_baseline(&mut prices);
        out.publish_prices(&mut prices, &frame, &mut publish_errors);
        let now = Instant::now();
        // A quiet stream: publish the last window and, after the tracker's silence limit, the
        // lost track, instead of waiting for the next packet.
        if last_packet.is_some_and(|t| now.saturating_duration_since(t) >= idle_flush) {
            last_packet = None;
            windows.clear();
            st.flush_idle(st.lost_after_windows(), &mut windows);
            for r in &windows {
                out.publish(r, &frame, &mut publish_errors);
            }
            published += windows.len() as u64;
            if let Some(r) = windows.last() {
                last = Some(*r);
            }
        }
        if now >= next_diag {
            next_diag = now + diag_period;
            let snap = counters.snapshot();
            let status = diagnostics.report(NODE, &st, &snap, &reported, last.as_ref());
            reported = snap;
            if let Err(e) = diag.publish(clock.stamp(), vec![status]) {
                publish_errors += 1;
                log_every(NODE, publish_errors, || format!("cannot publish diagnostics: {e}"));
            }
        }
    }
    // SIGINT/SIGTERM (e.g. `ros2 launch` stopping): a one-line summary and exit 0.
    let snap = counters.snapshot();
    let base = st.baseline_stats();
    eprintln!(
        "[{NODE}] stopped: {} packets received, {} malformed, {published} windows published, {publish_errors} publish errors; \
         baseline priced {} windows ({} warm-up, {} dropped)",
        snap.received, snap.malformed, base.priced, base.warmup, base.dropped
    );
    shutdown::bound_teardown(NODE, shutdown::TEARDOWN_LIMIT);
    Ok(())
}
