//! spikectl-sim: headless MuJoCo scenes written for spikectl, stepping, sensors,
//! scenarios, and an event-camera simulator.
#![warn(missing_docs)]

pub mod events;
pub mod robots;
pub mod state;
