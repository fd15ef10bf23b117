//! spikectl-sim: headless MuJoCo scenes written for spikectl, stepping, sensors,
//! scenarios, and an event-camera simulator.
//!
//! - [`mjcf`]: MJCF generated from the parameters in [`robots`].
//! - [`quadruped::QuadrupedSim`], [`arm::ArmSim`]: deterministic stepping, state read-out
//!   into [`state`] types, pushes, seeded sensor noise and dropout ([`noise`]).
#![warn(missing_docs)]

pub mod arm;
pub mod events;
pub mod mjcf;
pub mod noise;
pub mod quadruped;
pub use spikectl_robot::{robots, state};

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The generated model failed to load or lacks an expected element.
    #[error("model: {0}")]
    Model(String),
}
