//! Pricing the conventional baseline off the tracker's path: the event-cluster tracker
//! ([`ClusterTracker`]) runs on a background thread over copies of the windows the tracker
//! network processed, and its host time per window is the CPU side of the node's energy
//! comparison.
//!
//! The hand-over is a bounded queue that never blocks the caller:
//! - [`BaselinePricer::offer`] copies the window's events into a recycled buffer and queues
//!   it; when the queue is full the window is dropped and counted, and so is every following
//!   window until the baseline has emptied its queue (the queue then refills with a run of
//!   consecutive windows instead of a scattered sample);
//! - the baseline runs on every window it receives (its state — the background-activity
//!   filter's pixel time map, the clusters — follows the stream as it would in a CPU
//!   tracker), but prices only a window whose predecessor it also ran: the first window, and
//!   the first after dropped ones, are warm-up (their filter lacks the previous window's
//!   events, which makes them cheaper than in a continuous run);
//! - results come back through [`BaselinePricer::poll`]: the window's end, stamp, event count,
//!   the chip estimate the caller attached, and the baseline's host time [ns] on it (wall
//!   time on the baseline's thread: it includes any preemption of that thread).
//!
//! Memory is bounded by the queue: at most `capacity` windows in flight, their buffers
//! recycled.

use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, TrySendError, channel, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::cluster::{ClusterConfig, ClusterTracker};
use super::{Event, Tracker};
use crate::neuro::energy;

/// One window priced by the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselinePrice {
    /// End of the window, sensor time [ns].
    pub t_end_ns: u64,
    /// End of the window on the ROS clock [ns].
    pub stamp_ns: u64,
    /// Events in the window.
    pub events: usize,
    /// The tracker network's chip estimate of the same window (attached by the caller).
    pub chip: energy::Estimate,
    /// Host wall time of the cluster tracker on the window, on its thread [ns].
    pub cpu_ns: u64,
}

/// Counts of a [`BaselinePricer`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BaselineStats {
    /// Windows offered.
    pub offered: u64,
    /// Windows the baseline ran on and priced.
    pub priced: u64,
    /// Windows the baseline ran on without pricing them (warm-up: the first window, and the
    /// first after dropped ones).
    pub warmup: u64,
    /// Windows dropped because the queue was full or draining (the baseline fell behind).
    pub dropped: u64,
    /// Sum of the priced windows' baseline CPU time [ns].
    pub cpu_ns: u64,
}

struct Job {
    t_end_ns: u64,
    stamp_ns: u64,
    chip: energy::Estimate,
    events: Vec<Event>,
}

enum Reply {
    Priced(BaselinePrice, Vec<Event>),
    Warmup(Vec<Event>),
}

/// The baseline on its thread (see the module docs).
pub struct BaselinePricer {
    jobs: Option<SyncSender<Job>>,
    replies: Receiver<Reply>,
    thread: Option<JoinHandle<()>>,
    pool: Vec<Vec<Event>>,
    capacity: usize,
    in_flight: usize,
    draining: bool,
    stats: BaselineStats,
}

impl std::fmt::Debug for BaselinePricer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaselinePricer")
            .field("capacity", &self.capacity)
            .field("in_flight", &self.in_flight)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// The baseline thread: runs the cluster tracker on each job, prices the jobs that follow
