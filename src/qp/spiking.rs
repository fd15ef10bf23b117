//! The spiking QP solver: PIPG (or the HPDHG method, see "HPDHG" below) run as a network of
//! neurons on the [`crate::neuro`] substrate.
//!
//! It runs on exactly the data of the float `pipg` backend ([`PipgData`]: Ruiz-scaled P̄, q̄,
//! the non-box rows H̄ of Ā with bounds [l̄_H, ū_H], single-entry rows turned into variable
//! bounds [lb, ub], and λ, σ from power iteration) and the same xPIPG recurrence
//! (`qp::pipg` module docs), iteration k:
//!
//! ```text
//! z   = clamp(ζ − α (P̄ζ + q̄ + H̄ᵀη), lb, ub)        solution neurons
//! ζ'  = (1 − ρ) ζ + ρ z
//! v   = (2/ρ)·H̄ζ' − (2/ρ − 1)·H̄ζ   ( = H̄(2z − ζ) )   constraint neurons
//! t   = η + β v
//! w   = t − clamp(t, β l̄_H, β ū_H)                 (projection for l ≤ Hx ≤ u)
//! η'  = (1 − ρ) η + ρ w
//! ```
//!
//! Network: `n` solution neurons (output ζ; registers z) and `m_H` constraint neurons
//! (output η; registers w and a latched copy of their previous input H̄ζ). Synapses: P̄
//! (full symmetric, solution → solution), H̄ (solution → constraint), H̄ᵀ (constraint →
//! solution). Each neuron sends its output by sigma-delta graded spikes (θ schedule;
//! remainders carried), so each dendrite holds the running sums P̄ζ, H̄ζ, H̄ᵀη of what has
//! been sent. One iteration takes two timesteps (solution update, then constraint update),
//! plus one priming timestep that sends the initial values and one in which the constraint
//! neurons latch H̄ζ₀. In float mode with θ = 0 and adaptive ω off this reproduces the
//! iterates of `pipg` in plain mode to rounding (tested).
//!
//! Step sizes: constant α, β = `pipg::step_sizes(λ, σ, ω)`, optionally with host-side
//! adaptive ω (pipg's residual-balancing rule, applied at readouts; the new constants are
//! written to every neuron and counted as host transfers), or lava-optimization's
//! power-of-two schedules (α halves at iterations 50, 100, 200, 350, 550, 800, 1100, 1450,
//! 1850, 2300; β doubles at 1, 3, 7, 15, …) from α₀ = 2/(μ + 2λ), β₀ = μ/(2σ).
//!
//! Termination: every `check_every` iterations the host reads the z and w registers
//! (counted as readouts) and applies the QP core's test (`qp::residuals`: primal, dual
//! residual and duality gap, as `pipg`) on the original problem, computed in the scaled space
//! by `PipgData::check_primal` / `check_rest` (the dual part is skipped while the primal test
//! fails and ω is constant); the last readout is mapped to (x, y) by `PipgData::output`.
//!
//! Fixed point (e.g. [`FixedProfile::LOIHI2`]): the grids come from the problem data: range
//! R = max(1, ‖ζ₀‖∞, ‖η₀‖∞, finite ‖l̄_H, ū_H, lb, ub‖∞, ‖q̄‖∞)·2^headroom for ζ and η, and R
//! times the largest row 2-norm for each dendritic sum. A saturation stops the attempt at
//! the next readout (the host reads the saturation counter with the values) and the solve
//! restarts with 2 more bits of range, up to [`MAX_RANGE_RETRIES`] times, every attempt's
//! operations and iterations counted (`Solution::iterations`), all attempts within the one
//! `max_iter` budget; if it persists the solve returns [`Status::NumericalError`] with the
//! last finite readout (or the warm start, or zeros) as x. The solver never returns NaN.
//!
//! # HPDHG ([`NetMethod::Hpdhg`])
//!
//! The same network runs the `hpdhg` backend's method (mode Relaxed, [`super::hpdhg`]):
//! its per-iteration dataflow is the recurrence above with α = τ, β = σ, ρ = 1.6. What
//! differs is host-side and is taken from `hpdhg.rs`:
//! - **data**: the cost-aware preconditioner (`hpdhg::cost_aware_scaling`, or KKT Ruiz)
//!   and the whitening of the coupled cost block (`hpdhg::precondition`: the network's
//!   solution neurons hold z, with z_S = Cᵀx̄_S on the coupled variables; the synapses carry
//!   the whitened P̃ and H̃, dense on those columns; the readout maps back, x̄_S = L z_S, on
//!   the host), the PIPG box-row split (explicit zeros in A dropped first, as `hpdhg` counts non-zero
//!   values), the separable cost part δ (`hpdhg::cost_split`), λ = κ‖P̄ − diag(δ)‖,
//!   σ_H = κ‖H̄‖² (200 power iterations, κ = 1.05), ω₀ = 10; each solution neuron j has its
//!   own step α_j = τ/(1 + τδ_j) (a per-neuron constant, rewritten with τ);
//! - **accumulators**: each solution and constraint neuron keeps the running sum of its z
//!   (w) register over the epoch (n + m_H more neuron updates per iteration, counted; fixed
//!   point: a sum register [`SUM_EXTRA_BITS`] coarser than the state plus its carried
//!   remainder, read together);
//! - **checks** every `hpdhg.check_every` = 25 iterations (counted readouts): the outputs
//!   (ζ, η) before the checked iteration (n + m_H), the registers T(z) = (z, w) after it
//!   (n + m_H), and the epoch averages (n + m_H, twice in fixed point); termination on T(z)
//!   or the average (residuals and gap on the original problem, `residuals::compute`),
//!   infeasibility certificates, the restart test on ‖T(z) − z‖ and the guarded
//!   primal-weight update, all as `HpdhgSolver`;
//! - **restarts**: the host writes the new state (T(z) or the average) into the outputs
//!   and clears the accumulators (n + m_H writes), the network sends it (one priming
//!   timestep, sigma-delta deltas) and latches H̄ζ (one timestep); a new ω writes τ, σ (and
//!   σl̄, σū) into the neurons as gains (n + m_H writes), the synaptic weights stay;
//! - **box-only problems** (m_H = 0): FISTA, the solution neurons output
//!   ζ ← z + b_j(z − z_prev) with the momentum schedule b_j since the last restart (a fixed
//!   sequence, like lava's step schedules); the gradient restart test reads z before the
//!   checked iteration too (n more readouts); a momentum restart writes ζ = z (n writes).
//!
//! In float with θ = 0 this reproduces `HpdhgSolver`'s status, iteration count and (x, y)
//! to rounding (tested). Fixed point keeps one range per population (solution neurons with
//! the sums P̄ζ, H̄ζ they feed; constraint neurons with H̄ᵀη); a retry after a saturation
//! widens by 1 bit the range of the population whose step saturated (both when unknown), up
//! to 2·[`MAX_RANGE_RETRIES`] retries.
//!
//! # Regrid ([`SpikingSettings::regrid`], HPDHG method, fixed point)
//!
//! The grids chosen from the problem data at the start must hold the whole transient (a
//! cold start's dual overshoots |η*| several times), so near the optimum the state's last
//! bit, mapped back through the scaling, can exceed the tolerance: on the sparse quadruped
//! MPC a swing foot's tangential force sat one state step (2.4e-3 N) off zero, on the lava
//! ANYmal QP the residuals stalled near 1e-2. With regrid, each restart (where the host
//! writes the whole state anyway) re-poses the network around the restart point (x̂, ŷ):
//! - the solution neurons hold the deviation ζ − x̂ (written as 0), with the constants
//!   q̄ + P̄x̂ + H̄ᵀŷ_S, lb − x̂, ub − x̂ and the row bounds σ(l̄ − H̄x̂), σ(ū − H̄x̂): the same
//!   recurrence, shifted (PDHG is affine in its iterates);
//! - the constraint neurons hold η − ŷ_S on the rows S whose ŷ_i is shifted: the dual step
//!   w − ŷ_i = max(t − b_u, f_u) + min(t − b_l, f_l), the bound on ŷ_i's side moved by ŷ_i
//!   and the floor −ŷ_i on the other side (f = 0, b unchanged: the plain projection). A row
//!   is shifted when its constant σ(bound − H̄x̂) fits in half the dual range; the others keep
//!   their whole η_i;
//! - the grids are fitted to what the next epoch needs: each population's movement over the
//!   last epoch, the pre-rounding values of its update at the point (a variable whose step
//!   goes beyond its bound only needs that bound: such a step ends on the bound and is not a
//!   saturation), and for each sum its value at the point plus its matrix's row gain times
//!   the movement, times 2^fit (fit = 1 bit per population at first), at most
//!   [`REGRID_MAX_GAIN`] bits finer than the data grids;
//! - the sums are cleared and every output sent again (a priming timestep, counted), H̄ζ
//!   latched; the host writes n + m_H outputs and 3n + 2m_H constants (counted as host
//!   transfers in `readouts`) and computes P̄x̂, H̄x̂, H̄ᵀŷ in float64. The readouts are
//!   mapped back by adding (x̂, ŷ) on the host;
//! - with regrid the host polls the saturation counter every iteration (one value, a counted
//!   readout), so a saturated epoch ends at once; a saturation after a regrid returns to the
//!   restart point with one more fit bit for the population that saturated ([`MAX_REGRID_REVERTS`] times at most per attempt; the
//!   iterations since the point are counted). FISTA's momentum restarts (box-only problems)
//!   regrid the solution neurons the same way.
//!
//! The resolution then follows the convergence: the 24-bit state resolves the distance to the
//! optimum, not the whole data range (measured: the robotics families 60/72 → 72/72 solved,
//! the lava ANYmal QP solved in 703 iterations; `docs/results.md`). Float runs never regrid
//! (the float network still reproduces `HpdhgSolver`); the MPC presets leave it off, the cold
//! preset (`qp::registry::cold_preset`) turns it on.

use std::time::Instant;

use super::hpdhg::{self, HpdhgOptions, Mode as HpdhgMode, OmegaRule as HpdhgOmegaRule};
use super::pipg::{CheckScratch, PipgData, PipgOptions, ata_norm_est, step_sizes as pipg_steps};
use super::residuals::{self, finish_solution};
use super::{CscMatrix, INFTY, Problem, QpError, QpSolver, Settings, Solution, Status};
use crate::neuro::fixed::{Arith, FixedProfile, Grid, grid_exponent, quantize};
use crate::neuro::{Inputs, Network, NeuronModel, OpCounts, ThetaSchedule};

/// Step-size rule of the spiking solver.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StepRule {
    /// Constant α, β = `pipg::step_sizes(λ, σ, ω)` for the primal-dual weight ω (the
    /// starting ω when [`SpikingSettings::adaptive_omega`] is on).
    Constant {
        /// Primal-dual weight ω > 0.
        omega: f64,
    },
    /// lava-optimization's power-of-two schedules from α₀ = 2/(μ + 2λ), β₀ = μ/(2σ)
    /// (μ estimated as the smallest eigenvalue of P̄, floored at `mu_min`).
    LavaPow2 {
        /// Lower bound on the estimate of μ.
        mu_min: f64,
    },
}

/// Fixed point: how many times a solve that saturated is retried with 2 more bits of range
/// (the attempt stops at the first readout that sees the saturation counter move).
pub const MAX_RANGE_RETRIES: usize = 4;

/// Host-side adaptive-ω rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OmegaRule {
    /// `pipg`'s rule: at a readout where a residual exceeds its tolerance,
    /// ω' = clamp(ω·√(p̂/d̂), 0.1, 1e4) with p̂, d̂ the residuals (floored at their
    /// tolerances) over their scales, taken when it differs by more than `omega_tolerance`;
    /// the wait before the next change doubles. Reaches high accuracy on MPC QPs.
    Pipg,
    /// Bounded balancing: with r̂_p, r̂_d the residuals over their tolerances (floored at 1)
    /// and ratio = √(r̂_p/r̂_d), when the ratio is outside [1/3, 3] ω is multiplied by it
    /// clamped to [½, 2], within [ω₀/64, 64ω₀] ([`OMEGA_SPAN`]). Faster to low accuracy
    /// (1e-3) on the benchmark families; used by `spikectl bench neuro`.
    Bounded,
}

/// Which method the network runs (same neurons and synapses; the data preparation and the
/// host decisions differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetMethod {
    /// xPIPG on Ruiz-scaled data with the step rules of [`SpikingSettings`] (module docs).
    #[default]
    Pipg,
    /// The recurrence and host decisions of the `hpdhg` backend ([`super::hpdhg`], mode
    /// Relaxed): cost-aware scaling, relaxation, epoch averages in accumulator registers,
    /// restarts with state writes and guarded primal-weight updates at readouts, FISTA on
    /// box-only problems. Options from [`SpikingSettings::hpdhg`] (module docs, "HPDHG").
    Hpdhg,
}

/// HPDHG method, fixed point: the accumulator registers holding the epoch sums of z and w
/// have this many more bits of range than the state (a 2^12-iteration epoch of full-range
/// values); their rounding remainder is carried like the state's.
pub const SUM_EXTRA_BITS: i32 = 12;

/// HPDHG method with [`SpikingSettings::regrid`]: saturations answered by a return to the
/// last restart point with a wider range, at most this many times per attempt.
pub const MAX_REGRID_REVERTS: usize = 8;

/// HPDHG method with [`SpikingSettings::regrid`]: a regrid's grids are at most this many bits
/// finer than the grids the attempt started on (from the problem data).
pub const REGRID_MAX_GAIN: i32 = 16;

/// Adaptive ω stays within [ω₀/OMEGA_SPAN, ω₀·OMEGA_SPAN].
pub const OMEGA_SPAN: f64 = 64.0;

/// lava's iterations at which α halves.
pub const LAVA_ALPHA_HALVINGS: [usize; 10] = [50, 100, 200, 350, 550, 800, 1100, 1450, 1850, 2300];

/// Cost column ratio θ of the HPDHG method in [`SpikingSettings::default`] (the settings the
/// MPC presets start from): 0.1, the `hpdhg` backend's previous default. The backend's θ = 0
/// (every variable with a cost scaled by its cost column; it solves the sparse quadruped
/// family) costs fixed-point precision on warm-started MPC sequences: the arm's Loihi 2
/// closed loop (`tests/closed_loop.rs`, 20 N hold) had 44 fallbacks in 710 solves with
/// θ = 0, 1e-6, 1e-5 or 1e-3, none with 0.1.
pub const MPC_COST_COLUMN_RATIO: f64 = 0.1;

