//! ROS 2 node glue through r2r (cargo feature `ros`).
//!
//! The pieces every spikectl node is built from:
//! - [`params`]: typed parameters with defaults and validation, read at start-up from
//!   `--ros-args -p name:=value` or a parameter file;
//! - [`param_server`]: the parameter services (`ros2 param list/get/set/describe`), with
//!   validation; a node accepts changes only to the parameters it can apply while running;
//! - [`clock`]: the node's ROS clock, following `/clock` when `use_sim_time` is true;
//! - [`diagnostics`]: shared counters (malformed inputs, deadline misses, fallbacks) and a
//!   `diagnostic_msgs/DiagnosticArray` publisher for `/diagnostics`;
//! - [`stats`]: `spikectl_msgs/SolveStats` (every priced count, chip estimate, CPU time
//!   split, source node) and `EnergyEstimate` from an MPC [`crate::mpc::SolveRecord`], and
//!   the validation of received ones (NaN, negative times, unknown status → malformed);
//! - [`rt`]: the fixed-period real-time loop on its own thread; ROS callbacks hand it the
//!   latest state through a `crossbeam-channel` ([`rt::latest`]) and it never blocks on ROS;
//! - [`shutdown`]: SIGINT/SIGTERM set a flag the node's loop checks, so the node stops its
//!   threads (real-time loop, MPC worker) and exits cleanly;
//! - [`monitor`]: the aggregation behind the `spikectl-monitor` node (per source node and
//!   solver: CPU and chip latency, energy, EDP vs the run's CPU baseline, two deadlines;
//!   published as diagnostics and `MonitorSummary`);
//! - [`recording`]: MCAP recording of topics with the ROS 2 message encoding (CDR + ros2msg);
//! - [`tracker`]: `event_camera_msgs/EventPacket` conversions and the messages of the
//!   `spikectl-tracker` node (track, pixel point, SolveStats, energy, diagnostics).
//!
//! The pattern of a controller node (see `src/bin/spikectl-monitor.rs` for a complete node):
//! the main thread owns the `r2r::Node`, spins it in short slices, [`drain`]s each
//! subscription without blocking, validates and converts the messages (counting malformed
//! ones in [`diagnostics::Counters`]) and hands the newest state to an [`rt::RtBridge`]; the
//! bridge's thread runs the controller at its own fixed period and sends commands and
//! statistics back; the main thread takes them with [`rt::RtBridge::outputs`] and publishes.
//! Nothing on the real-time thread touches ROS.
//!
//! ```ignore
//! let counters = Arc::new(Counters::default());
//! let bridge = RtBridge::spawn("quadruped", Duration::from_millis(2), counters.clone(), move |tick, state| {
//!     controller.step(tick.t_s, state)            // -> Option<(torques, SolveRecord)>
//! })?;
//! loop {
//!     node.spin_once(Duration::from_millis(1));
//!     for m in drain(&mut joint_states) {
//!         match to_state(&m) { Ok(s) => bridge.send_state(s), Err(_) => Counters::bump(&counters.malformed) }
//!     }
//!     for (tau, rec) in bridge.outputs() {
//!         effort_pub.publish(&to_msg(&tau))?;
//!         stats_pub.publish(&stats::solve_stats(&rec, 0.0, header(&clock)))?;
//!     }
//! }
//! ```

pub mod arm;
pub mod clock;
pub mod controller_node;
pub mod diagnostics;
pub mod inputs;
pub mod joints;
pub mod monitor;
pub mod param_server;
pub mod params;
pub mod quadruped;
pub mod recording;
pub mod rt;
pub mod shutdown;
#[cfg(feature = "sim")]
pub mod sim_node;
pub mod stats;
pub mod step;
pub mod tracker;

use futures::{FutureExt, Stream, StreamExt};

/// QoS of sensor subscriptions for a `sensor_qos` parameter: `reliable`, or best effort
/// (`sensor_data`, matches any publisher); the newest samples matter, so keep the last 5.
pub fn sensor_qos(name: &str) -> r2r::QosProfile {
    match name {
        "reliable" => r2r::QosProfile::default().keep_last(5),
        _ => r2r::QosProfile::sensor_data().keep_last(5),
    }
}

/// Errors of the ROS glue.
#[derive(Debug, thiserror::Error)]
pub enum RosError {
    /// A parameter was missing, of the wrong type or out of range.
    #[error(transparent)]
    Param(#[from] params::ParamError),
    /// An error from r2r / rcl.
    #[error("ROS: {0}")]
    Rcl(#[from] r2r::Error),
    /// The real-time thread could not be started.
    #[error("real-time thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Takes every message that is ready on an r2r subscription stream, without blocking.
///
/// r2r delivers messages into the stream while `Node::spin_once` runs; calling this after
/// each spin slice is the non-blocking "callback" of spikectl's nodes.
pub fn drain<T, S: Stream<Item = T> + Unpin>(stream: &mut S) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(Some(msg)) = stream.next().now_or_never() {
        out.push(msg);
    }
    out
}

/// A `builtin_interfaces/Time` from seconds (negative and non-finite values give 0).
pub(crate) fn time_msg(t_s: f64) -> r2r::builtin_interfaces::msg::Time {
    if !t_s.is_finite() || t_s <= 0.0 {
        return r2r::builtin_interfaces::msg::Time::default();
    }
    let sec = t_s.floor().min(i32::MAX as f64);
    let nanosec = ((t_s - sec) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    r2r::builtin_interfaces::msg::Time { sec: sec as i32, nanosec }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_msg_splits_seconds_and_rejects_bad_values() {
        let t = time_msg(12.25);
        assert_eq!((t.sec, t.nanosec), (12, 250_000_000));
        assert_eq!(time_msg(f64::NAN), Default::default());
        assert_eq!(time_msg(-3.0), Default::default());
        assert_eq!(time_msg(f64::INFINITY), Default::default());
    }
}
