//! # spikectl
//!
//! Neuromorphic model-predictive control for ROS 2 robots. A QP solver that runs as a
//! network of neurons exchanging graded spikes (float, or Loihi 2 fixed point; every
//! operation counted) drives convex MPC for a quadruped and a force-controlled arm, and is
//! measured against OSQP in closed loop in MuJoCo.
//!
//! Layers, each using only the ones above it in this list:
//! - [`sparse`]: CSC matrices.
//! - [`neuro`]: the simulated neuromorphic substrate and its energy/latency model.
//! - [`qp`]: QPs in OSQP form, scaling, residuals, the [`qp::QpSolver`] trait, the backends
//!   (the network solver [`qp::spiking`] is a client of [`neuro`]) and the one solver
//!   registry [`qp::registry`].
//! - [`model`]: robot kinematic models (legs, arm) built from the robot descriptions
//!   (`spikectl_robot`).
//! - [`mpc`]: quadruped and arm MPC with a fixed sparsity pattern, and their solver tunings.
//! - [`control`]: the [`control::Controller`] interface and the two MPC controllers.
//! - [`tracking`] (event-camera codecs and the spiking tracker, a client of [`neuro`]),
//!   [`monitor`] (latency/energy accounting, reports, plots), `scenario` (feature `sim`,
//!   default: the closed-loop main job in MuJoCo).
//! - `ros` (feature `ros`): the ROS 2 nodes' library: one generic controller node, the robot
//!   interfaces, the simulator node.
//! - `lab` (feature `lab`, default): generators and benchmark runners for the CLI and tests.
//!
//! Feature `sim` (default) brings in the MuJoCo simulator (`spikectl-sim`); the robot
//! controller and monitor nodes build without it (`--no-default-features --features ros`).
#![warn(missing_docs)]

pub mod control;
#[cfg(feature = "lab")]
pub mod lab;
pub mod model;
pub mod monitor;
pub mod mpc;
pub mod neuro;
pub mod qp;
#[cfg(feature = "sim")]
pub mod scenario;
pub mod sparse;
pub mod tracking;

#[cfg(feature = "ros")]
pub mod ros;
