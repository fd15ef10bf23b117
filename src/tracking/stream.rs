//! Tracking a live event stream: `EventPacket`s in, one tracker estimate per fixed time
//! window out — the logic of the `spikectl-tracker` ROS node, without ROS.
//!
//! A [`StreamTracker`] checks and decodes each packet (`evt3` with a decoder whose state
//! carries from packet to packet, or `mono`), collects the events and cuts them into windows
//! of `window_ns` of *sensor* time (aligned to multiples of `window_ns`, independent of how
//! the driver cut its packets), and runs the tracker network ([`NetTracker`], float or Loihi 2
//! fixed point, network-only or with the host refinement) once per window. A window is closed
//! as soon as the stream's time reaches its end, so an estimate lags the events by up to one
//! packet. Each window gives a [`WindowResult`]: the estimate, its confidence (1 with fresh
//! network output, falling while the tracker coasts), the window's operation counts on the
//! substrate, their energy/latency estimate on a hardware profile, and the host time of the
//! step.
//!
//! The conventional baseline (the event-cluster tracker, the CPU side of the node's energy
//! comparison) is priced off this path: each window is offered to a [`BaselinePricer`] (a
//! background thread behind a bounded queue that drops and counts windows when the baseline
//! falls behind); [`StreamTracker::poll_baseline`] returns the windows it priced.
//!
//! Bad input never stops the stream: [`StreamTracker::ingest`] returns a [`PacketError`] for a
//! packet with an unknown encoding, a payload that is not a whole number of words, reserved
//! EVT 3.0 words or out-of-sensor events, or an impossible geometry, and keeps going:
//! - unknown encoding, bad geometry, truncated `mono`: the packet is dropped;
//! - truncated `evt3` (odd byte count): the whole words are decoded (they carry the decoder's
//!   time and row state), the odd byte is dropped;
//! - reserved `evt3` words and out-of-sensor events: skipped by the lenient decoder, the
//!   rest of the packet is used.
//!
//! Timing: event times are sensor times in ns (`evt3`: the sensor's µs clock, unwrapped;
//! `mono`: `time_base` + offset). Output stamps are ROS times: window end + the offset
//! between the newest packet's `header.stamp` and its first event (drivers stamp a packet with
//! the time of its first event). More than [`MAX_IDLE_WINDOWS`] empty windows in a row are
//! skipped at once; a jump back in time of more than [`RESTART_NS`] restarts the stream (a
//! replay starting over).

use std::time::Instant;

use super::baseline::{BaselinePrice, BaselinePricer, BaselineStats};
use super::evt3::{AuxEvent, DecodeStats, Evt3Decoder};
use super::net::{NetConfig, NetTracker};
use super::packet::EventPacket;
use super::{Estimate, Event, TrackError, Tracker, mono};
use crate::neuro::energy::{self, CoreMap, HardwareProfile};
use crate::neuro::{FixedProfile, OpCounts, fixed::Arith};

/// Largest sensor side accepted [px] (EVT 3.0 addresses have 11 bits).
pub(crate) const MAX_SIDE: u32 = 2048;
/// Empty windows in a row after which the stream skips ahead to its newest time (the same
/// rule as the file path's [`super::eval::Windower`]).
pub const MAX_IDLE_WINDOWS: u64 = super::eval::MAX_IDLE_WINDOWS;
/// A jump back in sensor time larger than this restarts the stream [ns].
pub(crate) const RESTART_NS: u64 = 1_000_000_000;
/// Latest event time accepted [ns] (≈ 146 years): later ones (a corrupt `mono` time base)
/// are dropped as corrupt, which keeps all window arithmetic far from overflow.
pub(crate) const MAX_TIME_NS: u64 = 1 << 62;
/// Most events held while waiting for a window to close; beyond, the oldest are dropped and
/// counted ([`StreamStats::overflow_events`]).
pub const MAX_PENDING: usize = super::eval::MAX_PENDING;

