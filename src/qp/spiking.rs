//! The spiking QP solver: PIPG run as a network of neurons on the [`crate::neuro`] substrate.
//!
//! On the Ruiz-scaled problem (`qp::scaling`, P̄ = c·DPD, Ā = EAD), the network runs the
//! constant-step extrapolated PIPG (xPIPG) recurrence for `l̄ ≤ Āx ≤ ū`, iteration k:
//!
//! ```text
//! z   = ζ − α (P̄ζ + q̄ + Āᵀη)                      solution neurons
//! ζ'  = (1 − ρ) ζ + ρ z
//! v   = (2/ρ)·Āζ' − (2/ρ − 1)·Āζ   ( = Ā(2z − ζ) )    constraint neurons
//! t   = η + β v
//! w   = t − clamp(t, β l̄, β ū)                      (projection onto the dual cone of [l̄, ū])
//! η'  = (1 − ρ) η + ρ w
//! ```
//!
//! Network: `n` solution neurons (output ζ) and `m` constraint neurons (output η, and a
//! latched copy of their previous input Āζ). Synapses: P̄ (full symmetric, solution →
//! solution), Ā (solution → constraint), Āᵀ (constraint → solution). Each neuron sends its
//! output by sigma-delta graded spikes (θ schedule; remainders carried), so each dendrite
//! holds the running sums P̄ζ, Āζ, Āᵀη of what has been sent. One iteration takes two
//! timesteps (solution update, then constraint update), plus one priming timestep that
//! sends the initial values and one in which constraint neurons latch Āζ₀.
//!
//! Step sizes: constant α = 2/(λ + √(λ² + 4ω²σ)), β = ω²α with λ ≥ ‖P̄‖₂, σ ≥ ‖Ā‖₂²
//! (power iteration), or lava-optimization's power-of-two schedules (α halves at
//! iterations 50, 100, 200, 350, 550, 800, 1100, 1450, 1850, 2300; β doubles at 1, 3, 7,
//! 15, …) from α₀ = 2/(μ + 2λ), β₀ = μ/(2σ).
//!
//! Termination: every `check_every` iterations the host reads ζ and η (counted as
//! readouts), unscales them and applies the QP core's test (`qp::residuals`) on the
//! original problem. In fixed point (e.g. [`FixedProfile::LOIHI2`]) the grids come from the
//! problem data: range R = max(1, ‖ζ₀‖∞, ‖η₀‖∞, finite ‖l̄, ū‖∞, ‖q̄‖∞)·2^headroom for ζ and
//! η, and R times the largest row 2-norm for each dendritic sum. A saturation stops the
//! attempt at the next readout (the host reads the saturation counter with the values) and
//! the solve restarts with 2 more bits of range, up to [`MAX_RANGE_RETRIES`] times, every
//! attempt's operations counted; if it persists the solve returns
//! [`Status::NumericalError`] with the last finite readout (or the warm start) as x. The
//! solver never returns NaN.

use std::time::Instant;

use super::residuals::{compute, finish_solution};
use super::scaling::Scaling;
use super::{CscMatrix, INFTY, Problem, QpError, QpSolver, Settings, Solution, Status};
use crate::neuro::fixed::{Arith, FixedProfile, grid_exponent, quantize};
use crate::neuro::{Inputs, Network, NeuronModel, OpCounts, ThetaSchedule};

/// Step-size rule of the spiking solver.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StepRule {
    /// Constant α, β from λ, σ and the primal-dual balance ω.
    Constant {
        /// Primal-dual balance ω > 0.
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

/// lava's iterations at which α halves.
pub const LAVA_ALPHA_HALVINGS: [usize; 10] = [50, 100, 200, 350, 550, 800, 1100, 1450, 1850, 2300];

/// Settings specific to the spiking solver.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpikingSettings {
    /// Float or fixed-point arithmetic.
    pub arith: Arith,
    /// Sigma-delta threshold schedule, in units of the scaled problem's ζ and η.
    pub theta: ThetaSchedule,
    /// Step-size rule.
    pub steps: StepRule,
    /// Relaxation ρ ∈ (0, 2) (1 = plain extrapolated PIPG).
    pub rho: f64,
    /// Iterations between host readouts (termination checks).
    pub check_every: usize,
    /// Fixed point: range headroom in bits above the problem-data estimate of |ζ|, |η|.
    pub headroom_bits: i32,
    /// Power iterations for λ and σ.
    pub power_iters: usize,
    /// Host-side adaptive ω (constant-step rule only): at each readout, when the relative
    /// primal and dual residuals (each over its tolerance) differ by more than 9× (a square
    /// root ratio outside [1/3, 3]), ω is multiplied by √(relative primal / relative dual)
    /// (clamped to [1/8, 8]) and the new α, β are written
    /// to the neurons (counted as n + m host transfers in `readouts`).
    pub adaptive_omega: bool,
}