/// Settings specific to the spiking solver.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpikingSettings {
    /// Float or fixed-point arithmetic.
    pub arith: Arith,
    /// Sigma-delta threshold schedule, in units of the scaled problem's ζ and η.
    pub theta: ThetaSchedule,
    /// Step-size rule.
    pub steps: StepRule,
    /// Relaxation ρ ∈ (0, 2) (as `pipg`'s `relaxation`).
    pub rho: f64,
    /// Iterations between host readouts (termination checks).
    pub check_every: usize,
    /// Fixed point: range headroom in bits above the problem-data estimate of |ζ|, |η|.
    pub headroom_bits: i32,
    /// Host-side adaptive ω (constant-step rule only), by [`SpikingSettings::omega_rule`];
    /// the new α, β are written to every neuron (counted as n + m_H host transfers in
    /// `readouts`).
    pub adaptive_omega: bool,
    /// Which adaptive-ω rule.
    pub omega_rule: OmegaRule,
    /// [`OmegaRule::Pipg`]: minimal factor between ω and a candidate before ω changes.
    pub omega_tolerance: f64,
    /// Termination also requires the duality gap within tolerance (as `pipg`); when false,
    /// primal and dual residuals only (OSQP's classic test).
    pub check_gap: bool,
    /// Options of the shared data preparation (box-row split, norm safety, power iterations);
    /// `relaxation`, `omega` and the mode flags are taken from the fields above.
    pub pipg: PipgOptions,
    /// Which method runs. Default [`NetMethod::Pipg`] (also when absent from serialized settings).
    #[serde(default)]
    pub method: NetMethod,
    /// Options of [`NetMethod::Hpdhg`] (ignored by PIPG); with it, `steps`, `rho`,
    /// `check_every`, `adaptive_omega`, `omega_rule` and `check_gap` are not used (the
    /// `hpdhg` backend's own fields are). Mode must be `Relaxed`. Default: the backend's
    /// defaults except the cost column ratio θ = [`MPC_COST_COLUMN_RATIO`] (the cold preset
    /// `qp::registry::cold_preset` takes the backend's θ = 0).
    #[serde(default)]
    pub hpdhg: HpdhgOptions,
    /// [`NetMethod::Hpdhg`] on a sequence of warm-started solves: start each solve from the
    /// primal weight ω the previous solve of this solver ended with, instead of
    /// `hpdhg.omega` (which stays the first solve's). Default false.
    #[serde(default)]
    pub hpdhg_carry_omega: bool,
    /// [`NetMethod::Hpdhg`] with a warm start of both x and y: before loading it, the host
    /// computes the normalised KKT error max(r_prim/ε_prim, r_dual/ε_dual, gap/ε_gap) of the
    /// original problem at (x_ws, y_ws) and at (x_ws, 0), and starts from y = 0 when that is
    /// the lower one (host work, in the solve time: two residual evaluations). Default
    /// false. On the `bench mpc` arm sequence it shortens the solve after the contact
    /// transient (multipliers ~10³ carried into a problem whose multipliers are ~10: 910 → 250
    /// iterations, 5th-largest of 400 solves 450 → 250), but in the arm's closed loops it
    /// raised the mean iterations per solve by 10–26 % (force-ramp / force-sine / slide
    /// `loihi2`: 30.7 / 44.3 / 36.8 → 36.2 / 55.9 / 40.7): the KKT error of a warm start is
    /// a poor predictor of the iterations it saves (`docs/tuning.md`).
    #[serde(default)]
    pub hpdhg_warm_dual_guard: bool,
    /// [`NetMethod::Hpdhg`] in fixed point: at every restart the host fits the grids to the
    /// restart point instead of keeping the ones chosen from the problem data at the start
    /// (module docs, "Regrid"). Default false (the MPC presets); on in the cold preset
    /// (`qp::registry::cold_preset`).
    #[serde(default)]
    pub regrid: bool,
}

impl Default for SpikingSettings {
    fn default() -> Self {
        let pipg = PipgOptions::default();
        Self {
            arith: Arith::Float,
            theta: ThetaSchedule::ZERO,
            steps: StepRule::Constant { omega: pipg.omega },
            rho: pipg.relaxation,
            check_every: pipg.check_every,
            headroom_bits: -2,
            adaptive_omega: true,
            omega_rule: OmegaRule::Pipg,
            omega_tolerance: pipg.omega_tolerance,
            check_gap: true,
            pipg,
            method: NetMethod::Pipg,
            hpdhg: HpdhgOptions { cost_column_ratio: MPC_COST_COLUMN_RATIO, ..HpdhgOptions::default() },
            hpdhg_carry_omega: false,
            hpdhg_warm_dual_guard: false,
            regrid: false,
        }
    }
}

impl SpikingSettings {
    /// Fixed point with the Loihi 2 profile, `planes` weight planes and the dendritic and
    /// neuron-update rounding remainders carried (see [`crate::neuro::fixed`]).
    pub fn loihi2(planes: u32) -> Self {
        let prof = FixedProfile { carry_shift_remainder: true, ..FixedProfile::loihi2_planes(planes) };
        Self { arith: Arith::Fixed(prof), ..Self::default() }
    }

    /// These settings running `method`.
    pub fn with_method(self, method: NetMethod) -> Self {
        Self { method, ..self }
    }

    /// These settings with a constant primal-dual weight `omega` and relaxation `rho` (no
    /// host-side adaptation): the form the MPCs use (`crate::mpc::tuning`).
    pub fn constant(self, omega: f64, rho: f64) -> Self {
        Self { adaptive_omega: false, steps: StepRule::Constant { omega }, rho, ..self }
    }

    /// Float mode reproducing `pipg` with `PipgOptions::plain()`: constant ω, no adaptation.
    pub fn float_plain() -> Self {
        let p = PipgOptions::plain();
        Self {
            adaptive_omega: false,
            steps: StepRule::Constant { omega: p.omega },
            rho: p.relaxation,
            ..Self::default()
        }
    }
}

/// Solution neurons: z = clamp(ζ − α(P̄ζ + q̄ + H̄ᵀη), lb, ub); output ζ ← (1−ρ)ζ + ρz.
struct SolutionNeurons {
    /// Register z of the last update.
    z: Vec<f64>,
    /// Error-feedback register: the part of the last update below the state LSB.
    frac: Vec<f64>,
    carry: bool,
    q: Vec<f64>,
    lb: Vec<f64>,
    ub: Vec<f64>,
    alpha: f64,
    /// Per-neuron steps α_j = α/(1 + αδ_j) (HPDHG method with its proximal diagonal δ,
    /// `hpdhg::primal_step`); empty: every neuron takes α.
    alphas: Vec<f64>,
    /// The proximal diagonal δ the per-neuron steps come from (empty: none).
    delta: Vec<f64>,
    rho: f64,
    e_x: i32,
    /// FISTA output (HPDHG method, box-only problems): ζ ← z + b(z − z_prev) with the
    /// momentum b of the iteration, instead of the relaxation.
    fista: Option<f64>,
    /// Accumulator registers (HPDHG method): running sum of z over the epoch.
    acc: Accumulator,
    /// Fixed point: a step saturating towards a bound inside the range is the bound
    /// ([`solution_update_clamped`]); set by a regrid.
    clamp_ok: bool,
}

/// Accumulator registers of one population: a running sum of a register, on a grid
/// [`SUM_EXTRA_BITS`] coarser than the state in fixed point (remainder carried).
#[derive(Default)]
struct Accumulator {
    on: bool,
    sum: Vec<f64>,
    frac: Vec<f64>,
    e: i32,
}

impl Accumulator {
    fn reset(&mut self, len: usize, on: bool, e: i32) {
        self.on = on;
        self.e = e;
        self.sum.clear();
        self.sum.resize(if on { len } else { 0 }, 0.0);
        self.frac.clear();
        self.frac.resize(if on { len } else { 0 }, 0.0);
    }

    /// The exact running sums: the sum register plus its carried remainder (a multiple of
    /// the state LSB below 2^(SUM_EXTRA_BITS − 1) LSBs: the pair is a wide accumulator).
    fn total(&self) -> impl Iterator<Item = f64> + '_ {
        self.sum.iter().zip(&self.frac).map(|(s, f)| s + f)
    }

    fn clear(&mut self) {
        self.sum.iter_mut().chain(self.frac.iter_mut()).for_each(|v| *v = 0.0);
    }

    fn add(&mut self, v: &[f64], arith: &Arith, ov: &mut u64) {
        if !self.on {
            return;
        }
        match arith {
            Arith::Float => self.sum.iter_mut().zip(v).for_each(|(s, x)| *s += x),
            Arith::Fixed(_) => {
                for ((s, f), x) in self.sum.iter_mut().zip(self.frac.iter_mut()).zip(v) {
                    let exact = *s + x + *f;
                    *s = arith.state(exact, self.e, ov);
                    *f = exact - *s;
                }
            }
        }
    }
}

impl NeuronModel for SolutionNeurons {
    fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, ov: &mut u64) {
        let (pz, hte) = (inputs.get(0), inputs.get(1));
        let (a, r, e) = (self.alpha, self.rho, self.e_x);
        let per = !self.alphas.is_empty();
        if let Some(b) = self.fista {
            for j in 0..out.len() {
                let a = if per { self.alphas[j] } else { a };
                let exact = out[j] - a * (pz[j] + self.q[j] + hte[j]) + self.frac[j];
                let mut sat = 0u64;
                let zq = arith.state(exact, e, &mut sat);
                // With `clamp_ok`, a step that saturates towards a bound inside the range ends
                // on that bound exactly: not an error, and no remainder to carry.
                let pinned = sat > 0 && self.clamp_ok && clamp_inside(exact, zq, self.lb[j], self.ub[j]);
                if !pinned {
                    *ov += sat;
                }
                if self.carry {
                    self.frac[j] = if pinned { 0.0 } else { exact - zq };
                }
                let z = zq.max(self.lb[j]).min(self.ub[j]);
                out[j] = arith.state(z + b * (z - self.z[j]), e, ov);
                self.z[j] = z;
            }
            self.acc.add(&self.z, arith, ov);
            return;
        }
        match arith {
            Arith::Float if per => {
                solution_update_float_per(out, &mut self.z, pz, hte, &self.q, &self.lb, &self.ub, &self.alphas, r)
            }
            Arith::Float => solution_update_float(out, &mut self.z, pz, hte, &self.q, &self.lb, &self.ub, a, r),
            Arith::Fixed(p) => {
                let (g, c) = (Grid::state(e, p), self.carry);
                let (z, frac) = (&mut self.z, &mut self.frac);
                let alphas = per.then_some(self.alphas.as_slice());
                let dd = [pz, hte, &self.q, &self.lb, &self.ub];
                *ov += if self.clamp_ok {
                    solution_update_clamped(&g, c, out, z, frac, dd, alphas, a, r)
                } else {
                    solution_update_fixed(&g, c, out, z, frac, dd, alphas, a, r)
                };
            }
        }
        self.acc.add(&self.z, arith, ov);
    }
}

/// Float solution-neuron update (see [`SolutionNeurons`]), compiled for the widest vector
/// unit found at run time (the arithmetic is the same on every target: no fused
/// multiply-add is formed).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
#[allow(clippy::too_many_arguments)]
fn solution_update_float(
    out: &mut [f64],
    z_reg: &mut [f64],
    pz: &[f64],
    hte: &[f64],
    q: &[f64],
    lb: &[f64],
    ub: &[f64],
    alpha: f64,
    rho: f64,
) {
    let it = out.iter_mut().zip(z_reg.iter_mut()).zip(pz.iter().zip(hte)).zip(q);
    for ((((o, zr), (&p, &h)), &q), (&lo, &hi)) in it.zip(lb.iter().zip(ub)) {
        let z = (*o - alpha * (p + q + h)).max(lo).min(hi);
        *zr = z;
        *o = (1.0 - rho) * *o + rho * z;
    }
}

/// [`solution_update_float`] with a step per neuron (`alphas`).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
#[allow(clippy::too_many_arguments)]
fn solution_update_float_per(
    out: &mut [f64],
    z_reg: &mut [f64],
    pz: &[f64],
    hte: &[f64],
    q: &[f64],
    lb: &[f64],
    ub: &[f64],
    alphas: &[f64],
    rho: f64,
) {
    let it = out.iter_mut().zip(z_reg.iter_mut()).zip(pz.iter().zip(hte)).zip(q.iter().zip(alphas));
    for ((((o, zr), (&p, &h)), (&q, &alpha)), (&lo, &hi)) in it.zip(lb.iter().zip(ub)) {
        let z = (*o - alpha * (p + q + h)).max(lo).min(hi);
        *zr = z;
        *o = (1.0 - rho) * *o + rho * z;
    }
}

/// Float constraint-neuron update (see [`ConstraintNeurons`]); `c` = [β, c₁, c₂, ρ].
/// Multiversioned as [`solution_update_float`].
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn constraint_update_float(
    out: &mut [f64],
    hz: &[f64],
    a_old: &mut [f64],
    w_reg: &mut [f64],
    bl: &[f64],
    bu: &[f64],
    c: [f64; 4],
) {
    let [b, c1, c2, r] = c;
    let it = out.iter_mut().zip(hz).zip(a_old.iter_mut()).zip(w_reg.iter_mut());
    for ((((o, &h), ao), wr), (&lo, &hi)) in it.zip(bl.iter().zip(bu)) {
        let t = *o + b * (c2 * h - c1 * *ao);
        *ao = h;
        let w = t - t.max(lo).min(hi);
        *wr = w;
        *o = (1.0 - r) * *o + r * w;
    }
}

/// Fixed-point solution-neuron update (see [`SolutionNeurons`]) on the state grid `g`:
/// `d` = [P̄ζ, H̄ᵀη, q, lb, ub]; the primal step is `alphas[j]` per variable when given, else
/// `alpha`; with `carry` the part of the step below the LSB is kept in `frac`. Returns the
/// saturations. Each value is quantized as `Arith::state` quantizes it (bit-identical), in a
/// loop without branches, multiversioned as [`solution_update_float`].
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
#[allow(clippy::too_many_arguments)]
fn solution_update_fixed(
    g: &Grid,
    carry: bool,
    out: &mut [f64],
    z_reg: &mut [f64],
    frac: &mut [f64],
    d: [&[f64]; 5],
    alphas: Option<&[f64]>,
    alpha: f64,
    rho: f64,
) -> u64 {
    match (g.nearest(), alphas) {
        (true, None) => solution_fixed_kernel::<true>(g, carry, out, z_reg, frac, d, |_| alpha, rho),
        (false, None) => solution_fixed_kernel::<false>(g, carry, out, z_reg, frac, d, |_| alpha, rho),
        (true, Some(v)) => solution_fixed_kernel::<true>(g, carry, out, z_reg, frac, d, |j| v[j], rho),
        (false, Some(v)) => solution_fixed_kernel::<false>(g, carry, out, z_reg, frac, d, |j| v[j], rho),
    }
}

/// True when `exact`, saturated to `zq`, lies beyond a bound that is inside the range on
/// its side, so that the clamp gives that bound whatever the saturation.
#[inline(always)]
fn clamp_inside(exact: f64, zq: f64, lb: f64, ub: f64) -> bool {
    (exact > zq && ub <= zq) || (exact < zq && lb >= zq)
}

