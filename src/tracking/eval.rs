//! Evaluation: cut an event stream into packets, run a tracker, compare with ground truth.
use super::{Estimate, Event, Tracker};
use crate::neuro::OpCounts;
use spikectl_sim::events::{Camera, DvsParams, Recording, Simulator, Throw};
use std::time::Instant;

/// Result of one packet.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PacketResult {
    /// End time of the packet, in ns.
    pub t_end_ns: u64,
    /// Events in the packet.
    pub n_events: usize,
    /// The tracker's estimate.
    pub est: Option<Estimate>,
    /// Ground-truth ball centre (u, v) in pixels at `t_end_ns`, if known and in view.
    pub truth: Option<(f64, f64)>,
    /// CPU time of the tracker on this packet, in ns.
    pub cpu_ns: u64,
    /// Neuromorphic operation counts of this packet (spiking trackers).
    pub ops: Option<OpCounts>,
}

impl PacketResult {
    /// Euclidean pixel error of the estimate, when both estimate and truth exist.
    pub fn error_px(&self) -> Option<f64> {
        match (self.est, self.truth) {
            (Some(e), Some((u, v))) => Some((e.x - u).hypot(e.y - v)),
            _ => None,
        }
    }
}

/// Runs `tracker` over `events` (time ordered) in packets of `packet_ns`, starting at 0.
/// `truth(t_ns)` gives the ball centre in view (or `None`).
pub fn run_tracker<T: Tracker + ?Sized>(
    tracker: &mut T,
    events: &[Event],
    packet_ns: u64,
    truth: impl Fn(u64) -> Option<(f64, f64)>,
) -> Vec<PacketResult> {
    let packet_ns = packet_ns.max(1);
    let t_last = events.last().map_or(0, |e| e.t_ns);
    let mut out = Vec::with_capacity((t_last / packet_ns + 1) as usize);
    let mut start = 0;
    let mut t_end = packet_ns;
    let mut prev_ops = tracker.ops().copied();
    while start < events.len() || t_end <= t_last {
        let end = start + events[start..].partition_point(|e| e.t_ns < t_end);
        let chunk = &events[start..end];
        let t0 = Instant::now();
        let est = tracker.process(chunk, t_end);
        let cpu_ns = t0.elapsed().as_nanos() as u64;
        let ops = tracker.ops().map(|o| {
            let mut d = *o;
            if let Some(p) = prev_ops {
                d = diff(&d, &p);
            }
            prev_ops = Some(*o);
            d
        });
        out.push(PacketResult { t_end_ns: t_end, n_events: chunk.len(), est, truth: truth(t_end), cpu_ns, ops });
        start = end;
        t_end += packet_ns;
        if start >= events.len() && t_end > t_last + packet_ns {
            break;
        }
    }
    out
}

fn diff(a: &OpCounts, b: &OpCounts) -> OpCounts {
    OpCounts {
        timesteps: a.timesteps - b.timesteps,
        neuron_updates: a.neuron_updates - b.neuron_updates,
        messages: a.messages - b.messages,
        synops: a.synops - b.synops,
        bits_moved: a.bits_moved - b.bits_moved,
        readouts: a.readouts - b.readouts,
        overflows: a.overflows - b.overflows,
        idle_neuron_updates: a.idle_neuron_updates - b.idle_neuron_updates,
        potential_messages: a.potential_messages - b.potential_messages,
        msg_saturations: a.msg_saturations - b.msg_saturations,
        readout_checks: a.readout_checks - b.readout_checks,
    }
}

/// Error statistics over packets with the ball in view.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ErrorStats {
    /// Packets with the ball in view.
    pub packets: usize,
    /// Fraction of those packets with an estimate.
    pub coverage: f64,
    /// Mean error, in pixels.
    pub mean: f64,
    /// Median error, in pixels.
    pub median: f64,
    /// 95th percentile error, in pixels.
    pub p95: f64,
    /// Standard deviation of the error, in pixels.
    pub std: f64,
}

/// Percentile (0–100) of a sorted slice (nearest rank); 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

/// Error statistics of a set of errors and a count of packets with the ball in view.
pub fn error_stats(mut errors: Vec<f64>, packets_in_view: usize) -> ErrorStats {
    errors.sort_by(f64::total_cmp);
    let n = errors.len();
    if n == 0 {
        return ErrorStats { packets: packets_in_view, ..ErrorStats::default() };
    }
    let mean = errors.iter().sum::<f64>() / n as f64;
    let var = errors.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>() / n as f64;
    ErrorStats {
        packets: packets_in_view,
        coverage: n as f64 / packets_in_view.max(1) as f64,
        mean,
        median: percentile(&errors, 50.0),
        p95: percentile(&errors, 95.0),
        std: var.sqrt(),
    }
}

/// Errors (px) of the packets with the ball in view, and the number of such packets.
pub fn errors(results: &[PacketResult]) -> (Vec<f64>, usize) {
    let in_view = results.iter().filter(|r| r.truth.is_some()).count();
    (results.iter().filter_map(PacketResult::error_px).collect(), in_view)
}

/// A simulated throw converted to tracking events.
pub struct SimThrow {
    /// The recording (ground truth, counts, camera).
    pub rec: Recording,
    /// Its events.
    pub events: Vec<Event>,
}

impl SimThrow {
    /// Simulates a throw at `speed` m/s with the `preset` sensor (`clean`/`noisy`) on a
    /// `width`×`height` side-view camera; deterministic in `seed`.
    pub fn new(width: u16, height: u16, dvs: DvsParams, speed: f64, seed: u64) -> Self {
        let sim = Simulator::new(Camera::side_view(width, height), dvs, seed);
        let rec = sim.run(&Throw::along_table(speed, seed));
        let events = rec.events.iter().map(|&e| e.into()).collect();
        Self { rec, events }
    }

    /// Ground truth at `t_ns` when the whole ball is inside the image.
    pub fn truth_in_view(&self, t_ns: u64) -> Option<(f64, f64)> {
        let (u, v) = self.rec.truth_at(t_ns)?;
        let r = self.rec.truth.first().map_or(3.0, |t| t.radius_px);
        let (w, h) = (f64::from(self.rec.camera.width), f64::from(self.rec.camera.height));
        (u >= r && v >= r && u <= w - r && v <= h - r).then_some((u, v))
    }
}

/// CPU time this thread has spent running, in ns (Linux `/proc/thread-self/schedstat`),
/// or `None` where unavailable. Unlike wall time it excludes time spent preempted by
/// other processes, which matters on a shared machine.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
