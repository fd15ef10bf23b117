//! # spikectl
//!
//! Neuromorphic model-predictive control for ROS 2 robots. A QP solver that runs PIPG as a
//! network of neurons exchanging graded spikes (Loihi 2-style fixed point, every operation
//! counted) drives convex MPC for a quadruped and a force-controlled arm, and is measured
//! against OSQP in closed loop in MuJoCo.
//!
//! Modules:
//! - [`qp`]: QPs in OSQP form, scaling, residuals, the [`qp::QpSolver`] trait and backends.
//! - [`neuro`]: the simulated neuromorphic substrate and its energy/latency model.
//! - [`mpc`]: quadruped and arm MPC that build QPs with a fixed sparsity pattern.
//! - [`control`]: kinematics, Jacobians and the mapping from MPC output to joint torques.
//! - [`tracking`]: event-camera codecs and the spiking ball tracker.
//! - [`monitor`]: latency/energy accounting, reports and plots.
//! - [`scenario`]: the closed-loop main job in the MuJoCo simulator (scenarios, metrics).
#![warn(missing_docs)]

pub mod control;
#[cfg(feature = "lab")]
pub mod lab;
pub mod model;
pub mod monitor;
pub mod mpc;
pub mod neuro;
pub mod qp;
pub mod scenario;
pub mod sparse;
pub mod tracking;

#[cfg(feature = "ros")]
pub mod ros;