/// [`solution_update_fixed`] where a primal step that saturates towards a variable bound
/// inside the range is not counted and carries no remainder ([`clamp_inside`]: the clamp
/// ends it on the bound exactly). Used around a regrid's shift, where a variable held at its
/// bound by a large reduced cost steps far beyond the range of the free ones.
#[allow(clippy::too_many_arguments)]
fn solution_update_clamped(
    g: &Grid,
    carry: bool,
    out: &mut [f64],
    z_reg: &mut [f64],
    frac: &mut [f64],
    d: [&[f64]; 5],
    alphas: Option<&[f64]>,
    alpha: f64,
    rho: f64,
) -> u64 {
    let [pz, hte, q, lb, ub] = d;
    let mut ov = 0u64;
    for j in 0..out.len() {
        let a = alphas.map_or(alpha, |v| v[j]);
        let exact = out[j] - a * (pz[j] + q[j] + hte[j]) + frac[j];
        let mut sat = 0u64;
        let zq = g.quantize(exact, &mut sat);
        let pinned = sat > 0 && clamp_inside(exact, zq, lb[j], ub[j]);
        if carry {
            frac[j] = if pinned { 0.0 } else { exact - zq };
        }
        let z = zq.max(lb[j]).min(ub[j]);
        z_reg[j] = z;
        let o = if rho == 1.0 { z } else { g.quantize((1.0 - rho) * out[j] + rho * z, &mut sat) };
        out[j] = o;
        ov += if pinned { sat - 1 } else { sat };
    }
    ov
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn solution_fixed_kernel<const NEAREST: bool>(
    g: &Grid,
    carry: bool,
    out: &mut [f64],
    z_reg: &mut [f64],
    frac: &mut [f64],
    d: [&[f64]; 5],
    alpha: impl Fn(usize) -> f64,
    rho: f64,
) -> u64 {
    let n = out.len();
    let (z_reg, frac) = (&mut z_reg[..n], &mut frac[..n]);
    let [pz, hte, q, lb, ub] = d.map(|v| &v[..n]);
    let mut ov = 0u64;
    for j in 0..n {
        let exact = out[j] - alpha(j) * (pz[j] + q[j] + hte[j]) + frac[j];
        let (zq, s1) = g.quantize_lane::<NEAREST>(exact);
        if carry {
            frac[j] = exact - zq;
        }
        let z = zq.max(lb[j]).min(ub[j]);
        z_reg[j] = z;
        let (o, s2) = if rho == 1.0 { (z, false) } else { g.quantize_lane::<NEAREST>((1.0 - rho) * out[j] + rho * z) };
        out[j] = o;
        ov += u64::from(s1) + u64::from(s2);
    }
    ov
}

/// Fixed-point constraint-neuron update (see [`ConstraintNeurons`]) on the state grid `g`;
/// `c` = [β, c₁, c₂, ρ]. Returns the saturations. Multiversioned and bit-identical as
/// [`solution_update_fixed`].
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
#[allow(clippy::too_many_arguments)]
fn constraint_update_fixed(
    g: &Grid,
    carry: bool,
    out: &mut [f64],
    hz: &[f64],
    a_old: &mut [f64],
    w_reg: &mut [f64],
    frac: &mut [f64],
    bl: &[f64],
    bu: &[f64],
    c: [f64; 4],
) -> u64 {
    if g.nearest() {
        constraint_fixed_kernel::<true>(g, carry, out, hz, a_old, w_reg, frac, bl, bu, c)
    } else {
        constraint_fixed_kernel::<false>(g, carry, out, hz, a_old, w_reg, frac, bl, bu, c)
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn constraint_fixed_kernel<const NEAREST: bool>(
    g: &Grid,
    carry: bool,
    out: &mut [f64],
    hz: &[f64],
    a_old: &mut [f64],
    w_reg: &mut [f64],
    frac: &mut [f64],
    bl: &[f64],
    bu: &[f64],
    c: [f64; 4],
) -> u64 {
    let [b, c1, c2, r] = c;
    let n = out.len();
    let (hz, a_old, w_reg, frac, bl, bu) =
        (&hz[..n], &mut a_old[..n], &mut w_reg[..n], &mut frac[..n], &bl[..n], &bu[..n]);
    let mut ov = 0u64;
    for i in 0..n {
        let v = c2 * hz[i] - c1 * a_old[i];
        a_old[i] = hz[i];
        let exact = out[i] + b * v + frac[i];
        let (t, s1) = g.quantize_lane::<NEAREST>(exact);
        if carry {
            frac[i] = exact - t;
        }
        let w = t - t.max(bl[i]).min(bu[i]);
        w_reg[i] = w;
        let (o, s2) = if r == 1.0 { (w, false) } else { g.quantize_lane::<NEAREST>((1.0 - r) * out[i] + r * w) };
        out[i] = o;
        ov += u64::from(s1) + u64::from(s2);
    }
    ov
}

/// Fixed-point constraint-neuron update around a dual shift ŷ (regrid; see
/// [`PipgNet::regrid`]): the neuron holds η − ŷ and computes
/// w − ŷ = max(t − bu, f_u) + min(t − bl, f_l) with the floors `floors` = [f_u, f_l]
/// (f_u = −ŷ where ŷ > 0, f_l = −ŷ where ŷ < 0, else 0) and bounds moved by ŷ on the other
/// side; with zero floors this is w = t − clamp(t, bl, bu). Otherwise as
/// [`constraint_update_fixed`].
#[allow(clippy::too_many_arguments)]
fn constraint_update_shifted(
    g: &Grid,
    carry: bool,
    out: &mut [f64],
    hz: &[f64],
    a_old: &mut [f64],
    w_reg: &mut [f64],
    frac: &mut [f64],
    bl: &[f64],
    bu: &[f64],
    floors: [&[f64]; 2],
    c: [f64; 4],
) -> u64 {
    let [b, c1, c2, r] = c;
    let [fu, fl] = floors;
    let mut ov = 0u64;
    for i in 0..out.len() {
        let v = c2 * hz[i] - c1 * a_old[i];
        a_old[i] = hz[i];
        let exact = out[i] + b * v + frac[i];
        let mut sat = 0u64;
        let t = g.quantize(exact, &mut sat);
        if carry {
            frac[i] = exact - t;
        }
        let w = g.quantize((t - bu[i]).max(fu[i]) + (t - bl[i]).min(fl[i]), &mut sat);
        w_reg[i] = w;
        out[i] = if r == 1.0 { w } else { g.quantize((1.0 - r) * out[i] + r * w, &mut sat) };
        ov += sat;
    }
    ov
}

/// Constraint neurons: v from the new and latched H̄ζ, then the projected dual step.
struct ConstraintNeurons {
    /// Register w of the last update.
    w: Vec<f64>,
    /// Error-feedback register of the dual step (fixed point with carry).
    frac: Vec<f64>,
    carry: bool,
    a_old: Vec<f64>,
    bl: Vec<f64>,
    bu: Vec<f64>,
    beta: f64,
    c1: f64,
    c2: f64,
    rho: f64,
    e_y: i32,
    latch_only: bool,
    /// Accumulator registers (HPDHG method): running sum of w over the epoch.
    acc: Accumulator,
    /// Dual shift (regrid, fixed point): the floors f_u, f_l of
    /// [`constraint_update_shifted`]; empty: no shift.
    floor_u: Vec<f64>,
    floor_l: Vec<f64>,
}

impl NeuronModel for ConstraintNeurons {
    fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, ov: &mut u64) {
        let hz = inputs.get(0);
        if self.latch_only {
            self.a_old.copy_from_slice(hz);
            return;
        }
        let (b, r, e) = (self.beta, self.rho, self.e_y);
        if !arith.is_fixed() {
            // Float: the same update as below without the grid, in a loop of its own.
            let c = [b, self.c1, self.c2, r];
            constraint_update_float(out, hz, &mut self.a_old, &mut self.w, &self.bl, &self.bu, c);
            self.acc.add(&self.w, arith, ov);
            return;
        }
        if let Arith::Fixed(p) = arith {
            let (g, c) = (Grid::state(e, p), [b, self.c1, self.c2, r]);
            let (a_old, w, frac) = (&mut self.a_old, &mut self.w, &mut self.frac);
            if self.floor_u.is_empty() {
                *ov += constraint_update_fixed(&g, self.carry, out, hz, a_old, w, frac, &self.bl, &self.bu, c);
            } else {
                let floors = [self.floor_u.as_slice(), self.floor_l.as_slice()];
                *ov +=
                    constraint_update_shifted(&g, self.carry, out, hz, a_old, w, frac, &self.bl, &self.bu, floors, c);
            }
        }
        self.acc.add(&self.w, arith, ov);
    }
}

/// The PIPG network of one problem and its fixed-point grids. Built once per sparsity
/// pattern ([`PipgNet::new`]); new matrix values are loaded into the same synapses
/// ([`PipgNet::set_weights`]) and each solve loads its constants and initial state
/// ([`PipgNet::load`]).
struct PipgNet {
    net: Network,
    x_pop: usize,
    y_pop: usize,
    /// Dendrites P̄ζ, H̄ᵀη (solution) and H̄ζ (constraint).
    dendrites: [usize; 3],
    /// Projections P̄, H̄ᵀ, H̄.
    projections: [usize; 3],
    /// H̄ᵀ as loaded, and the position in H̄ of each of its entries.
    ht: CscMatrix,
    ht_map: Vec<usize>,
    /// H̄'s pattern as built (column pointers, row indices).
    h_pattern: (Vec<usize>, Vec<usize>),
    /// Readout buffers: z as read (snapped onto bounds), the best readout so far (z, w),
    /// and the termination check's scratch.
    z_read: Vec<f64>,
    best_z: Vec<f64>,
    best_w: Vec<f64>,
    scratch: CheckScratch,
    sol: SolutionNeurons,
    con: ConstraintNeurons,
    alpha0: f64,
    beta0: f64,
    /// The grids loaded (fixed point).
    grids: Grids,
    /// Regrid's shift: the solution neurons hold ζ − x̂ around the restart point x̂ (`sx`;
    /// empty: no shift), with q̄ + P̄x̂ (`sq`) and the row bounds minus H̄x̂ (`sh`) as constants.
    sx: Vec<f64>,
    sq: Vec<f64>,
    sh: Vec<f64>,
    /// Regrid's dual shift ŷ (per constraint neuron; 0 on rows not shifted; empty: none).
    sy: Vec<f64>,
}

/// A regrid's restart point (x̂, ŷ) in the problem's internal coordinates, with the ∞-norm
/// movement (primal, dual) of the epoch before it.
type Anchor = (Vec<f64>, Vec<f64>, (f64, f64));

/// Fixed-point grid exponents of a loaded network: the outputs of the solution (`x`) and
/// constraint (`y`) neurons, the sums P̄ζ (`p`), H̄ζ (`h`), H̄ᵀη (`ht`) and the constant q̄ (`q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Grids {
    x: i32,
    y: i32,
    p: i32,
    h: i32,
    ht: i32,
    q: i32,
}

/// Smallest eigenvalue estimate of P̄ (power iteration on λI − P̄), at least `floor`.
fn mu_estimate(p_full: &CscMatrix, lam: f64, iters: usize, floor: f64) -> f64 {
    let n = p_full.ncols;
    if n == 0 {
        return floor.max(1e-12);
    }
    let mut v: Vec<f64> = (0..n).map(|j| 1.0 + 0.5 * ((j + 1) as f64).sin()).collect();
    let mut w = vec![0.0; n];
    let mut top = 0.0;
    for _ in 0..iters.max(1) {
        let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if nv == 0.0 || !nv.is_finite() {
            break;
        }
        v.iter_mut().for_each(|x| *x /= nv);
        for (wi, vi) in w.iter_mut().zip(&v) {
            *wi = lam * vi;
        }
        let mut pv = vec![0.0; n];
        p_full.mul_add(&v, &mut pv);
        for (wi, pi) in w.iter_mut().zip(&pv) {
            *wi -= pi;
        }
        top = v.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        std::mem::swap(&mut v, &mut w);
    }
    (lam - top).max(floor).max(1e-12)
}

/// (α₀, β₀) of the step rule.
fn initial_steps(d: &PipgData, ss: &SpikingSettings) -> (f64, f64) {
    match ss.steps {
        StepRule::Constant { omega } => pipg_steps(d.lambda, d.sigma, omega),
        StepRule::LavaPow2 { mu_min } => {
            let mu = mu_estimate(&d.p_full, d.lambda, ss.pipg.power_iters, mu_min);
            (2.0 / (mu + 2.0 * d.lambda), mu / (2.0 * d.sigma.max(1e-12)))
        }
    }
}

/// (α_k, β_k) at iteration k (0-based).
fn schedule(ss: &SpikingSettings, a0: f64, b0: f64, k: usize) -> (f64, f64) {
    match ss.steps {
        StepRule::Constant { .. } => (a0, b0),
        StepRule::LavaPow2 { .. } => {
            let halvings = LAVA_ALPHA_HALVINGS.iter().filter(|&&h| k >= h).count() as i32;
            // β doubles at k = 1, 3, 7, 15, …: floor(log2(k + 1)) doublings.
            let doublings = (usize::BITS - (k + 1).leading_zeros() - 1) as i32;
            (a0 * f64::powi(0.5, halvings), b0 * f64::powi(2.0, doublings.min(60)))
        }
    }
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| if x.is_finite() { m.max(x.abs()) } else { m })
}