impl Default for SpikingSettings {
    fn default() -> Self {
        Self {
            arith: Arith::Float,
            theta: ThetaSchedule::ZERO,
            steps: StepRule::Constant { omega: 1.0 },
            rho: 1.0,
            check_every: 25,
            headroom_bits: -2,
            power_iters: 50,
            adaptive_omega: false,
        }
    }
}

impl SpikingSettings {
    /// Fixed point with the Loihi 2 profile, `planes` weight planes and the dendritic
    /// shift remainder carried (see [`crate::neuro::fixed`]).
    pub fn loihi2(planes: u32) -> Self {
        let prof = FixedProfile { carry_shift_remainder: true, ..FixedProfile::loihi2_planes(planes) };
        Self { arith: Arith::Fixed(prof), ..Self::default() }
    }
}

/// Largest eigenvalue of a symmetric PSD operator by power iteration (deterministic start),
/// inflated by 1 % and floored at 1e-12.
fn power_max(n: usize, iters: usize, mut apply: impl FnMut(&[f64], &mut [f64])) -> f64 {
    if n == 0 {
        return 1e-12;
    }
    let mut v: Vec<f64> = (0..n).map(|i| 1.0 + 0.1 * ((i * 7919) % 13) as f64).collect();
    let mut w = vec![0.0; n];
    let mut lam = 0.0;
    for _ in 0..iters.max(1) {
        let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if nv == 0.0 || !nv.is_finite() {
            break;
        }
        v.iter_mut().for_each(|x| *x /= nv);
        w.iter_mut().for_each(|x| *x = 0.0);
        apply(&v, &mut w);
        lam = v.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        std::mem::swap(&mut v, &mut w);
    }
    (lam * 1.01).max(1e-12)
}

/// ‖P‖₂ (P given as an upper triangle) by power iteration.
pub fn norm_p(p: &CscMatrix, iters: usize) -> f64 {
    power_max(p.ncols, iters, |x, y| p.sym_upper_mul_add(x, y))
}

/// ‖A‖₂² by power iteration on AᵀA.
pub fn norm_a_sq(a: &CscMatrix, iters: usize) -> f64 {
    let mut t = vec![0.0; a.nrows];
    power_max(a.ncols, iters, |x, y| {
        t.iter_mut().for_each(|v| *v = 0.0);
        a.mul_add(x, &mut t);
        a.mul_t_add(&t, y);
    })
}

/// Solution neurons: ζ ← (1−ρ)ζ + ρ(ζ − α(P̄ζ + q̄ + Āᵀη)).
struct SolutionNeurons {
    /// Error-feedback register: the part of the last update below the state LSB.
    frac: Vec<f64>,
    carry: bool,
    q: Vec<f64>,
    alpha: f64,
    rho: f64,
    e_x: i32,
}

impl NeuronModel for SolutionNeurons {
    fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, ov: &mut u64) {
        let (pz, aty) = (inputs.get(0), inputs.get(1));
        let (a, r, e) = (self.alpha, self.rho, self.e_x);
        match arith {
            Arith::Float if r == 1.0 => {
                for j in 0..out.len() {
                    out[j] -= a * (pz[j] + self.q[j] + aty[j]);
                }
            }
            Arith::Float => {
                for j in 0..out.len() {
                    let z = out[j] - a * (pz[j] + self.q[j] + aty[j]);
                    out[j] = (1.0 - r) * out[j] + r * z;
                }
            }
            Arith::Fixed(_) => {
                for j in 0..out.len() {
                    let exact = out[j] - a * (pz[j] + self.q[j] + aty[j]) + self.frac[j];
                    let z = arith.state(exact, e, ov);
                    if self.carry {
                        self.frac[j] = exact - z;
                    }
                    out[j] = if r == 1.0 { z } else { arith.state((1.0 - r) * out[j] + r * z, e, ov) };
                }
            }
        }
    }
}

