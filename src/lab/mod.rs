//! The lab: problem generators, benchmark runners and the MPC sequence simulators that the
//! `spikectl bench …` commands, the tests and the examples use. Not part of the control
//! path: nothing outside `lab` depends on it (feature `lab`, on by default; a robot build can
//! leave it out with `--no-default-features`).
//!
//! - [`generate`]: seeded QP families (OSQP's MPC class, random, box, equality, infeasible)
//!   and warm-start MPC sequences.
//! - [`qp_bench`]: the qpbenchmark-style runner behind `spikectl bench qp`.
//! - [`neuro_bench`]: network solver vs OSQP — operations, energy, latency, EDP
//!   (`spikectl bench neuro`).
//! - [`mpc_sim`]: the nonlinear SRB and point-mass-tool simulators and the MPC sequences of
//!   `spikectl bench mpc` and the MPC tests.

pub mod families;
pub mod generate;
pub mod mpc_sim;
pub mod neuro_bench;
pub mod qp_bench;