/// their predecessor window (`window_ns` apart).
fn run(cfg: ClusterConfig, window_ns: u64, jobs: Receiver<Job>, replies: Sender<Reply>) {
    let mut tracker = ClusterTracker::new(cfg);
    let mut prev_end: Option<u64> = None;
    while let Ok(job) = jobs.recv() {
        let contiguous = prev_end.is_some_and(|p| p.checked_add(window_ns) == Some(job.t_end_ns));
        if prev_end.is_some_and(|p| job.t_end_ns <= p) {
            // Time went back (a replay restarting): a fresh tracker.
            tracker.reset();
        }
        prev_end = Some(job.t_end_ns);
        // Wall time on this thread: the kernel's per-thread CPU clock readable without libc
        // (/proc schedstat) only advances at scheduler ticks, too coarse for one window.
        let t0 = Instant::now();
        std::hint::black_box(tracker.process(&job.events, job.t_end_ns));
        let cpu_ns = (t0.elapsed().as_nanos() as u64).max(1);
        let reply = if contiguous {
            Reply::Priced(
                BaselinePrice {
                    t_end_ns: job.t_end_ns,
                    stamp_ns: job.stamp_ns,
                    events: job.events.len(),
                    chip: job.chip,
                    cpu_ns,
                },
                job.events,
            )
        } else {
            Reply::Warmup(job.events)
        };
        // Fails only when the owner is gone.
        if replies.send(reply).is_err() {
            return;
        }
    }
}

impl BaselinePricer {
    /// Starts the baseline thread for a `width`×`height` sensor ([`ClusterConfig::new`]),
    /// windows of `window_ns`, at most `capacity` (≥ 1) windows queued.
    pub fn new(width: u16, height: u16, window_ns: u64, capacity: usize) -> std::io::Result<Self> {
        let capacity = capacity.max(1);
        let (jobs, job_rx) = sync_channel::<Job>(capacity);
        // One reply per job (at most `capacity` queued + 1 running): the reply queue never
        // blocks the thread and holds at most that many.
        let (reply_tx, replies) = channel::<Reply>();
        let cfg = ClusterConfig::new(width, height);
        let thread = std::thread::Builder::new()
            .name("spikectl-baseline".into())
            .spawn(move || run(cfg, window_ns.max(1), job_rx, reply_tx))?;
        Ok(Self {
            jobs: Some(jobs),
            replies,
            thread: Some(thread),
            pool: Vec::new(),
            capacity,
            in_flight: 0,
            draining: false,
            stats: BaselineStats::default(),
        })
    }

    /// Counts so far.
    pub fn stats(&self) -> &BaselineStats {
        &self.stats
    }

    /// Windows queued or running.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn take(&mut self, r: Reply, out: &mut Vec<BaselinePrice>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let buf = match r {
            Reply::Priced(p, buf) => {
                self.stats.priced += 1;
                self.stats.cpu_ns += p.cpu_ns;
                out.push(p);
                buf
            }
            Reply::Warmup(buf) => {
                self.stats.warmup += 1;
                buf
            }
        };
        if self.pool.len() <= self.capacity {
            self.pool.push(buf);
        }
    }

    /// Appends the windows priced since the last call to `out` (never blocks).
    pub fn poll(&mut self, out: &mut Vec<BaselinePrice>) {
        loop {
            match self.replies.try_recv() {
                Ok(r) => self.take(r, out),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }

    /// Waits up to `timeout` until every queued window is done, appending the priced ones to
    /// `out`; returns whether the queue is empty.
    pub fn wait_idle(&mut self, out: &mut Vec<BaselinePrice>, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while self.in_flight > 0 {
            let left = end.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(r) => self.take(r, out),
                Err(_) => break,
            }
        }
        self.in_flight == 0
    }

    /// Queues a copy of `events` (the window ending at `t_end_ns`, stamped `stamp_ns`, with the
    /// network's chip estimate `chip`) for the baseline, or drops it (see the module docs);
    /// returns whether it was queued. Priced windows come back through [`Self::poll`].
    pub fn offer(
        &mut self,
        events: &[Event],
        t_end_ns: u64,
        stamp_ns: u64,
        chip: energy::Estimate,
        out: &mut Vec<BaselinePrice>,
    ) -> bool {
        self.stats.offered += 1;
        self.poll(out);
        if self.draining && self.in_flight == 0 {
            self.draining = false;
        }
        if self.draining {
            self.stats.dropped += 1;
            return false;
        }
        let Some(jobs) = &self.jobs else {
            self.stats.dropped += 1;
            return false;
        };
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(events);
        match jobs.try_send(Job { t_end_ns, stamp_ns, chip, events: buf }) {
            Ok(()) => {
                self.in_flight += 1;
                true
            }
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                self.pool.push(job.events);
                self.draining = true;
                self.stats.dropped += 1;
                false
            }
        }
    }
}