/// Settings of a [`StreamTracker`].
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// Window length [ns] (one tracker step per window).
    pub window_ns: u64,
    /// The network in Loihi 2 fixed point (`false`: float).
    pub fixed_point: bool,
    /// The host refinement stage after the network's readout (`false`: network-only positions).
    pub refine: bool,
    /// Network timesteps per window (at least 4).
    pub substeps: u32,
    /// Hardware profile for the energy/latency estimate.
    pub hardware: HardwareProfile,
    /// Windows queued for the cluster baseline at most; 0 = no baseline.
    pub baseline_queue: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            window_ns: 1_000_000,
            fixed_point: false,
            refine: false,
            substeps: 4,
            hardware: HardwareProfile::loihi(),
            baseline_queue: 16,
        }
    }
}

impl StreamConfig {
    /// The tracker parameters for a `width`×`height` sensor: [`NetConfig::new`] with this
    /// window, substeps, arithmetic and refinement.
    pub fn net(&self, width: u16, height: u16) -> NetConfig {
        NetConfig {
            packet_ns: self.window_ns.max(1),
            substeps: self.substeps.max(4),
            refine: self.refine,
            arith: if self.fixed_point { Arith::Fixed(FixedProfile::LOIHI2) } else { Arith::Float },
            ..NetConfig::new(width, height)
        }
    }
}

/// Why a packet was (partly) rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PacketError {
    /// An encoding other than `evt3` and `mono` (the packet is dropped).
    #[error("unsupported encoding {0:?}")]
    Encoding(String),
    /// Width or height 0 or above [`MAX_SIDE`] (the packet is dropped).
    #[error("bad geometry {width}x{height}")]
    Geometry {
        /// Width [px].
        width: u32,
        /// Height [px].
        height: u32,
    },
    /// A payload that is not a whole number of words.
    #[error("truncated {encoding} payload: {len} bytes is not a multiple of {unit}")]
    Truncated {
        /// The packet's encoding.
        encoding: &'static str,
        /// Payload length [bytes].
        len: usize,
        /// Word size [bytes].
        unit: usize,
    },
    /// Words that make no sense (reserved EVT 3.0 types) or events outside the sensor (or
    /// later than [`MAX_TIME_NS`]); skipped.
    #[error(
        "corrupt payload: {reserved_words} reserved words, {out_of_bounds} events outside the sensor or time range"
    )]
    Corrupt {
        /// Reserved-type words skipped.
        reserved_words: u64,
        /// Events outside the sensor dropped.
        out_of_bounds: u64,
    },
}

impl PacketError {
    /// A short name of the error kind, for per-kind counters: `encoding`, `geometry`,
    /// `truncated`, `corrupt`.
    pub fn kind(&self) -> &'static str {
        match self {
            PacketError::Encoding(_) => "encoding",
            PacketError::Geometry { .. } => "geometry",
            PacketError::Truncated { .. } => "truncated",
            PacketError::Corrupt { .. } => "corrupt",
        }
    }
}

/// The tracker's output for one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowResult {
    /// End of the window, sensor time [ns].
    pub t_end_ns: u64,
    /// End of the window on the ROS clock [ns] (sensor time + the packets' stamp offset).
    pub stamp_ns: u64,
    /// Events in the window.
    pub events: usize,
    /// The estimate, `None` when not tracking.
    pub estimate: Option<Estimate>,
    /// Confidence in [0, 1]: 1 with fresh network output, falling while the tracker coasts
    /// on its last estimate, 0 when lost.
    pub confidence: f64,
    /// Neuromorphic operation counts of this window.
    pub ops: OpCounts,
    /// Estimated chip latency and energy of this window on the configured profile.
    pub chip: energy::Estimate,
    /// Host wall-clock time of the tracker step [ns].
    pub cpu_ns: u64,
}

/// Running totals of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamStats {
    /// Packets offered to [`StreamTracker::ingest`].
    pub packets: u64,
    /// Events decoded and used.
    pub events: u64,
    /// Windows processed.
    pub windows: u64,
    /// Windows with an estimate.
    pub tracked_windows: u64,
    /// Packets missing according to the sequence numbers.
    pub seq_gaps: u64,
    /// Sequence numbers that went backwards or repeated.
    pub seq_resets: u64,
    /// Stream restarts (geometry change or time jumping back).
    pub restarts: u64,
    /// Empty windows skipped in one go after a silence.
    pub skipped_windows: u64,
    /// Events dropped because too many were pending.
    pub overflow_events: u64,
    /// Events that arrived after their window was closed (put in the current one).
    pub late_events: u64,
    /// Sum of the windows' operation counts.
    pub ops: OpCounts,
    /// Sum of the windows' estimated chip energy [J].
    pub chip_energy_j: f64,
    /// Sum of the windows' estimated chip latency [s].
    pub chip_time_s: f64,
    /// Sum of the tracker steps' host time [ns].
    pub cpu_ns: u64,
}