/// Constraint neurons: v from the new and latched Āζ, then the projected dual step.
struct ConstraintNeurons {
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
}

impl NeuronModel for ConstraintNeurons {
    fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, ov: &mut u64) {
        let az = inputs.get(0);
        if self.latch_only {
            self.a_old.copy_from_slice(az);
            return;
        }
        let (b, r, e) = (self.beta, self.rho, self.e_y);
        let fixed = arith.is_fixed();
        for i in 0..out.len() {
            let v = if r == 1.0 { 2.0 * az[i] - self.a_old[i] } else { self.c2 * az[i] - self.c1 * self.a_old[i] };
            self.a_old[i] = az[i];
            let mut t = out[i] + b * v;
            if fixed {
                let exact = t + self.frac[i];
                t = arith.state(exact, e, ov);
                if self.carry {
                    self.frac[i] = exact - t;
                }
            }
            let w = t - t.clamp(self.bl[i], self.bu[i]);
            out[i] = if r == 1.0 {
                w
            } else if fixed {
                arith.state((1.0 - r) * out[i] + r * w, e, ov)
            } else {
                (1.0 - r) * out[i] + r * w
            };
        }
    }
}

/// The PIPG network of one scaled problem and its fixed-point grids.
struct PipgNet {
    net: Network,
    x_pop: usize,
    y_pop: usize,
    sol: SolutionNeurons,
    con: ConstraintNeurons,
    alpha0: f64,
    beta0: f64,
    lam: f64,
    sig: f64,
    l: Vec<f64>,
    u: Vec<f64>,
}

/// Constant PIPG steps α = 2/(λ + √(λ² + 4ω²σ)), β = ω²α.
pub fn constant_steps(lam: f64, sig: f64, omega: f64) -> (f64, f64) {
    let alpha = 2.0 / (lam + (lam * lam + 4.0 * omega * omega * sig).sqrt());
    (alpha, omega * omega * alpha)
}

/// Scalar step sizes (α₀, β₀) and the estimates (λ, σ).
fn step_sizes(pb: &Problem, ss: &SpikingSettings) -> (f64, f64, f64, f64) {
    let lam = norm_p(&pb.p, ss.power_iters);
    let sig = norm_a_sq(&pb.a, ss.power_iters).max(1e-12);
    match ss.steps {
        StepRule::Constant { omega } => {
            let (a, b) = constant_steps(lam, sig, omega);
            (a, b, lam, sig)
        }
        StepRule::LavaPow2 { mu_min } => {
            // μ: smallest eigenvalue of P̄ via power iteration on λI − P̄.
            let p = &pb.p;
            let shifted = power_max(pb.n(), ss.power_iters, |x, y| {
                for (yi, xi) in y.iter_mut().zip(x) {
                    *yi += lam * xi;
                }
                let mut px = vec![0.0; x.len()];
                p.sym_upper_mul_add(x, &mut px);
                for (yi, pi) in y.iter_mut().zip(&px) {
                    *yi -= pi;
                }
            }) / 1.01;
            let mu = (lam - shifted).max(mu_min).max(1e-12);
            (2.0 / (mu + 2.0 * lam), mu / (2.0 * sig), lam, sig)
        }
    }
}

/// (α_k, β_k) at iteration k.
fn schedule(ss: &SpikingSettings, a0: f64, b0: f64, k: usize) -> (f64, f64) {
    match ss.steps {
        StepRule::Constant { .. } => (a0, b0),
        StepRule::LavaPow2 { .. } => {
            let halvings = LAVA_ALPHA_HALVINGS.iter().filter(|&&h| k >= h).count() as i32;
            // β doubles at k = 1, 3, 7, 15, … : number of doublings = floor(log2(k + 1)).
            let doublings = (usize::BITS - (k + 1).leading_zeros() - 1) as i32;
            (a0 * f64::powi(0.5, halvings), b0 * f64::powi(2.0, doublings.min(60)))
        }
    }
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| if x.is_finite() { m.max(x.abs()) } else { m })
}

