//! Diagnostic: network-solver variants on the MPC sequences of `spikectl bench mpc`
//! (quadruped trot, arm force regulation), with the estimated chip cost of each.
//!
//! `cargo run --release --example mpc_spiking_sweep -- [STEPS]` replays the closed-loop
//! sequence of each family (Clarabel-generated, as `bench mpc`) for OSQP and every variant,
//! each with its own warm start as the MPC runs it, and prints per variant: iterations
//! p50/p99/max/mean, solve time p50/p99 [µs], solves the MPC rejected, the largest first-step
//! input error against Clarabel at 1e-8 (N / m/s²), timesteps and messages per iteration,
//! readout checks per solve, and the Loihi 2 estimate the closed loop reports
//! (`monitor::energy::NeuroCost::loihi2_default`: mean / max chip latency [µs], mean energy
//! [µJ], EDP ratio against OSQP's mean solve time in this run × 15 W).
//!
//! Environment:
//! - `FAMILY=quadruped|arm|both` (default both);
//! - `VARIANTS="V V …"` (space-separated), each `SPEC[|key=value…]`: `SPEC` a registry solver
//!   (`loihi2`, `spiking:method=hpdhg,omega=0.4`, …) built on the family's preset
//!   (`mpc::tuning`; on the quadruped `loihi2` gets `tuning::QUADRUPED_PLANES` unless
//!   `planes=` is given), then the keys: `ce=N` readout period (both methods), `rho=X` relaxation
//!   (both methods), `avg=0|1` epoch averages (hpdhg), `rule=fixed|pw|guarded|balance` the
//!   hpdhg ω rule, `restarts=0|1` (hpdhg), `ruiz=k|cold` warm Ruiz passes (PIPG),
//!   `head=N` fixed-point range headroom [bits], `theta=X` / `halve=N` the sigma-delta θ₀
//!   and its halving period (give both: `theta` alone keeps the preset's schedule),
//!   `carry=0|1` start each solve from the previous solve's primal weight (hpdhg,
//!   `SpikingSettings::hpdhg_carry_omega`), `wd=0|1` pass the shifted duals with the
//!   quadruped's warm start (the arm always does);
//! - `MAXIT=n` the iteration cap (default 4000), `EPS=x` the tolerances (default 1e-3);
//! - `DUMP=path` writes each variant's iteration counts to `path.<family>.<variant>`;
//! - `CORES="1 2 4 …"` adds, under each network variant, its estimate on each core count:
//!   the network's real fan-ins placed by `CoreMap::split` (busiest core's share of the
//!   synapses), mean / max chip latency [µs], mean energy [µJ] and its static part, the EDP
//!   ratio against OSQP, and the latency of the even split the closed loop assumes
//!   (`NeuroCost::loihi2_on`); with `PLOT=dir` also `dir/cores_latency.png` and
//!   `dir/cores_edp.png` (log10 of the mean latency [µs] and of the EDP [µJ·ms] against
//!   log2 of the cores, one line per family and network variant).
use std::time::Instant;

use spikectl::control::arm::ArmControllerConfig;
use spikectl::lab::mpc_sim::{arm_closed_loop, quadruped_closed_loop};
use spikectl::monitor::energy::NeuroCost;
use spikectl::monitor::latency::percentile;
use spikectl::monitor::plot::{Series, line_plot};
use spikectl::mpc::arm::{ArmMpc, ArmMpcConfig, ContactEstimator};
use spikectl::mpc::quadruped::{QuadrupedMpc, QuadrupedMpcConfig};
use spikectl::mpc::tuning;
use spikectl::neuro::OpCounts;
use spikectl::neuro::energy::HardwareProfile;
use spikectl::qp::Problem;
use spikectl::qp::hpdhg::OmegaRule;
use spikectl::qp::registry::{Backend, SolverSpec};
use spikectl::qp::spiking::{SpikingSettings, SpikingSolver};
use spikectl::qp::{ClarabelSolver, QpSolver, Settings, Solution};

