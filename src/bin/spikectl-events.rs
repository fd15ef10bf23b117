//! `spikectl-events`: an event-camera source for tests and demos, publishing
//! `event_camera_msgs/EventPacket` like a camera driver does (one packet per `packet_us` of
//! sensor time, skipped when empty; best-effort QoS).
//!
//! - `source:=sim` (default): table-tennis throws from the ESIM-style simulator
//!   (`spikectl_sim::events`, side view of the table, `width`×`height` px, v2e `noise` preset,
//!   throw `k` at `speed_mps` with seed `seed + k`), rendered one throw ahead on a worker
//!   thread; the ball's projected centre is published as `geometry_msgs/PointStamped` [px] on
//!   `truth_topic` at the end of every packet window while the whole ball is in view;
//! - `source:=raw`: replays the EVT 3.0 RAW file `raw_file` (Metavision format), with the
//!   ground truth of `<raw_file>.gt.csv` on `truth_topic` when that file exists (as
//!   `spikectl simulate-events` writes it).
//!
//! Sensor time runs on across throws and replays (each starts `pause_s` after the previous
//! one ends), so the stream is one monotonic recording. Packets are stamped
//! `start + sensor time of their first event`, `start` being the ROS clock when streaming
//! begins (drivers stamp a packet with its first event); `encoding` is `evt3` (one encoder for
//! the whole stream, as a driver forwarding sensor words) or `mono`. `real_time_factor`
//! paces publishing (0 = as fast as possible); `throws` (0 = forever) ends the stream.
//!
//! Run: `spikectl-events --ros-args -p speed_mps:=8.0 -p noise:=noisy` (parameters: `--help`).

use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use r2r::QosProfile;
use r2r::event_camera_msgs::msg::EventPacket as EventPacketMsg;
use r2r::geometry_msgs::msg::{Point, PointStamped};
use r2r::std_msgs::msg::Header;
use spikectl::ros::clock::NodeClock;
use spikectl::ros::param_server::ParamServer;
use spikectl::ros::params::{self, Check, ParamSpec, Value};
use spikectl::ros::shutdown;
use spikectl::ros::tracker::{ns_from_time, packet_to_msg, time_from_ns};
use spikectl::tracking::Event;
use spikectl::tracking::eval::SimThrow;
use spikectl::tracking::evt3::Evt3Encoder;
use spikectl::tracking::packet::EventPacket;
use spikectl::tracking::raw::read_raw_file;
use spikectl_sim::events::DvsParams;

const NODE: &str = "spikectl_events";

const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("source", "sim", Check::OneOf(&["sim", "raw"]), "sim = simulated throws, raw = a RAW file"),
    ParamSpec::string("raw_file", "", Check::Any, "EVT 3.0 RAW file to replay (source raw)"),
    ParamSpec::string("topic", "/event_camera/events", Check::Topic, "EventPacket output topic"),
    ParamSpec::string("truth_topic", "/event_camera/ball_truth", Check::Topic, "Ball centre truth [px], when known"),
    ParamSpec::string("encoding", "evt3", Check::OneOf(&["evt3", "mono"]), "Packet encoding"),
    ParamSpec::string("frame_id", "event_camera", Check::NonEmpty, "Frame id of the packets"),
    ParamSpec::int("width", 640, 16, 2048, "Simulated sensor width [px]"),
    ParamSpec::int("height", 480, 16, 2048, "Simulated sensor height [px]"),
    ParamSpec::double("speed_mps", 8.0, 0.5, 30.0, "Throw speed [m/s]"),
    ParamSpec::string("noise", "noisy", Check::OneOf(&["clean", "noisy"]), "v2e sensor preset"),
    ParamSpec::int("seed", 1, 0, i64::MAX, "Seed of the first throw (throw k uses seed + k)"),
    ParamSpec::int("throws", 0, 0, 1_000_000, "Throws (or replays) to stream; 0 = forever"),
    ParamSpec::double("pause_s", 0.2, 0.0, 60.0, "Sensor time between throws [s]"),
    ParamSpec::int("packet_us", 1000, 10, 1_000_000, "Packet length [µs of sensor time]"),
    ParamSpec::double("real_time_factor", 1.0, 0.0, 1000.0, "Sensor/wall time ratio; 0 = as fast as possible"),
    ParamSpec::double("wait_for_subscriber_s", 5.0, 0.0, 600.0, "Wait this long for a subscriber [s, wall]"),
    ParamSpec::bool("wait_for_truth_subscriber", false, "Also wait for a subscriber of the truth topic"),
];