fn max_diff_inf(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

fn finite_norm(v: &[f64]) -> f64 {
    v.iter().filter(|v| v.abs() < INFTY).fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Typical gain of a row for inputs of one magnitude: the largest row 2-norm (a sum of
/// terms of mixed signs grows like the 2-norm, not the 1-norm), at least 1. Sums beyond it
/// saturate, which the solver detects and answers with a wider range.
fn row_gain(m: &CscMatrix) -> f64 {
    let mut r = vec![0.0f64; m.nrows];
    for (k, &i) in m.rowval.iter().enumerate() {
        r[i] += m.nzval[k] * m.nzval[k];
    }
    r.into_iter().fold(1.0, f64::max).sqrt()
}

impl PipgNet {
    /// Topology and weights for `d` on `arith`; constants and state come with
    /// [`PipgNet::load`].
    fn new(d: &PipgData, ss: &SpikingSettings) -> Self {
        let (n, mh) = (d.p_full.ncols, d.h.nrows);
        let (ht, ht_map) = d.h.transpose_with_map();
        let mut net = Network::new(ss.arith);
        let x_pop = net.add_population("solution", n, 0);
        let y_pop = net.add_population("constraint", mh, 0);
        let d_p = net.add_dendrite(x_pop, 0);
        let d_ht = net.add_dendrite(x_pop, 0);
        let d_h = net.add_dendrite(y_pop, 0);
        let pr_p = net.add_projection(x_pop, d_p, &d.p_full);
        let pr_ht = net.add_projection(y_pop, d_ht, &ht);
        let pr_h = net.add_projection(x_pop, d_h, &d.h);
        let carry = matches!(ss.arith, Arith::Fixed(p) if p.carry_shift_remainder);
        let sol = SolutionNeurons {
            z: vec![0.0; n],
            frac: vec![0.0; n],
            carry,
            q: vec![0.0; n],
            lb: vec![0.0; n],
            ub: vec![0.0; n],
            alpha: 0.0,
            alphas: Vec::new(),
            delta: Vec::new(),
            rho: 1.0,
            e_x: 0,
            fista: None,
            acc: Accumulator::default(),
            clamp_ok: false,
        };
        let con = ConstraintNeurons {
            w: vec![0.0; mh],
            frac: vec![0.0; mh],
            carry,
            a_old: vec![0.0; mh],
            bl: vec![0.0; mh],
            bu: vec![0.0; mh],
            beta: 0.0,
            c1: 1.0,
            c2: 2.0,
            rho: 1.0,
            e_y: 0,
            latch_only: false,
            acc: Accumulator::default(),
            floor_u: Vec::new(),
            floor_l: Vec::new(),
        };
        Self {
            net,
            x_pop,
            y_pop,
            dendrites: [d_p, d_ht, d_h],
            projections: [pr_p, pr_ht, pr_h],
            ht,
            ht_map,
            h_pattern: (d.h.colptr.clone(), d.h.rowval.clone()),
            z_read: vec![0.0; n],
            best_z: vec![0.0; n],
            best_w: vec![0.0; mh],
            scratch: CheckScratch::default(),
            sol,
            con,
            alpha0: 0.0,
            beta0: 0.0,
            grids: Grids::default(),
            sx: Vec::new(),
            sq: Vec::new(),
            sh: Vec::new(),
            sy: Vec::new(),
        }
    }

    /// Loads the matrix values of `d` into the synapses; false (nothing changed) when the
    /// sparsity pattern or the sizes differ from the network's.
    fn set_weights(&mut self, d: &PipgData) -> bool {
        let same_h = d.h.nrows == self.net.pops[self.y_pop].len()
            && d.h.colptr == self.h_pattern.0
            && d.h.rowval == self.h_pattern.1;
        if !same_h || d.p_full.ncols != self.net.pops[self.x_pop].len() {
            return false;
        }
        for (t, &k) in self.ht.nzval.iter_mut().zip(&self.ht_map) {
            *t = d.h.nzval[k];
        }
        let [pr_p, pr_ht, pr_h] = self.projections;
        // P̄'s pattern is checked by the network; a failure there leaves H̄'s loads harmless
        // (the caller rebuilds).
        self.net.set_weights(pr_p, &d.p_full)
            && self.net.set_weights(pr_ht, &self.ht)
            && self.net.set_weights(pr_h, &d.h)
    }

    /// Loads a solve: the fixed-point grids from the problem data and warm start (range R =
    /// max(1, ‖ζ₀‖∞, ‖η₀‖∞, finite bounds, ‖q̄‖∞)·2^(headroom + `extra_bits`)), the neurons'
    /// constants, the initial outputs ζ₀ = `x0`, η₀ = `y0`, zeroed sums and counts, and the
    /// steps of iteration 0.
    fn load(&mut self, d: &PipgData, ss: &SpikingSettings, x0: &[f64], y0: &[f64], extra_bits: [i32; 2]) {
        let (alpha0, beta0) = initial_steps(d, ss);
        self.alpha0 = alpha0;
        self.beta0 = beta0;
        let g = self.data_grids(d, ss, x0, y0, extra_bits);
        self.sx.clear();
        self.sq.clear();
        self.sh.clear();
        self.sy.clear();
        self.program(d, ss, x0, y0, g);
        self.net.reset_counts();
        self.set_steps(ss, d, 0);
    }

    /// The grids [`PipgNet::load`] takes from the problem data (zeros in float).
    fn data_grids(&self, d: &PipgData, ss: &SpikingSettings, x0: &[f64], y0: &[f64], extra_bits: [i32; 2]) -> Grids {
        let (mut e_x, mut e_y, mut e_p, mut e_h, mut e_ht, mut e_q) = (0, 0, 0, 0, 0, 0);
        if let Arith::Fixed(prof) = ss.arith {
            let base = [
                1.0,
                inf_norm(x0),
                inf_norm(y0),
                finite_norm(&d.hl),
                finite_norm(&d.hu),
                finite_norm(&d.lb),
                finite_norm(&d.ub),
                inf_norm(&d.q),
            ]
            .into_iter()
            .fold(0.0, f64::max);
            // One range per population: ζ's (solution neurons, and the sums P̄ζ, H̄ζ they
            // feed) and η's (constraint neurons, and H̄ᵀη), each widened by its own retries.
            let range_x = base * f64::powi(2.0, ss.headroom_bits + extra_bits[0]);
            let range_y = base * f64::powi(2.0, ss.headroom_bits + extra_bits[1]);
            let b = prof.state_bits;
            e_x = grid_exponent(range_x, b);
            e_y = grid_exponent(range_y, b);
            e_p = grid_exponent(row_gain(&d.p_full) * range_x, b);
            e_h = grid_exponent(row_gain(&d.h) * range_x, b);
            e_ht = grid_exponent(row_gain(&self.ht) * range_y, b);
            e_q = e_p.min(e_ht);
            if ss.method == NetMethod::Hpdhg {
                // q̄ on a grid that holds it (the cost-aware scaling can leave ‖q̄‖∞ above
                // the dendrites' range; PIPG keeps its grid, where q̄ saturates silently).
                e_q = e_q.max(grid_exponent(inf_norm(&d.q), b));
            }
        }
        Grids { x: e_x, y: e_y, p: e_p, h: e_h, ht: e_ht, q: e_q }
    }

    /// Programs the grids `g`, the neurons' constants and the outputs ζ = `x0`, η = `y0` on a
    /// cleared network (sums, sent values and remainders zeroed; the counts are kept).
    fn program(&mut self, d: &PipgData, ss: &SpikingSettings, x0: &[f64], y0: &[f64], g: Grids) {
        let Grids { x: e_x, y: e_y, p: e_p, h: e_h, ht: e_ht, q: e_q } = g;
        let net = &mut self.net;
        let (x_pop, y_pop) = (self.x_pop, self.y_pop);
        let (n_sol, n_con) = (net.pops[x_pop].len(), net.pops[y_pop].len());
        net.pops[x_pop].out_exp = e_x;
        net.pops[y_pop].out_exp = e_y;
        let [d_p, d_ht, d_h] = self.dendrites;
        net.dendrites[d_p].exp = e_p;
        net.dendrites[d_ht].exp = e_ht;
        net.dendrites[d_h].exp = e_h;
        net.clear_state();
        net.pops[x_pop].theta = 0.0;
        net.pops[y_pop].theta = 0.0;
        let arith = net.arith;
        let mut ignore = 0u64;
        for (o, v) in net.pops[x_pop].out.iter_mut().zip(x0) {
            *o = arith.state(*v, e_x, &mut ignore);
        }
        for (o, v) in net.pops[y_pop].out.iter_mut().zip(y0) {
            *o = arith.state(*v, e_y, &mut ignore);
        }
        // Constants are programmed saturating without counting (a bound beyond the range
        // is as good as infinite).
        let clampq = |v: f64, e: i32| -> f64 {
            match arith {
                Arith::Float => v,
                Arith::Fixed(p) => {
                    let lim = p.state_max() * f64::powi(2.0, e);
                    let mut ig = 0;
                    quantize(v.clamp(-lim, lim), e, p.state_max(), p.rounding, &mut ig)
                }
            }
        };
        let rho = arith.constant(ss.rho.clamp(1e-3, 1.999));
        let c1 = arith.constant(2.0 / rho - 1.0);
        let sol = &mut self.sol;
        sol.z.copy_from_slice(&net.pops[x_pop].out);
        sol.frac.iter_mut().for_each(|v| *v = 0.0);
        // Around a shift x̂ (regrid): q̄ + P̄x̂ and the bounds minus x̂.
        let (sx, sq) = (&self.sx, &self.sq);
        // (Without a shift the values are taken as they are: adding a zero would turn a −0
        // into +0.)
        let plus = |v: f64, s: &[f64], j: usize| if s.is_empty() { v } else { v + s[j] };
        let minus = |v: f64, s: &[f64], j: usize| if s.is_empty() { v } else { v - s[j] };
        for (j, (t, v)) in sol.q.iter_mut().zip(&d.q).enumerate() {
            *t = clampq(plus(*v, sq, j), e_q);
        }
        for (j, (t, &v)) in sol.lb.iter_mut().zip(&d.lb).enumerate() {
            *t = if v <= -INFTY { f64::NEG_INFINITY } else { clampq(minus(v, sx, j), e_x) };
        }
        for (j, (t, &v)) in sol.ub.iter_mut().zip(&d.ub).enumerate() {
            *t = if v >= INFTY { f64::INFINITY } else { clampq(minus(v, sx, j), e_x) };
        }
        sol.alpha = 0.0;
        sol.rho = rho;
        sol.e_x = e_x;
        sol.fista = None;
        sol.clamp_ok = false;
        sol.acc.reset(n_sol, false, 0);
        let con = &mut self.con;
        con.w.copy_from_slice(&net.pops[y_pop].out);
        con.frac.iter_mut().for_each(|v| *v = 0.0);
        con.a_old.iter_mut().for_each(|v| *v = 0.0);
        con.beta = 0.0;
        con.c1 = c1;
        con.c2 = c1 + 1.0;
        con.rho = rho;
        con.e_y = e_y;
        con.latch_only = false;
        con.acc.reset(n_con, false, 0);
        self.grids = g;
    }

    /// Re-quantises the network around a restart point (x, y) (HPDHG method, fixed point,
    /// [`SpikingSettings::regrid`]): the solution neurons hold the deviation ζ − x from then
    /// on (outputs 0; constants q̄ + P̄x, lb − x, ub − x and the row bounds σ(l̄ − H̄x),
    /// σ(ū − H̄x): the same recurrence, shifted), the constraint neurons η = `y`; new grids
    /// `g`, the sums cleared and the outputs sent (one priming timestep, every non-zero output
    /// a message) and H̄ζ latched (one timestep); the steps τ, σ of the current primal weight
    /// reloaded. Host writes counted in `readouts`: the outputs (n + m_H) and the constants
    /// q̄, lb, ub, σl̄, σū (3n + 2m_H); the host computes P̄x and H̄x in float64.
    #[allow(clippy::too_many_arguments)]
    fn regrid(
        &mut self,
        d: &PipgData,
        ss: &SpikingSettings,
        x: &[f64],
        y: &[f64],
        y_shift: &[f64],
        g: Grids,
        steps: (f64, f64),
    ) {
        let counts = self.net.counts;
        let n = x.len();
        self.sx = x.to_vec();
        self.sq = vec![0.0; n];
        d.p_full.mul_add(x, &mut self.sq);
        self.ht.mul_add(y_shift, &mut self.sq);
        self.sh = vec![0.0; y.len()];
        d.h.mul_add(x, &mut self.sh);
        self.sy = y_shift.to_vec();
        let y_dev: Vec<f64> = y.iter().zip(y_shift).map(|(a, b)| a - b).collect();
        self.program(d, ss, &vec![0.0; n], &y_dev, g);
        self.sol.clamp_ok = true;
        self.net.counts = counts;
        (self.alpha0, self.beta0) = steps;
        self.sol.alpha = 0.0;
        self.set_steps(ss, d, 0);
        let (n, mh) = (x.len() as u64, y.len() as u64);
        self.net.counts.readouts += 4 * n + 3 * mh;
        let (xp, yp) = (self.x_pop, self.y_pop);
        self.net.prime(&[xp, yp]);
        self.con.latch_only = true;
        self.net.step(&mut [(yp, &mut self.con)]);
        self.con.latch_only = false;
    }

    /// The grids of a regrid around the restart point (`x`, `y`) (internal scaled
    /// coordinates), after an epoch that moved the iterate by (`mx`, `my`) (∞-norms): each
    /// population's state, the values its update forms before rounding (the primal step
    /// before the clamp, the dual step before the projection) and each dendritic sum at the
    /// point, plus what the sum can move by in one more such epoch (its matrix's largest
    /// row 2-norm times the movement), times 2^`fit` (per population: solution, constraint).
    /// Host work: one product with P̄, H̄ and H̄ᵀ in float64.
    #[allow(clippy::too_many_arguments)]
    fn restart_grids(
        &self,
        d: &PipgData,
        prof: &FixedProfile,
        x: &[f64],
        y: &[f64],
        (tau, sig): (f64, f64),
        (mx, my): (f64, f64),
        fit: [i32; 2],
        floor: Grids,
    ) -> (Grids, Vec<f64>) {
        let n = x.len();
        let (gp, gh, ght) = (row_gain(&d.p_full), row_gain(&d.h), row_gain(&self.ht));
        let (fx, fy) = (f64::powi(2.0, fit[0]), f64::powi(2.0, fit[1]));
        let b = prof.state_bits;
        let e = |v: f64, f: f64, lo: i32| grid_exponent((f * v).max(1e-300), b).max(lo);
        let mut hx = vec![0.0; y.len()];
        d.h.mul_add(x, &mut hx);
        // The grids for a dual shift `ys` (the rows it leaves at 0 keep their absolute η).
        let plan = |ys: &[f64]| -> Grids {
            // Around the shift the solution neurons start at 0: the primal step's value before
            // the clamp is −α_j times the gradient q̄ + P̄x + H̄ᵀy at the point.
            let mut grad = d.q.clone();
            d.p_full.mul_add(x, &mut grad);
            self.ht.mul_add(ys, &mut grad);
            let rest: Vec<f64> = y.iter().zip(ys).map(|(a, b)| a - b).collect();
            let mut hty = vec![0.0; n];
            self.ht.mul_add(&rest, &mut hty);
            let per = !self.sol.delta.is_empty();
            // A variable whose step goes beyond its bound is held there (it needs the bound
            // in range, not the step: [`solution_update_clamped`]); the free ones set the
            // range of the state and of q̄'s grid.
            let (mut pre_x, mut q_free) = (0.0f64, 0.0f64);
            for j in 0..n {
                let a = if per { hpdhg::primal_step(tau, self.sol.delta[j]) } else { tau };
                let step = -a * (grad[j] + hty[j]);
                let (lo, hi) = (d.lb[j] - x[j], d.ub[j] - x[j]);
                if d.ub[j] < INFTY && step > hi {
                    pre_x = pre_x.max(hi.abs());
                } else if d.lb[j] > -INFTY && step < lo {
                    pre_x = pre_x.max(lo.abs());
                } else {
                    pre_x = pre_x.max(step.abs());
                    q_free = q_free.max(grad[j].abs());
                }
            }
            let gr = Grids {
                x: e(pre_x + mx, fx, floor.x),
                y: e(inf_norm(&rest) + my + sig * gh * mx, fy, floor.y),
                p: e(gp * mx, fx, floor.p),
                h: e(gh * mx, fx, floor.h),
                ht: e(inf_norm(&hty) + ght * my, fy, floor.ht),
                q: 0,
            };
            Grids { q: gr.p.min(gr.ht).max(grid_exponent(q_free, b)), ..gr }
        };
        // Shift every row's multiplier whose constant on its side (σ times the distance of
        // H̄x to that bound) fits in half the dual range; the others keep theirs whole.
        let g_all = plan(y);
        let lim = 0.5 * prof.state_max() * f64::powi(2.0, g_all.y);
        let ys: Vec<f64> = (0..y.len())
            .map(|i| {
                let side = if y[i] > 0.0 { d.hu[i] } else { d.hl[i] };
                let fits = side.abs() < INFTY && (sig * (side - hx[i])).abs() <= lim;
                if y[i] != 0.0 && fits { y[i] } else { 0.0 }
            })
            .collect();
        if ys == y { (g_all, ys) } else { (plan(&ys), ys) }
    }

    /// Host reprogramming after an ω change: new α₀, β₀, loaded for iteration k; counts one
    /// transfer per neuron.
    fn reprogram(&mut self, ss: &SpikingSettings, d: &PipgData, omega: f64, k: usize, neurons: usize) {
        let (a, b) = pipg_steps(d.lambda, d.sigma, omega);
        self.alpha0 = a;
        self.beta0 = b;
        self.set_steps(ss, d, k);
        self.net.counts.readouts += neurons as u64;
    }

    /// Loads α_k, β_k (and β·l̄, β·ū) for iteration k; returns true when they changed.
    fn set_steps(&mut self, ss: &SpikingSettings, d: &PipgData, k: usize) -> bool {
        let (a, b) = schedule(ss, self.alpha0, self.beta0, k);
        let arith = self.net.arith;
        let (a, b) = (arith.constant(a), arith.constant(b));
        if a == self.sol.alpha && b == self.con.beta {
            return false;
        }
        let raw = schedule(ss, self.alpha0, self.beta0, k).0;
        let sol = &mut self.sol;
        sol.alphas.clear();
        if sol.delta.iter().any(|&v| v != 0.0) {
            sol.alphas.extend(sol.delta.iter().map(|&dj| arith.constant(hpdhg::primal_step(raw, dj))));
        }
        self.sol.alpha = a;
        self.con.beta = b;
        let e_y = self.con.e_y;
        let conv = |v: f64| -> f64 {
            if v >= INFTY {
                f64::INFINITY
            } else if v <= -INFTY {
                f64::NEG_INFINITY
            } else {
                match arith {
                    Arith::Float => b * v,
                    Arith::Fixed(p) => {
                        let lim = p.state_max() * f64::powi(2.0, e_y);
                        let mut ig = 0;
                        quantize((b * v).clamp(-lim, lim), e_y, p.state_max(), p.rounding, &mut ig)
                    }
                }
            }
        };
        let sh_v = &self.sh;
        let minus = |v: f64, i: usize| if sh_v.is_empty() { v } else { v - sh_v[i] };
        let shifted = !self.sy.is_empty();
        self.con.floor_u.clear();
        self.con.floor_l.clear();
        if shifted {
            self.con.floor_u.resize(d.hl.len(), 0.0);
            self.con.floor_l.resize(d.hl.len(), 0.0);
        }
        // A constant on the dual grid, clamped into its range.
        let cq = |v: f64| -> f64 {
            match arith {
                Arith::Float => v,
                Arith::Fixed(p) => {
                    let lim = p.state_max() * f64::powi(2.0, e_y);
                    let mut ig = 0;
                    quantize(v.clamp(-lim, lim), e_y, p.state_max(), p.rounding, &mut ig)
                }
            }
        };
        for i in 0..d.hl.len() {
            let (lo, hi) = (d.hl[i] <= -INFTY, d.hu[i] >= INFTY);
            let yi = if shifted { self.sy[i] } else { 0.0 };
            if yi == 0.0 {
                self.con.bl[i] = if lo { f64::NEG_INFINITY } else { conv(minus(d.hl[i], i)) };
                self.con.bu[i] = if hi { f64::INFINITY } else { conv(minus(d.hu[i], i)) };
                continue;
            }
            // Around ŷ_i (module docs, "Regrid"): the bound on ŷ_i's side moves by ŷ_i, the
            // other side gets the floor −ŷ_i.
            let bl = if lo { f64::NEG_INFINITY } else { b * minus(d.hl[i], i) };
            let bu = if hi { f64::INFINITY } else { b * minus(d.hu[i], i) };
            if yi > 0.0 {
                self.con.bu[i] = cq(bu);
                self.con.bl[i] = if lo { f64::NEG_INFINITY } else { cq(bl - yi) };
                self.con.floor_u[i] = cq(-yi);
            } else {
                self.con.bl[i] = cq(bl);
                self.con.bu[i] = if hi { f64::INFINITY } else { cq(bu - yi) };
                self.con.floor_l[i] = cq(-yi);
            }
        }
        true
    }
}

/// The data of the HPDHG method: `pb` preconditioned as the `hpdhg` backend does
/// (`hpdhg::precondition`: diagonal scaling, then the whitening of the coupled cost block),
/// split as PIPG splits it, with the backend's norm estimates (200 power iterations times
/// the safety factor), the proximal diagonal δ of the solution neurons (`hpdhg::cost_split`)
/// and the whitening (the readout maps z back through it).
fn hpdhg_data(
    pb: &Problem,
    settings: &Settings,
    o: &HpdhgOptions,
    opt: &PipgOptions,
) -> (PipgData, Vec<f64>, Option<hpdhg::Whitening>) {
    // As the `hpdhg` backend, a row with one non-zero value is a box row even when it stores
    // explicit zeros: those are dropped from A (never sent on a synapse).
    let mut pruned = pb.clone();
    let a = &pb.a;
    let (mut colptr, mut rowval, mut nzval) = (vec![0usize], Vec::new(), Vec::new());
    for j in 0..a.ncols {
        for k in a.colptr[j]..a.colptr[j + 1] {
            if a.nzval[k] != 0.0 {
                rowval.push(a.rowval[k]);
                nzval.push(a.nzval[k]);
            }
        }
        colptr.push(rowval.len());
    }
    pruned.a = CscMatrix { nrows: a.nrows, ncols: a.ncols, colptr, rowval, nzval };
    let (sp, scaling, white) = hpdhg::precondition(&pruned, settings, o);
    let (delta, lambda) = hpdhg::cost_split(&sp.p, o);
    let mut d = PipgData::from_scaled(sp, scaling, opt, None);
    d.lambda = lambda;
    d.sigma = o.norm_safety * ata_norm_est(&d.h, 200);
    (d, delta, white)
}

/// `PipgData::output` with the whitening undone: original-space (x, y) from the network's
/// (z, w).
fn hp_output(d: &PipgData, white: Option<&hpdhg::Whitening>, z: &[f64], w: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let (x, y) = d.output(z, w, m);
    match white {
        Some(wh) => (d.scaling.unscale_x(&wh.to_scaled(z)), y),
        None => (x, y),
    }
}

/// Writes new outputs (ζ, η) into the network (a host write of n + m_H values, counted in
/// `readouts`), sends them (one priming timestep: the sigma-delta encoders send the change)
/// and latches H̄ζ in the constraint neurons (one timestep), as at the start of a solve.
fn write_state(pn: &mut PipgNet, x: &[f64], y: &[f64]) {
    let (xp, yp) = (pn.x_pop, pn.y_pop);
    let arith = pn.net.arith;
    let mut ignore = 0u64;
    let (ex, ey) = (pn.sol.e_x, pn.con.e_y);
    for (o, v) in pn.net.pops[xp].out.iter_mut().zip(x) {
        *o = arith.state(*v, ex, &mut ignore);
    }
    for (o, v) in pn.net.pops[yp].out.iter_mut().zip(y) {
        *o = arith.state(*v, ey, &mut ignore);
    }
    pn.net.counts.readouts += (x.len() + y.len()) as u64;
    pn.net.prime(&[xp, yp]);
    pn.con.latch_only = true;
    pn.net.step(&mut [(yp, &mut pn.con)]);
    pn.con.latch_only = false;
}

/// The HPDHG method on the loaded network (module docs, "HPDHG"): the loop of
/// `HpdhgSolver::solve` in mode Relaxed, with the iterations run by the network and the
/// host decisions taken on counted readouts. `pb` is the original problem with its bounds
/// clamped to ±INFTY.
fn run_hpdhg(
    pn: &mut PipgNet,
    ss: &SpikingSettings,
    d: &PipgData,
    pb: &Problem,
    settings: &Settings,
    t0: Instant,
    omega0: f64,
    white: Option<&hpdhg::Whitening>,
) -> Attempt {
    let o = &ss.hpdhg;
    let (n, m, mh) = (pb.n(), pb.m(), d.h.nrows);
    let (xp, yp) = (pn.x_pop, pn.y_pop);
    let arith = pn.net.arith;
    let fista = mh == 0 && o.accelerate_box_only;
    let use_avg = o.average && !fista;
    let e_sum = [pn.sol.e_x, pn.con.e_y].map(|e| e + SUM_EXTRA_BITS);
    pn.sol.acc.reset(n, use_avg, e_sum[0]);
    pn.con.acc.reset(mh, use_avg, e_sum[1]);
    let lam = d.lambda;
    let mut omega = omega0;
    let (mut tau, mut sig) = hpdhg::steps(lam, d.sigma, omega);
    let mut t_mom = 1.0f64;
    let mut fpr_last = f64::INFINITY;
    let mut xr = pn.net.pops[xp].out.clone();
    let mut yr = pn.net.pops[yp].out.clone();
    let mut epoch = hpdhg::Epoch::new();
    let mut adapt_gap = o.check_every.max(1);
    let mut next_adapt = 0usize;
    let (mut pinf, mut dinf) = (0, 0);
    let mut status = Status::MaxIterations;
    let mut iters = 0;
    let mut nsum = 0usize;
    let kkt = |rep: &residuals::ResidualReport| rep.kkt_error(settings);
    let mut last: Option<(Vec<f64>, Vec<f64>)> = None;
    let mut final_xy = None;
    let mut restarts = 0usize;
    let time_limit = settings.time_limit.unwrap_or(std::time::Duration::MAX);
    let mut sat_by = [false; 2];
    // Regrid at restarts (fixed point): the fit bits per population, the last restart point
    // with the movement of the epoch before it, the saturations already answered by a
    // return to that point, and how many such returns.
    let prof = match arith {
        Arith::Fixed(p) if ss.regrid => Some(p),
        _ => None,
    };
    let mut fit = [1i32; 2];
    // The grids of the attempt's start, less REGRID_MAX_GAIN bits: the finest a regrid takes.
    let g0 = pn.grids;
    let lo = |e: i32| e - REGRID_MAX_GAIN;
    let floor = Grids { x: lo(g0.x), y: lo(g0.y), p: lo(g0.p), h: lo(g0.h), ht: lo(g0.ht), q: lo(g0.q) };
    // The solution neurons' shift x̂ (0 until a regrid): the host adds it to what it reads.
    let mut shift = vec![0.0; n];
    let mut yshift = vec![0.0; mh];
    // Adds a shift (only with regrid: adding a zero would turn a −0 read into +0).
    let add = |v: f64, s: f64| if prof.is_some() { v + s } else { v };
    let mut anchor: Option<Anchor> = None;
    let mut ov_base = 0u64;
    let mut reverts = 0usize;
    for k in 1..=settings.max_iter {
        let check = o.check_every > 0 && (k % o.check_every == 0 || k == settings.max_iter);
        // The iterate z before the checked iteration (for T(z) − z): a readout.
        let (x_pre, y_pre) = if check {
            pn.net.counts.readouts += (n + mh) as u64;
            (pn.net.pops[xp].out.clone(), pn.net.pops[yp].out.clone())
        } else {
            (Vec::new(), Vec::new())
        };
        // FISTA's gradient restart test also reads the z registers before the step.
        let z_prev = if check && fista && o.fista_restart == hpdhg::FistaRestart::Gradient {
            pn.net.counts.readouts += n as u64;
            pn.sol.z.clone()
        } else {
            Vec::new()
        };
        let th = ss.theta.at(k - 1);
        pn.net.pops[xp].theta = th;
        pn.net.pops[yp].theta = th;
        if fista {
            // Momentum schedule since the last restart (a fixed sequence, like lava's
            // step schedules; the host only resets it).
            let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t_mom * t_mom).sqrt());
            pn.sol.fista = Some(arith.constant((t_mom - 1.0) / t_next));
            t_mom = t_next;
        }
        // Saturations by the population whose range they belong to: the solution step's
        // (its states, its messages' sums P̄ζ and H̄ζ) and the constraint step's (η, H̄ᵀη).
        let ov0 = pn.net.counts.overflows;
        pn.net.step(&mut [(xp, &mut pn.sol)]);
        let ov1 = pn.net.counts.overflows;
        pn.net.step(&mut [(yp, &mut pn.con)]);
        sat_by[0] |= ov1 > ov0;
        sat_by[1] |= pn.net.counts.overflows > ov1;
        if use_avg {
            // The accumulator registers' updates.
            pn.net.counts.neuron_updates += (n + mh) as u64;
            nsum += 1;
        }
        iters = k;
        // With regrid the host reads the saturation counter every iteration (one value, a
        // counted readout), so a saturated epoch ends at once instead of at the next check.
        if prof.is_some() {
            pn.net.counts.readouts += 1;
        }
        let timed_out = t0.elapsed() >= time_limit;
        let saturated_now = prof.is_some() && pn.net.counts.overflows > ov_base;
        if !check && !saturated_now {
            if timed_out {
                status = Status::TimeLimit;
                break;
            }
            continue;
        }
        if check {
            pn.net.counts.readout_checks += 1;
            pn.net.counts.readouts += (n + mh) as u64;
        }
        if pn.net.counts.overflows > ov_base {
            // After a regrid, a saturation returns to the restart point with one more bit of
            // range for the population that saturated (both when unknown); otherwise the
            // attempt ends (the caller retries with a wider data range).
            match (prof.as_ref(), anchor.as_ref()) {
                (Some(p), Some((ax, ay, mv))) if reverts < MAX_REGRID_REVERTS => {
                    let widen = if sat_by == [false; 2] { [true; 2] } else { sat_by };
                    for (f, w) in fit.iter_mut().zip(widen) {
                        *f += i32::from(w);
                    }
                    let (g, ys) = pn.restart_grids(d, p, ax, ay, (tau, sig), *mv, fit, floor);
                    pn.regrid(d, ss, ax, ay, &ys, g, (tau, sig));
                    shift.copy_from_slice(ax);
                    yshift = ys;
                    ov_base = pn.net.counts.overflows;
                    sat_by = [false; 2];
                    reverts += 1;
                    pn.sol.acc.reset(n, use_avg, pn.sol.e_x + SUM_EXTRA_BITS);
                    pn.con.acc.reset(mh, use_avg, pn.con.e_y + SUM_EXTRA_BITS);
                    xr.copy_from_slice(&pn.net.pops[xp].out);
                    yr.copy_from_slice(&pn.net.pops[yp].out);
                    nsum = 0;
                    t_mom = 1.0;
                    epoch.restart_at(k);
                    continue;
                }
                _ => break,
            }
        }
        let lsb = if arith.is_fixed() { f64::powi(2.0, pn.sol.e_x) } else { 0.0 };
        let xt = &pn.sol.z;
        let yt = &pn.con.w;
        let fpr = {
            let a = if pn.sol.delta.is_empty() {
                x_pre.iter().zip(xt).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / tau
            } else {
                hpdhg::primal_fpr2(&x_pre, xt, tau, &pn.sol.delta)
            };
            let b: f64 = y_pre.iter().zip(yt).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / sig;
            (a + b).sqrt()
        };
        if !xt.iter().chain(yt).all(|v| v.is_finite()) || !fpr.is_finite() {
            status = Status::NumericalError;
            break;
        }
        // z within one grid step of its bound is read on the exact bound (as PIPG's readout).
        for (j, zr) in pn.z_read.iter_mut().enumerate() {
            let zj = xt[j];
            *zr = if d.ub[j] < INFTY && zj >= pn.sol.ub[j] - lsb {
                d.ub[j]
            } else if d.lb[j] > -INFTY && zj <= pn.sol.lb[j] + lsb {
                d.lb[j]
            } else {
                add(zj, shift[j])
            };
        }
        let yt_abs: Vec<f64> = yt.iter().zip(&yshift).map(|(v, s)| add(*v, *s)).collect();
        let (xo, yo) = hp_output(d, white, &pn.z_read, &yt_abs, m);
        let rep = residuals::compute(pb, &xo, &yo);
        if settings.verbose {
            eprintln!(
                "net-hpdhg {k:6}: prim {:.2e} dual {:.2e} gap {:.2e} fpr {fpr:.2e} omega {omega:.3e} restarts {restarts}",
                rep.res.prim, rep.res.dual, rep.res.gap
            );
        }
        if rep.converged_with_gap(settings) {
            status = Status::Solved;
            final_xy = Some((xo, yo));
            break;
        }
        // The epoch average: a readout of the accumulator registers.
        let avg = if use_avg && nsum > 1 {
            // Fixed point: both registers of each accumulator (sum and carried remainder).
            let regs = if arith.is_fixed() { 2 } else { 1 };
            pn.net.counts.readouts += (regs * (n + mh)) as u64;
            let inv = 1.0 / nsum as f64;
            let xa: Vec<f64> = pn.sol.acc.total().zip(&shift).map(|(v, s)| add(v * inv, *s)).collect();
            let ya: Vec<f64> = pn.con.acc.total().zip(&yshift).map(|(v, s)| add(v * inv, *s)).collect();
            let (xao, yao) = hp_output(d, white, &xa, &ya, m);
            let ra = residuals::compute(pb, &xao, &yao);
            if ra.converged_with_gap(settings) {
                status = Status::Solved;
                final_xy = Some((xao, yao));
                break;
            }
            Some((xa, ya, kkt(&ra)))
        } else {
            None
        };
        let (test_p, test_d) = (rep.res.prim > rep.eps_prim(settings), rep.res.dual > rep.eps_dual(settings));
        if test_p || test_d {
            let x_pre_abs: Vec<f64> = x_pre.iter().zip(&shift).map(|(v, s)| add(*v, *s)).collect();
            let y_pre_abs: Vec<f64> = y_pre.iter().zip(&yshift).map(|(v, s)| add(*v, *s)).collect();
            let (px, py) = hp_output(d, white, &x_pre_abs, &y_pre_abs, m);
            let dy: Vec<f64> = yo.iter().zip(&py).map(|(a, b)| a - b).collect();
            let dx: Vec<f64> = xo.iter().zip(&px).map(|(a, b)| a - b).collect();
            pinf = if test_p && hpdhg::primal_infeasible(pb, &dy, o.eps_infeasible) { pinf + 1 } else { 0 };
            dinf = if test_d && hpdhg::dual_infeasible(pb, &dx, o.eps_infeasible) { dinf + 1 } else { 0 };
            if pinf >= 2 {
                status = Status::PrimalInfeasible;
                break;
            }
            if dinf >= 2 {
                status = Status::DualInfeasible;
                break;
            }
        }
        last = Some((xo, yo));
        if timed_out {
            status = Status::TimeLimit;
            break;
        }
        if fista {
            // Momentum restart: ζ ← z (a host write of n values and a re-send).
            let due = match o.fista_restart {
                hpdhg::FistaRestart::Fpr => fpr > fpr_last,
                hpdhg::FistaRestart::Gradient => hpdhg::momentum_uphill(&x_pre, &pn.sol.z, &z_prev),
            };
            if due {
                t_mom = 1.0;
                let z = pn.sol.z.clone();
                if let Some(p) = prof.as_ref() {
                    let mv = (max_diff_inf(&z, &xr), 0.0);
                    let za: Vec<f64> = z.iter().zip(&shift).map(|(v, s)| add(*v, *s)).collect();
                    let (g, _) = pn.restart_grids(d, p, &za, &[], (tau, sig), mv, fit, floor);
                    pn.regrid(d, ss, &za, &[], &[], g, (tau, sig));
                    shift.copy_from_slice(&za);
                    xr.copy_from_slice(&pn.net.pops[xp].out);
                    anchor = Some((za, Vec::new(), mv));
                } else {
                    write_state(pn, &z, &[]);
                }
                restarts += 1;
            }
            fpr_last = fpr;
            continue;
        }
        let mut restart = false;
        if matches!(o.omega_rule, HpdhgOmegaRule::Balance | HpdhgOmegaRule::BalanceAbs) && k >= next_adapt && mh > 0 {
            let (ep, ed) = (rep.eps_prim(settings), rep.eps_dual(settings));
            let (p_hat, d_hat) = if o.omega_rule == HpdhgOmegaRule::Balance {
                (rep.res.prim.max(ep) / (rep.prim_scale + 1e-10), rep.res.dual.max(ed) / (rep.dual_scale + 1e-10))
            } else {
                (rep.res.prim.max(ep), rep.res.dual.max(ed))
            };
            if (rep.res.prim > ep || rep.res.dual > ed) && p_hat > 0.0 && d_hat > 0.0 {
                let cand = (omega * (p_hat / d_hat).sqrt()).clamp(hpdhg::OMEGA_MIN, hpdhg::OMEGA_MAX);
                if cand > 5.0 * omega || cand < omega / 5.0 {
                    omega = cand;
                    (tau, sig) = hpdhg::steps(lam, d.sigma, omega);
                    adapt_gap *= 2;
                    next_adapt = k + adapt_gap;
                    restart = true;
                }
            }
        }
        if !o.restarts && !restart {
            continue;
        }
        // An ω change starts a new epoch from T(z) (below) without the test.
        restart = restart || epoch.restart_due(k, fpr, o);
        if !restart {
            continue;
        }
        restarts += 1;
        let omega_before = omega;
        if matches!(o.omega_rule, HpdhgOmegaRule::PrimalWeight | HpdhgOmegaRule::GuardedPrimalWeight) && mh > 0 {
            let xt = &pn.sol.z;
            let yt = &pn.con.w;
            let dx: f64 = xt.iter().zip(&xr).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
            let dy: f64 = yt.iter().zip(&yr).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
            if dx > 1e-10 && dy > 1e-10 {
                let th = o.pw_smoothing;
                let cand =
                    (th * (dy / dx).ln() + (1.0 - th) * omega.ln()).exp().clamp(hpdhg::OMEGA_MIN, hpdhg::OMEGA_MAX);
                let p_hat = rep.res.prim / rep.eps_prim(settings);
                let d_hat = rep.res.dual / rep.eps_dual(settings);
                let gf = o.omega_guard;
                let against = (cand < omega && p_hat > gf * d_hat) || (cand > omega && d_hat > gf * p_hat);
                if o.omega_rule == HpdhgOmegaRule::PrimalWeight || !against {
                    omega = cand;
                    (tau, sig) = hpdhg::steps(lam, d.sigma, omega);
                }
            }
        }
        if omega != omega_before {
            // New gains τ, σ (and σ·l̄, σ·ū) written to every neuron.
            pn.alpha0 = tau;
            pn.beta0 = sig;
            pn.set_steps(ss, d, 0);
            pn.net.counts.readouts += (n + mh) as u64;
        }
        // The restart point, in the problem's (unshifted) internal coordinates.
        let (xs, ys) = match avg {
            Some((xa, ya, ka)) if ka < kkt(&rep) => (xa, ya),
            _ => (
                pn.sol.z.iter().zip(&shift).map(|(v, s)| add(*v, *s)).collect(),
                pn.con.w.iter().zip(&yshift).map(|(v, s)| add(*v, *s)).collect(),
            ),
        };
        // The restart: state written (the accumulators cleared with it); with regrid, on
        // grids fitted to the restart point.
        if let Some(p) = prof.as_ref() {
            let moved = xs.iter().zip(&shift).zip(&xr).fold(0.0f64, |m, ((v, s), r)| m.max((v - s - r).abs()));
            let moved_y = ys.iter().zip(&yshift).zip(&yr).fold(0.0f64, |m, ((v, s), r)| m.max((v - s - r).abs()));
            let mv = (moved, moved_y);
            let (g, ysh) = pn.restart_grids(d, p, &xs, &ys, (tau, sig), mv, fit, floor);
            pn.regrid(d, ss, &xs, &ys, &ysh, g, (tau, sig));
            shift.copy_from_slice(&xs);
            yshift = ysh;
            anchor = Some((xs, ys, mv));
            pn.sol.acc.reset(n, use_avg, pn.sol.e_x + SUM_EXTRA_BITS);
            pn.con.acc.reset(mh, use_avg, pn.con.e_y + SUM_EXTRA_BITS);
        } else {
            write_state(pn, &xs, &ys);
            pn.sol.acc.clear();
            pn.con.acc.clear();
        }
        xr.copy_from_slice(&pn.net.pops[xp].out);
        yr.copy_from_slice(&pn.net.pops[yp].out);
        nsum = 0;
        epoch.restart_at(k);
    }
    let overflowed = pn.net.counts.overflows > ov_base;
    let best = match status {
        Status::PrimalInfeasible | Status::DualInfeasible => Some((vec![0.0; n], vec![0.0; m])),
        _ => final_xy.or(last),
    };
    let _ = restarts;
    Attempt { best, status, iters, overflowed, omega, saturated: sat_by }
}

/// Spiking PIPG solver (see the module docs).
pub struct SpikingSolver {
    /// Spiking-specific settings (arithmetic, θ, steps, readout period).
    pub spiking: SpikingSettings,
    settings: Settings,
    orig: Option<Problem>,
    data: Option<PipgData>,
    x_ws: Option<Vec<f64>>,
    y_ws: Option<Vec<f64>>,
    /// The network, kept between solves (rebuilt only when the pattern or arithmetic change).
    net: Option<PipgNet>,
    /// The matrices changed since the network's weights were loaded.
    weights_stale: bool,
    /// Counts of the last solve.
    pub last_ops: OpCounts,
    /// HPDHG method: the proximal diagonal δ of the solution neurons (empty for PIPG).
    delta: Vec<f64>,
    /// HPDHG method: the whitening of the coupled cost (`hpdhg::Whitening`), if any.
    white: Option<hpdhg::Whitening>,
    /// HPDHG method: the primal weight ω the last solve ended with (for
    /// [`SpikingSettings::hpdhg_carry_omega`]).
    hp_omega: Option<f64>,
}

impl std::fmt::Debug for SpikingSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpikingSolver").field("spiking", &self.spiking).finish()
    }
}