/// The per-geometry state: decoder, tracker and the network's core map.
struct Pipeline {
    width: u16,
    height: u16,
    dec: Evt3Decoder,
    tracker: NetTracker,
    baseline: Option<BaselinePricer>,
    map: CoreMap,
    hops: f64,
}

/// Decodes packets and runs the tracker network once per window (see the module docs).
pub struct StreamTracker {
    cfg: StreamConfig,
    pipe: Option<Pipeline>,
    pending: Vec<Event>,
    scratch: Vec<Event>,
    aux: Vec<AuxEvent>,
    /// End of the window being filled [ns, sensor time]; `None` before the first event.
    next_end: Option<u64>,
    /// Newest time seen in the stream [ns].
    now_ns: u64,
    /// ROS time minus sensor time [ns], from the newest packet with events.
    offset_ns: i128,
    last_seq: Option<u64>,
    idle: u64,
    stats: StreamStats,
    decode_base: DecodeStats,
    baseline_base: BaselineStats,
    prices: Vec<BaselinePrice>,
}

impl StreamTracker {
    /// A tracker waiting for its first packet (the geometry comes from the packets).
    pub fn new(cfg: StreamConfig) -> Self {
        Self {
            cfg,
            pipe: None,
            pending: Vec::new(),
            scratch: Vec::new(),
            aux: Vec::new(),
            next_end: None,
            now_ns: 0,
            offset_ns: 0,
            last_seq: None,
            idle: 0,
            stats: StreamStats::default(),
            decode_base: DecodeStats::default(),
            baseline_base: BaselineStats::default(),
            prices: Vec::new(),
        }
    }

    /// Settings.
    pub fn config(&self) -> &StreamConfig {
        &self.cfg
    }

    /// Running totals.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Sensor geometry (width, height) [px] of the current stream, once a packet was accepted.
    pub fn geometry(&self) -> Option<(u16, u16)> {
        self.pipe.as_ref().map(|p| (p.width, p.height))
    }

    /// EVT 3.0 decoder counters of the stream (totals over restarts).
    pub fn decode_stats(&self) -> DecodeStats {
        match &self.pipe {
            Some(p) => self.decode_base.merged(p.dec.stats()),
            None => self.decode_base,
        }
    }

    /// The events decoded from the last packet given to [`Self::ingest`] and used (in time
    /// order; empty when the packet was dropped).
    pub fn last_events(&self) -> &[Event] {
        &self.scratch
    }

    /// The triggers and OTHERS records of the last `evt3` packet given to [`Self::ingest`].
    pub fn last_aux(&self) -> &[AuxEvent] {
        &self.aux
    }

    /// Neurons of the current network (0 before the first packet).
    pub fn neurons(&self) -> usize {
        self.pipe.as_ref().map_or(0, |p| p.tracker.neurons())
    }

    /// Cores the current network maps onto for the energy estimate (0 before the first packet).
    pub fn cores(&self) -> usize {
        self.pipe.as_ref().map_or(0, |p| p.map.cores())
    }

    fn pipeline(&mut self, width: u16, height: u16) {
        if self.pipe.as_ref().is_some_and(|p| p.width == width && p.height == height) {
            return;
        }
        if let Some(mut old) = self.pipe.take() {
            self.decode_base = self.decode_base.merged(old.dec.stats());
            if let Some(b) = old.baseline.as_mut() {
                b.poll(&mut self.prices);
                self.baseline_base = merged(self.baseline_base, b.stats());
            }
            self.stats.restarts += 1;
        }
        let tracker = NetTracker::new(self.cfg.net(width, height));
        let hw = &self.cfg.hardware;
        // The network of one side ≤ 2048 px at ≥ 1 px cells fits on the profiles' chips; if
        // it ever did not, a one-core map still gives a (too optimistic) estimate.
        let map = CoreMap::balanced(&tracker.fan_in(), hw, 1)
            .or_else(|_| CoreMap::balanced(&[1], hw, 1))
            .expect("a one-synapse network maps onto one core");
        let hops = energy::mean_hops(map.cores());
        // Without a thread for it the stream goes on unpriced (the baseline counts stay 0).
        let baseline = (self.cfg.baseline_queue > 0)
            .then(|| BaselinePricer::new(width, height, self.cfg.window_ns, self.cfg.baseline_queue).ok())
            .flatten();
        self.pipe =
            Some(Pipeline { width, height, dec: Evt3Decoder::new(width, height), tracker, baseline, map, hops });
        self.reset_windows();
    }