fn finite_bound_norm(l: &[f64], u: &[f64]) -> f64 {
    l.iter().chain(u).filter(|v| v.abs() < INFTY).fold(0.0f64, |m, v| m.max(v.abs()))
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
    fn build(pb: &Problem, ss: &SpikingSettings, x0: &[f64], y0: &[f64], extra_bits: i32) -> Self {
        let (n, m) = (pb.n(), pb.m());
        let (alpha0, beta0, lam, sig) = step_sizes(pb, ss);
        let p_full = pb.p.sym_upper_to_full();
        let at = pb.a.transpose();
        // Fixed-point grids from problem data (module docs): ranges of ζ and η, then of the
        // dendritic sums by their row-sum bounds.
        let (mut e_x, mut e_y, mut e_p, mut e_a, mut e_at) = (0, 0, 0, 0, 0);
        if let Arith::Fixed(prof) = ss.arith {
            let base =
                1f64.max(inf_norm(x0)).max(inf_norm(y0)).max(finite_bound_norm(&pb.l, &pb.u)).max(inf_norm(&pb.q));
            let range = base * f64::powi(2.0, ss.headroom_bits + extra_bits);
            let b = prof.state_bits;
            e_x = grid_exponent(range, b);
            e_y = grid_exponent(range, b);
            e_p = grid_exponent(row_gain(&p_full) * range, b);
            e_a = grid_exponent(row_gain(&pb.a) * range, b);
            e_at = grid_exponent(row_gain(&at) * range, b);
        }
        let mut net = Network::new(ss.arith);
        let x_pop = net.add_population("solution", n, e_x);
        let y_pop = net.add_population("constraint", m, e_y);
        let d_p = net.add_dendrite(x_pop, e_p);
        let d_at = net.add_dendrite(x_pop, e_at);
        let d_a = net.add_dendrite(y_pop, e_a);
        net.add_projection(x_pop, d_p, &p_full);
        net.add_projection(y_pop, d_at, &at);
        net.add_projection(x_pop, d_a, &pb.a);
        let mut ignore = 0u64;
        for (j, v) in x0.iter().enumerate() {
            net.pops[x_pop].out[j] = net.arith.state(*v, e_x, &mut ignore);
        }
        for (i, v) in y0.iter().enumerate() {
            net.pops[y_pop].out[i] = net.arith.state(*v, e_y, &mut ignore);
        }
        let q: Vec<f64> = pb.q.iter().map(|v| net.arith.state(*v, e_p.min(e_at), &mut ignore)).collect();
        let rho = net.arith.constant(ss.rho.clamp(1e-3, 1.999));
        let c1 = net.arith.constant(2.0 / rho - 1.0);
        let carry = matches!(ss.arith, Arith::Fixed(p) if p.carry_shift_remainder);
        let sol = SolutionNeurons { frac: vec![0.0; n], carry, q, alpha: 0.0, rho, e_x };
        let con = ConstraintNeurons {
            frac: vec![0.0; m],
            carry,
            a_old: vec![0.0; m],
            bl: vec![0.0; m],
            bu: vec![0.0; m],
            beta: 0.0,
            c1,
            c2: c1 + 1.0,
            rho,
            e_y,
            latch_only: false,
        };
        let mut s = Self { net, x_pop, y_pop, sol, con, alpha0, beta0, lam, sig, l: pb.l.clone(), u: pb.u.clone() };
        s.set_steps(ss, 0);
        s
    }

    /// Loads α_k, β_k (and β·l, β·u) for iteration k; returns true when they changed.
    fn set_steps(&mut self, ss: &SpikingSettings, k: usize) -> bool {
        let (a, b) = schedule(ss, self.alpha0, self.beta0, k);
        let arith = self.net.arith;
        let (a, b) = (arith.constant(a), arith.constant(b));
        if a == self.sol.alpha && b == self.con.beta {
            return false;
        }
        self.sol.alpha = a;
        self.con.beta = b;
        let e_y = self.con.e_y;
        let lim = match arith {
            Arith::Fixed(p) => p.state_max() * f64::powi(2.0, e_y),
            Arith::Float => f64::INFINITY,
        };
        for i in 0..self.l.len() {
            let conv = |v: f64| -> f64 {
                if v >= INFTY {
                    f64::INFINITY
                } else if v <= -INFTY {
                    f64::NEG_INFINITY
                } else {
                    match arith {
                        Arith::Float => b * v,
                        Arith::Fixed(p) => {
                            let mut ig = 0;
                            quantize((b * v).clamp(-lim, lim), e_y, p.state_max(), p.rounding, &mut ig)
                        }
                    }
                }
            };
            self.con.bl[i] = conv(self.l[i]);
            self.con.bu[i] = conv(self.u[i]);
        }
        true
    }
}

