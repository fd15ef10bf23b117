//! The neuromorphic QP benchmark (`spikectl bench neuro`): problem set, runs of the spiking
//! solver (float and Loihi 2 fixed point) against OSQP and Clarabel, energy/latency/EDP
//! estimates, and a θ sweep. The CLI only formats what [`run`] returns.
//!
//! Per family (qp::generate's MPC class, random mixed, box, equality; plus the ANYmal-sized
//! equality MPC of [`anymal_equality_mpc`]): the spiking solver runs at low accuracy
//! (eps_abs 1e-3, eps_rel 0, qpbenchmark's "low"), "success" = status Solved with both
//! residuals ≤ 1e-3; its exact operation counts are mapped onto the Loihi 2 estimate profile
//! ([`HardwareProfile::loihi2_estimate`]) with the EDP-optimal core count; OSQP solves the
//! same problem with the same tolerances, cold, timed as the median of repeated solves, and
//! its energy is wall time × the stated CPU power (RAPL when readable). Clarabel at 1e-9
//! gives the reference objective. Infeasible problems are left out (the spiking solver
//! detects only an empty variable box).

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lab::generate::Family;
use crate::neuro::OpCounts;
use crate::neuro::ThetaSchedule;
use crate::neuro::energy::{self, CoreMap, CpuCost, HardwareProfile, Rapl};
use crate::neuro::network::Network;
use crate::qp::spiking::{OmegaRule, SpikingSettings, SpikingSolver};
use crate::qp::{ClarabelSolver, CscMatrix, OsqpSolver, PipgOptions, PipgSolver, Problem, QpSolver, Settings, Status};

/// Horizon of [`anymal_equality_mpc`].
pub(crate) const ANYMAL_HORIZON: usize = 5;
/// States of [`anymal_equality_mpc`].
pub(crate) const ANYMAL_NX: usize = 24;
/// Inputs of [`anymal_equality_mpc`].
pub(crate) const ANYMAL_NU: usize = 24;

