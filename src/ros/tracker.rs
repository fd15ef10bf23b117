//! The event-camera tracker's ROS interface: `event_camera_msgs/EventPacket` ↔ the plain
//! [`EventPacket`], and the messages the `spikectl-tracker` node publishes for each window of
//! a [`StreamTracker`]:
//! - `spikectl_msgs/TrackEstimate` (every window; `confidence` 0 when the track is lost),
//! - `geometry_msgs/PointStamped` with the ball centre in pixel coordinates (x = column,
//!   y = row, z = 0; only while tracking),
//! - `spikectl_msgs/SolveStats` (solver = the tracker's name, `net-float` / `net-fixed` with
//!   `+refine` when refining; arithmetic `float-network` / `loihi2-fixed`; iterations =
//!   network timesteps, the host time of the step and the operation counts), which
//!   `spikectl-monitor` aggregates like the controllers' solves,
//! - `spikectl_msgs/EnergyEstimate` for each window the conventional baseline priced: the
//!   network's chip energy/latency estimate of the window and the event-cluster tracker's
//!   host wall time on the same window (on its thread) ([`BaselinePrice`]),
//! - and the node's `DiagnosticStatus` ([`TrackerDiagnostics`]).

use std::time::Duration;

use r2r::builtin_interfaces::msg::Time;
use r2r::diagnostic_msgs::msg::DiagnosticStatus;
use r2r::event_camera_msgs::msg::EventPacket as EventPacketMsg;
use r2r::geometry_msgs::msg::{Point, PointStamped};
use r2r::spikectl_msgs::msg::{EnergyEstimate, SolveStats, TrackEstimate};
use r2r::std_msgs::msg::Header;

use super::diagnostics::{CounterSnapshot, Level, StatusBuilder};
use crate::mpc::SolveRecord;
use crate::neuro::energy::CpuCost;
use crate::qp::registry::Arithmetic;
use crate::qp::{Residuals, Status};
use crate::tracking::baseline::BaselinePrice;
use crate::tracking::packet::{self, EventPacket};
use crate::tracking::stream::{PacketError, StreamTracker, WindowResult};

/// The kinds of malformed packets counted separately (see [`PacketError::kind`]).
pub(crate) const ERROR_KINDS: [&str; 4] = ["encoding", "geometry", "truncated", "corrupt"];

/// A message stamp from ns (exact; seconds saturate at `i32::MAX`).
pub fn time_from_ns(t_ns: u64) -> Time {
    Time { sec: i32::try_from(t_ns / 1_000_000_000).unwrap_or(i32::MAX), nanosec: (t_ns % 1_000_000_000) as u32 }
}

/// A stamp in ns (negative seconds clamp to 0).
pub fn ns_from_time(t: &Time) -> u64 {
    u64::try_from(t.sec).unwrap_or(0) * 1_000_000_000 + u64::from(t.nanosec)
}

/// The plain packet of a received message (the payload is moved, not copied).
pub fn packet_from_msg(m: EventPacketMsg) -> EventPacket {
    EventPacket {
        header: packet::Header {
            stamp: packet::Time { sec: m.header.stamp.sec, nanosec: m.header.stamp.nanosec },
            frame_id: m.header.frame_id,
        },
        height: m.height,
        width: m.width,
        seq: m.seq,
        time_base: m.time_base,
        encoding: m.encoding,
        is_bigendian: m.is_bigendian,
        events: m.events,
    }
}