impl Default for SpikingSolver {
    fn default() -> Self {
        Self::new(SpikingSettings::default())
    }
}

struct Attempt {
    best: Option<(Vec<f64>, Vec<f64>)>,
    status: Status,
    iters: usize,
    overflowed: bool,
    /// The primal weight ω the attempt ended with.
    omega: f64,
    /// Fixed point, HPDHG method: which populations' ranges saturated (solution, constraint);
    /// neither known when both are false.
    saturated: [bool; 2],
}

impl SpikingSolver {
    /// A solver with the given spiking settings (call `setup` before `solve`).
    pub fn new(spiking: SpikingSettings) -> Self {
        Self {
            spiking,
            settings: Settings::default(),
            orig: None,
            data: None,
            x_ws: None,
            y_ws: None,
            net: None,
            weights_stale: false,
            last_ops: OpCounts::default(),
            delta: Vec::new(),
            white: None,
            hp_omega: None,
        }
    }

    /// Stored synapses (every weight plane) per neuron of the network the last solve ran,
    /// solution neurons first, then constraint neurons: the input of a core mapping
    /// (`crate::neuro::energy::CoreMap::split`). `None` before the first solve.
    pub fn network_fan_in(&self) -> Option<Vec<u64>> {
        self.net.as_ref().map(|pn| pn.net.fan_in())
    }

