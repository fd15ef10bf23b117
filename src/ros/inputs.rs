//! Checking input messages and accounting for the rejected ones, shared by every node:
//! [`InputError`] and the range checks; a per-topic count (published as
//! `malformed_<topic>`), the total in [`Counters::malformed`], the last reason
//! (`last_error`), and rate-limited logging.

use std::sync::atomic::Ordering;

use r2r::builtin_interfaces::msg::Time;

use super::diagnostics::{Counters, StatusBuilder};

/// Why an input message was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// A field has the wrong number of values.
    #[error("{field} has {len} values, expected {expected}")]
    Length {
        /// Field name.
        field: &'static str,
        /// Values given.
        len: usize,
        /// Values expected.
        expected: usize,
    },
    /// A joint name that is not one of the expected joint names.
    #[error("unknown joint name {0:?}")]
    UnknownJoint(String),
    /// A joint listed twice.
    #[error("joint {0:?} listed twice")]
    DuplicateJoint(String),
    /// A NaN or infinite value.
    #[error("{0} is not finite")]
    NonFinite(&'static str),
    /// A finite value outside any physical range.
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    /// An orientation quaternion whose norm is not 1 (or an IMU without orientation).
    #[error("orientation quaternion norm {0:.4} is not 1")]
    Quaternion(f64),
}

/// Seconds of a `builtin_interfaces/Time`.
pub fn stamp_s(t: &Time) -> f64 {
    t.sec as f64 + t.nanosec as f64 * 1e-9
}

/// Checks that every value of `field` is finite and within ±`max`.
pub fn check(field: &'static str, v: &[f64], max: f64) -> Result<(), InputError> {
    if v.iter().any(|x| !x.is_finite()) {
        return Err(InputError::NonFinite(field));
    }
    if v.iter().any(|x| x.abs() > max) {
        return Err(InputError::OutOfRange(field));
    }
    Ok(())
}

/// Logs `msg` to stderr as `[node] msg` for the first 10 events of a kind, then every 1000th
/// (`n` is the event's running count).
pub fn log_every(node: &str, n: u64, msg: impl FnOnce() -> String) {
    if n <= 10 || n.is_multiple_of(1000) {
        eprintln!("[{node}] {}", msg());
    }
}

/// Rejected-message counts of one node.
#[derive(Debug, Clone)]
pub struct InputErrors {
    node: &'static str,
    topics: &'static [&'static str],
    counts: Vec<u64>,
    last: String,
}

impl InputErrors {
    /// Counts for the input `topics` of `node`.
    pub fn new(node: &'static str, topics: &'static [&'static str]) -> Self {
        Self { node, topics, counts: vec![0; topics.len()], last: String::new() }
    }

    /// Records a message on `topic` rejected for `why`: bumps `counters.malformed` and the
    /// topic's count, remembers the reason and logs it (rate-limited).
    pub(crate) fn reject(&mut self, counters: &Counters, topic: &str, why: &dyn std::fmt::Display) {
        Counters::bump(&counters.malformed);
        if let Some(i) = self.topics.iter().position(|t| *t == topic) {
            self.counts[i] += 1;
        }
        let n = counters.malformed.load(Ordering::Relaxed);
        self.last = format!("{topic}: {why}");
        log_every(self.node, n, || format!("malformed {topic} #{n}: {why}"));
    }

    /// Rejected messages on `topic` [count] (0 for an unknown topic).
    pub fn count(&self, topic: &str) -> u64 {
        self.topics.iter().position(|t| *t == topic).map(|i| self.counts[i]).unwrap_or(0)
    }

    /// The last rejection, as `topic: reason` (empty if none).
    pub fn last(&self) -> &str {
        &self.last
    }

    /// Adds `malformed_<topic>` for every topic and `last_error` to a status.
    pub(crate) fn add_to(&self, mut b: StatusBuilder) -> StatusBuilder {
        for (t, n) in self.topics.iter().zip(&self.counts) {
            b = b.kv(format!("malformed_{t}"), n);
        }
        b.kv("last_error", &self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_counted_per_topic_and_in_total() {
        let c = Counters::default();
        let mut e = InputErrors::new("test_node", &["joint_states", "imu"]);
        e.reject(&c, "imu", &"NaN");
        e.reject(&c, "imu", &"NaN");
        e.reject(&c, "joint_states", &"11 joints");
        e.reject(&c, "other", &"?");
        assert_eq!((e.count("imu"), e.count("joint_states"), e.count("other")), (2, 1, 0));
        assert_eq!(c.snapshot().malformed, 4);
        assert_eq!(e.last(), "other: ?");
        let s = e.add_to(StatusBuilder::new("n", "h")).build();
        let get = |k: &str| s.values.iter().find(|kv| kv.key == k).map(|kv| kv.value.clone());
        assert_eq!(get("malformed_imu").as_deref(), Some("2"));
        assert_eq!(get("last_error").as_deref(), Some("other: ?"));
    }
}
