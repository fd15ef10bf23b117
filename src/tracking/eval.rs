//! Evaluation: cut an event stream into windows as it comes ([`Windower`]), run a tracker
//! on them (over a slice: [`run_tracker`]; over a RAW file read as it goes, with bounded
//! memory: [`track_raw`]), compare with ground truth.
use super::evt3::DecodeStats;
use super::raw::RawReader;
use super::{Estimate, Event, TrackError, Tracker};
use crate::neuro::OpCounts;
#[cfg(feature = "sim")]
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

/// Empty windows in a row after which a [`Windower`] jumps to the window of the next event.
pub const MAX_IDLE_WINDOWS: u64 = 64;
/// Most events a [`Windower`] holds for windows not yet closed; beyond, the oldest are
/// dropped and counted ([`WindowStats::overflow_events`]).
pub const MAX_PENDING: usize = 1 << 20;

/// Counters of a [`Windower`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WindowStats {
    /// Events taken in.
    pub events: u64,
    /// Windows closed (given to the callback).
    pub windows: u64,
    /// Empty windows skipped after [`MAX_IDLE_WINDOWS`] empty ones in a row.
    pub skipped_windows: u64,
    /// Events older than the window being filled when they arrived (put into it).
    pub late_events: u64,
    /// Events dropped because more than [`MAX_PENDING`] were waiting.
    pub overflow_events: u64,
    /// Most events held at once.
    pub max_pending: usize,
}

/// Cuts a stream of events, arriving in chunks, into windows of fixed sensor time as the
/// stream's time passes, with memory bounded by [`MAX_PENDING`] events.
///
/// Windows end at multiples of `window_ns`, starting with the window of the first event.
/// A window is closed once an event at or after its end has arrived. After
/// [`MAX_IDLE_WINDOWS`] empty windows in a row the windower jumps ahead to the window of
/// the next event, so a stream starting at t = 14 s or crossing a gap of hours costs at
/// most that many empty windows. Window end times strictly increase; events that arrive
/// for a window already closed (decoded times may step back by up to ≈ 45 ms, see
/// [`super::evt3`]) go into the window being filled and are counted as late.
#[derive(Debug, Clone)]
pub struct Windower {
    window_ns: u64,
    pending: Vec<Event>,
    next_end: Option<u64>,
    now_ns: u64,
    idle: u64,
    stats: WindowStats,
}

impl Windower {
    /// A windower with windows of `window_ns` ns (at least 1).
    pub fn new(window_ns: u64) -> Self {
        Self {
            window_ns: window_ns.max(1),
            pending: Vec::new(),
            next_end: None,
            now_ns: 0,
            idle: 0,
            stats: WindowStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &WindowStats {
        &self.stats
    }

    /// Events waiting for their window to close.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Takes a chunk of events and calls `f(t_end_ns, events)` for every window the
    /// stream's time has passed (events of a window in time order).
    pub fn push(&mut self, events: &[Event], mut f: impl FnMut(u64, &[Event])) {
        let Some(head) = events.first() else { return };
        // One pass: time range and order of the chunk.
        let (mut first, mut last, mut sorted, mut prev) = (head.t_ns, head.t_ns, true, head.t_ns);
        for e in events {
            first = first.min(e.t_ns);
            last = last.max(e.t_ns);
            sorted &= e.t_ns >= prev;
            prev = e.t_ns;
        }
        let w = self.window_ns;
        let end = *self.next_end.get_or_insert((first / w).saturating_add(1).saturating_mul(w));
        let start = end.saturating_sub(w);
        if first < start {
            self.stats.late_events += events.iter().filter(|e| e.t_ns < start).count() as u64;
        }
        self.stats.events += events.len() as u64;
        let sorted = sorted && self.pending.last().is_none_or(|p| p.t_ns <= first);
        self.pending.extend_from_slice(events);
        if !sorted {
            self.pending.sort_by_key(|e| e.t_ns);
        }
        if self.pending.len() > MAX_PENDING {
            let drop = self.pending.len() - MAX_PENDING;
            self.pending.drain(..drop);
            self.stats.overflow_events += drop as u64;
        }
        self.stats.max_pending = self.stats.max_pending.max(self.pending.len());
        self.now_ns = self.now_ns.max(last);
        self.close(&mut f);
    }

    /// Ends the stream: closes the windows up to the one of the last pending event.
    pub fn finish(&mut self, mut f: impl FnMut(u64, &[Event])) {
        if let Some(last) = self.pending.last() {
            self.now_ns = self.now_ns.max(last.t_ns.saturating_add(self.window_ns));
            self.close(&mut f);
        }
    }

    fn close(&mut self, f: &mut impl FnMut(u64, &[Event])) {
        let w = self.window_ns;
        let Some(mut end) = self.next_end else { return };
        // Closed windows' events are removed once at the end (one move of the rest).
        let mut head = 0;
        while end <= self.now_ns && end < u64::MAX {
            let rest = &self.pending[head..];
            let n = rest.partition_point(|e| e.t_ns < end);
            if n == 0 {
                self.idle += 1;
                if self.idle > MAX_IDLE_WINDOWS {
                    let target = rest.first().map_or(self.now_ns, |e| e.t_ns);
                    let jump = target.saturating_sub(end) / w;
                    if jump > 0 {
                        end = end.saturating_add(jump.saturating_mul(w));
                        self.stats.skipped_windows += jump;
                        continue;
                    }
                }
            } else {
                self.idle = 0;
            }
            f(end, &rest[..n]);
            head += n;
            self.stats.windows += 1;
            end = end.saturating_add(w);
        }
        self.pending.drain(..head);
        self.next_end = Some(end);
    }
}

/// Runs `tracker` over `events` (time ordered) in windows of `packet_ns` (see
/// [`Windower`]: from the window of the first event, long silences skipped).
/// `truth(t_ns)` gives the ball centre in view (or `None`).
pub fn run_tracker<T: Tracker + ?Sized>(
    tracker: &mut T,
    events: &[Event],
    packet_ns: u64,
    truth: impl Fn(u64) -> Option<(f64, f64)>,
) -> Vec<PacketResult> {
    let mut out = Vec::new();
    let mut step = TrackStep::new(tracker);
    let mut win = Windower::new(packet_ns);
    let mut f = |t_end: u64, chunk: &[Event]| out.push(step.run(chunk, t_end, &truth));
    win.push(events, &mut f);
    win.finish(&mut f);
    out
}

/// Runs a tracker on one window and measures it (host time, op counts per window).
pub(crate) struct TrackStep<'a, T: Tracker + ?Sized> {
    tracker: &'a mut T,
    prev_ops: Option<OpCounts>,
}

impl<'a, T: Tracker + ?Sized> TrackStep<'a, T> {
    /// Wraps `tracker`.
    pub fn new(tracker: &'a mut T) -> Self {
        let prev_ops = tracker.ops().copied();
        Self { tracker, prev_ops }
    }