/// One variant: label, network settings (None: OSQP), quadruped warm duals.
struct Variant {
    label: String,
    spec: SolverSpec,
    settings: Option<SpikingSettings>,
    warm_duals: Option<bool>,
}

fn parse_variant(text: &str, preset: &SpikingSettings, quadruped: bool) -> Variant {
    let mut parts = text.split('|');
    let mut spec: SolverSpec = parts.next().unwrap_or("").parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    if quadruped {
        // `loihi2` on the quadruped gets the MPC's planes, as in the closed loop.
        spec = tuning::quadruped_spec(&spec);
    }
    let mut s = spec.network_settings(preset);
    let mut warm_duals = None;
    for kv in parts {
        let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("{text}: '{kv}' is not key=value"));
        let num = || v.parse::<f64>().unwrap_or_else(|_| panic!("{text}: {k}={v} is not a number"));
        match k {
            "ce" => {
                s.check_every = num() as usize;
                s.hpdhg.check_every = num() as usize;
            }
            "rho" => {
                s.rho = num();
                s.hpdhg.relaxation = num();
            }
            "avg" => s.hpdhg.average = v != "0",
            "restarts" => s.hpdhg.restarts = v != "0",
            "rule" => {
                s.hpdhg.omega_rule = match v {
                    "fixed" => OmegaRule::Fixed,
                    "pw" => OmegaRule::PrimalWeight,
                    "guarded" => OmegaRule::GuardedPrimalWeight,
                    "balance" => OmegaRule::Balance,
                    _ => panic!("{text}: rule={v}"),
                }
            }
            "ruiz" => s.pipg.warm_ruiz_passes = v.parse().ok(),
            "wd" => warm_duals = Some(v != "0"),
            "carry" => s.hpdhg_carry_omega = v != "0",
            "head" => s.headroom_bits = num() as i32,
            "theta" => s.theta.theta0 = num(),
            "halve" => s.theta.halve_every = num() as usize,
            _ => panic!("{text}: unknown key {k}"),
        }
    }
    Variant { label: text.into(), spec: spec.clone(), settings: spec.backend.is_network().then_some(s), warm_duals }
}

fn solver_of(v: &Variant) -> Box<dyn QpSolver> {
    match &v.settings {
        Some(s) => Box::new(SpikingSolver::new(s.clone())),
        None => v.spec.build(&SpikingSettings::default()),
    }
}

/// What one variant did on one sequence.
#[derive(Default)]
struct Tally {
    iters: Vec<f64>,
    us: Vec<f64>,
    rejected: usize,
    max_err: f64,
    ops: Vec<OpCounts>,
}

impl Tally {
    fn book(&mut self, sol: &Solution, us: f64, err: Option<f64>) {
        self.iters.push(sol.iterations as f64);
        self.us.push(us);
        match err {
            Some(e) => self.max_err = self.max_err.max(e),
            None => self.rejected += 1,
        }
        if let Some(o) = sol.ops {
            self.ops.push(o);
        }
    }

