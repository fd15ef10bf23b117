//! Counters of a node's troubles and their publication on `/diagnostics`.
//!
//! [`Counters`] are atomics shared (`Arc`) between the ROS thread and the real-time thread:
//! inputs rejected as malformed, real-time deadlines missed, steps where the controller fell
//! back to its safe command, and messages received. [`StatusBuilder`] turns them (and any
//! other key/values) into a `diagnostic_msgs/DiagnosticStatus`; [`DiagnosticsPublisher`]
//! publishes a `DiagnosticArray` with all statuses of a node.

use std::sync::atomic::{AtomicU64, Ordering};

use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus, KeyValue};
use r2r::std_msgs::msg::Header;

/// `diagnostic_msgs/DiagnosticStatus` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Everything is fine.
    Ok = 0,
    /// Degraded: something went wrong since the last report, the node carries on.
    Warn = 1,
    /// The node cannot do its job.
    Error = 2,
    /// No fresh data.
    Stale = 3,
}

/// Event counters of one node (monotonic totals since start).
#[derive(Debug, Default)]
pub struct Counters {
    /// Inputs rejected as malformed (NaN, wrong size, out of range) [count].
    pub malformed: AtomicU64,
    /// Real-time steps that finished after their deadline [count].
    pub deadline_misses: AtomicU64,
    /// Steps where the controller applied its safe fallback command [count].
    pub fallbacks: AtomicU64,
    /// Input messages received [count].
    pub received: AtomicU64,
    /// Durations of the real-time steps (filled by [`super::rt::RtLoop`]).
    pub tick_times: TickTimes,
    /// Scheduling of the real-time thread as set by [`super::rt::RtLoop`]: 0 = the default
    /// (time-sharing) policy, p > 0 = SCHED_FIFO priority p applied, −errno = the request for
    /// a priority failed (the loop runs on with the default policy).
    pub rt_priority: std::sync::atomic::AtomicI64,
}

/// Histogram of real-time step durations: [`TickTimes::BIN`]-wide bins up to
/// [`TickTimes::RANGE`] (longer steps land in the last bin), plus the exact maximum.
/// Lock-free: the real-time thread records, any thread reads.
#[derive(Debug)]
pub struct TickTimes {
    bins: Box<[AtomicU64]>,
    max_ns: AtomicU64,
}

impl Default for TickTimes {
    fn default() -> Self {
        let n = (Self::RANGE.as_nanos() / Self::BIN.as_nanos()) as usize;
        Self { bins: (0..n).map(|_| AtomicU64::new(0)).collect(), max_ns: AtomicU64::new(0) }
    }
}

impl TickTimes {
    /// Bin width.
    pub(crate) const BIN: std::time::Duration = std::time::Duration::from_micros(2);
    /// Range covered by the bins.
    pub(crate) const RANGE: std::time::Duration = std::time::Duration::from_millis(20);

    /// Adds one step of duration `d`. No allocation, no lock.
    pub fn record(&self, d: std::time::Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = ((ns / Self::BIN.as_nanos() as u64) as usize).min(self.bins.len() - 1);
        self.bins[i].fetch_add(1, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// Steps recorded [count].
    pub fn count(&self) -> u64 {
        self.bins.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Longest step recorded.
    pub fn max(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.max_ns.load(Ordering::Relaxed))
    }

    /// The `q` quantile (0..=1) of the step durations: the upper edge of the bin holding it
    /// (at most [`Self::max`]; the maximum itself beyond [`Self::RANGE`]); zero before the
    /// first step.
    pub(crate) fn quantile(&self, q: f64) -> std::time::Duration {
        let n = self.count();
        if n == 0 {
            return std::time::Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, b) in self.bins.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                // The last bin holds everything longer than the range: its edge means nothing.
                if i + 1 == self.bins.len() {
                    return self.max();
                }
                return (Self::BIN * (i as u32 + 1)).min(self.max());
            }
        }
        self.max()
    }
}

/// A copy of [`Counters`] at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// See [`Counters::malformed`].
    pub malformed: u64,
    /// See [`Counters::deadline_misses`].
    pub deadline_misses: u64,
    /// See [`Counters::fallbacks`].
    pub fallbacks: u64,
    /// See [`Counters::received`].
    pub received: u64,
    /// See [`Counters::rt_priority`].
    pub rt_priority: i64,
}

impl Counters {
    /// Adds one to `counter` (relaxed: counters are statistics, not synchronisation).
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The current totals.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            malformed: self.malformed.load(Ordering::Relaxed),
            deadline_misses: self.deadline_misses.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            rt_priority: self.rt_priority.load(Ordering::Relaxed),
        }
    }
}

impl CounterSnapshot {
    /// [`Level::Warn`] if malformed inputs, deadline misses or fallbacks grew since `prev`,
    /// else [`Level::Ok`], with a message saying what grew.
    pub(crate) fn level_since(&self, prev: &CounterSnapshot) -> (Level, String) {
        let mut what = Vec::new();
        for (name, now, before) in [
            ("malformed inputs", self.malformed, prev.malformed),
            ("deadline misses", self.deadline_misses, prev.deadline_misses),
            ("fallbacks", self.fallbacks, prev.fallbacks),
        ] {
            if now > before {
                what.push(format!("{} new {name}", now - before));
            }
        }
        if what.is_empty() { (Level::Ok, "ok".into()) } else { (Level::Warn, what.join(", ")) }
    }
}