/// An ANYmal-sized, equality-constrained MPC QP of the size of lava-optimization's tutorial
/// problem (horizon 5, 24 states, 24 inputs: n = 6·24 + 5·24 = 264 variables and
/// m = 6·24 = 144 equality rows). Our own model, not OCS2's: states are 12 generalized
/// positions and 12 velocities of a floating-base-like system with time step dt = 0.02 s,
/// `p⁺ = p + dt·v`, `v⁺ = v + dt·(B u − g)`, where B (12×24) maps each of the 24 inputs onto
/// 3 random velocity components with weights in ±[0.5, 2], and g is a constant drift
/// (gravity, 9.81) on 3 components. Rows: `x₀ = x_init` (24) and
/// `x_{k+1} − A x_k − B u_k = c` (5 × 24). Cost: Σ_k ½(x_k − x_ref)ᵀQ(x_k − x_ref) plus
/// ½u_kᵀRu_k with Q diagonal, log-spaced over [1, 15] (shuffled over states), R = I, no
/// extra terminal weight; `x_init`, `x_ref` uniform in ±1.
///
/// The weights are chosen so that, after 10 Ruiz passes, the eigenvalues of P̄ lie in
/// ≈ [0.15, 1.0], like the tutorial's 0.11..1.58 after its Ruiz scaling. The tutorial's raw
/// eig(Q) spread (1e-3..1500) is not reproduced: with our dynamics Ruiz cannot undo such a
/// spread (measured: eig(P̄) ≈ 7e-7..1 after scaling), which makes a different, much
/// harder problem for PIPG than the one the tutorial reports on.
pub(crate) fn anymal_equality_mpc(seed: u64) -> Problem {
    let (nx, nu, t) = (ANYMAL_NX, ANYMAL_NU, ANYMAL_HORIZON);
    let np = nx / 2;
    let dt = 0.02;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nxv = (t + 1) * nx;
    let n = nxv + t * nu;
    let xi = |k: usize, i: usize| k * nx + i;
    let ui = |k: usize, i: usize| nxv + k * nu + i;
    // B: velocity rows × inputs.
    let mut b = vec![0.0; np * nu];
    for j in 0..nu {
        for _ in 0..3 {
            let r = rng.gen_range(0..np);
            let mag = rng.gen_range(0.5..2.0) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
            b[r * nu + j] = mag;
        }
    }
    let mut g = vec![0.0; np];
    for gi in g.iter_mut().take(3) {
        *gi = 9.81;
    }
    let qw: Vec<f64> = (0..nx).map(|i| QW_MIN * f64::powf(QW_MAX / QW_MIN, i as f64 / (nx - 1) as f64)).collect();
    let mut qdiag: Vec<f64> = qw.clone();
    // shuffle weights over states
    for i in (1..nx).rev() {
        let j = rng.gen_range(0..=i);
        qdiag.swap(i, j);
    }
    let x_init: Vec<f64> = (0..nx).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let x_ref: Vec<f64> = (0..nx).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let mut pt = Vec::new();
    let mut q = vec![0.0; n];
    for k in 0..=t {
        let w = if k == t { TERMINAL } else { 1.0 };
        for i in 0..nx {
            pt.push((xi(k, i), xi(k, i), w * qdiag[i]));
            q[xi(k, i)] = -w * qdiag[i] * x_ref[i];
        }
    }
    for k in 0..t {
        for j in 0..nu {
            pt.push((ui(k, j), ui(k, j), R_WEIGHT));
        }
    }
    let mut at = Vec::new();
    let mut l = vec![0.0; (t + 1) * nx];
    for i in 0..nx {
        at.push((i, xi(0, i), 1.0));
        l[i] = x_init[i];
    }
    for k in 0..t {
        let r0 = nx + k * nx;
        for i in 0..nx {
            at.push((r0 + i, xi(k + 1, i), 1.0));
            at.push((r0 + i, xi(k, i), -1.0));
            if i < np {
                at.push((r0 + i, xi(k, np + i), -dt));
            } else {
                let vi = i - np;
                for j in 0..nu {
                    if b[vi * nu + j] != 0.0 {
                        at.push((r0 + i, ui(k, j), -dt * b[vi * nu + j]));
                    }
                }
                l[r0 + i] = -dt * g[vi];
            }
        }
    }
    let m = (t + 1) * nx;
    let p = CscMatrix::from_triplets(n, n, &pt).expect("indices in range");
    let a = CscMatrix::from_triplets(m, n, &at).expect("indices in range");
    Problem::new(p, q, a, l.clone(), l).expect("valid by construction")
}

const QW_MIN: f64 = 1.0;
const QW_MAX: f64 = 15.0;
const TERMINAL: f64 = 1.0;
const R_WEIGHT: f64 = 1.0;

/// Relative objective gap |f − f*| / max(1, |f*|).
pub fn rel_gap(f: f64, fstar: f64) -> f64 {
    (f - fstar).abs() / fstar.abs().max(1.0)
}

/// ‖Ax − b‖∞ style primal violation: max distance of Ax from [l, u].
pub fn violation(pb: &Problem, x: &[f64]) -> f64 {
    let mut ax = vec![0.0; pb.m()];
    pb.a.mul_add(x, &mut ax);
    (0..pb.m()).fold(0.0f64, |mx, i| mx.max((ax[i] - ax[i].clamp(pb.l[i], pb.u[i])).abs()))
}

/// Builds the PIPG network's synapse fan-ins for mapping: P (full), A, Aᵀ as the spiking
/// solver builds them, under `arith` quantization.
pub(crate) fn pipg_fan_in(pb: &Problem, ss: &SpikingSettings) -> Vec<u64> {
    let mut net = Network::new(ss.arith);
    let x = net.add_population("solution", pb.n(), 0);
    let y = net.add_population("constraint", pb.m(), 0);
    let dp = net.add_dendrite(x, 0);
    let dat = net.add_dendrite(x, 0);
    let da = net.add_dendrite(y, 0);
    net.add_projection(x, dp, &pb.p.sym_upper_to_full());
    net.add_projection(y, dat, &pb.a.transpose());
    net.add_projection(x, da, &pb.a);
    net.fan_in()
}