    /// Prints the variant's row (and its cores table); returns the cores table's points
    /// (cores, mean latency µs, EDP µJ·ms).
    fn print(mut self, family: &str, label: &str, osqp_mean_us: Option<f64>, fan_in: Option<Vec<u64>>) -> CorePoints {
        if let Ok(path) = std::env::var("DUMP") {
            let text: Vec<String> = self.iters.iter().map(|v| v.to_string()).collect();
            let name = label.replace([' ', '|', ':', ',', '='], "_");
            std::fs::write(format!("{path}.{family}.{name}"), text.join("\n")).expect("DUMP file");
        }
        let mean_it = self.iters.iter().sum::<f64>() / self.iters.len().max(1) as f64;
        let mean_us = self.us.iter().sum::<f64>() / self.us.len().max(1) as f64;
        self.iters.sort_by(f64::total_cmp);
        self.us.sort_by(f64::total_cmp);
        let cost = NeuroCost::loihi2_default();
        let (mut lat, mut lat_max, mut en) = (0.0, 0.0f64, 0.0);
        let mut tot = OpCounts::default();
        for o in &self.ops {
            let e = cost.estimate(o);
            lat += e.time_s * 1e6;
            lat_max = lat_max.max(e.time_s * 1e6);
            en += e.energy_j * 1e6;
            tot.accumulate(o);
        }
        let k = self.ops.len().max(1) as f64;
        let (lat, en) = (lat / k, en / k);
        let it_tot: f64 = self.iters.iter().sum::<f64>().max(1.0);
        let edp = osqp_mean_us.filter(|_| !self.ops.is_empty()).map(|o| {
            let t = o * 1e-6;
            (t * 15.0 * t) / (en * 1e-6 * lat * 1e-6)
        });
        println!(
            "{:<9} {:<52} {:>5.0} {:>5.0} {:>5.0} {:>6.1} {:>8.1} {:>8.1} {:>4} {:>8.3} {:>6.2} {:>7.0} {:>6.1} {:>8.0} {:>8.0} {:>7.1} {:>7}",
            family,
            label,
            percentile(&self.iters, 50.0),
            percentile(&self.iters, 99.0),
            self.iters.last().copied().unwrap_or(0.0),
            mean_it,
            percentile(&self.us, 50.0),
            percentile(&self.us, 99.0),
            self.rejected,
            self.max_err,
            tot.timesteps as f64 / it_tot,
            tot.messages as f64 / it_tot,
            tot.readout_checks as f64 / k,
            lat,
            lat_max,
            en,
            edp.map_or("-".into(), |r| format!("{r:.1}")),
        );
        let _ = mean_us;
        match fan_in {
            Some(fan_in) => cores_table(&self.ops, &fan_in, osqp_mean_us),
            None => Vec::new(),
        }
    }
}

/// (cores, mean latency µs, EDP µJ·ms) of one variant.
type CorePoints = Vec<(usize, f64, f64)>;

/// The chip estimate of `ops` with the network of fan-ins `fan_in` on each core count of
/// `CORES`.
fn cores_table(ops: &[OpCounts], fan_in: &[u64], osqp_mean_us: Option<f64>) -> CorePoints {
    let mut points = Vec::new();
    let Ok(list) = std::env::var("CORES") else { return points };
    println!(
        "    {} neurons, {} stored synapses; cores: busiest-core synapse share, lat mean / max [µs], E mean [µJ] (static), EDPx; even split: lat",
        fan_in.len(),
        fan_in.iter().sum::<u64>()
    );
    for c in list.split_whitespace().filter_map(|t| t.parse::<usize>().ok()) {
        let mapped = match NeuroCost::mapped(HardwareProfile::loihi2_estimate(), fan_in, c) {
            Ok(m) => m,
            Err(e) => {
                println!("    {c:>4}: {e}");
                continue;
            }
        };
        let even = NeuroCost::loihi2_on(c).expect("core count within the chip");
        let (mut lat, mut lat_max, mut en, mut st, mut lat_even) = (0.0, 0.0f64, 0.0, 0.0, 0.0);
        for o in ops {
            let e = mapped.estimate(o);
            lat += e.time_s * 1e6;
            lat_max = lat_max.max(e.time_s * 1e6);
            en += e.energy_j * 1e6;
            st += e.static_j * 1e6;
            lat_even += even.estimate(o).time_s * 1e6;
        }
        let k = ops.len().max(1) as f64;
        let (lat, en, st, lat_even) = (lat / k, en / k, st / k, lat_even / k);
        let edp = osqp_mean_us.map(|o| {
            let t = o * 1e-6;
            (t * 15.0 * t) / (en * 1e-6 * lat * 1e-6)
        });
        println!(
            "    {c:>4}: {:>5.1} % (even {:>5.1} %)  {lat:>7.0} / {lat_max:>7.0}  {en:>6.1} ({st:>5.1})  {:>7}  even: {lat_even:>7.0}",
            mapped.map.max_synapse_share() * 100.0,
            100.0 / c as f64,
            edp.map_or("-".into(), |r| format!("{r:.1}")),
        );
        points.push((c, lat, en * lat * 1e-3));
    }
    points
}