/// The parameters `ros2 param set` may change while the node streams.
const LIVE: &[&str] = &["real_time_factor", "pause_s"];

/// Publishing pace: sensor time runs `rtf` times as fast as the wall clock from an anchor.
struct Pacer {
    /// Sensor/wall time ratio; 0 = as fast as possible.
    rtf: f64,
    /// Wall time of the anchor.
    wall0: Instant,
    /// Sensor time of the anchor [ns].
    sensor0_ns: u64,
    /// Sensor time between throws [ns].
    pause_ns: u64,
}

impl Pacer {
    /// How long to wait until sensor time `t_ns` is due (`None`: due already, or no pacing).
    fn wait(&self, t_ns: u64) -> Option<Duration> {
        if self.rtf <= 0.0 {
            return None;
        }
        let due = Duration::from_secs_f64(t_ns.saturating_sub(self.sensor0_ns) as f64 * 1e-9 / self.rtf);
        due.checked_sub(self.wall0.elapsed())
    }

    /// A new ratio from sensor time `now_ns` on (no burst, no jump back).
    fn set_rtf(&mut self, rtf: f64, now_ns: u64) {
        (self.rtf, self.wall0, self.sensor0_ns) = (rtf, Instant::now(), now_ns);
    }

    /// Applies the parameter changes accepted by the parameter services at sensor time `now_ns`.
    fn apply(&mut self, changes: Vec<(&'static str, Value)>, now_ns: u64) {
        for (name, v) in changes {
            match (name, v) {
                ("real_time_factor", Value::Double(x)) => self.set_rtf(x, now_ns),
                ("pause_s", Value::Double(x)) => self.pause_ns = (x * 1e9) as u64,
                _ => {}
            }
        }
    }
}

/// Ball centre in view [px] at a time [ns] from the start of a recording.
type Truth = Arc<dyn Fn(u64) -> Option<(f64, f64)> + Send + Sync>;

/// One throw or replay: events from t = 0, its length and the ball truth if known.
struct Recording {
    events: Vec<Event>,
    duration_ns: u64,
    truth: Option<Truth>,
}

/// Ground truth of a RAW file from `<file>.gt.csv` (as `spikectl simulate-events` writes it:
/// `t_ns,u_px,v_px,radius_px,…`), shifted by `t0_ns`, interpolated linearly and reported while
/// the whole ball is inside the `width`×`height` image; `None` without the file.
fn raw_truth(raw: &std::path::Path, t0_ns: u64, width: u32, height: u32) -> anyhow::Result<Option<Truth>> {
    let mut gt = raw.as_os_str().to_owned();
    gt.push(".gt.csv");
    let Ok(text) = std::fs::read_to_string(&gt) else { return Ok(None) };
    let mut rows: Vec<(u64, f64, f64, f64)> = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        anyhow::ensure!(f.len() >= 4, "{}:{}: expected t_ns,u,v,radius", PathBuf::from(&gt).display(), i + 1);
        rows.push((f[0].parse::<u64>()?.saturating_sub(t0_ns), f[1].parse()?, f[2].parse()?, f[3].parse()?));
    }
    let (w, h) = (f64::from(width), f64::from(height));
    Ok(Some(Arc::new(move |t: u64| {
        let k = rows.partition_point(|r| r.0 <= t);
        if k == 0 || k >= rows.len() {
            return None;
        }
        let (a, b) = (rows[k - 1], rows[k]);
        let f = (t - a.0) as f64 / (b.0 - a.0).max(1) as f64;
        let (u, v, r) = (a.1 + f * (b.1 - a.1), a.2 + f * (b.2 - a.2), a.3);
        (u >= r && v >= r && u <= w - r && v <= h - r).then_some((u, v))
    })))
}