/// Configuration of [`run`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchConfig {
    /// Fewer problems and smaller sizes.
    pub quick: bool,
    /// Stated CPU power for the OSQP baseline (W).
    pub cpu_watts: f64,
    /// Weight planes of the fixed-point (Loihi 2) runs.
    pub planes: u32,
    /// Iteration cap of the spiking solver.
    pub max_iter: usize,
    /// Absolute tolerance (low accuracy: 1e-3, relative 0, as qpbenchmark).
    pub eps_abs: f64,
    /// Timed repetitions of each OSQP solve (median taken).
    pub osqp_reps: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            quick: false,
            cpu_watts: energy::DEFAULT_CPU_WATTS,
            planes: 3,
            max_iter: 10_000,
            eps_abs: 1e-3,
            osqp_reps: 5,
        }
    }
}

/// One family × arithmetic row of the benchmark (means over the family's problems unless
/// stated).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FamilyRow {
    /// Family name.
    pub family: String,
    /// "fixed(loihi2,Np)" or "float".
    pub mode: String,
    /// Problems run.
    pub problems: usize,
    /// Mean variables.
    pub n: f64,
    /// Mean constraint rows.
    pub m: f64,
    /// Fraction solved to the tolerance: status Solved (terminating on primal and dual
    /// residuals) and both residuals ≤ eps_abs.
    pub success: f64,
    /// Fraction that in addition has the duality gap ≤ eps_abs (qpbenchmark's full test).
    pub success_gap: f64,
    /// Mean iterations.
    pub iterations: f64,
    /// Mean timesteps.
    pub timesteps: f64,
    /// Mean messages.
    pub messages: f64,
    /// Mean synaptic operations.
    pub synops: f64,
    /// Mean activity (messages / potential messages).
    pub activity: f64,
    /// Total saturations (including aborted range attempts).
    pub overflows: u64,
    /// Max ‖Ax − [l,u]‖∞ over problems.
    pub max_violation: f64,
    /// Max relative objective gap vs Clarabel over problems.
    pub max_rel_gap: f64,
    /// Mean cores used.
    pub cores: f64,
    /// Mean estimated latency on the hardware profile (s).
    pub est_time_s: f64,
    /// Mean estimated energy (J).
    pub est_energy_j: f64,
    /// Mean estimated EDP (J·s).
    pub est_edp: f64,
    /// Mean CPU wall time of the spiking simulation (s).
    pub sim_time_s: f64,
    /// Mean OSQP wall time (s), median of repetitions per problem.
    pub osqp_time_s: f64,
    /// Mean OSQP energy at the stated CPU power (J).
    pub osqp_energy_j: f64,
    /// Mean OSQP EDP (J·s).
    pub osqp_edp: f64,
    /// Fraction OSQP solved.
    pub osqp_success: f64,
    /// Mean OSQP package energy per solve from RAPL (J), when readable on this machine.
    pub osqp_rapl_j: Option<f64>,
    /// Geometric mean over problems of OSQP EDP / estimated spiking EDP.
    pub edp_ratio: f64,
}

/// One θ of the sweep.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ThetaRow {
    /// Threshold θ₀ (scaled units).
    pub theta: f64,
    /// θ halving period in iterations (0: constant).
    pub halve_every: usize,
    /// Status of the solve.
    pub status: String,
    /// Iterations.
    pub iterations: usize,
    /// Messages sent.
    pub messages: u64,
    /// Synaptic operations.
    pub synops: u64,
    /// Activity.
    pub activity: f64,
    /// ‖Ax − b‖∞.
    pub violation: f64,
    /// Relative objective gap vs Clarabel.
    pub rel_gap: f64,
    /// Estimated energy (J).
    pub est_energy_j: f64,
}

/// CPU cost of simulating the network in float mode (θ = 0, constant ω) against `pipg` in
/// plain mode: the same recurrence, the same number of iterations, medians of repeated
/// solves on this machine.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SpeedRow {
    /// Problem name.
    pub problem: String,
    /// Iterations of both.
    pub iterations: usize,
    /// pipg wall time (s).
    pub pipg_s: f64,
    /// Spiking network (float) wall time (s), including building the network.
    pub spiking_s: f64,
    /// spiking_s / pipg_s.
    pub ratio: f64,
}