    fn reset_windows(&mut self) {
        self.pending.clear();
        self.next_end = None;
        self.now_ns = 0;
        self.idle = 0;
    }

    /// Takes one packet; appends the windows it closes to `out`. An `Err` reports a malformed
    /// packet (what was still usable of it has been used, see the module docs); the stream
    /// goes on either way.
    pub fn ingest(&mut self, pkt: &EventPacket, out: &mut Vec<WindowResult>) -> Result<(), PacketError> {
        self.stats.packets += 1;
        self.scratch.clear();
        self.aux.clear();
        let (w, h) = (pkt.width, pkt.height);
        if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
            return Err(PacketError::Geometry { width: w, height: h });
        }
        let encoding: &'static str = match pkt.encoding.as_str() {
            "evt3" => "evt3",
            "mono" => "mono",
            other => return Err(PacketError::Encoding(other.chars().take(64).collect())),
        };
        self.pipeline(w as u16, h as u16);
        if let Some(last) = self.last_seq {
            if pkt.seq > last {
                self.stats.seq_gaps = self.stats.seq_gaps.saturating_add(pkt.seq - last - 1);
            } else {
                self.stats.seq_resets += 1;
            }
        }
        self.last_seq = Some(pkt.seq);

        let mut result = Ok(());
        let pipe = self.pipe.as_mut().expect("pipeline set above");
        match encoding {
            "evt3" => {
                let before = *pipe.dec.stats();
                let whole = pkt.events.len() & !1;
                // Lenient decoding of whole words cannot fail.
                let _ = pipe.dec.decode_bytes(&pkt.events[..whole], &mut self.scratch, &mut self.aux);
                let after = *pipe.dec.stats();
                // Times past MAX_TIME_NS only come from corrupt clocks: dropped with the
                // out-of-sensor events.
                let n = self.scratch.len();
                self.scratch.retain(|e| e.t_ns <= MAX_TIME_NS);
                let too_late = (n - self.scratch.len()) as u64;
                let (reserved, oob) = (
                    after.reserved_words - before.reserved_words,
                    after.out_of_bounds - before.out_of_bounds + too_late,
                );
                if whole != pkt.events.len() {
                    result = Err(PacketError::Truncated { encoding, len: pkt.events.len(), unit: 2 });
                } else if reserved > 0 || oob > 0 {
                    result = Err(PacketError::Corrupt { reserved_words: reserved, out_of_bounds: oob });
                }
                self.now_ns = self.now_ns.max(pipe.dec.time_ns().min(MAX_TIME_NS));
            }
            _ => {
                match mono::decode(&pkt.events, pkt.time_base, pkt.is_bigendian, &mut self.scratch) {
                    Ok(()) => {}
                    Err(TrackError::Truncated { len, unit }) => {
                        return Err(PacketError::Truncated { encoding, len, unit });
                    }
                    Err(_) => return Err(PacketError::Truncated { encoding, len: pkt.events.len(), unit: 8 }),
                }
                let n = self.scratch.len();
                let (pw, ph) = (pipe.width, pipe.height);
                self.scratch.retain(|e| e.x < pw && e.y < ph && e.t_ns <= MAX_TIME_NS);
                let oob = (n - self.scratch.len()) as u64;
                if oob > 0 {
                    result = Err(PacketError::Corrupt { reserved_words: 0, out_of_bounds: oob });
                }
            }
        }
        if self.scratch.is_empty() {
            self.close_windows(out);
            return result;
        }
        if !self.scratch.is_sorted_by_key(|e| e.t_ns) {
            self.scratch.sort_by_key(|e| e.t_ns);
        }
        let (first, last) = (self.scratch[0].t_ns, self.scratch[self.scratch.len() - 1].t_ns);
        // A replay starting over: time jumps far back.
        if let Some(end) = self.next_end
            && first.saturating_add(RESTART_NS) < end
        {
            self.stats.restarts += 1;
            if let Some(p) = self.pipe.as_mut() {
                // The baseline thread resets itself when window times go back.
                p.tracker.reset();
            }
            self.reset_windows();
        }
        self.offset_ns = i128::from(pkt.header.stamp.to_ns()) - i128::from(first);
        let w = self.cfg.window_ns.max(1);
        let window_start = self.next_end.map(|e| e.saturating_sub(w));
        if self.next_end.is_none() {
            self.next_end = Some((first / w + 1) * w);
        }
        if let Some(start) = window_start {
            let late = self.scratch.iter().take_while(|e| e.t_ns < start).count();
            self.stats.late_events += late as u64;
        }
        self.stats.events += self.scratch.len() as u64;
        self.now_ns = self.now_ns.max(last);
        if self.pending.last().is_some_and(|p| p.t_ns > first) {
            // Merge out-of-order arrivals so windows see their events in time order.
            self.pending.extend_from_slice(&self.scratch);
            self.pending.sort_by_key(|e| e.t_ns);
        } else {
            self.pending.extend_from_slice(&self.scratch);
        }
        if self.pending.len() > MAX_PENDING {
            let drop = self.pending.len() - MAX_PENDING;
            self.pending.drain(..drop);
            self.stats.overflow_events += drop as u64;
        }
        self.close_windows(out);
        result
    }

    /// Declares `windows` windows of silence after the newest event: closes the pending
    /// window and `windows − 1` empty ones after it, so the last events are tracked without
    /// waiting for the next packet and, with `windows` > `lost_after_ms`, the tracker reports
    /// the track lost. For a stream that went quiet (the node calls it after a wall-clock
    /// timeout); events that arrive later for the flushed windows count as late events.
    pub fn flush_idle(&mut self, windows: u64, out: &mut Vec<WindowResult>) {
        let Some(end) = self.next_end else { return };
        let w = self.cfg.window_ns.max(1);
        self.now_ns = self.now_ns.max(end.saturating_add(windows.saturating_sub(1).saturating_mul(w)));
        self.close_windows(out);
    }

    /// Windows of silence after which [`Self::flush_idle`] leaves the track lost: the pending
    /// window, one more (the readout looks back over two windows) and the tracker's
    /// `lost_after_ms` silent ones (1 before the first packet).
    pub fn lost_after_windows(&self) -> u64 {
        self.pipe.as_ref().map_or(1, |p| u64::from(p.tracker.config().lost_after_ms) + 2)
    }

    /// The tracker's name (`net-float`, `net-fixed`, with `+refine` when refining).
    pub fn tracker_name(&self) -> &'static str {
        self.cfg.net(1, 1).name()
    }

    /// Appends the windows the cluster baseline has priced since the last call to `out`
    /// (never blocks).
    pub fn poll_baseline(&mut self, out: &mut Vec<BaselinePrice>) {
        if let Some(b) = self.pipe.as_mut().and_then(|p| p.baseline.as_mut()) {
            b.poll(&mut self.prices);
        }
        out.append(&mut self.prices);
    }

    /// Like [`Self::poll_baseline`], waiting up to `timeout` for the queued windows (the end of
    /// a recording); returns whether the baseline's queue is empty.
    pub fn wait_baseline(&mut self, out: &mut Vec<BaselinePrice>, timeout: std::time::Duration) -> bool {
        let idle = match self.pipe.as_mut().and_then(|p| p.baseline.as_mut()) {
            Some(b) => b.wait_idle(&mut self.prices, timeout),
            None => true,
        };
        out.append(&mut self.prices);
        idle
    }

    /// The cluster baseline's counts (totals over restarts).
    pub fn baseline_stats(&self) -> BaselineStats {
        match self.pipe.as_ref().and_then(|p| p.baseline.as_ref()) {
            Some(b) => merged(self.baseline_base, b.stats()),
            None => self.baseline_base,
        }
    }

    /// Processes every window whose end the stream's time has reached.
    fn close_windows(&mut self, out: &mut Vec<WindowResult>) {
        let w = self.cfg.window_ns.max(1);
        let Some(mut end) = self.next_end else { return };
        let Some(pipe) = self.pipe.as_mut() else { return };
        while end <= self.now_ns {
            let n = self.pending.partition_point(|e| e.t_ns < end);
            if n == 0 {
                self.idle += 1;
                if self.idle > MAX_IDLE_WINDOWS {
                    // Silence: jump to the window of the next pending event (or of now).
                    let target = self.pending.first().map_or(self.now_ns, |e| e.t_ns);
                    let jump = target.saturating_sub(end) / w;
                    if jump > 0 {
                        end += jump * w;
                        self.stats.skipped_windows += jump;
                        continue;
                    }
                }
            } else {
                self.idle = 0;
            }
            let t0 = Instant::now();
            let estimate = pipe.tracker.process(&self.pending[..n], end);
            let cpu_ns = t0.elapsed().as_nanos() as u64;
            let ops = *pipe.tracker.last_ops();
            let chip = energy::estimate(&ops, &pipe.map, &self.cfg.hardware, pipe.hops);
            let lost_after = pipe.tracker.config().lost_after_ms.max(1);
            let confidence = match estimate {
                None => 0.0,
                Some(_) => 1.0 - f64::from(pipe.tracker.silent_packets().min(lost_after)) / f64::from(lost_after),
            };
            let stamp_ns = u64::try_from((i128::from(end) + self.offset_ns).max(0)).unwrap_or(u64::MAX);
            if let Some(b) = pipe.baseline.as_mut() {
                b.offer(&self.pending[..n], end, stamp_ns, chip, &mut self.prices);
            }
            out.push(WindowResult { t_end_ns: end, stamp_ns, events: n, estimate, confidence, ops, chip, cpu_ns });
            self.pending.drain(..n);
            let s = &mut self.stats;
            s.windows += 1;
            s.tracked_windows += u64::from(estimate.is_some());
            s.ops.accumulate(&ops);
            s.chip_energy_j += chip.energy_j;
            s.chip_time_s += chip.time_s;
            s.cpu_ns += cpu_ns;
            end += w;
        }
        self.next_end = Some(end);
    }
}