/// Spiking PIPG solver (see the module docs).
pub struct SpikingSolver {
    /// Spiking-specific settings (arithmetic, θ, steps, readout period).
    pub spiking: SpikingSettings,
    settings: Settings,
    orig: Option<Problem>,
    scaled: Option<Problem>,
    scaling: Option<Scaling>,
    x_ws: Option<Vec<f64>>,
    y_ws: Option<Vec<f64>>,
    /// Counts of the last solve.
    pub last_ops: OpCounts,
}

impl std::fmt::Debug for SpikingSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpikingSolver").field("spiking", &self.spiking).finish()
    }
}

impl SpikingSolver {
    /// A solver with the given spiking settings (call `setup` before `solve`).
    pub fn new(spiking: SpikingSettings) -> Self {
        Self {
            spiking,
            settings: Settings::default(),
            orig: None,
            scaled: None,
            scaling: None,
            x_ws: None,
            y_ws: None,
            last_ops: OpCounts::default(),
        }
    }

    fn rescale(&mut self) {
        if let Some(pb) = &self.orig {
            let (s, sc) = Scaling::ruiz(pb, self.settings.scaling_iters);
            self.scaled = Some(s);
            self.scaling = Some(sc);
        }
    }

    fn problem(&self) -> Result<(&Problem, &Problem, &Scaling), QpError> {
        match (&self.orig, &self.scaled, &self.scaling) {
            (Some(o), Some(s), Some(c)) => Ok((o, s, c)),
            _ => Err(QpError::Usage("solve called before setup".into())),
        }
    }

    /// One attempt on the network; returns (x, y, status, iterations, overflowed).
    fn attempt(&self, extra_bits: i32, ops: &mut OpCounts, t0: Instant) -> Result<Attempt, QpError> {
        let (orig, scaled, sc) = self.problem()?;
        let (n, m) = (orig.n(), orig.m());
        let x0 = self.x_ws.as_deref().map(|x| sc.scale_x(x)).unwrap_or_else(|| vec![0.0; n]);
        let y0 = self.y_ws.as_deref().map(|y| sc.scale_y(y)).unwrap_or_else(|| vec![0.0; m]);
        let ss = &self.spiking;
        let mut pn = PipgNet::build(scaled, ss, &x0, &y0, extra_bits);
        let (xp, yp) = (pn.x_pop, pn.y_pop);
        pn.net.prime(&[xp, yp]);
        pn.con.latch_only = true;
        pn.net.step(&mut [(yp, &mut pn.con)]);
        pn.con.latch_only = false;
        let k_check = self.spiking.check_every.max(1);
        let mut best: Option<(Vec<f64>, Vec<f64>)> = None;
        let mut status = Status::MaxIterations;
        let mut iters = 0;
        let mut omega = match ss.steps {
            StepRule::Constant { omega } => omega,
            StepRule::LavaPow2 { .. } => 1.0,
        };
        let adaptive = ss.adaptive_omega && matches!(ss.steps, StepRule::Constant { .. });
        for k in 0..self.settings.max_iter {
            let th = ss.theta.at(k);
            pn.net.pops[xp].theta = th;
            pn.net.pops[yp].theta = th;
            pn.set_steps(ss, k);
            pn.net.step(&mut [(xp, &mut pn.sol)]);
            pn.net.step(&mut [(yp, &mut pn.con)]);
            iters = k + 1;
            let last = iters == self.settings.max_iter;
            if iters % k_check == 0 || last {
                pn.net.counts.readout_checks += 1;
                if pn.net.counts.overflows > 0 {
                    // the host reads the saturation counter with the values: give up early
                    break;
                }
                let xs = pn.net.readout(xp).to_vec();
                let ys = pn.net.readout(yp).to_vec();
                let (x, y) = (sc.unscale_x(&xs), sc.unscale_y(&ys));
                let rep = compute(orig, &x, &y);
                let finite = rep.res.prim.is_finite() && rep.res.dual.is_finite();
                if !finite {
                    status = Status::NumericalError;
                    break;
                }
                let conv = rep.converged(&self.settings);
                best = Some((x, y));
                if conv {
                    status = Status::Solved;
                    break;
                }
                if self.settings.time_limit.is_some_and(|tl| t0.elapsed() >= tl) {
                    status = Status::TimeLimit;
                    break;
                }
                if adaptive {
                    let rp = rep.res.prim / rep.eps_prim(&self.settings).max(1e-300);
                    let rd = rep.res.dual / rep.eps_dual(&self.settings).max(1e-300);
                    let ratio = (rp / rd.max(1e-300)).sqrt();
                    if !(1.0 / 3.0..=3.0).contains(&ratio) && ratio.is_finite() {
                        omega = (omega * ratio.clamp(0.125, 8.0)).clamp(1e-4, 1e4);
                        let (a, b) = constant_steps(pn.lam, pn.sig, omega);
                        pn.alpha0 = a;
                        pn.beta0 = b;
                        pn.set_steps(ss, k + 1);
                        pn.net.counts.readouts += (n + m) as u64;
                    }
                }
            }
        }
        ops.accumulate(&pn.net.counts);
        let overflowed = pn.net.counts.overflows > 0;
        Ok(Attempt { best, status, iters, overflowed })
    }
}