/// Writes the cores plots of `PLOT=dir` (see the module docs).
fn plot_cores(curves: &[(String, CorePoints)]) {
    let Ok(dir) = std::env::var("PLOT") else { return };
    let dir = std::path::Path::new(&dir);
    for (file, title, y, pick) in [
        ("cores_latency.png", "Est. chip latency per solve against cores", "log10 mean latency [us]", 1),
        ("cores_edp.png", "Est. EDP per solve against cores", "log10 EDP [uJ x ms]", 2),
    ] {
        let series: Vec<Series> = curves
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(label, p)| {
                let pts = p
                    .iter()
                    .map(|&(c, lat, edp)| ((c as f64).log2(), if pick == 1 { lat } else { edp }.log10()))
                    .collect();
                Series::new(label.clone(), pts)
            })
            .collect();
        match line_plot(&dir.join(file), title, "log2 cores", y, &series) {
            Ok(()) => eprintln!("wrote {}", dir.join(file).display()),
            Err(e) => eprintln!("plot {file} skipped: {e}"),
        }
    }
}

/// The fan-ins of the network variant `v` builds on `pb` (one solve on a fresh solver).
fn fan_in_of(v: &Variant, pb: &Problem) -> Option<Vec<u64>> {
    let s = v.settings.as_ref()?;
    std::env::var("CORES").ok()?;
    let mut sp = SpikingSolver::new(s.clone());
    sp.setup(pb, &base()).ok()?;
    sp.solve().ok()?;
    sp.network_fan_in()
}

fn header() {
    println!(
        "{:<9} {:<52} {:>5} {:>5} {:>5} {:>6} {:>8} {:>8} {:>4} {:>8} {:>6} {:>7} {:>6} {:>8} {:>8} {:>7} {:>7}",
        "family",
        "variant",
        "it50",
        "it99",
        "itmax",
        "itmean",
        "us50",
        "us99",
        "rej",
        "max|du|",
        "ts/it",
        "msg/it",
        "chk/s",
        "lat µs",
        "latmax",
        "E µJ",
        "EDPx"
    );
}

fn variants(preset: &SpikingSettings, quadruped: bool) -> Vec<Variant> {
    let spec = std::env::var("VARIANTS").unwrap_or_else(|_| "loihi2 spiking".into());
    let mut v = vec![parse_variant("osqp", preset, quadruped)];
    v.extend(spec.split_whitespace().map(|t| parse_variant(t, preset, quadruped)));
    v
}

fn tight() -> Settings {
    Settings { eps_abs: 1e-8, eps_rel: 1e-8, max_iter: 100_000, ..Settings::default() }
}

fn base() -> Settings {
    let max_iter = std::env::var("MAXIT").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    let eps = std::env::var("EPS").ok().and_then(|s| s.parse().ok()).unwrap_or(1e-3);
    Settings { eps_abs: eps, eps_rel: eps, max_iter, ..Settings::default() }
}

