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
        }
    }
}

impl CounterSnapshot {
    /// [`Level::Warn`] if malformed inputs, deadline misses or fallbacks grew since `prev`,
    /// else [`Level::Ok`], with a message saying what grew.
    pub fn level_since(&self, prev: &CounterSnapshot) -> (Level, String) {
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
    pub fn kv_f(self, key: impl Into<String>, value: f64) -> Self {
        self.kv(key, format!("{value:.6e}"))
    }

    /// Appends the four counters.
    pub fn counters(self, c: &CounterSnapshot) -> Self {
        self.kv("malformed", c.malformed)
            .kv("deadline_misses", c.deadline_misses)
            .kv("fallbacks", c.fallbacks)
            .kv("received", c.received)
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
        let snap = CounterSnapshot { malformed: 3, deadline_misses: 1, fallbacks: 0, received: 10 };
        let s =
            StatusBuilder::new("node: loop", "cpu").level(Level::Warn, "late").counters(&snap).kv_f("p99", 0.5).build();
        assert_eq!(s.level, 1);
        assert_eq!(s.name, "node: loop");
        let get = |k: &str| s.values.iter().find(|kv| kv.key == k).map(|kv| kv.value.clone());
        assert_eq!(get("malformed").as_deref(), Some("3"));
        assert_eq!(get("received").as_deref(), Some("10"));
        assert_eq!(get("p99").unwrap().parse::<f64>().unwrap(), 0.5);
    }
}
