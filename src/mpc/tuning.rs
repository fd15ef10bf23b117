//! Solver tunings of the MPCs: the settings the network solvers (`spiking`, `loihi2`) start
//! from on each robot's QPs. Each number was chosen from a measured sweep; the sweep tables
//! are in `docs/tuning.md`, and `examples/mpc_spiking_sweep.rs` / `examples/arm_slide_diag.rs`
//! re-run them.
//!
//! - Quadruped: the HPDHG method ([`NetMethod::Hpdhg`]) from ω₀ = [`QUADRUPED_HPDHG_OMEGA`],
//!   relaxation [`MPC_RHO`], no epoch averages, a readout every
//!   [`QUADRUPED_HPDHG_CHECK_EVERY`] iterations; with `method=pipg` constant ω =
//!   [`QUADRUPED_OMEGA`], ρ = [`MPC_RHO`], warm Ruiz scaling, a readout every
//!   [`QUADRUPED_CHECK_EVERY`] iterations; on `loihi2` [`QUADRUPED_PLANES`] weight planes.
//! - Arm: the HPDHG method ([`NetMethod::Hpdhg`]: cost-aware scaling, restarts, guarded
//!   primal weight from ω₀ = [`ARM_HPDHG_OMEGA`]), a readout every [`ARM_CHECK_EVERY`]
//!   iterations, 3 weight planes on `loihi2`.
//! - Both: fixed-point range headroom [`MPC_HEADROOM_BITS`].

use crate::qp::registry::{Backend, SolverSpec};
use crate::qp::spiking::{NetMethod, SpikingSettings};
use crate::qp::{PipgOptions, QpSolver};

/// Constant primal-dual weight ω on the quadruped MPC (best p99/max iterations of the
/// sweep 0.2–0.5 on the `spikectl bench mpc` sequence; with a readout every 5 iterations
/// 0.5 looked better over 5 s of trot but took more iterations over the full trot and
/// trot-turn runs; `docs/tuning.md`).
pub(crate) const QUADRUPED_OMEGA: f64 = 0.4;

/// Initial primal weight ω₀ of the HPDHG method on the quadruped MPC: on the `bench mpc`
/// sequence (200 solves, `loihi2`, readout every 10, no averages, relaxation 1.9) ω₀ = 2 / 3
/// / 5 took 64.0 / 57.1 / 60.6 iterations on average; with shifted duals in the warm start
/// ω₀ = 1 / 3 / 10 took 102 / 59 / 84 (`docs/tuning.md`).
pub(crate) const QUADRUPED_HPDHG_OMEGA: f64 = 3.0;

/// Iterations between termination checks (readouts, restart tests) of the quadruped's HPDHG
/// method: with the network on [`crate::monitor::energy::DEFAULT_CORES`] cores a readout
/// costs 4–5 iterations' chip time: every 5 took 57.6 iterations on average against 59.2
/// for every 10 (sweep with shifted duals) at 1.44× the chip latency, every 8 took 61.1
/// against the preset's 57.1 (`docs/tuning.md`).
pub const QUADRUPED_HPDHG_CHECK_EVERY: usize = 10;

/// Constant primal-dual weight ω of the PIPG method on the arm MPC (`method=pipg`; no
/// fallbacks for ω ≥ 1; force tracking on force-sine within 7–8 % of OSQP's at 2, 12 % at
/// 1; `docs/tuning.md`).
pub(crate) const ARM_OMEGA: f64 = 2.0;

/// Initial primal weight ω₀ of the HPDHG method on the arm MPC (sweep 1–4 on the
/// `bench mpc` arm sequence, `docs/tuning.md`).
pub(crate) const ARM_HPDHG_OMEGA: f64 = 3.0;

/// Relaxation ρ of the PIPG method on both MPCs: with the rolled-out warm start, 1.9 took
/// fewer iterations than the solver default 1.6 on both robots (`docs/tuning.md`).
pub(crate) const MPC_RHO: f64 = 1.9;

/// Ruiz passes continued from the previous scaling on each quadruped matrix update (same
/// iteration counts as a fresh 10-pass scaling for a third of the update time). The arm
/// keeps a fresh scaling: continuing it lengthened its tail (`docs/tuning.md`).
pub(crate) const QUADRUPED_WARM_RUIZ_PASSES: usize = 2;

/// Iterations between termination checks (readouts) on the quadruped: a check every 5
/// iterations stops a solve within 4 iterations of convergence; every 25 (the solver
/// default) wasted 12 on average, more than the readouts save (`docs/tuning.md`).
pub const QUADRUPED_CHECK_EVERY: usize = 5;

/// Iterations between termination checks (readouts) of the arm's HPDHG method (its restart
/// test runs at the checks too; `docs/tuning.md`).
pub const ARM_CHECK_EVERY: usize = 10;

/// Weight planes of `loihi2` on the quadruped MPC when the spec gives none: 2 planes take
/// the iterations of 3 on this QP with a third fewer synaptic operations (`docs/tuning.md`,
/// `docs/results.md`); one plane does not converge.
pub const QUADRUPED_PLANES: u32 = 2;

/// Fixed-point range headroom [bits] of both MPCs (solver default −2): with −2 the
/// quadruped's solves saturated and were re-run with a wider range (2.7 timesteps per
/// iteration counted instead of 2.03); iterations and accuracy unchanged at +2
/// (`docs/tuning.md`).
pub const MPC_HEADROOM_BITS: i32 = 2;