    fn prepare(&mut self) {
        if let Some(pb) = &self.orig {
            let opt = PipgOptions { relaxation: self.spiking.rho, ..self.spiking.pipg.clone() };
            let (d, delta, white) = match self.spiking.method {
                NetMethod::Pipg => (PipgData::new(pb, self.settings.scaling_iters, &opt), Vec::new(), None),
                NetMethod::Hpdhg => hpdhg_data(pb, &self.settings, &self.spiking.hpdhg, &opt),
            };
            self.data = Some(d);
            self.delta = delta;
            self.white = white;
        }
    }

    fn parts(&self) -> Result<(&Problem, &PipgData), QpError> {
        match (&self.orig, &self.data) {
            (Some(o), Some(d)) => Ok((o, d)),
            _ => Err(QpError::Usage("solve called before setup".into())),
        }
    }

    /// The warm-dual guard ([`SpikingSettings::hpdhg_warm_dual_guard`]): true unless a warm
    /// start of both x̂ and ŷ has a higher normalised KKT error on the original problem than
    /// (x̂, 0). Host work, once per solve.
    fn warm_dual_helps(&self) -> bool {
        let (Some(pb), Some(xw), Some(yw)) = (self.orig.as_ref(), self.x_ws.as_deref(), self.y_ws.as_deref()) else {
            return true;
        };
        let s = &self.settings;
        residuals::compute(pb, xw, yw).kkt_error(s) <= residuals::compute(pb, xw, &vec![0.0; yw.len()]).kkt_error(s)
    }

    /// One attempt on the network at `extra_bits` of added range, of at most `budget`
    /// iterations.
    fn attempt(
        &mut self,
        extra_bits: [i32; 2],
        budget: usize,
        ops: &mut OpCounts,
        t0: Instant,
    ) -> Result<Attempt, QpError> {
        let Self { spiking: ss, settings, orig, data, x_ws, y_ws, net, weights_stale, delta, hp_omega, white, .. } =
            self;
        let (Some(orig), Some(d)) = (orig.as_ref(), data.as_ref()) else {
            return Err(QpError::Usage("solve called before setup".into()));
        };
        let capped = Settings { max_iter: budget, ..settings.clone() };
        let settings = &capped;
        let (n, m, mh) = (orig.n(), orig.m(), d.h.nrows);
        let white = white.as_ref();
        let mut x0 = x_ws
            .as_deref()
            .map(|x| {
                let xs = d.scaling.scale_x(x);
                white.map_or(xs.clone(), |w| w.internal(&xs))
            })
            .unwrap_or_else(|| vec![0.0; n]);
        let hp = ss.method == NetMethod::Hpdhg;
        if hp && x_ws.is_some() {
            // As the `hpdhg` backend: a warm start is clamped into the variable box.
            x0.iter_mut().enumerate().for_each(|(j, v)| *v = v.clamp(d.lb[j], d.ub[j]));
        }
        // The HPDHG method loads its steps and relaxation through the PIPG fields.
        let omega0 = match *hp_omega {
            Some(w) if ss.hpdhg_carry_omega => w,
            _ => ss.hpdhg.omega,
        };
        let ss_h;
        let ss = if hp {
            let o = &ss.hpdhg;
            ss_h = SpikingSettings { steps: StepRule::Constant { omega: omega0 }, rho: o.relaxation, ..ss.clone() };
            &ss_h
        } else {
            &*ss
        };
        let y0: Vec<f64> = match y_ws.as_deref() {
            Some(y) => {
                let ys = d.scaling.scale_y(y);
                d.h_rows.iter().map(|&i| ys[i]).collect()
            }
            None => vec![0.0; mh],
        };
        // Same network while the pattern and arithmetic hold; new values are loaded in place.
        let reuse = match net.as_mut() {
            Some(pn) if pn.net.arith == ss.arith => !*weights_stale || pn.set_weights(d),
            _ => false,
        };
        if !reuse {
            *net = Some(PipgNet::new(d, ss));
        }
        *weights_stale = false;
        let pn = net.as_mut().expect("network built above");
        pn.sol.delta.clone_from(delta);
        pn.load(d, ss, &x0, &y0, extra_bits);
        let (xp, yp) = (pn.x_pop, pn.y_pop);
        pn.net.prime(&[xp, yp]);
        pn.con.latch_only = true;
        pn.net.step(&mut [(yp, &mut pn.con)]);
        pn.con.latch_only = false;
        if hp {
            let mut pb = orig.clone();
            for v in pb.l.iter_mut().chain(pb.u.iter_mut()) {
                *v = v.clamp(-INFTY, INFTY);
            }
            let a = run_hpdhg(pn, ss, d, &pb, settings, t0, omega0, white);
            ops.accumulate(&pn.net.counts);
            return Ok(a);
        }
        let k_check = ss.check_every.max(1);
        let mut have_best = false;
        let mut status = Status::MaxIterations;
        let mut iters = 0;
        let mut omega = match ss.steps {
            StepRule::Constant { omega } => omega,
            StepRule::LavaPow2 { .. } => 1.0,
        };
        let omega0 = omega;
        let mut adapt_gap = k_check;
        let mut next_adapt = 0;
        let adaptive = ss.adaptive_omega && matches!(ss.steps, StepRule::Constant { .. });
        for k in 0..settings.max_iter {
            let th = ss.theta.at(k);
            pn.net.pops[xp].theta = th;
            pn.net.pops[yp].theta = th;
            pn.set_steps(ss, d, k);
            pn.net.step(&mut [(xp, &mut pn.sol)]);
            pn.net.step(&mut [(yp, &mut pn.con)]);
            iters = k + 1;
            if iters % k_check != 0 && iters != settings.max_iter {
                continue;
            }
            pn.net.counts.readout_checks += 1;
            pn.net.counts.readouts += (n + mh) as u64;
            if pn.net.counts.overflows > 0 {
                // the host reads the saturation counter with the values: give up early
                break;
            }
            // A z within one grid step of its (grid-rounded) variable bound is reported on the
            // exact bound, so that pipg's output map recognises the active box row.
            let lsb = if ss.arith.is_fixed() { f64::powi(2.0, pn.sol.e_x) } else { 0.0 };
            for (j, zr) in pn.z_read.iter_mut().enumerate() {
                let zj = pn.sol.z[j];
                *zr = if d.ub[j] < INFTY && zj >= pn.sol.ub[j] - lsb {
                    d.ub[j]
                } else if d.lb[j] > -INFTY && zj <= pn.sol.lb[j] + lsb {
                    d.lb[j]
                } else {
                    zj
                };
            }
            // The primal test first: when it fails (most readouts of a solve) and ω is constant,
            // the dual residual and gap are not needed.
            let primal = d.check_primal(orig, &pn.z_read, &pn.con.w, &mut pn.scratch);
            if !primal.prim.is_finite() {
                status = Status::NumericalError;
                break;
            }
            pn.best_z.copy_from_slice(&pn.z_read);
            pn.best_w.copy_from_slice(&pn.con.w);
            have_best = true;
            let timed_out = settings.time_limit.is_some_and(|tl| t0.elapsed() >= tl);
            if primal.fails(settings) && !adaptive {
                if timed_out {
                    status = Status::TimeLimit;
                    break;
                }
                continue;
            }
            let rep = d.check_rest(orig, &pn.z_read, &pn.con.w, primal, &mut pn.scratch);
            if !rep.res.dual.is_finite() {
                status = Status::NumericalError;
                break;
            }
            let conv = if ss.check_gap { rep.converged_with_gap(settings) } else { rep.converged(settings) };
            if conv {
                status = Status::Solved;
                break;
            }
            if timed_out {
                status = Status::TimeLimit;
                break;
            }
            if adaptive && ss.omega_rule == OmegaRule::Pipg && iters >= next_adapt {
                // pipg's residual balancing: residuals below tolerance do not pull ω; the
                // wait between changes doubles after each change so that ω settles.
                let (ep, ed) = (rep.eps_prim(settings), rep.eps_dual(settings));
                let p_hat = rep.res.prim.max(ep) / (rep.prim_scale + 1e-10);
                let d_hat = rep.res.dual.max(ed) / (rep.dual_scale + 1e-10);
                if (rep.res.prim > ep || rep.res.dual > ed) && p_hat > 0.0 && d_hat > 0.0 {
                    let cand = (omega * (p_hat / d_hat).sqrt()).clamp(0.1, 1e4);
                    let tol = ss.omega_tolerance.max(1.0);
                    if cand > omega * tol || cand < omega / tol {
                        omega = cand;
                        adapt_gap *= 2;
                        next_adapt = iters + adapt_gap;
                        pn.reprogram(ss, d, omega, k + 1, n + mh);
                    }
                }
            } else if adaptive && ss.omega_rule == OmegaRule::Bounded {
                // Residuals over their tolerances (floored at 1), ratio √(r̂_p/r̂_d); a step
                // of at most 2× when outside [1/3, 3], ω kept within [ω₀/64, 64ω₀].
                let rp = (rep.res.prim / rep.eps_prim(settings).max(1e-300)).max(1.0);
                let rd = (rep.res.dual / rep.eps_dual(settings).max(1e-300)).max(1.0);
                let ratio = (rp / rd).sqrt();
                if ratio.is_finite() && !(1.0 / 3.0..=3.0).contains(&ratio) {
                    omega = (omega * ratio.clamp(0.5, 2.0)).clamp(omega0 / OMEGA_SPAN, omega0 * OMEGA_SPAN);
                    pn.reprogram(ss, d, omega, k + 1, n + mh);
                }
            }
        }
        ops.accumulate(&pn.net.counts);
        let overflowed = pn.net.counts.overflows > 0;
        let best = have_best.then(|| d.output(&pn.best_z, &pn.best_w, m));
        Ok(Attempt { best, status, iters, overflowed, omega, saturated: [true; 2] })
    }
}