/// The sum of two baseline counts.
fn merged(a: BaselineStats, b: &BaselineStats) -> BaselineStats {
    BaselineStats {
        offered: a.offered + b.offered,
        priced: a.priced + b.priced,
        warmup: a.warmup + b.warmup,
        dropped: a.dropped + b.dropped,
        cpu_ns: a.cpu_ns + b.cpu_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::evt3::Evt3Encoder;
    use crate::tracking::packet::{self, Time};

    /// A 10×10 px blob of events moving right by 1 px per ms, starting at x = 20.
    fn blob(t_ms: u64) -> Vec<Event> {
        let cx = 20 + t_ms as u16;
        let mut v = Vec::new();
        for k in 0..20u64 {
            let t = t_ms * 1_000_000 + k * 50_000;
            for (dx, dy) in [(0u16, 0u16), (3, 1), (1, 4), (4, 3), (2, 2)] {
                v.push(Event::new(t, cx + dx, 40 + dy, k % 2 == 0));
            }
        }
        v
    }

    fn evt3_stream(ms: u64, stamp0_ns: u64) -> Vec<EventPacket> {
        let mut enc = Evt3Encoder::new();
        (0..ms)
            .map(|k| {
                let ev = blob(k);
                let mut p = EventPacket::evt3(&ev, 640, 480, k, "cam", &mut enc).unwrap();
                p.header.stamp = Time::from_ns(stamp0_ns + ev[0].t_ns);
                p
            })
            .collect()
    }

    #[test]
    fn windows_follow_the_blob_and_stamps_use_the_packet_offset() {
        let mut st = StreamTracker::new(StreamConfig::default());
        let mut out = Vec::new();
        for p in evt3_stream(40, 5_000_000_000) {
            st.ingest(&p, &mut out).unwrap();
        }
        // 40 packets close 39 windows (the last waits for later events).
        assert_eq!(out.len(), 39);
        let last = out.last().unwrap();
        assert_eq!(last.t_end_ns, 39_000_000);
        assert_eq!(last.stamp_ns, 5_039_000_000);
        let e = last.estimate.expect("tracking");
        // Blob centre at 2 px right of x = 20 + 38 (+0.5 pixel centre), y = 42.5.
        assert!((e.x - 60.5).abs() < 2.0 && (e.y - 42.5).abs() < 1.5, "{e:?}");
        assert!(last.confidence > 0.99 && last.ops.timesteps == 4 && last.chip.energy_j > 0.0);
        assert_eq!(st.stats().windows, 39);
        assert!(st.stats().tracked_windows > 30);
    }

    #[test]
    fn malformed_packets_are_reported_and_the_stream_goes_on() {
        let mut st = StreamTracker::new(StreamConfig::default());
        let mut out = Vec::new();
        let pkts = evt3_stream(30, 0);
        for p in &pkts[..10] {
            st.ingest(p, &mut out).unwrap();
        }
        let bad = EventPacket { encoding: "libcaer_cmp".into(), ..pkts[10].clone() };
        assert_eq!(st.ingest(&bad, &mut out), Err(PacketError::Encoding("libcaer_cmp".into())));
        let geo = EventPacket { width: 0, ..pkts[10].clone() };
        assert!(matches!(st.ingest(&geo, &mut out), Err(PacketError::Geometry { .. })));
        // A truncated copy of packet 10: whole words used, the odd byte reported.
        let mut trunc = pkts[10].clone();
        trunc.events.truncate(trunc.events.len() - 1);
        assert!(matches!(st.ingest(&trunc, &mut out), Err(PacketError::Truncated { encoding: "evt3", .. })));
        // Reserved words (type 0x1) are skipped and reported.
        let mut junk = pkts[11].clone();
        junk.events.extend_from_slice(&0x1234u16.to_le_bytes());
        assert!(matches!(st.ingest(&junk, &mut out), Err(PacketError::Corrupt { reserved_words: 1, .. })));
        for p in &pkts[12..] {
            st.ingest(p, &mut out).unwrap();
        }
        let e = out.last().unwrap().estimate.expect("still tracking");
        assert!((e.x - (20.0 + 28.0 + 2.5)).abs() < 2.0, "{e:?}");
        assert_eq!((st.stats().seq_gaps, st.stats().seq_resets), (0, 0), "{:?}", st.stats());
        assert_eq!(st.decode_stats().reserved_words, 1);
    }

    #[test]
    fn mono_packets_track_too_and_truncated_mono_is_dropped() {
        let mut st = StreamTracker::new(StreamConfig::default());
        let mut out = Vec::new();
        for k in 0..30 {
            let p = EventPacket::mono(&blob(k), 640, 480, k, "cam").unwrap();
            st.ingest(&p, &mut out).unwrap();
        }
        let mut t = EventPacket::mono(&blob(30), 640, 480, 30, "cam").unwrap();
        t.events.pop();
        assert!(matches!(st.ingest(&t, &mut out), Err(PacketError::Truncated { encoding: "mono", unit: 8, .. })));
        let mut big = EventPacket::mono(&blob(31), 640, 480, 31, "cam").unwrap();
        big.is_bigendian = true;
        big.events = blob(31).iter().flat_map(|e| mono::pack(e, big.time_base).unwrap().to_be_bytes()).collect();
        st.ingest(&big, &mut out).unwrap();
        let e = out.last().unwrap().estimate.expect("tracking");
        assert!((e.x - 51.5).abs() < 2.5, "{e:?}");
        // Out-of-sensor events are dropped and reported.
        let oob = EventPacket::mono(&[Event::new(32_000_000, 700, 5, true)], 640, 480, 32, "cam").unwrap();
        assert!(matches!(st.ingest(&oob, &mut out), Err(PacketError::Corrupt { out_of_bounds: 1, .. })));
    }

    #[test]
    fn flushing_a_quiet_stream_tracks_the_last_events_then_reports_lost() {
        let mut st = StreamTracker::new(StreamConfig::default());
        let mut out = Vec::new();
        st.flush_idle(5, &mut out);
        assert!(out.is_empty(), "nothing to flush before the first packet");
        for p in evt3_stream(20, 0) {
            st.ingest(&p, &mut out).unwrap();
        }
        assert_eq!(out.len(), 19);
        let n = st.lost_after_windows();
        st.flush_idle(n, &mut out);
        assert_eq!(out.len() as u64, 19 + n);
        assert_eq!(out[19].t_end_ns, 20_000_000);
        assert!(out[19].estimate.is_some() && out[19].confidence == 1.0, "{:?}", out[19]);
        let last = out.last().unwrap();
        assert!(last.estimate.is_none() && last.confidence == 0.0, "{last:?}");
        // The stream goes on afterwards.
        let mut enc = Evt3Encoder::new();
        for k in 100..120 {
            let p = EventPacket::evt3(&blob(k), 640, 480, k, "cam", &mut enc).unwrap();
            st.ingest(&p, &mut out).unwrap();
        }
        assert!(out.last().unwrap().estimate.is_some());
    }

    fn arb_packet() -> impl proptest::strategy::Strategy<Value = EventPacket> {
        use proptest::prelude::*;
        (
            prop::sample::select(vec!["evt3", "mono", "libcaer", ""]),
            prop::sample::select(vec![(640u32, 480u32), (64, 48), (0, 10), (5000, 480)]),
            any::<u64>(),
            any::<u32>(),
            any::<u64>(),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..400),
        )
            .prop_map(|(enc, (w, h), seq, sec, time_base, be, events)| EventPacket {
                header: packet::Header {
                    stamp: Time { sec: (sec % 1_000_000) as i32, nanosec: 0 },
                    frame_id: "c".into(),
                },
                width: w,
                height: h,
                seq,
                time_base,
                encoding: enc.into(),
                is_bigendian: be,
                events,
            })
    }

    proptest::proptest! {
        // PROPTEST_CASES=N runs more random streams (default 48).
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(48),
            ..Default::default()
        })]
        /// Random packets (valid or not, any encoding, geometry, times and bytes) never panic,
        /// and every window's output is finite with a confidence in [0, 1].
        #[test]
        fn random_packets_never_break_the_stream(pkts in proptest::collection::vec(arb_packet(), 1..24)) {
            let mut st = StreamTracker::new(StreamConfig::default());
            let mut out = Vec::new();
            for p in &pkts {
                let n = out.len();
                let _ = st.ingest(p, &mut out);
                proptest::prop_assert!(out.len() - n <= MAX_IDLE_WINDOWS as usize + 2 + MAX_PENDING);
            }
            proptest::prop_assert_eq!(st.stats().windows, out.len() as u64);
            proptest::prop_assert_eq!(st.stats().packets, pkts.len() as u64);
            for r in &out {
                proptest::prop_assert!((0.0..=1.0).contains(&r.confidence));
                proptest::prop_assert!(r.chip.energy_j.is_finite() && r.chip.time_s.is_finite());
                if let Some(e) = r.estimate {
                    proptest::prop_assert!(e.x.is_finite() && e.y.is_finite() && e.vx.is_finite() && e.vy.is_finite());
                }
            }
        }
    }

    #[test]
    fn silence_is_skipped_and_a_replay_restarts() {
        let mut st = StreamTracker::new(StreamConfig::default());
        let mut out = Vec::new();
        for k in 0..5 {
            st.ingest(&EventPacket::mono(&blob(k), 640, 480, k, "cam").unwrap(), &mut out).unwrap();
        }
        // One event 10 s later: at most MAX_IDLE_WINDOWS + 1 windows, not 10 000.
        let n0 = out.len();
        st.ingest(&EventPacket::mono(&[Event::new(10_000_000_000, 5, 5, true)], 640, 480, 5, "cam").unwrap(), &mut out)
            .unwrap();
        assert!(out.len() - n0 <= MAX_IDLE_WINDOWS as usize + 2, "{} windows", out.len() - n0);
        assert!(st.stats().skipped_windows > 9000);
        // Back to t = 0: a restart, and tracking resumes.
        for k in 0..20 {
            st.ingest(&EventPacket::mono(&blob(k), 640, 480, 100 + k, "cam").unwrap(), &mut out).unwrap();
        }
        assert_eq!(st.stats().restarts, 1);
        assert!(out.last().unwrap().estimate.is_some());
        // A new geometry is a new pipeline.
        st.ingest(&EventPacket::mono(&blob(0), 800, 480, 200, "cam").unwrap(), &mut out).unwrap();
        assert_eq!((st.geometry(), st.stats().restarts), (Some((800, 480)), 2));
    }
}