impl Drop for BaselinePricer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has run the windows still queued (at
        // most `capacity` + 1; its replies never block).
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` windows of 1 ms, each with `per` events of a blob plus scattered ones, from t = 5 s.
    fn windows(n: usize, per: usize) -> Vec<(u64, Vec<Event>)> {
        (0..n)
            .map(|k| {
                let t0 = 5_000_000_000 + k as u64 * 1_000_000;
                let ev = (0..per)
                    .map(|i| {
                        let x = if i % 4 == 0 { 100 + (i % 7) as u16 } else { (i * 37 % 640) as u16 };
                        let y = if i % 4 == 0 { 50 + (i % 5) as u16 } else { (i * 53 % 480) as u16 };
                        Event::new(t0 + (i as u64 * 1_000_000 / per as u64), x, y, i % 2 == 0)
                    })
                    .collect();
                (t0 + 1_000_000, ev)
            })
            .collect()
    }

    /// Fed slower than it runs, the baseline prices every window after the first.
    #[test]
    fn a_slow_stream_is_priced_window_by_window() {
        let mut p = BaselinePricer::new(640, 480, 1_000_000, 4).unwrap();
        let mut out = Vec::new();
        let chip = energy::Estimate { energy_j: 1e-7, ..Default::default() };
        for (t_end, ev) in windows(20, 300) {
            assert!(p.offer(&ev, t_end, t_end + 7, chip, &mut out));
            assert!(p.wait_idle(&mut out, Duration::from_secs(10)));
        }
        let s = *p.stats();
        assert_eq!((s.offered, s.priced, s.warmup, s.dropped), (20, 19, 1, 0), "{s:?}");
        assert_eq!(out.len(), 19);
        assert!(out.windows(2).all(|w| w[1].t_end_ns == w[0].t_end_ns + 1_000_000));
        assert!(out.iter().all(|r| r.cpu_ns > 0 && r.events == 300 && r.stamp_ns == r.t_end_ns + 7 && r.chip == chip));
        assert_eq!(s.cpu_ns, out.iter().map(|r| r.cpu_ns).sum::<u64>());
    }

    /// Offered faster than it runs (25 k-event windows back to back, a queue of 2), the
    /// pricer drops windows instead of blocking, and every window is accounted for.
    #[test]
    fn a_burst_drops_and_counts_instead_of_blocking() {
        let mut p = BaselinePricer::new(640, 480, 1_000_000, 2).unwrap();
        let mut out = Vec::new();
        let ws = windows(63, 25_000);
        for (t_end, ev) in &ws[..60] {
            p.offer(ev, *t_end, *t_end, energy::Estimate::default(), &mut out);
            // Two queued and one running at most.
            assert!(p.in_flight() <= 3);
        }
        assert!(p.wait_idle(&mut out, Duration::from_secs(60)));
        let s = *p.stats();
        assert_eq!(s.offered, 60);
        assert_eq!(s.priced + s.warmup + s.dropped, 60, "{s:?}");
        assert!(s.dropped > 0, "a queue of 2 cannot take 60 windows of 25 k events at once: {s:?}");
        assert_eq!(s.priced, out.len() as u64);
        // Once the queue has emptied, windows are taken again and, after one of warm-up,
        // priced.
        for (t_end, ev) in &ws[60..] {
            assert!(p.offer(ev, *t_end, *t_end, energy::Estimate::default(), &mut out));
            assert!(p.wait_idle(&mut out, Duration::from_secs(60)));
        }
        assert_eq!(out.last().map(|r| r.t_end_ns), Some(ws[62].0));
        assert_eq!(p.stats().offered, 63);
    }
}