struct Attempt {
    best: Option<(Vec<f64>, Vec<f64>)>,
    status: Status,
    iters: usize,
    overflowed: bool,
}

impl QpSolver for SpikingSolver {
    fn name(&self) -> &'static str {
        "spiking"
    }

    fn setup(&mut self, problem: &Problem, settings: &Settings) -> Result<(), QpError> {
        problem.validate()?;
        if settings.max_iter == 0 {
            return Err(QpError::Usage("max_iter must be positive".into()));
        }
        self.settings = settings.clone();
        self.orig = Some(problem.clone());
        self.x_ws = None;
        self.y_ws = None;
        self.rescale();
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
        if let (Some(s), Some(sc)) = (self.scaled.as_mut(), self.scaling.as_ref()) {
            s.q = sc.scale_q(q);
        }
        Ok(())
    }

    fn update_bounds(&mut self, l: &[f64], u: &[f64]) -> Result<(), QpError> {
        let pb = self.orig.as_mut().ok_or_else(|| QpError::Usage("update before setup".into()))?;
        if l.len() != pb.m() || u.len() != pb.m() {
            return Err(QpError::Dimension(format!("bounds have lengths {}, {}; m = {}", l.len(), u.len(), pb.m())));
        }
        let mut cand = pb.clone();
        cand.l = l.iter().map(|v| v.clamp(-INFTY, INFTY)).collect();
        cand.u = u.iter().map(|v| v.clamp(-INFTY, INFTY)).collect();
        cand.validate()?;
        *pb = cand;
        if let (Some(s), Some(sc)) = (self.scaled.as_mut(), self.scaling.as_ref()) {
            let (sl, su) = sc.scale_bounds(&pb.l, &pb.u);
            s.l = sl;
            s.u = su;
        }
        Ok(())
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
        // Re-equilibrate on new matrix values (the network is rebuilt at every solve anyway).
        self.rescale();
        Ok(())
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
        let retries = if self.spiking.arith.is_fixed() { MAX_RANGE_RETRIES + 1 } else { 1 };
        let mut result = None;
        for r in 0..retries {
            let a = self.attempt(2 * r as i32, &mut ops, t0)?;
            let done = !a.overflowed;
            result = Some(a);
            if done {
                break;
            }
        }
        let a = result.expect("at least one attempt");
        let (orig, _, _) = self.problem()?;
        let (n, m) = (orig.n(), orig.m());
        let fallback =
            || (self.x_ws.clone().unwrap_or_else(|| vec![0.0; n]), self.y_ws.clone().unwrap_or_else(|| vec![0.0; m]));
        let (status, (x, y)) = if a.overflowed || a.status == Status::NumericalError {
            (Status::NumericalError, a.best.unwrap_or_else(fallback))
        } else {
            (a.status, a.best.unwrap_or_else(fallback))
        };
        let mut sol = finish_solution(orig, x, y, status, a.iters, t0.elapsed());
        sol.ops = Some(ops);
        self.last_ops = ops;
        if self.settings.warm_start && sol.status != Status::NumericalError {
            self.x_ws = Some(sol.x.clone());
            self.y_ws = Some(sol.y.clone());
        }
        Ok(sol)
    }
}