/// The message of a plain packet (the payload is moved).
pub fn packet_to_msg(p: EventPacket) -> EventPacketMsg {
    EventPacketMsg {
        header: Header {
            stamp: Time { sec: p.header.stamp.sec, nanosec: p.header.stamp.nanosec },
            frame_id: p.header.frame_id,
        },
        height: p.height,
        width: p.width,
        seq: p.seq,
        time_base: p.time_base,
        encoding: p.encoding,
        is_bigendian: p.is_bigendian,
        events: p.events,
    }
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

fn header(r: &WindowResult, frame_id: &str) -> Header {
    Header { stamp: time_from_ns(r.stamp_ns), frame_id: frame_id.to_string() }
}

/// `TrackEstimate` of a window: position [px] and velocity [px/s] of the ball, confidence;
/// all zero with confidence 0 when the track is lost.
pub fn track_msg(r: &WindowResult, frame_id: &str) -> TrackEstimate {
    let e = r.estimate.unwrap_or_default();
    let tracking = r.estimate.is_some();
    TrackEstimate {
        header: header(r, frame_id),
        x: if tracking { finite(e.x) } else { 0.0 },
        y: if tracking { finite(e.y) } else { 0.0 },
        vx: if tracking { finite(e.vx) } else { 0.0 },
        vy: if tracking { finite(e.vy) } else { 0.0 },
        confidence: finite(r.confidence).clamp(0.0, 1.0),
        events: u32::try_from(r.events).unwrap_or(u32::MAX),
    }
}

/// `PointStamped` of the ball centre in pixel coordinates (x = column, y = row, z = 0 [px]),
/// or `None` when not tracking.
pub fn point_msg(r: &WindowResult, frame_id: &str) -> Option<PointStamped> {
    let e = r.estimate?;
    (e.x.is_finite() && e.y.is_finite())
        .then(|| PointStamped { header: header(r, frame_id), point: Point { x: e.x, y: e.y, z: 0.0 } })
}

/// The window as a solve record: solver `name` (the tracker's name, e.g. `net-fixed`),
/// status Solved, iterations = network timesteps, the host time of the step and the
/// operation counts; `t` is the window end on the ROS clock [s].
pub fn solve_record(r: &WindowResult, name: &str) -> SolveRecord {
    SolveRecord {
        t: r.stamp_ns as f64 * 1e-9,
        solver: name.into(),
        status: Status::Solved,
        iterations: r.ops.timesteps as usize,
        solve_time: Duration::from_nanos(r.cpu_ns),
        cpu_time: Some(Duration::from_nanos(r.cpu_ns)),
        preprocess_time: Duration::ZERO,
        objective: 0.0,
        residuals: Residuals::default(),
        ops: Some(r.ops),
        fallback: false,
    }
}

/// `SolveStats` of a window (node `node`, stamped with the window end): [`solve_record`] with
/// the arithmetic of the network that ran (`loihi2-fixed` when `fixed_point`, else
/// `float-network`).
pub fn solve_stats_msg(r: &WindowResult, name: &str, fixed_point: bool, node: &str) -> SolveStats {
    let mut m = super::stats::solve_stats(
        &solve_record(r, name),
        0.0,
        Header { stamp: time_from_ns(r.stamp_ns), frame_id: String::new() },
    );
    m.node = node.to_string();
    let a = if fixed_point { Arithmetic::Loihi2Fixed } else { Arithmetic::FloatNetwork };
    m.arithmetic = super::stats::arithmetic_name(a).to_string();
    m
}

/// `EnergyEstimate` of a window the baseline priced: the tracker network's chip estimate on
/// `profile` and, as the CPU side, the host wall time of the conventional event-cluster
/// tracker on the same window, measured in the same run on the baseline's thread
/// ([`BaselinePrice::cpu_ns`]), × `cpu_watts` (an assumed power).
pub fn energy_msg(r: &BaselinePrice, profile: &str, cpu_watts: f64, frame_id: &str) -> EnergyEstimate {
    let cpu = CpuCost::new(r.cpu_ns as f64 * 1e-9, cpu_watts, None);
    EnergyEstimate {
        header: Header { stamp: time_from_ns(r.stamp_ns), frame_id: frame_id.to_string() },
        profile: profile.to_string(),
        energy_j: finite(r.chip.energy_j),
        latency_s: finite(r.chip.time_s),
        edp_js: finite(r.chip.edp),
        cpu_time_s: finite(cpu.time_s),
        cpu_energy_j: finite(cpu.energy_j),
    }
}

/// Malformed-packet counts per kind ([`ERROR_KINDS`]) and the last reason.
#[derive(Debug, Clone, Default)]
pub struct TrackerDiagnostics {
    counts: [u64; ERROR_KINDS.len()],
    last_error: String,
    reported_windows: u64,
}

impl TrackerDiagnostics {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a malformed packet.
    pub fn record(&mut self, e: &PacketError) {
        if let Some(i) = ERROR_KINDS.iter().position(|k| *k == e.kind()) {
            self.counts[i] += 1;
        }
        self.last_error = e.to_string();
    }

    /// Malformed packets of `kind` [count] (0 for an unknown kind).
    pub fn count(&self, kind: &str) -> u64 {
        ERROR_KINDS.iter().position(|k| *k == kind).map_or(0, |i| self.counts[i])
    }

    /// The node's status: WARN when malformed packets arrived since `prev`, STALE when no
    /// window was processed since the last report, else OK; with the stream's totals, the
    /// per-kind malformed counts, the last estimate, the operation counts and the energy
    /// estimate per window.
    pub fn report(
        &mut self,
        node: &str,
        st: &StreamTracker,
        now: &CounterSnapshot,
        prev: &CounterSnapshot,
        last: Option<&WindowResult>,
    ) -> DiagnosticStatus {
        let s = st.stats();
        let (mut level, mut msg) = now.level_since(prev);
        if level == Level::Ok {
            if s.windows == self.reported_windows {
                (level, msg) = (Level::Stale, "no event stream".into());
            } else if last.is_none_or(|r| r.estimate.is_none()) {
                msg = "no target".into();
            } else {
                msg = "tracking".into();
            }
        }
        self.reported_windows = s.windows;
        let (w, h) = st.geometry().unwrap_or((0, 0));
        let windows = s.windows.max(1) as f64;
        let d = st.decode_stats();
        let mut b = StatusBuilder::new(format!("{node}: tracking"), "event_camera")
            .level(level, msg)
            .counters(now)
            .kv("packets", s.packets)
            .kv("events", s.events)
            .kv("windows", s.windows)
            .kv("tracked_windows", s.tracked_windows)
            .kv("geometry", format!("{w}x{h}"))
            .kv("seq_gaps", s.seq_gaps)
            .kv("seq_resets", s.seq_resets)
            .kv("restarts", s.restarts)
            .kv("late_events", s.late_events)
            .kv("overflow_events", s.overflow_events)
            .kv("evt3_reserved_words", d.reserved_words)
            .kv("evt3_out_of_bounds", d.out_of_bounds)
            .kv("evt3_time_wraps", d.time_wraps)
            .kv("tracker", st.tracker_name());
        for (k, n) in ERROR_KINDS.iter().zip(&self.counts) {
            b = b.kv(format!("malformed_{k}"), n);
        }
        b = b.kv("last_error", &self.last_error);
        if let Some(r) = last {
            let e = r.estimate.unwrap_or_default();
            b = b
                .kv("tracking", r.estimate.is_some())
                .kv_f("x_px", finite(e.x))
                .kv_f("y_px", finite(e.y))
                .kv_f("confidence", finite(r.confidence));
        }
        let base = st.baseline_stats();
        let priced = base.priced.max(1) as f64;
        b.kv("neurons", st.neurons())
            .kv("cores", st.cores())
            .kv("timesteps", s.ops.timesteps)
            .kv("synops", s.ops.synops)
            .kv("messages", s.ops.messages)
            .kv_f("chip_energy_per_window_j", s.chip_energy_j / windows)
            .kv_f("chip_latency_per_window_s", s.chip_time_s / windows)
            .kv_f("cpu_per_window_s", s.cpu_ns as f64 * 1e-9 / windows)
            .kv("baseline_windows_priced", base.priced)
            .kv("baseline_windows_warmup", base.warmup)
            .kv("baseline_windows_dropped", base.dropped)
            .kv_f("baseline_cpu_per_window_s", base.cpu_ns as f64 * 1e-9 / priced)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuro::OpCounts;
    use crate::neuro::energy;
    use crate::tracking::Estimate;

    fn window(est: Option<Estimate>) -> WindowResult {
        WindowResult {
            t_end_ns: 7_000_000,
            stamp_ns: 12_007_000_000,
            events: 42,
            estimate: est,
            confidence: if est.is_some() { 1.0 } else { 0.0 },
            ops: OpCounts { timesteps: 2, synops: 300, messages: 20, ..Default::default() },
            chip: energy::Estimate { time_s: 2e-6, energy_j: 5e-7, edp: 1e-12, ..Default::default() },
            cpu_ns: 15_000,
        }
    }

    #[test]
    fn window_messages_carry_track_ops_and_energy_without_nan() {
        let est = Estimate { t_ns: 7_000_000, x: 100.5, y: f64::NAN, vx: 900.0, vy: -3.0, radius_px: 3.0 };
        let r = window(Some(est));
        let t = track_msg(&r, "cam");
        assert_eq!((t.header.stamp.sec, t.header.stamp.nanosec), (12, 7_000_000));
        assert_eq!((t.x, t.y, t.vx, t.confidence, t.events), (100.5, 0.0, 900.0, 1.0, 42));
        assert!(point_msg(&r, "cam").is_none(), "a NaN coordinate gives no point");
        let ok = window(Some(Estimate { y: 20.0, ..est }));
        let p = point_msg(&ok, "cam").unwrap();
        assert_eq!((p.point.x, p.point.y, p.header.frame_id.as_str()), (100.5, 20.0, "cam"));
        let m = solve_stats_msg(&ok, "net-fixed", true, "/n");
        assert_eq!((m.solver.as_str(), m.iterations, m.synops, m.messages), ("net-fixed", 2, 300, 20));
        assert_eq!((m.arithmetic.as_str(), m.node.as_str(), m.header.stamp.sec), ("loihi2-fixed", "/n", 12));
        assert!((m.solve_time_s - 15e-6).abs() < 1e-15);
        assert_eq!(super::super::stats::validate(&m), Ok(()));
        assert_eq!(solve_stats_msg(&ok, "net-float", false, "/n").arithmetic, "float-network");
        let price =
            BaselinePrice { t_end_ns: ok.t_end_ns, stamp_ns: ok.stamp_ns, events: 42, chip: ok.chip, cpu_ns: 40_000 };
        let e = energy_msg(&price, "loihi", 15.0, "cam");
        assert_eq!((e.energy_j, e.latency_s, e.header.stamp.sec), (5e-7, 2e-6, 12));
        // The CPU side is the cluster baseline's time on the window, not the network's host time.
        assert!((e.cpu_time_s - 40e-6).abs() < 1e-15);
        assert!((e.cpu_energy_j - 40e-6 * 15.0).abs() < 1e-12);
        let lost = track_msg(&window(None), "cam");
        assert_eq!((lost.x, lost.confidence), (0.0, 0.0));
    }

    #[test]
    fn stamps_convert_exactly_both_ways() {
        for ns in [0, 1, 999_999_999, 1_000_000_000, 1_764_000_123_456_789] {
            assert_eq!(ns_from_time(&time_from_ns(ns)), ns);
        }
    }

    #[test]
    fn diagnostics_count_malformed_packets_per_kind() {
        let mut d = TrackerDiagnostics::new();
        d.record(&PacketError::Encoding("foo".into()));
        d.record(&PacketError::Truncated { encoding: "evt3", len: 5, unit: 2 });
        d.record(&PacketError::Truncated { encoding: "mono", len: 9, unit: 8 });
        assert_eq!((d.count("encoding"), d.count("truncated"), d.count("corrupt")), (1, 2, 0));
        let st = StreamTracker::new(Default::default());
        let now = CounterSnapshot { malformed: 3, received: 10, ..Default::default() };
        let s = d.report("n", &st, &now, &CounterSnapshot::default(), None);
        assert_eq!(s.level, Level::Warn as u8);
        let get = |k: &str| s.values.iter().find(|kv| kv.key == k).map(|kv| kv.value.clone());
        assert_eq!(get("malformed_truncated").as_deref(), Some("2"));
        assert_eq!(get("malformed").as_deref(), Some("3"));
        assert!(get("last_error").unwrap().contains("mono"));
        // Nothing new and no windows: stale.
        let s = d.report("n", &st, &now, &now, None);
        assert_eq!(s.level, Level::Stale as u8);
    }
}
