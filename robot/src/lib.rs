//! `spikectl-robot`: what spikectl knows about a robot, with no simulator and no ROS in it.
//!
//! - [`robots`]: the robot descriptions — geometry, inertia, joint names and limits, torque
//!   limits, tool, safe-stop damping — of the Go1-like quadruped ([`robots::GO1`]) and the
//!   Panda-like arm ([`robots::PANDA`]), and the arm's table scene. The MPC models, the
//!   controllers, the ROS nodes and the MuJoCo scenes (`spikectl-sim`) all read them.
//! - [`description`]: the same parameters from a YAML description file per robot (the
//!   defaults ship as `descriptions/go1.yaml` and `descriptions/panda.yaml`).
//! - [`urdf`]: the kinematic and inertial parameters from a URDF (`urdf-rs`), the rest from a
//!   YAML overlay or the defaults.
//! - [`state`]: the measured-state types the controllers take.
#![warn(missing_docs)]

pub mod description;
pub mod robots;
pub mod state;
pub mod urdf;
