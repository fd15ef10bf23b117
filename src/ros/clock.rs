//! The node's ROS clock, with simulation-time support.
//!
//! With `use_sim_time = true` the clock follows the `/clock` topic (published by a simulator,
//! e.g. spikectl's MuJoCo bridge) and reads 0 until the first `/clock` message; otherwise it
//! is the system clock. Message stamps come from here. The real-time loop's *period* is always
//! measured on the monotonic wall clock ([`crate::ros::rt`]); under simulation time a
//! controller should rather step on each new simulated state it receives.

use std::sync::{Arc, Mutex};

use r2r::builtin_interfaces::msg::Time;

/// A handle to a node's ROS clock (cheap to clone, usable from any thread).
#[derive(Clone)]
pub struct NodeClock {
    clock: Arc<Mutex<r2r::Clock>>,
    sim_time: bool,
}

impl NodeClock {
    /// The clock of `node`, switched to simulation time when `use_sim_time` is true.
    pub fn new(node: &mut r2r::Node, use_sim_time: bool) -> Result<Self, r2r::Error> {
        if use_sim_time {
            node.get_time_source().enable_sim_time(node)?;
        }
        Ok(Self { clock: node.get_ros_clock(), sim_time: use_sim_time })
    }

    /// True when following `/clock`.
    pub(crate) fn is_sim_time(&self) -> bool {
        self.sim_time
    }

    /// Current ROS time [s] (0 before the first `/clock` message under simulation time, and
    /// on a clock error).
    pub(crate) fn now_s(&self) -> f64 {
        let mut c = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        c.get_now().map(|d| d.as_secs_f64()).unwrap_or(0.0)
    }

    /// Current ROS time as a message stamp.
    pub fn stamp(&self) -> Time {
        super::time_msg(self.now_s())
    }
}