/// The result of the benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    /// Configuration.
    pub config: BenchConfig,
    /// Hardware profile used for the estimates.
    pub hardware: HardwareProfile,
    /// RAPL availability on this machine.
    pub rapl: String,
    /// Per family rows.
    pub rows: Vec<FamilyRow>,
    /// θ sweep on the ANYmal-sized problem (fixed point).
    pub theta_sweep: Vec<ThetaRow>,
    /// Float-mode simulation cost vs pipg.
    pub speed: Vec<SpeedRow>,
    /// The ANYmal-sized problem at 1000 iterations, fixed point (Loihi 2 profile):
    /// (violation, relative gap, iterations to tolerance 1e-3 or 1000).
    pub anymal_fixed: ThetaRow,
}

struct Case {
    family: &'static str,
    problems: Vec<Problem>,
}

fn cases(quick: bool) -> Vec<Case> {
    let seeds: u64 = if quick { 3 } else { 20 };
    let mut v = Vec::new();
    let mpc_sizes: &[usize] = if quick { &[10] } else { &[10, 20] };
    let mut mpc = Vec::new();
    for &n in mpc_sizes {
        for s in 0..seeds {
            mpc.push(Family::Mpc.generate(n, s));
        }
    }
    v.push(Case { family: "mpc", problems: mpc });
    for (fam, name) in [(Family::RandomMixed, "random"), (Family::Box, "box"), (Family::Equality, "equality")] {
        let n = if quick { 30 } else { 60 };
        v.push(Case { family: name, problems: (0..seeds).map(|s| fam.generate(n, s)).collect() });
    }
    v.push(Case { family: "anymal-eq", problems: (0..seeds.min(5)).map(anymal_equality_mpc).collect() });
    v
}

fn reference(pb: &Problem) -> Option<f64> {
    let mut c = ClarabelSolver::new();
    let s = Settings { eps_abs: 1e-9, eps_rel: 1e-9, ..Settings::default() };
    c.setup(pb, &s).ok()?;
    let sol = c.solve().ok()?;
    sol.status.is_solved().then_some(sol.objective)
}

fn osqp_time(pb: &Problem, s: &Settings, reps: usize) -> Option<(f64, bool, Option<f64>)> {
    let mut o = OsqpSolver::new();
    let st = Settings { warm_start: false, ..s.clone() };
    o.setup(pb, &st).ok()?;
    let rapl = Rapl::open();
    let before = rapl.as_ref().map(|r| r.read());
    let mut times = Vec::new();
    let mut solved = false;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let sol = o.solve().ok()?;
        times.push(t.elapsed().as_secs_f64());
        solved = sol.status.is_solved();
    }
    let rapl_j = match (rapl, before) {
        (Some(r), Some(b)) => Some(r.joules(&b, &r.read()) / reps.max(1) as f64),
        _ => None,
    };
    times.sort_by(f64::total_cmp);
    Some((times[times.len() / 2], solved, rapl_j))
}

/// Runs the spiking solver on `pb`; returns (solution, wall time s).
fn spiking_solve(pb: &Problem, ss: &SpikingSettings, s: &Settings) -> Option<(crate::qp::Solution, f64)> {
    let mut sp = SpikingSolver::new(ss.clone());
    sp.setup(pb, s).ok()?;
    let t = Instant::now();
    let sol = sp.solve().ok()?;
    Some((sol, t.elapsed().as_secs_f64()))
}

/// Maps the PIPG network of `pb` onto `hw` and estimates the cost of `ops`: the core count
/// is chosen among 1, 2, 4, … up to one neuron per core (within the chip and capacities) to
/// minimise the estimated EDP (more cores shorten each timestep but lengthen the barrier
/// and add static power).
pub fn estimate_on(pb: &Problem, ss: &SpikingSettings, ops: &OpCounts, hw: &HardwareProfile) -> energy::Estimate {
    let fan_in = pipg_fan_in(pb, ss);
    let mut best: Option<energy::Estimate> = None;
    let mut c = 1usize;
    while c <= hw.cores_per_chip.min(fan_in.len().max(1)) {
        if let Ok(map) = CoreMap::balanced(&fan_in, hw, c) {
            let e = energy::estimate(ops, &map, hw, energy::mean_hops(map.cores()));
            if best.is_none_or(|b| e.edp < b.edp) {
                best = Some(e);
            }
        }
        c *= 2;
    }
    best.unwrap_or(energy::Estimate {
        time_s: f64::INFINITY,
        energy_j: f64::INFINITY,
        edp: f64::INFINITY,
        ..Default::default()
    })
}