impl QpSolver for SpikingSolver {
    /// `spiking` for the float network, `loihi2` for Loihi 2 fixed point: records and
    /// reports name the arithmetic that ran.
    fn name(&self) -> &'static str {
        match self.spiking.arith {
            Arith::Float => "spiking",
            Arith::Fixed(_) => "loihi2",
        }
    }

    fn setup(&mut self, problem: &Problem, settings: &Settings) -> Result<(), QpError> {
        problem.validate()?;
        if settings.max_iter == 0 {
            return Err(QpError::Usage("max_iter must be positive".into()));
        }
        if self.spiking.method == NetMethod::Hpdhg {
            let o = &self.spiking.hpdhg;
            if !(o.omega > 0.0
                && o.omega.is_finite()
                && o.relaxation > 0.0
                && o.relaxation < 2.0
                && o.norm_safety >= 1.0)
            {
                return Err(QpError::Usage("hpdhg: need omega > 0, 0 < relaxation < 2, norm_safety ≥ 1".into()));
            }
            if o.mode != HpdhgMode::Relaxed {
                return Err(QpError::Usage("the network runs the hpdhg method in mode Relaxed only".into()));
            }
            if o.restart_metric != hpdhg::RestartMetric::Fpr {
                return Err(QpError::Usage(
                    "the network restarts the hpdhg method on the fixed-point residual only".into(),
                ));
            }
        }
        self.settings = settings.clone();
        self.orig = Some(problem.clone());
        self.x_ws = None;
        self.y_ws = None;
        self.net = None;
        self.hp_omega = None;
        self.prepare();
        Ok(())
    }

    fn update_q(&mut self, q: &[f64]) -> Result<(), QpError> {
        let pb = self.orig.as_mut().ok_or_else(|| QpError::Usage("update before setup".into()))?;
        if q.len() != pb.n() {
            return Err(QpError::Dimension(format!("q has length {}, n = {}", q.len(), pb.n())));
        }
        if q.iter().any(|v| !v.is_finite()) {
            return Err(QpError::NonFinite("q".into()));
        }
        pb.q = q.to_vec();
        if let Some(d) = self.data.as_mut() {
            let qs = d.scaling.scale_q(q);
            d.q = match &self.white {
                Some(w) => w.cost(&qs),
                None => qs,
            };
        }
        Ok(())
    }

    fn update_bounds(&mut self, l: &[f64], u: &[f64]) -> Result<(), QpError> {
        match (self.orig.as_mut(), self.data.as_mut()) {
            (Some(pb), Some(d)) => d.update_bounds(pb, l, u),
            _ => Err(QpError::Usage("update before setup".into())),
        }
    }

    fn update_matrices(&mut self, p_nzval: Option<&[f64]>, a_nzval: Option<&[f64]>) -> Result<(), QpError> {
        let pb = self.orig.as_mut().ok_or_else(|| QpError::Usage("update before setup".into()))?;
        let mut cand = pb.clone();
        if let Some(p) = p_nzval {
            if p.len() != cand.p.nnz() {
                return Err(QpError::PatternChanged(format!("P has {} non-zeros, got {}", cand.p.nnz(), p.len())));
            }
            cand.p.nzval = p.to_vec();
        }
        if let Some(a) = a_nzval {
            if a.len() != cand.a.nnz() {
                return Err(QpError::PatternChanged(format!("A has {} non-zeros, got {}", cand.a.nnz(), a.len())));
            }
            cand.a.nzval = a.to_vec();
        }
        cand.validate()?;
        *pb = cand;
        // Same pattern: restart the norm estimates from the last vectors (PIPG); HPDHG
        // prepares its data afresh, as the `hpdhg` backend does.
        let opt = PipgOptions { relaxation: self.spiking.rho, ..self.spiking.pipg.clone() };
        match (self.data.as_mut(), self.orig.as_ref(), self.spiking.method) {
            (Some(d), Some(pb), NetMethod::Pipg) => d.refresh(pb, self.settings.scaling_iters, &opt),
            _ => self.prepare(),
        }
        self.weights_stale = true;
        Ok(())
    }

    /// New tolerances, caps and limits for the next solves; the network, its data and the
    /// carried primal weight stay (the data is prepared again when `scaling_iters` changed).
    fn update_settings(&mut self, settings: &Settings) -> Result<bool, QpError> {
        if self.orig.is_none() {
            return Err(QpError::Usage("update before setup".into()));
        }
        if settings.max_iter == 0 {
            return Err(QpError::Usage("max_iter must be positive".into()));
        }
        let rescale = settings.scaling_iters != self.settings.scaling_iters;
        self.settings = settings.clone();
        if rescale {
            self.prepare();
            self.weights_stale = true;
        }
        Ok(true)
    }

    fn warm_start(&mut self, x: Option<&[f64]>, y: Option<&[f64]>) -> Result<(), QpError> {
        let pb = self.orig.as_ref().ok_or_else(|| QpError::Usage("warm start before setup".into()))?;
        if let Some(x) = x {
            if x.len() != pb.n() || x.iter().any(|v| !v.is_finite()) {
                return Err(QpError::Dimension("warm-start x has the wrong length or non-finite values".into()));
            }
            self.x_ws = Some(x.to_vec());
        }
        if let Some(y) = y {
            if y.len() != pb.m() || y.iter().any(|v| !v.is_finite()) {
                return Err(QpError::Dimension("warm-start y has the wrong length or non-finite values".into()));
            }
            self.y_ws = Some(y.to_vec());
        }
        Ok(())
    }

    fn solve(&mut self) -> Result<Solution, QpError> {
        let t0 = Instant::now();
        let mut ops = OpCounts::default();
        let (orig, d) = self.parts()?;
        let (n, m) = (orig.n(), orig.m());
        if d.box_empty() {
            let mut sol = finish_solution(orig, vec![0.0; n], vec![0.0; m], Status::PrimalInfeasible, 0, t0.elapsed());
            sol.ops = Some(ops);
            return Ok(sol);
        }
        // HPDHG widens the range 1 bit per retry (twice as many retries: the same widest
        // range); on the lava ANYmal QP this ends one bit finer than 2-bit steps. With regrid
        // it widens one population per retry and the host polls the saturation counter every
        // iteration (a saturated attempt ends at once): twice as many retries again, for the
        // same widest range of both.
        let hp = self.spiking.method == NetMethod::Hpdhg;
        let retries = match (self.spiking.arith.is_fixed(), hp) {
            (false, _) => 1,
            (true, false) => MAX_RANGE_RETRIES + 1,
            (true, true) if self.spiking.regrid => 4 * MAX_RANGE_RETRIES + 1,
            (true, true) => 2 * MAX_RANGE_RETRIES + 1,
        };
        if hp && self.spiking.hpdhg_warm_dual_guard && !self.warm_dual_helps() {
            self.y_ws = None;
        }
        let mut last = None;
        // Every attempt's iterations ran on the network: all are reported, as all its
        // operations are counted, and all come out of the one `max_iter` budget.
        let mut iterations = 0;
        let mut extra = [0i32; 2];
        for _ in 0..retries {
            let budget = self.settings.max_iter - iterations;
            if budget == 0 {
                break;
            }
            let a = self.attempt(extra, budget, &mut ops, t0)?;
            iterations += a.iters;
            let done = !a.overflowed;
            // PIPG widens both ranges by 2 bits; HPDHG the range of the population whose step
            // saturated by 1 bit (both when that is not known).
            let widen = if !hp || a.saturated == [false; 2] { [true; 2] } else { a.saturated };
            for (e, w) in extra.iter_mut().zip(widen) {
                *e += if w { if hp { 1 } else { 2 } } else { 0 };
            }
            last = Some(a);
            if done {
                break;
            }
        }
        let a = last.expect("at least one attempt");
        if hp && !a.overflowed && a.omega.is_finite() {
            self.hp_omega = Some(a.omega);
        }
        let (orig, _) = self.parts()?;
        let fallback =
            || (self.x_ws.clone().unwrap_or_else(|| vec![0.0; n]), self.y_ws.clone().unwrap_or_else(|| vec![0.0; m]));
        let status = if a.overflowed { Status::NumericalError } else { a.status };
        let (x, y) = a.best.unwrap_or_else(fallback);
        let mut sol = finish_solution(orig, x, y, status, iterations, t0.elapsed());
        sol.ops = Some(ops);
        self.last_ops = ops;
        if self.settings.warm_start && sol.status != Status::NumericalError {
            self.x_ws = Some(sol.x.clone());
            self.y_ws = Some(sol.y.clone());
        }
        Ok(sol)
    }
}

// The tests use the lab's problem generators.
#[cfg(all(test, feature = "lab"))]
mod tests {
    use super::*;
    use crate::lab::generate::Family;
    use crate::lab::neuro_bench::{anymal_equality_mpc, rel_gap, violation};
    use crate::qp::{ClarabelSolver, PipgSolver};