    /// Processes the window ending at `t_end` [ns] with `events`.
    pub fn run(&mut self, events: &[Event], t_end: u64, truth: &impl Fn(u64) -> Option<(f64, f64)>) -> PacketResult {
        let t0 = Instant::now();
        let est = self.tracker.process(events, t_end);
        let cpu_ns = t0.elapsed().as_nanos() as u64;
        let ops = self.tracker.ops().map(|o| {
            let mut d = *o;
            if let Some(p) = self.prev_ops {
                d = d.since(&p);
            }
            self.prev_ops = Some(*o);
            d
        });
        PacketResult { t_end_ns: t_end, n_events: events.len(), est, truth: truth(t_end), cpu_ns, ops }
    }
}

/// Totals of [`track_raw`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TrackTotals {
    /// Windowing counters.
    pub windows: WindowStats,
    /// EVT 3.0 decoder counters.
    pub decode: DecodeStats,
}

/// Tracks a RAW recording as it is read: decodes it chunk by chunk, cuts windows of
/// `window_ns` ([`Windower`]), runs `tracker` on each and hands every result with its events
/// to `sink` as it is produced. Memory is bounded by one chunk of the file and
/// [`MAX_PENDING`] events, whatever the recording's length or its clock. Stops at the
/// first error of the reader or of `sink` (e.g. a closed output).
pub fn track_raw<R, T, E>(
    reader: &mut RawReader<R>,
    tracker: &mut T,
    window_ns: u64,
    truth: impl Fn(u64) -> Option<(f64, f64)>,
    mut sink: impl FnMut(&PacketResult, &[Event]) -> Result<(), E>,
) -> Result<TrackTotals, E>
where
    R: std::io::Read,
    T: Tracker + ?Sized,
    E: From<TrackError>,
{
    let mut step = TrackStep::new(tracker);
    let mut win = Windower::new(window_ns);
    let mut failed: Option<E> = None;
    let (mut events, mut aux) = (Vec::new(), Vec::new());
    loop {
        events.clear();
        aux.clear();
        let more = reader.next_chunk(&mut events, &mut aux)?;
        let mut f = |t_end: u64, chunk: &[Event]| {
            if failed.is_none() {
                let r = step.run(chunk, t_end, &truth);
                if let Err(e) = sink(&r, chunk) {
                    failed = Some(e);
                }
            }
        };
        win.push(&events, &mut f);
        if !more {
            win.finish(&mut f);
        }
        if let Some(e) = failed.take() {
            return Err(e);
        }
        if !more {
            break;
        }
    }
    Ok(TrackTotals { windows: *win.stats(), decode: *reader.stats() })
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

/// A simulated throw converted to tracking events (feature `sim`).
#[cfg(feature = "sim")]
pub struct SimThrow {
    /// The recording (ground truth, counts, camera).
    pub rec: Recording,
    /// Its events.
    pub events: Vec<Event>,
}

#[cfg(feature = "sim")]
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

/// CPU time this thread has spent running, in ns ([`crate::neuro::energy::thread_cpu_time`]),
/// or `None` where unavailable. Unlike wall time it excludes time spent preempted by
/// other processes, which matters on a shared machine.
pub fn thread_cpu_ns() -> Option<u64> {
    crate::neuro::energy::thread_cpu_time().and_then(|d| u64::try_from(d.as_nanos()).ok())
}