fn family_row(case: &Case, mode: &str, ss: &SpikingSettings, cfg: &BenchConfig, hw: &HardwareProfile) -> FamilyRow {
    let s = Settings {
        eps_abs: cfg.eps_abs,
        eps_rel: 0.0,
        max_iter: cfg.max_iter,
        warm_start: false,
        ..Settings::default()
    };
    let mut row = FamilyRow { family: case.family.into(), mode: mode.into(), ..Default::default() };
    let mut log_ratio = 0.0;
    let mut k = 0usize;
    for pb in &case.problems {
        let Some((sol, wall)) = spiking_solve(pb, ss, &s) else { continue };
        let ops = sol.ops.unwrap_or_default();
        let est = estimate_on(pb, ss, &ops, hw);
        let Some((ot, osolved, rapl)) = osqp_time(pb, &s, cfg.osqp_reps) else { continue };
        let cpu = CpuCost::new(ot, cfg.cpu_watts, rapl);
        if let Some(j) = cpu.rapl_j {
            *row.osqp_rapl_j.get_or_insert(0.0) += j;
        }
        k += 1;
        row.n += pb.n() as f64;
        row.m += pb.m() as f64;
        let ok = sol.status == Status::Solved && sol.residuals.prim <= cfg.eps_abs && sol.residuals.dual <= cfg.eps_abs;
        row.success += ok as u8 as f64;
        row.success_gap += (ok && sol.residuals.gap <= cfg.eps_abs) as u8 as f64;
        row.osqp_success += osolved as u8 as f64;
        row.iterations += sol.iterations as f64;
        row.timesteps += ops.timesteps as f64;
        row.messages += ops.messages as f64;
        row.synops += ops.synops as f64;
        row.activity += ops.activity();
        row.overflows += ops.overflows;
        row.max_violation = row.max_violation.max(violation(pb, &sol.x));
        if let Some(f) = reference(pb) {
            row.max_rel_gap = row.max_rel_gap.max(rel_gap(sol.objective, f));
        }
        row.cores += est.cores as f64;
        row.est_time_s += est.time_s;
        row.est_energy_j += est.energy_j;
        row.est_edp += est.edp;
        row.sim_time_s += wall;
        row.osqp_time_s += cpu.time_s;
        row.osqp_energy_j += cpu.energy_j;
        row.osqp_edp += cpu.edp;
        log_ratio += (cpu.edp / est.edp).ln();
    }
    row.problems = k;
    let kf = k.max(1) as f64;
    for v in [
        &mut row.n,
        &mut row.m,
        &mut row.success,
        &mut row.success_gap,
        &mut row.osqp_success,
        &mut row.iterations,
        &mut row.timesteps,
        &mut row.messages,
        &mut row.synops,
        &mut row.activity,
        &mut row.cores,
        &mut row.est_time_s,
        &mut row.est_energy_j,
        &mut row.est_edp,
        &mut row.sim_time_s,
        &mut row.osqp_time_s,
        &mut row.osqp_energy_j,
        &mut row.osqp_edp,
    ] {
        *v /= kf;
    }
    row.edp_ratio = (log_ratio / kf).exp();
    if let Some(j) = row.osqp_rapl_j.as_mut() {
        *j /= kf;
    }
    row
}

fn theta_row(pb: &Problem, fstar: f64, ss: &SpikingSettings, s: &Settings, hw: &HardwareProfile) -> ThetaRow {
    let Some((sol, _)) = spiking_solve(pb, ss, s) else { return ThetaRow::default() };
    let ops = sol.ops.unwrap_or_default();
    let est = estimate_on(pb, ss, &ops, hw);
    ThetaRow {
        theta: ss.theta.theta0,
        halve_every: ss.theta.halve_every,
        status: format!("{:?}", sol.status),
        iterations: sol.iterations,
        messages: ops.messages,
        synops: ops.synops,
        activity: ops.activity(),
        violation: violation(pb, &sol.x),
        rel_gap: rel_gap(sol.objective, fstar),
        est_energy_j: est.energy_j,
    }
}