fn quadruped(steps: usize, curves: &mut Vec<(String, CorePoints)>) {
    let cfg = |s: Settings| QuadrupedMpcConfig { settings: s, ..QuadrupedMpcConfig::go1() };
    let mut gen_mpc = QuadrupedMpc::new(cfg(tight()), Box::new(ClarabelSolver::new())).unwrap();
    let (samples, _) = quadruped_closed_loop(&mut gen_mpc, steps, 0.4).unwrap();
    let mut refm = QuadrupedMpc::new(cfg(tight()), Box::new(ClarabelSolver::new())).unwrap();
    let off = refm.u_offset(0);
    let refs: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| {
            refm.update(&s.state, &s.reference, &s.plan).unwrap();
            refm.solve().unwrap().x[off..off + 12].to_vec()
        })
        .collect();
    let mg = refm.config().weight();
    let mut osqp_mean = None;
    for v in variants(&tuning::quadruped_spiking(), true) {
        let mut m = QuadrupedMpc::new(cfg(base()), solver_of(&v)).unwrap();
        if let Some(wd) = v.warm_duals {
            m.set_warm_start_duals(wd);
        }
        let mut t = Tally::default();
        for (s, r) in samples.iter().zip(&refs) {
            m.update(&s.state, &s.reference, &s.plan).unwrap();
            let t0 = Instant::now();
            let sol = m.solve().unwrap().clone();
            let us = t0.elapsed().as_secs_f64() * 1e6;
            let e = sol.x[off..off + 12].iter().zip(r).map(|(a, b)| (a - b).abs() * mg).fold(0.0, f64::max);
            t.book(&sol, us, m.accept(2e-2).is_ok().then_some(e));
        }
        if v.spec.backend == Backend::Osqp && osqp_mean.is_none() {
            osqp_mean = Some(t.us.iter().sum::<f64>() / t.us.len().max(1) as f64);
        }
        let fan_in = fan_in_of(&v, m.problem());
        let pts = t.print("quadruped", &v.label, osqp_mean, fan_in);
        curves.push((format!("quadruped {}", v.label), pts));
    }
}

fn arm(steps: usize, curves: &mut Vec<(String, CorePoints)>) {
    let ctl = ArmControllerConfig::default();
    let est = ContactEstimator::new(ctl.k_trans[2], ctl.d_trans[2]).model();
    let cfg = |s: Settings| ArmMpcConfig { settings: s, ..ArmMpcConfig::default() };
    let mut gen_mpc = ArmMpc::new(cfg(tight()), est, Box::new(ClarabelSolver::new())).unwrap();
    let samples = arm_closed_loop(&mut gen_mpc, steps, ctl.k_trans, ctl.d_trans).unwrap();
    let mut refm = ArmMpc::new(cfg(tight()), est, Box::new(ClarabelSolver::new())).unwrap();
    let refs: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| {
            refm.update(&s.state, &s.reference, &s.model).unwrap();
            let off = refm.acc_col(0);
            refm.solve().unwrap().x[off..off + 3].to_vec()
        })
        .collect();
    let mut osqp_mean = None;
    for v in variants(&tuning::arm_spiking(), false) {
        let mut m = ArmMpc::new(cfg(base()), est, solver_of(&v)).unwrap();
        let off = m.acc_col(0);
        let mut t = Tally::default();
        for (s, r) in samples.iter().zip(&refs) {
            m.update(&s.state, &s.reference, &s.model).unwrap();
            let t0 = Instant::now();
            let sol = m.solve().unwrap().clone();
            let us = t0.elapsed().as_secs_f64() * 1e6;
            let e = sol.x[off..off + 3].iter().zip(r).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            t.book(&sol, us, m.accept(0.1).is_ok().then_some(e));
        }
        if v.spec.backend == Backend::Osqp && osqp_mean.is_none() {
            osqp_mean = Some(t.us.iter().sum::<f64>() / t.us.len().max(1) as f64);
        }
        let fan_in = fan_in_of(&v, m.problem());
        let pts = t.print("arm", &v.label, osqp_mean, fan_in);
        curves.push((format!("arm {}", v.label), pts));
    }
}

fn main() {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let family = std::env::var("FAMILY").unwrap_or_else(|_| "both".into());
    header();
    let mut curves = Vec::new();
    if family != "arm" {
        quadruped(steps, &mut curves);
    }
    if family != "quadruped" {
        arm(steps, &mut curves);
    }
    plot_cores(&curves);
}