fn main() -> anyhow::Result<()> {
    if params::print_help_if_asked("spikectl-events [--ros-args -p name:=value ...]", PARAMS) {
        return Ok(());
    }
    shutdown::install().context("installing the SIGINT/SIGTERM handler")?;
    let ctx = r2r::Context::create().context("creating the ROS context")?;
    let mut node = r2r::Node::create(ctx, NODE, "").context("creating the node")?;
    let p = params::declare(&mut node, PARAMS)?;
    let mut param_server = ParamServer::start(&mut node, PARAMS, &p, LIVE)?;
    let clock = NodeClock::new(&mut node, false)?;
    let qos = QosProfile::sensor_data().keep_last(100);
    let publisher = node.create_publisher::<EventPacketMsg>(p.string("topic")?, qos)?;
    let truth_pub = node.create_publisher::<PointStamped>(p.string("truth_topic")?, QosProfile::default())?;
    let encoding = p.string("encoding")?.to_string();
    let frame = p.string("frame_id")?.to_string();
    let packet_ns = p.int("packet_us")? as u64 * 1000;
    let mut pacer = Pacer {
        rtf: p.double("real_time_factor")?,
        wall0: Instant::now(),
        sensor0_ns: 0,
        pause_ns: (p.double("pause_s")? * 1e9) as u64,
    };
    let throws = p.int("throws")? as u64;

    // Recordings come from a worker thread, one ahead of the stream.
    let (tx, rx) = mpsc::sync_channel::<anyhow::Result<Recording>>(1);
    let (w, h) = (p.int("width")? as u16, p.int("height")? as u16);
    let mut geometry = (u32::from(w), u32::from(h));
    if p.string("source")? == "raw" {
        let path = PathBuf::from(p.string("raw_file")?);
        anyhow::ensure!(!path.as_os_str().is_empty(), "parameter `raw_file` is required with source:=raw");
        let rec = read_raw_file(&path).with_context(|| format!("reading {}", path.display()))?;
        geometry = (u32::from(rec.geometry.0), u32::from(rec.geometry.1));
        let t0 = rec.events.first().map_or(0, |e| e.t_ns);
        let events: Vec<Event> = rec.events.iter().map(|e| Event { t_ns: e.t_ns - t0, ..*e }).collect();
        let truth = raw_truth(&path, t0, geometry.0, geometry.1)?;
        eprintln!(
            "[{NODE}] {}: {}x{}, {} events, ground truth {}",
            path.display(),
            geometry.0,
            geometry.1,
            events.len(),
            if truth.is_some() { "from .gt.csv" } else { "none" }
        );
        let duration_ns = events.last().map_or(0, |e| e.t_ns);
        std::thread::spawn(move || {
            while tx.send(Ok(Recording { events: events.clone(), duration_ns, truth: truth.clone() })).is_ok() {}
        });
    } else {
        let dvs = DvsParams::preset(p.string("noise")?).expect("checked by the parameter");
        let (speed, seed) = (p.double("speed_mps")?, p.int("seed")? as u64);
        std::thread::spawn(move || {
            for k in 0.. {
                let SimThrow { rec, events } = SimThrow::new(w, h, dvs, speed, seed + k);
                let duration_ns = (rec.trajectory().duration() * 1e9) as u64;
                let th = SimThrow { rec, events: Vec::new() };
                let truth: Truth = Arc::new(move |t| th.truth_in_view(t));
                if tx.send(Ok(Recording { events, duration_ns, truth: Some(truth) })).is_err() {
                    break;
                }
            }
        });
    }

    let wait = Duration::from_secs_f64(p.double("wait_for_subscriber_s")?);
    let end = Instant::now() + wait;
    let wait_truth = p.bool("wait_for_truth_subscriber")?;
    while Instant::now() < end
        && !shutdown::requested()
        && (publisher.get_inter_process_subscription_count().unwrap_or(0) == 0
            || (wait_truth && truth_pub.get_inter_process_subscription_count().unwrap_or(0) == 0))
    {
        node.spin_once(Duration::from_millis(10));
        pacer.apply(param_server.poll(), 0);
    }
    eprintln!(
        "[{NODE}] streaming {} packets of {} µs on {} ({} subscriber(s)), real-time factor {}",
        encoding,
        packet_ns / 1000,
        p.string("topic")?,
        publisher.get_inter_process_subscription_count().unwrap_or(0),
        p.double("real_time_factor")?
    );

    let start_stamp_ns = ns_from_time(&clock.stamp());
    pacer.set_rtf(pacer.rtf, 0);
    let mut enc = Evt3Encoder::new();
    let mut seq = 0u64;
    let mut offset_ns = 0u64;
    let mut k = 0u64;
    let mut total = (0u64, 0u64);
    while (throws == 0 || k < throws) && !shutdown::requested() {
        let rec = rx.recv().context("the recording thread stopped")??;
        let duration = rec.duration_ns;
        let mut start = 0;
        let mut t_end = packet_ns;
        let mut published = (0u64, 0u64);
        while t_end <= duration + packet_ns && !shutdown::requested() {
            let n = rec.events[start..].partition_point(|e| e.t_ns < t_end);
            let chunk: Vec<Event> =
                rec.events[start..start + n].iter().map(|e| Event { t_ns: e.t_ns + offset_ns, ..*e }).collect();
            start += n;
            // Parameter requests, then pacing: publish once the window's end has passed on the
            // (scaled) wall clock.
            node.spin_once(Duration::ZERO);
            pacer.apply(param_server.poll(), offset_ns + t_end);
            if let Some(d) = pacer.wait(offset_ns + t_end) {
                std::thread::sleep(d);
            }
            if !chunk.is_empty() {
                let pkt = if encoding == "mono" {
                    EventPacket::mono(&chunk, geometry.0, geometry.1, seq, &frame)
                } else {
                    EventPacket::evt3(&chunk, geometry.0, geometry.1, seq, &frame, &mut enc)
                };
                match pkt {
                    Ok(mut pkt) => {
                        pkt.header.stamp = spikectl::tracking::packet::Time::from_ns(start_stamp_ns + chunk[0].t_ns);
                        if let Err(e) = publisher.publish(&packet_to_msg(pkt)) {
                            eprintln!("[{NODE}] cannot publish: {e}");
                        }
                        seq += 1;
                        published.0 += 1;
                        published.1 += chunk.len() as u64;
                    }
                    Err(e) => eprintln!("[{NODE}] cannot encode packet {seq}: {e}"),
                }
            }
            if let Some((u, v)) = rec.truth.as_ref().and_then(|truth| truth(t_end)) {
                let header =
                    Header { stamp: time_from_ns(start_stamp_ns + offset_ns + t_end), frame_id: frame.clone() };
                let _ = truth_pub.publish(&PointStamped { header, point: Point { x: u, y: v, z: 0.0 } });
            }
            t_end += packet_ns;
        }
        eprintln!("[{NODE}] throw {k}: {} packets, {} events", published.0, published.1);
        total = (total.0 + published.0, total.1 + published.1);
        offset_ns += t_end - packet_ns + pacer.pause_ns;
        k += 1;
        if let Some(d) = pacer.wait(offset_ns) {
            // In slices, so SIGINT/SIGTERM stops the pause promptly and parameters are served.
            let until = Instant::now() + d;
            while Instant::now() < until && !shutdown::requested() {
                node.spin_once(until.saturating_duration_since(Instant::now()).min(Duration::from_millis(20)));
            }
        }
    }
    eprintln!(
        "[{NODE}] {}: {k} throws, {} packets, {} events",
        if shutdown::requested() { "stopped" } else { "done" },
        total.0,
        total.1
    );
    // Let the last packets leave before the context goes away.
    std::thread::sleep(Duration::from_millis(200));
    shutdown::bound_teardown(NODE, shutdown::TEARDOWN_LIMIT);
    Ok(())
}
