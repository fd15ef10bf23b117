//! Solver tunings of the MPCs: the settings the network solvers (`spiking`, `loihi2`) start
//! from on each robot's QPs. Each number was chosen from a measured sweep; the sweep tables
//! are in `docs/tuning.md`, and `examples/mpc_spiking_sweep.rs` / `examples/arm_slide_diag.rs`
//! re-run them.

use crate::qp::registry::SolverSpec;
use crate::qp::spiking::SpikingSettings;
use crate::qp::{PipgOptions, QpSolver};

/// Constant primal-dual weight ω on the quadruped MPC (best p99/max iterations of the
/// sweep 0.2–0.5 on the `spikectl bench mpc` sequence; `docs/tuning.md`).
pub(crate) const QUADRUPED_OMEGA: f64 = 0.4;

/// Constant primal-dual weight ω on the arm MPC (no fallbacks for ω ≥ 1; force tracking on
/// force-sine within 7–8 % of OSQP's at 2, 12 % at 1; `docs/tuning.md`).
pub(crate) const ARM_OMEGA: f64 = 2.0;

/// Relaxation ρ of both MPCs: with the rolled-out warm start, 1.9 took fewer iterations than
/// the solver default 1.6 on both robots (`docs/tuning.md`).
pub(crate) const MPC_RHO: f64 = 1.9;

/// Ruiz passes continued from the previous scaling on each quadruped matrix update (same
/// iteration counts as a fresh 10-pass scaling for a third of the update time). The arm
/// keeps a fresh scaling: continuing it lengthened its tail (`docs/tuning.md`).
pub(crate) const QUADRUPED_WARM_RUIZ_PASSES: usize = 2;

/// The network solver settings of the quadruped MPC: constant ω = [`QUADRUPED_OMEGA`],
/// ρ = [`MPC_RHO`], warm Ruiz scaling. Constant ω because the host-side adaptive ω stalls on
/// this MPC (20 fallbacks in 117 closed-loop solves with it, none without).
pub fn quadruped_spiking() -> SpikingSettings {
    let s = SpikingSettings::default().constant(QUADRUPED_OMEGA, MPC_RHO);
    let pipg = PipgOptions { warm_ruiz_passes: Some(QUADRUPED_WARM_RUIZ_PASSES), ..s.pipg.clone() };
    SpikingSettings { pipg, ..s }
}

/// The network solver settings of the arm MPC: constant ω = [`ARM_OMEGA`], ρ = [`MPC_RHO`].
pub fn arm_spiking() -> SpikingSettings {
    SpikingSettings::default().constant(ARM_OMEGA, MPC_RHO)
}

/// The solver `spec` for the quadruped MPC: network backends start from
/// [`quadruped_spiking`].
pub(crate) fn quadruped_solver(spec: &SolverSpec) -> Box<dyn QpSolver> {
    spec.build(&quadruped_spiking())
}

/// The solver `spec` for the arm MPC: network backends start from [`arm_spiking`].
pub fn arm_solver(spec: &SolverSpec) -> Box<dyn QpSolver> {
    spec.build(&arm_spiking())
}