/// The network solver settings of the quadruped MPC: the HPDHG method from ω₀ =
/// [`QUADRUPED_HPDHG_OMEGA`] (guarded primal weight, restarts, each solve from ω₀), its
/// relaxation [`MPC_RHO`], no epoch-average registers (they doubled the energy per iteration
/// and saved no iterations here), a readout every [`QUADRUPED_HPDHG_CHECK_EVERY`]
/// iterations (`docs/tuning.md`, "Quadruped: the HPDHG method"). With `method=pipg`: constant
/// ω = [`QUADRUPED_OMEGA`], ρ = [`MPC_RHO`], warm Ruiz scaling, a readout every
/// [`QUADRUPED_CHECK_EVERY`] iterations — constant ω because the host-side adaptive ω stalls
/// on this MPC (20 fallbacks in 117 closed-loop solves with it, none without).
pub fn quadruped_spiking() -> SpikingSettings {
    let s = SpikingSettings::default().constant(QUADRUPED_OMEGA, MPC_RHO).with_method(NetMethod::Hpdhg);
    let pipg = PipgOptions { warm_ruiz_passes: Some(QUADRUPED_WARM_RUIZ_PASSES), ..s.pipg.clone() };
    let mut s = SpikingSettings { pipg, check_every: QUADRUPED_CHECK_EVERY, headroom_bits: MPC_HEADROOM_BITS, ..s };
    s.hpdhg.omega = QUADRUPED_HPDHG_OMEGA;
    s.hpdhg.check_every = QUADRUPED_HPDHG_CHECK_EVERY;
    s.hpdhg.relaxation = MPC_RHO;
    s.hpdhg.average = false;
    s
}

/// The network solver settings of the arm MPC: the HPDHG method from ω₀ =
/// [`ARM_HPDHG_OMEGA`], a readout every [`ARM_CHECK_EVERY`] iterations; with `method=pipg`
/// constant ω = [`ARM_OMEGA`], ρ = [`MPC_RHO`].
pub fn arm_spiking() -> SpikingSettings {
    let mut s = SpikingSettings::default().constant(ARM_OMEGA, MPC_RHO).with_method(NetMethod::Hpdhg);
    s.check_every = ARM_CHECK_EVERY;
    s.headroom_bits = MPC_HEADROOM_BITS;
    s.hpdhg.omega = ARM_HPDHG_OMEGA;
    s.hpdhg.check_every = ARM_CHECK_EVERY;
    s
}

/// The spec the quadruped MPC runs for `spec`: `loihi2` without a `planes` option gets
/// [`QUADRUPED_PLANES`].
pub fn quadruped_spec(spec: &SolverSpec) -> SolverSpec {
    let mut s = spec.clone();
    if s.backend == Backend::Loihi2 && s.planes.is_none() {
        s.planes = Some(QUADRUPED_PLANES);
    }
    s
}

/// The solver `spec` for the quadruped MPC: network backends start from
/// [`quadruped_spiking`], `loihi2` with [`quadruped_spec`]'s planes.
pub fn quadruped_solver(spec: &SolverSpec) -> Box<dyn QpSolver> {
    quadruped_spec(spec).build(&quadruped_spiking())
}

/// The solver `spec` for the arm MPC: network backends start from [`arm_spiking`].
pub fn arm_solver(spec: &SolverSpec) -> Box<dyn QpSolver> {
    spec.build(&arm_spiking())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuro::fixed::Arith;

    #[test]
    fn presets_carry_the_tuned_values_and_options_override_them() {
        let q = quadruped_spiking();
        assert_eq!((q.method, q.hpdhg.check_every, q.headroom_bits), (NetMethod::Hpdhg, 10, MPC_HEADROOM_BITS));
        assert_eq!((q.hpdhg.omega, q.hpdhg.relaxation, q.hpdhg.average), (QUADRUPED_HPDHG_OMEGA, MPC_RHO, false));
        // `method=pipg` on the quadruped: the PIPG preset (readout every 5).
        let p = "loihi2:method=pipg".parse::<SolverSpec>().unwrap().network_settings(&q);
        assert_eq!((p.method, p.check_every), (NetMethod::Pipg, QUADRUPED_CHECK_EVERY));
        let a = arm_spiking();
        assert_eq!((a.method, a.hpdhg.omega, a.hpdhg.check_every), (NetMethod::Hpdhg, ARM_HPDHG_OMEGA, 10));
        // loihi2 on the quadruped: 2 planes unless the spec says otherwise.
        let planes = |spec: &str| match quadruped_spec(&spec.parse().unwrap()).network_settings(&q).arith {
            Arith::Fixed(p) => p.weight_planes,
            Arith::Float => 0,
        };
        assert_eq!(planes("loihi2"), QUADRUPED_PLANES);
        assert_eq!(planes("loihi2:planes=3"), 3);
        assert_eq!(planes("spiking"), 0);
        // The arm's method can be switched back to PIPG by option.
        let p = "spiking:method=pipg".parse::<SolverSpec>().unwrap().network_settings(&a);
        assert_eq!(p.method, NetMethod::Pipg);
    }
}