/// Runs the whole benchmark (see the module docs).
pub fn run(cfg: &BenchConfig) -> BenchReport {
    let hw = HardwareProfile::loihi2_estimate();
    // Terminate on primal and dual residuals (OSQP's classic test); the gap is reported.
    // and the bounded adaptive-ω rule (faster to low accuracy than pipg's).
    let fixed =
        SpikingSettings { check_gap: false, omega_rule: OmegaRule::Bounded, ..SpikingSettings::loihi2(cfg.planes) };
    let float = SpikingSettings { check_gap: false, omega_rule: OmegaRule::Bounded, ..SpikingSettings::default() };
    let mut rows = Vec::new();
    for case in cases(cfg.quick) {
        rows.push(family_row(&case, &format!("fixed(loihi2,{}p)", cfg.planes), &fixed, cfg, &hw));
        if !cfg.quick {
            rows.push(family_row(&case, "float", &float, cfg, &hw));
        }
    }
    // ANYmal-sized equality problem: the accuracy target at 1000 iterations.
    let pb = anymal_equality_mpc(0);
    let fstar = reference(&pb).unwrap_or(f64::NAN);
    let s1000 = Settings { eps_abs: 1e-5, eps_rel: 0.0, max_iter: 1000, warm_start: false, ..Settings::default() };
    let anymal_fixed = theta_row(&pb, fstar, &fixed, &s1000, &hw);
    let thetas: &[f64] = if cfg.quick { &[0.0, 1e-4, 1e-2] } else { &[0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1] };
    let mut schedules: Vec<ThetaSchedule> = thetas.iter().map(|&th| ThetaSchedule::constant(th)).collect();
    // θ₀ = 1e-2 halved every 100 iterations down to 1e-6.
    schedules.push(ThetaSchedule { theta0: 1e-2, halve_every: 100, min: 1e-6 });
    let theta_sweep = schedules
        .into_iter()
        .map(|theta| {
            let ss = SpikingSettings { theta, ..fixed.clone() };
            theta_row(&pb, fstar, &ss, &s1000, &hw)
        })
        .collect();
    let speed = sim_speed(cfg.quick);
    BenchReport {
        config: cfg.clone(),
        hardware: hw,
        rapl: energy::rapl_status(),
        rows,
        theta_sweep,
        speed,
        anymal_fixed,
    }
}

/// Measures [`SpeedRow`]s (1000 iterations; 5 repetitions, 3 when quick).
pub(crate) fn sim_speed(quick: bool) -> Vec<SpeedRow> {
    let reps = if quick { 3 } else { 5 };
    let mut out = Vec::new();
    for (name, pb) in [
        ("anymal-eq", anymal_equality_mpc(0)),
        ("mpc n=20", Family::Mpc.generate(20, 0)),
        ("random n=60", Family::RandomMixed.generate(60, 0)),
    ] {
        let k = 1000;
        let s = Settings { max_iter: k, warm_start: false, ..Settings::default() };
        let mut p = PipgSolver::with_options(PipgOptions::plain());
        let mut sp = SpikingSolver::new(SpikingSettings { check_every: k, ..SpikingSettings::float_plain() });
        if p.setup(&pb, &s).is_err() || sp.setup(&pb, &s).is_err() {
            continue;
        }
        let (mut tp, mut ts) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let t = Instant::now();
            let a = p.solve();
            tp.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let b = sp.solve();
            ts.push(t.elapsed().as_secs_f64());
            if a.is_err() || b.is_err() {
                break;
            }
        }
        tp.sort_by(f64::total_cmp);
        ts.sort_by(f64::total_cmp);
        let (a, b) = (tp[tp.len() / 2], ts[ts.len() / 2]);
        out.push(SpeedRow { problem: name.into(), iterations: k, pipg_s: a, spiking_s: b, ratio: b / a });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anymal_problem_has_tutorial_size() {
        let pb = anymal_equality_mpc(1);
        assert_eq!((pb.n(), pb.m()), (264, 144));
        assert!(pb.l.iter().zip(&pb.u).all(|(a, b)| a == b));
        assert!(pb.a.nnz() > 500 && pb.a.nnz() < 1000, "{}", pb.a.nnz());
    }
}