    fn max_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
    }

    /// Float mode with θ = 0 and constant ω runs pipg's plain recurrence: same x, y after
    /// the same number of iterations, to rounding.
    #[test]
    fn float_theta_zero_reproduces_pipg_iterates() {
        for (pb, iters) in [
            (Family::RandomMixed.generate(20, 3), 7),
            (Family::RandomMixed.generate(20, 3), 150),
            (Family::Mpc.generate(4, 1), 90),
            (Family::Box.generate(15, 2), 40),
        ] {
            let s = Settings { max_iter: iters, warm_start: false, ..Settings::default() };
            let mut reference = PipgSolver::with_options(PipgOptions::plain());
            reference.setup(&pb, &s).unwrap();
            let r = reference.solve().unwrap();
            let ss = SpikingSettings { check_every: iters, ..SpikingSettings::float_plain() };
            let mut sp = SpikingSolver::new(ss);
            sp.setup(&pb, &s).unwrap();
            let x = sp.solve().unwrap();
            assert_eq!(x.iterations, iters);
            let scale = 1.0 + r.x.iter().chain(&r.y).fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(max_diff(&x.x, &r.x) <= 1e-9 * scale, "x differs by {}", max_diff(&x.x, &r.x));
            assert!(max_diff(&x.y, &r.y) <= 1e-9 * scale, "y differs by {}", max_diff(&x.y, &r.y));
            let ops = x.ops.unwrap();
            assert_eq!(ops.timesteps, 2 + 2 * iters as u64);
            assert_eq!(ops.overflows, 0);
        }
    }

    /// Float mode with θ = 0 and the HPDHG method runs `HpdhgSolver`'s loop: same status,
    /// iteration count and (x, y) to rounding, with restarts, averages, primal-weight updates
    /// and (box-only) FISTA all taken at the same checks.
    #[test]
    fn float_theta_zero_reproduces_hpdhg_iterates() {
        use crate::lab::families::RoboticsFamily;
        use crate::qp::hpdhg::HpdhgSolver;
        let mut cases = vec![
            (Family::RandomMixed.generate(20, 3), 1e-6, 160),
            (Family::RandomMixed.generate(20, 3), 1e-9, 2000),
            (Family::Mpc.generate(4, 1), 1e-6, 3000),
            (Family::Box.generate(15, 2), 1e-8, 3000),
        ];
        for f in RoboticsFamily::ALL {
            cases.push((f.generate(f.horizons()[0], 1), 1e-3, 2000));
        }
        // The cold preset (θ = 0, as `HpdhgSolver::new()`) and the default settings (θ = 0.1).
        let presets = [crate::qp::registry::cold_preset(), SpikingSettings::default().with_method(NetMethod::Hpdhg)];
        assert_eq!(presets[0].hpdhg, HpdhgOptions::default());
        for ((pb, eps, max_iter), ss) in cases.iter().flat_map(|c| presets.iter().map(move |p| (c, p))) {
            let (eps, max_iter) = (*eps, *max_iter);
            let s = Settings { eps_abs: eps, eps_rel: 0.0, max_iter, warm_start: false, ..Settings::default() };
            let mut reference = HpdhgSolver::with_options(ss.hpdhg.clone());
            reference.setup(pb, &s).unwrap();
            let r = reference.solve().unwrap();
            let mut sp = SpikingSolver::new(ss.clone());
            sp.setup(pb, &s).unwrap();
            let x = sp.solve().unwrap();
            let what = format!(
                "n {} m {}: {:?} in {} vs {:?} in {}",
                pb.n(),
                pb.m(),
                x.status,
                x.iterations,
                r.status,
                r.iterations
            );
            assert_eq!((x.status, x.iterations), (r.status, r.iterations), "{what}");
            let scale = 1.0 + r.x.iter().chain(&r.y).fold(0.0f64, |m, v| m.max(v.abs()));
            let (dx, dy) = (max_diff(&x.x, &r.x), max_diff(&x.y, &r.y));
            assert!(dx <= 1e-7 * scale && dy <= 1e-7 * scale, "{what}: x differs by {dx:.2e}, y by {dy:.2e}");
            let ops = x.ops.unwrap();
            assert_eq!(ops.overflows, 0);
            assert!(ops.timesteps >= 2 + 2 * x.iterations as u64);
            assert!(ops.readouts > 0 && ops.readout_checks == x.iterations.div_ceil(25) as u64, "{what}: {ops:?}");
        }
    }

    /// The HPDHG method on the network: infeasibility certificates as `hpdhg`, a warm start
    /// from the solution ends at the first check, and Loihi 2 fixed point agrees with
    /// Clarabel on small families (objective within 1e-3 relative at ε = 1e-3; at ε = 1e-4
    /// RandomMixed(20, 5) stalls with the dual residual at 1.3e-4).
    #[test]
    fn hpdhg_network_detects_infeasibility_warm_starts_and_runs_in_fixed_point() {
        let h = || SpikingSettings::default().with_method(NetMethod::Hpdhg);
        let pb = Family::Infeasible.generate(8, 5);
        let mut sp = SpikingSolver::new(h());
        sp.setup(&pb, &Settings { max_iter: 20_000, warm_start: false, ..Settings::default() }).unwrap();
        let sol = sp.solve().unwrap();
        assert_eq!(sol.status, Status::PrimalInfeasible, "{:?}", sol.residuals);
        assert!(sol.x.iter().chain(&sol.y).all(|v| v.is_finite()));

        let pb = Family::RandomMixed.generate(15, 2);
        let s = Settings { eps_abs: 1e-4, eps_rel: 0.0, max_iter: 5000, ..Settings::default() };
        let mut sp = SpikingSolver::new(h());
        sp.setup(&pb, &s).unwrap();
        assert_eq!(sp.solve().unwrap().status, Status::Solved);
        let b = sp.solve().unwrap();
        assert_eq!(b.status, Status::Solved);
        assert!(b.iterations <= 25, "{} iterations", b.iterations);

        // RandomMixed(20, 5) with the cost column ratio θ = 0.1: the default θ = 0 (chosen on
        // the robotics families) slows this random dense problem down (CPU float: 675 → 3225
        // iterations) and the fixed-point network then stalls at a dual residual of 2.6e-3.
        for (pb, theta) in [
            (Family::RandomMixed.generate(20, 5), 0.1),
            (Family::Box.generate(20, 6), 0.0),
            (Family::Mpc.generate(6, 2), 0.0),
        ] {
            let mut cl = ClarabelSolver::new();
            cl.setup(&pb, &Settings { eps_abs: 1e-9, eps_rel: 1e-9, ..Settings::default() }).unwrap();
            let c = cl.solve().unwrap();
            let s = Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter: 6000, warm_start: false, ..Settings::default() };
            let mut ss = SpikingSettings::loihi2(3).with_method(NetMethod::Hpdhg);
            ss.hpdhg.cost_column_ratio = theta;
            let mut sp = SpikingSolver::new(ss);
            sp.setup(&pb, &s).unwrap();
            let sol = sp.solve().unwrap();
            assert_eq!(sol.status, Status::Solved, "n {}: {:?}", pb.n(), sol.residuals);
            let g = rel_gap(sol.objective, c.objective);
            assert!(g < 1e-3, "gap {g:.3e}");
            let ops = sol.ops.unwrap();
            assert!(ops.readouts > 0 && ops.neuron_updates > 0);
        }
    }

    /// min ½‖x‖² + qᵀx s.t. x₀ + x₁ = 1 (one non-box row): counts by hand for 5 iterations.
    #[test]
    fn hand_counted_tiny_qp_network() {
        let pb = Problem::new(
            CscMatrix::identity(2, 1.0),
            vec![-1.0, -2.0],
            CscMatrix::from_dense(1, 2, &[1.0, 1.0]),
            vec![1.0],
            vec![1.0],
        )
        .unwrap();
        let k = 5u64;
        let s = Settings { max_iter: k as usize, warm_start: false, scaling_iters: 0, ..Settings::default() };
        let mut sp = SpikingSolver::new(SpikingSettings { check_every: 5, ..SpikingSettings::float_plain() });
        sp.setup(&pb, &s).unwrap();
        let c = sp.solve().unwrap().ops.unwrap();
        // prime + latch + 2 per iteration
        assert_eq!(c.timesteps, 2 + 2 * k);
        // latch: 1 constraint neuron; each iteration: 2 solution + 1 constraint
        assert_eq!(c.neuron_updates, 1 + 3 * k);
        assert_eq!(c.idle_neuron_updates, 3 + 2 + 3 * k);
        // zero start: nothing sent at priming; then every output changes every iteration:
        // 2 solution messages (fan-out P column 1 + H column 1) and 1 constraint message
        // (fan-out Hᵀ column 2).
        assert_eq!(c.messages, 3 * k);
        assert_eq!(c.synops, (2 * 2 + 2) * k);
        assert_eq!(c.bits_moved, 64 * 3 * k);
        assert_eq!(c.potential_messages, 3 + 1 + 3 * k);
        assert_eq!((c.readout_checks, c.readouts), (1, 3));
    }

    /// Loihi 2 fixed point on the ANYmal-sized equality problem:
    /// ‖Ax − b‖∞ ≤ 1e-3 and relative objective gap ≤ 1e-3 vs Clarabel within 1000 iterations.
    #[test]
    fn fixed_point_agrees_with_clarabel_on_anymal_sized_problem() {
        let pb = anymal_equality_mpc(0);
        let mut cl = ClarabelSolver::new();
        cl.setup(&pb, &Settings { eps_abs: 1e-9, eps_rel: 1e-9, ..Settings::default() }).unwrap();
        let fstar = cl.solve().unwrap().objective;
        let s = Settings { eps_abs: 1e-4, eps_rel: 0.0, max_iter: 1000, warm_start: false, ..Settings::default() };
        let mut sp = SpikingSolver::new(SpikingSettings::loihi2(3));
        sp.setup(&pb, &s).unwrap();
        let sol = sp.solve().unwrap();
        assert!(sol.iterations <= 1000);
        let (v, g) = (violation(&pb, &sol.x), rel_gap(sol.objective, fstar));
        assert!(v <= 1e-3 && g <= 1e-3, "violation {v:.3e}, gap {g:.3e}, {:?}", sol.status);
    }

    /// Fixed point agrees with Clarabel on small inequality-constrained problems.
    #[test]
    fn fixed_point_solves_mixed_and_box_families() {
        for pb in [Family::RandomMixed.generate(20, 5), Family::Box.generate(20, 6)] {
            let mut cl = ClarabelSolver::new();
            cl.setup(&pb, &Settings { eps_abs: 1e-9, eps_rel: 1e-9, ..Settings::default() }).unwrap();
            let c = cl.solve().unwrap();
            let s = Settings { eps_abs: 1e-4, eps_rel: 0.0, max_iter: 6000, warm_start: false, ..Settings::default() };
            let mut sp = SpikingSolver::new(SpikingSettings::loihi2(3));
            sp.setup(&pb, &s).unwrap();
            let sol = sp.solve().unwrap();
            assert_eq!(sol.status, Status::Solved, "{:?}", sol.residuals);
            let g = rel_gap(sol.objective, c.objective);
            assert!(g < 1e-3, "gap {g:.3e}, x differs by {:.3e}", max_diff(&sol.x, &c.x));
        }
    }

    /// A state too narrow for the problem saturates on every range retry: the solve reports
    /// the saturations and NumericalError, with a finite x.
    #[test]
    fn saturation_is_reported_not_wrapped() {
        let pb = Family::RandomMixed.generate(10, 1);
        let prof = FixedProfile { state_bits: 6, msg_bits: 6, carry_shift_remainder: true, ..FixedProfile::LOIHI2 };
        let ss = SpikingSettings { arith: Arith::Fixed(prof), headroom_bits: -12, ..SpikingSettings::default() };
        let s = Settings { max_iter: 200, warm_start: false, ..Settings::default() };
        let mut sp = SpikingSolver::new(ss);
        sp.setup(&pb, &s).unwrap();
        let sol = sp.solve().unwrap();
        assert_eq!(sol.status, Status::NumericalError);
        assert!(sol.ops.unwrap().overflows > 0);
        assert!(sol.x.iter().chain(&sol.y).all(|v| v.is_finite()));
    }

    /// Warm start from the solution converges at the first readout.
    /// `hpdhg_carry_omega`: the next solve starts from the primal weight the last one ended
    /// with — the same solve as a solver started at that ω; `setup` forgets it.
    #[test]
    fn hpdhg_carry_omega_starts_from_the_last_primal_weight() {
        let pb = Family::RandomMixed.generate(10, 3);
        let s = Settings { eps_abs: 1e-6, eps_rel: 0.0, max_iter: 20_000, warm_start: false, ..Settings::default() };
        let with = |omega: f64, carry: bool| {
            let h = SpikingSettings::default().with_method(NetMethod::Hpdhg);
            SpikingSolver::new(SpikingSettings {
                hpdhg: HpdhgOptions { omega, ..h.hpdhg.clone() },
                hpdhg_carry_omega: carry,
                ..h
            })
        };
        // A poor ω₀ that the restarts move.
        let mut a = with(300.0, true);
        a.setup(&pb, &s).unwrap();
        assert_eq!(a.solve().unwrap().status, Status::Solved);
        let w = a.hp_omega.expect("recorded");
        assert!(w.is_finite() && w > 0.0 && w != 300.0, "ω after the first solve: {w}");
        let mut b = with(w, false);
        b.setup(&pb, &s).unwrap();
        let (sa, sb) = (a.solve().unwrap(), b.solve().unwrap());
        assert_eq!((sa.status, sa.iterations), (sb.status, sb.iterations));
        assert!(max_diff(&sa.x, &sb.x) < 1e-12 && max_diff(&sa.y, &sb.y) < 1e-12);
        // Without carry the second solve repeats the first.
        let mut c = with(300.0, false);
        c.setup(&pb, &s).unwrap();
        let (c1, c2) = (c.solve().unwrap(), c.solve().unwrap());
        assert_eq!(c1.iterations, c2.iterations);
        a.setup(&pb, &s).unwrap();
        assert!(a.hp_omega.is_none());
    }

    /// The warm-dual guard drops a multiplier estimate that is worse than none and keeps
    /// one that is good.
    #[test]
    fn hpdhg_warm_dual_guard_drops_a_wrong_dual_and_keeps_a_good_one() {
        let pb = Family::RandomMixed.generate(12, 4);
        let s = Settings { eps_abs: 1e-4, eps_rel: 0.0, max_iter: 20_000, warm_start: false, ..Settings::default() };
        let with = |guard: bool| {
            let h = SpikingSettings::default().with_method(NetMethod::Hpdhg);
            SpikingSolver::new(SpikingSettings { hpdhg_warm_dual_guard: guard, ..h })
        };
        let mut ref_solver = with(true);
        ref_solver.setup(&pb, &s).unwrap();
        let opt = ref_solver.solve().unwrap();
        assert_eq!(opt.status, Status::Solved);
        // A dual from "another active set": every multiplier flipped and scaled up 100×.
        let wrong: Vec<f64> = opt.y.iter().map(|v| -100.0 * v - 10.0).collect();
        let solve_from = |guard: bool, y: &[f64]| {
            let mut sp = with(guard);
            sp.setup(&pb, &s).unwrap();
            sp.warm_start(Some(&opt.x), Some(y)).unwrap();
            sp.solve().unwrap()
        };
        let (guarded, unguarded) = (solve_from(true, &wrong), solve_from(false, &wrong));
        assert_eq!(guarded.status, Status::Solved);
        assert!(
            guarded.iterations < unguarded.iterations,
            "guarded {} vs unguarded {} iterations",
            guarded.iterations,
            unguarded.iterations
        );
        // The optimal dual is kept: the warm start from the solution stops at the first check.
        let kept = solve_from(true, &opt.y);
        assert_eq!(kept.status, Status::Solved);
        assert!(kept.iterations <= with(true).spiking.hpdhg.check_every, "{} iterations", kept.iterations);
    }

    #[test]
    fn warm_start_from_solution_is_immediate() {
        let pb = Family::RandomMixed.generate(15, 2);
        let s = Settings { eps_abs: 1e-4, eps_rel: 0.0, max_iter: 5000, ..Settings::default() };
        let mut sp = SpikingSolver::default();
        sp.setup(&pb, &s).unwrap();
        let a = sp.solve().unwrap();
        assert_eq!(a.status, Status::Solved);
        let b = sp.solve().unwrap();
        assert_eq!(b.status, Status::Solved);
        assert!(b.iterations <= sp.spiking.check_every, "{} iterations", b.iterations);
    }

    /// Settings of the quadruped MPC's kind: constant ω, ρ = 1.9, warm Ruiz passes.
    fn mpc_like() -> SpikingSettings {
        let s = SpikingSettings::default().constant(0.4, 1.9);
        SpikingSettings { pipg: PipgOptions { warm_ruiz_passes: Some(2), ..s.pipg.clone() }, ..s }
    }

    /// The network is kept between solves: after new matrix values (same pattern) and new q,
    /// a solve gives exactly what a network built afresh from the same data gives, with the
    /// same operation counts.
    #[test]
    fn reused_network_equals_a_fresh_one_after_updates() {
        let pb = Family::RandomMixed.generate(20, 4);
        let s = Settings { eps_abs: 1e-6, eps_rel: 0.0, max_iter: 300, warm_start: false, ..Settings::default() };
        for arith in [Arith::Float, Arith::Fixed(FixedProfile::LOIHI2)] {
            let ss = SpikingSettings { arith, ..mpc_like() };
            let mut sp = SpikingSolver::new(ss.clone());
            sp.setup(&pb, &s).unwrap();
            sp.solve().unwrap();
            let mut new_pb = pb.clone();
            new_pb.a.nzval.iter_mut().enumerate().for_each(|(k, v)| *v *= 1.0 + 0.05 * (k % 3) as f64);
            new_pb.p.nzval.iter_mut().for_each(|v| *v *= 1.3);
            new_pb.q.iter_mut().for_each(|v| *v -= 0.2);
            sp.update_matrices(Some(&new_pb.p.nzval), Some(&new_pb.a.nzval)).unwrap();
            sp.update_q(&new_pb.q).unwrap();
            let a = sp.solve().unwrap();
            sp.net = None;
            let b = sp.solve().unwrap();
            assert_eq!((a.iterations, a.status), (b.iterations, b.status), "{arith:?}");
            assert_eq!(a.x, b.x, "{arith:?}");
            assert_eq!(a.y, b.y, "{arith:?}");
            assert_eq!(a.ops, b.ops, "{arith:?}");
        }
        // Changing the arithmetic between solves rebuilds the network.
        let mut sp = SpikingSolver::new(mpc_like());
        sp.setup(&pb, &s).unwrap();
        sp.solve().unwrap();
        sp.spiking.arith = Arith::Fixed(FixedProfile::LOIHI2);
        let a = sp.solve().unwrap();
        let mut fresh = SpikingSolver::new(SpikingSettings { arith: Arith::Fixed(FixedProfile::LOIHI2), ..mpc_like() });
        fresh.setup(&pb, &s).unwrap();
        assert_eq!(a.x, fresh.solve().unwrap().x);
    }

    #[test]
    fn lava_schedule_is_powers_of_two() {
        let ss = SpikingSettings { steps: StepRule::LavaPow2 { mu_min: 1e-6 }, ..SpikingSettings::default() };
        assert_eq!(schedule(&ss, 1.0, 1.0, 0), (1.0, 1.0));
        assert_eq!(schedule(&ss, 1.0, 1.0, 1), (1.0, 2.0));
        assert_eq!(schedule(&ss, 1.0, 1.0, 3), (1.0, 4.0));
        assert_eq!(schedule(&ss, 1.0, 1.0, 50), (0.5, 32.0));
        assert_eq!(schedule(&ss, 1.0, 1.0, 2300).0, f64::powi(0.5, 10));
    }
}