/// Builds one `DiagnosticStatus`.
#[derive(Debug, Clone)]
pub struct StatusBuilder {
    status: DiagnosticStatus,
}

impl StatusBuilder {
    /// A status named `name` (by convention `node_name: component`) for `hardware_id`.
    pub fn new(name: impl Into<String>, hardware_id: impl Into<String>) -> Self {
        Self {
            status: DiagnosticStatus {
                level: Level::Ok as u8,
                name: name.into(),
                message: "ok".into(),
                hardware_id: hardware_id.into(),
                values: Vec::new(),
            },
        }
    }

    /// Sets level and message.
    pub fn level(mut self, level: Level, message: impl Into<String>) -> Self {
        self.status.level = level as u8;
        self.status.message = message.into();
        self
    }

    /// Appends a key/value pair.
    pub fn kv(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.status.values.push(KeyValue { key: key.into(), value: value.to_string() });
        self
    }

    /// Appends a float key/value with 6 significant digits (non-finite values print as "nan"/"inf").
    pub(crate) fn kv_f(self, key: impl Into<String>, value: f64) -> Self {
        self.kv(key, format!("{value:.6e}"))
    }

    /// Appends the four counters.
    pub fn counters(self, c: &CounterSnapshot) -> Self {
        self.kv("malformed", c.malformed)
            .kv("deadline_misses", c.deadline_misses)
            .kv("fallbacks", c.fallbacks)
            .kv("received", c.received)
            .kv("rt_priority", c.rt_priority)
    }

    /// The finished status.
    pub fn build(self) -> DiagnosticStatus {
        self.status
    }
}

/// A `DiagnosticArray` with `stamp`.
pub fn array(stamp: r2r::builtin_interfaces::msg::Time, status: Vec<DiagnosticStatus>) -> DiagnosticArray {
    DiagnosticArray { header: Header { stamp, frame_id: String::new() }, status }
}

/// Publishes a node's statuses on a diagnostics topic (normally `/diagnostics`).
pub struct DiagnosticsPublisher {
    publisher: r2r::Publisher<DiagnosticArray>,
}

impl DiagnosticsPublisher {
    /// Creates the publisher on `topic` (reliable, keep last 10).
    pub fn new(node: &mut r2r::Node, topic: &str) -> Result<Self, r2r::Error> {
        Ok(Self { publisher: node.create_publisher(topic, r2r::QosProfile::default())? })
    }

    /// Publishes `status` stamped `stamp`.
    pub fn publish(
        &self,
        stamp: r2r::builtin_interfaces::msg::Time,
        status: Vec<DiagnosticStatus>,
    ) -> Result<(), r2r::Error> {
        self.publisher.publish(&array(stamp, status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_warns_only_on_growth_of_trouble_counters() {
        let c = Counters::default();
        let s0 = c.snapshot();
        Counters::bump(&c.received);
        assert_eq!(c.snapshot().level_since(&s0).0, Level::Ok);
        Counters::bump(&c.malformed);
        Counters::bump(&c.deadline_misses);
        Counters::bump(&c.deadline_misses);
        let (level, msg) = c.snapshot().level_since(&s0);
        assert_eq!(level, Level::Warn);
        assert!(msg.contains("1 new malformed inputs") && msg.contains("2 new deadline misses"), "{msg}");
        let s1 = c.snapshot();
        assert_eq!(c.snapshot().level_since(&s1).0, Level::Ok);
    }

    #[test]
    fn status_builder_fills_the_message() {
        let snap = CounterSnapshot { malformed: 3, deadline_misses: 1, fallbacks: 0, received: 10, rt_priority: 0 };
        let s =
            StatusBuilder::new("node: loop", "cpu").level(Level::Warn, "late").counters(&snap).kv_f("p99", 0.5).build();
        assert_eq!(s.level, 1);
        assert_eq!(s.name, "node: loop");
        let get = |k: &str| s.values.iter().find(|kv| kv.key == k).map(|kv| kv.value.clone());
        assert_eq!(get("malformed").as_deref(), Some("3"));
        assert_eq!(get("received").as_deref(), Some("10"));
        assert_eq!(get("p99").unwrap().parse::<f64>().unwrap(), 0.5);
    }

    #[test]
    fn tick_times_give_quantiles_within_one_bin() {
        let t = TickTimes::default();
        assert_eq!(t.quantile(0.99), std::time::Duration::ZERO);
        // 99 steps of 100 µs and one of 1.5 ms: p50 and p99 in the 100 µs bin, p100 the maximum.
        for _ in 0..99 {
            t.record(std::time::Duration::from_micros(100));
        }
        t.record(std::time::Duration::from_micros(1500));
        assert_eq!(t.count(), 100);
        let p99 = t.quantile(0.99);
        assert!(p99 > std::time::Duration::from_micros(100) && p99 <= std::time::Duration::from_micros(102), "{p99:?}");
        assert_eq!(t.quantile(1.0), std::time::Duration::from_micros(1500));
        assert_eq!(t.max(), std::time::Duration::from_micros(1500));
        // Beyond the range: the last bin, the exact maximum kept.
        t.record(std::time::Duration::from_secs(1));
        assert_eq!(t.quantile(1.0), std::time::Duration::from_secs(1));
    }
}
