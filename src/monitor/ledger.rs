//! The monitor's books: every solve sample, grouped per (source node, solver), priced and
//! compared. ROS-free: the `spikectl-monitor` node feeds it from `SolveStats` messages and
//! `spikectl report` from a `spikectl run` output folder, so both report alike.
//!
//! Per entry it keeps the host CPU solve times and estimated chip latencies of a sliding
//! window (percentiles), and since the start: solves, deadline misses on CPU time and on chip
//! time (two deadlines), fallbacks, non-solved statuses, and energy sums (chip estimate and
//! CPU time × stated power). The energy-delay product (EDP) follows `spikectl run`
//! ([`crate::scenario::EdpComparison`]): the EDP of the mean solve, mean energy × mean
//! latency, on the chip for entries with a chip estimate, and (mean time × power) × mean time
//! on the CPU. The baseline is the conventional (CPU arithmetic) entry of the same run, OSQP
//! when there is one.
//!
//! Samples with counts but no chip estimate (e.g. the tracker's, or a run output folder) are
//! priced here with [`NeuroCost::loihi2_default`], the same model `spikectl run` uses.

use std::collections::{BTreeMap, VecDeque};

use super::energy::NeuroCost;
use super::latency::LatencyStats;
use crate::neuro::OpCounts;

/// Most distinct (node, solver) entries tracked; samples naming more are rejected.
pub const MAX_ENTRIES: usize = 32;

/// Arithmetic names carried in samples (`SolveStats.arithmetic`).
pub const ARITHMETICS: [&str; 3] = ["cpu", "float-network", "loihi2-fixed"];

/// One solve as the monitor sees it. Times in seconds, energies in joules.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// When it was received or recorded, on the monitor's clock (ROS) or controller time
    /// (run folder) [s].
    pub t_s: f64,
    /// Source node (fully qualified ROS name, or `run:<scenario>` for a run folder).
    pub node: String,
    /// Solver as configured (e.g. `osqp`, `loihi2:planes=2`).
    pub solver: String,
    /// Arithmetic: one of [`ARITHMETICS`].
    pub arithmetic: String,
    /// Status name (`Solved`, `MaxIterations`, ...).
    pub status: String,
    /// Iterations [count].
    pub iterations: u64,
    /// Host CPU time building the QP [s].
    pub preprocess_s: f64,
    /// Host CPU solve time [s].
    pub solve_s: f64,
    /// QP objective at the returned x.
    pub objective: f64,
    /// Primal residual (infinity norm).
    pub primal_residual: f64,
    /// Dual residual (infinity norm).
    pub dual_residual: f64,
    /// Operation counts (all zero for CPU solvers).
    pub ops: OpCounts,
    /// Hardware profile of the chip estimate; empty when there is none.
    pub chip_profile: String,
    /// Cores of the chip estimate [count].
    pub chip_cores: u32,
    /// Estimated chip latency [s] (0 without an estimate).
    pub chip_latency_s: f64,
    /// Estimated chip energy [J] (0 without an estimate).
    pub chip_energy_j: f64,
    /// Stated CPU power of the CPU energy figure [W].
    pub cpu_watts: f64,
    /// Host CPU energy: solve_s × cpu_watts [J].
    pub cpu_energy_j: f64,
    /// The controller fell back to its safe command.
    pub fallback: bool,
}

impl Sample {
    /// True when the sample carries a chip estimate.
    pub fn has_chip(&self) -> bool {
        !self.chip_profile.is_empty()
    }

    /// True when the sample carries neuromorphic operation counts.
    pub fn has_ops(&self) -> bool {
        self.ops.timesteps > 0 || self.ops.synops > 0 || self.ops.neuron_updates > 0
    }

    /// Prices the operation counts with `cost` when the sample has counts but no chip
    /// estimate; fills the CPU energy from `cpu_watts` when it is missing.
    pub fn price(&mut self, cost: &NeuroCost, cpu_watts: f64) {
        if !self.has_chip() && self.has_ops() {
            let e = cost.estimate(&self.ops);
            self.chip_profile = cost.hw.name.clone();
            self.chip_cores = u32::try_from(e.cores).unwrap_or(u32::MAX);
            self.chip_latency_s = e.time_s;
            self.chip_energy_j = e.energy_j;
        }
        if self.cpu_watts <= 0.0 && self.cpu_energy_j == 0.0 {
            self.cpu_watts = cpu_watts;
            self.cpu_energy_j = self.solve_s * cpu_watts;
        }
    }
}

/// Why a sample was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BadSample {
    /// A float field is NaN or infinite.
    #[error("{0} is not finite")]
    NonFinite(&'static str),
    /// A time, energy, power or residual is negative.
    #[error("{0} is negative")]
    Negative(&'static str),
    /// The solver or node name is empty, too long or not printable ASCII.
    #[error("bad {0} name {1:?}")]
    Name(&'static str, String),
    /// The arithmetic is not one of [`ARITHMETICS`].
    #[error("unknown arithmetic {0:?}")]
    Arithmetic(String),
    /// The status is not a known status name.
    #[error("unknown status {0:?}")]
    Status(String),
    /// More than [`MAX_ENTRIES`] (node, solver) pairs.
    #[error("{0} (more than {MAX_ENTRIES} node/solver pairs)")]
    TooMany(String),
}

/// Longest accepted node or solver name [bytes].
pub const MAX_NAME: usize = 128;

/// Status names a sample may carry (the [`crate::qp::Status`] variant names).
pub const STATUS_NAMES: [&str; 6] =
    ["Solved", "MaxIterations", "TimeLimit", "PrimalInfeasible", "DualInfeasible", "NumericalError"];

fn clip(s: &str) -> String {
    s.chars().take(MAX_NAME).collect()
}

/// Checks a sample: finite numbers, non-negative times/energies/residuals, sane names, a
/// known arithmetic (empty is read as `cpu` by [`Ledger::ingest`]) and status.
pub fn check(s: &Sample) -> Result<(), BadSample> {
    for (name, v, nonneg) in [
        ("t_s", s.t_s, false),
        ("preprocess_time_s", s.preprocess_s, true),
        ("solve_time_s", s.solve_s, true),
        ("primal_residual", s.primal_residual, true),
        ("dual_residual", s.dual_residual, true),
        ("objective", s.objective, false),
        ("chip_latency_s", s.chip_latency_s, true),
        ("chip_energy_j", s.chip_energy_j, true),
        ("cpu_watts", s.cpu_watts, true),
        ("cpu_energy_j", s.cpu_energy_j, true),
    ] {
        if !v.is_finite() {
            return Err(BadSample::NonFinite(name));
        }
        if nonneg && v < 0.0 {
            return Err(BadSample::Negative(name));
        }
    }
    for (what, n, may_be_empty) in [("solver", &s.solver, false), ("node", &s.node, true)] {
        let ok = (may_be_empty || !n.is_empty()) && n.len() <= MAX_NAME && n.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(BadSample::Name(what, clip(n)));
        }
    }
    if !s.arithmetic.is_empty() && !ARITHMETICS.contains(&s.arithmetic.as_str()) {
        return Err(BadSample::Arithmetic(clip(&s.arithmetic)));
    }
    if !STATUS_NAMES.contains(&s.status.as_str()) {
        return Err(BadSample::Status(clip(&s.status)));
    }
    Ok(())
}

/// Settings of a [`Ledger`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LedgerConfig {
    /// Samples per entry in the percentile window [count] (≥ 1).
    pub window: usize,
    /// Deadline on the host CPU solve time [s].
    pub cpu_deadline_s: f64,
    /// Deadline on the estimated chip latency [s].
    pub chip_deadline_s: f64,
    /// Samples kept for the report (oldest dropped beyond) [count].
    pub max_samples: usize,
    /// Stated CPU power for samples that carry none [W].
    pub cpu_watts: f64,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            window: 1000,
            cpu_deadline_s: 0.025,
            chip_deadline_s: 0.025,
            max_samples: 1_000_000,
            cpu_watts: crate::neuro::energy::DEFAULT_CPU_WATTS,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Entry {
    arithmetic: String,
    chip_profile: String,
    cpu_us: VecDeque<f64>,
    chip_us: VecDeque<f64>,
    solves: u64,
    chip_solves: u64,
    first_t: f64,
    last_t: f64,
    preprocess_sum_s: f64,
    cpu_sum_s: f64,
    cpu_energy_sum_j: f64,
    chip_latency_sum_s: f64,
    chip_energy_sum_j: f64,
    cpu_misses: u64,
    chip_misses: u64,
    fallbacks: u64,
    not_solved: u64,
    iterations_sum: u64,
    cpu_watts_sum: f64,
}

/// Summary of one (node, solver) entry. Times in µs, energies in J, power in W.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct EntrySummary {
    /// Source node.
    pub node: String,
    /// Solver.
    pub solver: String,
    /// Arithmetic (of the latest sample).
    pub arithmetic: String,
    /// Hardware profile of the chip figures (empty: none).
    pub chip_profile: String,
    /// Solves since the start [count].
    pub solves: u64,
    /// Time between the first and the last sample [s].
    pub span_s: f64,
    /// Host CPU solve time over the window [µs], deadline = the CPU deadline.
    pub cpu: LatencyStats,
    /// Mean host CPU solve time since the start [µs].
    pub cpu_mean_all_us: f64,
    /// Mean host CPU preprocessing time since the start [µs].
    pub preprocess_mean_us: f64,
    /// Estimated chip latency over the window [µs], deadline = the chip deadline (`None`
    /// without chip estimates).
    pub chip: Option<LatencyStats>,
    /// Mean estimated chip latency since the start [µs] (0 without).
    pub chip_mean_all_us: f64,
    /// Mean estimated chip energy per solve [J] (0 without).
    pub chip_energy_per_solve_j: f64,
    /// Mean host CPU energy per solve (solve time × stated power) [J].
    pub cpu_energy_per_solve_j: f64,
    /// Chip energy per second of the span [W] (0 when the span is 0).
    pub chip_power_w: f64,
    /// CPU energy per second of the span [W] (0 when the span is 0).
    pub cpu_power_w: f64,
    /// EDP of the mean solve on the chip: mean energy × mean latency [J·s] (0 without).
    pub chip_edp_js: f64,
    /// EDP of the mean solve on the CPU: (mean time × power) × mean time [J·s].
    pub cpu_edp_js: f64,
    /// The baseline entry (`node solver`), empty when the run had no CPU solver.
    pub baseline: String,
    /// Baseline CPU EDP / this entry's EDP (chip EDP when estimated, else CPU EDP); > 1:
    /// this entry is better; 0 without a baseline.
    pub edp_vs_baseline: f64,
    /// Solves whose CPU time exceeded the CPU deadline, since the start [count].
    pub cpu_deadline_misses: u64,
    /// Solves whose chip latency exceeded the chip deadline, since the start [count].
    pub chip_deadline_misses: u64,
    /// Fallbacks [count].
    pub fallbacks: u64,
    /// Non-solved statuses [count].
    pub not_solved: u64,
    /// Mean iterations per solve.
    pub mean_iterations: f64,
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Samples offered, rejected ones included [count].
    pub received: u64,
    /// Rejected samples [count].
    pub malformed: u64,
    /// Rejected samples per reason kind [count].
    pub malformed_by_kind: BTreeMap<String, u64>,
    /// Deadline on CPU solve time [s].
    pub cpu_deadline_s: f64,
    /// Deadline on chip latency [s].
    pub chip_deadline_s: f64,
    /// How samples without a chip estimate were priced.
    pub pricing: String,
    /// One per (node, solver), sorted by node then solver.
    pub entries: Vec<EntrySummary>,
}

/// The books (see the module docs).
#[derive(Debug)]
pub struct Ledger {
    cfg: LedgerConfig,
    cost: NeuroCost,
    entries: BTreeMap<(String, String), Entry>,
    samples: VecDeque<Sample>,
    received: u64,
    malformed: u64,
    malformed_by_kind: BTreeMap<String, u64>,
    last_bad: Option<BadSample>,
}

fn kind(e: &BadSample) -> &'static str {
    match e {
        BadSample::NonFinite(_) => "non_finite",
        BadSample::Negative(_) => "negative",
        BadSample::Name(..) => "bad_name",
        BadSample::Arithmetic(_) => "unknown_arithmetic",
        BadSample::Status(_) => "unknown_status",
        BadSample::TooMany(_) => "too_many_entries",
    }
}

fn push(w: &mut VecDeque<f64>, cap: usize, v: f64) {
    if w.len() == cap {
        w.pop_front();
    }
    w.push_back(v);
}

impl Ledger {
    /// Empty books (`window` and `max_samples` raised to at least 1).
    pub fn new(cfg: LedgerConfig) -> Self {
        let cfg = LedgerConfig { window: cfg.window.max(1), max_samples: cfg.max_samples.max(1), ..cfg };
        Self {
            cfg,
            cost: NeuroCost::loihi2_default(),
            entries: BTreeMap::new(),
            samples: VecDeque::new(),
            received: 0,
            malformed: 0,
            malformed_by_kind: BTreeMap::new(),
            last_bad: None,
        }
    }

    /// New deadlines [s] (finite, > 0), counted from the next sample on; the misses already
    /// counted stay.
    pub fn set_deadlines(&mut self, cpu_deadline_s: f64, chip_deadline_s: f64) {
        self.cfg.cpu_deadline_s = cpu_deadline_s;
        self.cfg.chip_deadline_s = chip_deadline_s;
    }

    /// The settings.
    pub fn config(&self) -> &LedgerConfig {
        &self.cfg
    }

    /// Takes one sample: checked ([`check`]), priced ([`Sample::price`]) and booked; a bad
    /// one is counted (per kind) and its reason returned.
    pub fn ingest(&mut self, mut s: Sample) -> Result<(), BadSample> {
        self.received += 1;
        let key = (s.node.clone(), s.solver.clone());
        let res = check(&s).and_then(|()| {
            if !self.entries.contains_key(&key) && self.entries.len() >= MAX_ENTRIES {
                Err(BadSample::TooMany(format!("{} {}", clip(&s.node), clip(&s.solver))))
            } else {
                Ok(())
            }
        });
        if let Err(e) = res {
            self.malformed += 1;
            *self.malformed_by_kind.entry(kind(&e).to_string()).or_default() += 1;
            self.last_bad = Some(e.clone());
            return Err(e);
        }
        if s.arithmetic.is_empty() {
            s.arithmetic = if s.has_ops() { "float-network".into() } else { "cpu".into() };
        }
        s.price(&self.cost, self.cfg.cpu_watts);
        let (win, cpu_dl, chip_dl) = (self.cfg.window, self.cfg.cpu_deadline_s, self.cfg.chip_deadline_s);
        let e = self.entries.entry(key).or_default();
        if e.solves == 0 {
            e.first_t = s.t_s;
        }
        e.last_t = s.t_s;
        e.arithmetic = s.arithmetic.clone();
        e.solves += 1;
        push(&mut e.cpu_us, win, s.solve_s * 1e6);
        e.preprocess_sum_s += s.preprocess_s;
        e.cpu_sum_s += s.solve_s;
        e.cpu_energy_sum_j += s.cpu_energy_j;
        e.cpu_watts_sum += s.cpu_watts;
        e.cpu_misses += u64::from(s.solve_s > cpu_dl);
        if s.has_chip() {
            e.chip_profile = s.chip_profile.clone();
            e.chip_solves += 1;
            push(&mut e.chip_us, win, s.chip_latency_s * 1e6);
            e.chip_latency_sum_s += s.chip_latency_s;
            e.chip_energy_sum_j += s.chip_energy_j;
            e.chip_misses += u64::from(s.chip_latency_s > chip_dl);
        }
        e.fallbacks += u64::from(s.fallback);
        e.not_solved += u64::from(s.status != "Solved");
        e.iterations_sum = e.iterations_sum.saturating_add(s.iterations);
        if self.samples.len() == self.cfg.max_samples {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
        Ok(())
    }

    /// Samples offered, rejected ones included [count].
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Rejected samples [count].
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// The reason of the latest rejected sample.
    pub fn last_bad(&self) -> Option<&BadSample> {
        self.last_bad.as_ref()
    }

    /// The kept samples, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter()
    }

    /// The summary of every entry, with the EDP comparison against the baseline.
    pub fn summary(&self) -> Summary {
        let mut entries: Vec<EntrySummary> =
            self.entries.iter().map(|((n, s), e)| self.entry_summary(n, s, e)).collect();
        // Baseline: a CPU-arithmetic entry, OSQP first, then the most solves.
        let base = entries
            .iter()
            .filter(|e| e.arithmetic == "cpu" && e.solves > 0)
            .max_by_key(|e| (e.solver.starts_with("osqp"), e.solves))
            .map(|b| (format!("{} {}", b.node, b.solver), b.cpu_edp_js));
        if let Some((name, base_edp)) = base {
            for e in &mut entries {
                let own = if e.chip.is_some() { e.chip_edp_js } else { e.cpu_edp_js };
                e.baseline = name.clone();
                e.edp_vs_baseline = if own > 0.0 { base_edp / own } else { 0.0 };
            }
        }
        Summary {
            received: self.received,
            malformed: self.malformed,
            malformed_by_kind: self.malformed_by_kind.clone(),
            cpu_deadline_s: self.cfg.cpu_deadline_s,
            chip_deadline_s: self.cfg.chip_deadline_s,
            pricing: format!(
                "chip figures are ESTIMATES; samples with operation counts but no estimate priced on {} ({}); CPU energy = solve time x stated CPU power",
                self.cost.hw.name, self.cost.assumption
            ),
            entries,
        }
    }

    fn entry_summary(&self, node: &str, solver: &str, e: &Entry) -> EntrySummary {
        let n = e.solves.max(1) as f64;
        let cpu_v: Vec<f64> = e.cpu_us.iter().copied().collect();
        let cpu = LatencyStats::from_micros(&cpu_v, Some(self.cfg.cpu_deadline_s * 1e6));
        let chip = (e.chip_solves > 0).then(|| {
            let v: Vec<f64> = e.chip_us.iter().copied().collect();
            LatencyStats::from_micros(&v, Some(self.cfg.chip_deadline_s * 1e6))
        });
        let span_s = (e.last_t - e.first_t).max(0.0);
        let per_s = |j: f64| if span_s > 0.0 { j / span_s } else { 0.0 };
        let cpu_mean_s = e.cpu_sum_s / n;
        let watts = e.cpu_watts_sum / n;
        let cn = e.chip_solves.max(1) as f64;
        let (chip_e, chip_t) = (e.chip_energy_sum_j / cn, e.chip_latency_sum_s / cn);
        EntrySummary {
            node: node.to_string(),
            solver: solver.to_string(),
            arithmetic: e.arithmetic.clone(),
            chip_profile: e.chip_profile.clone(),
            solves: e.solves,
            span_s,
            cpu,
            cpu_mean_all_us: cpu_mean_s * 1e6,
            preprocess_mean_us: e.preprocess_sum_s / n * 1e6,
            chip,
            chip_mean_all_us: chip_t * 1e6,
            chip_energy_per_solve_j: chip_e,
            cpu_energy_per_solve_j: e.cpu_energy_sum_j / n,
            chip_power_w: per_s(e.chip_energy_sum_j),
            cpu_power_w: per_s(e.cpu_energy_sum_j),
            chip_edp_js: chip_e * chip_t,
            cpu_edp_js: cpu_mean_s * watts * cpu_mean_s,
            baseline: String::new(),
            edp_vs_baseline: 0.0,
            cpu_deadline_misses: e.cpu_misses,
            chip_deadline_misses: e.chip_misses,
            fallbacks: e.fallbacks,
            not_solved: e.not_solved,
            mean_iterations: e.iterations_sum as f64 / n,
        }
    }
}

/// Formats a number with 3 significant digits (`-` for 0 when `dash_zero`).
fn sig(v: f64, dash_zero: bool) -> String {
    if dash_zero && v == 0.0 {
        return "-".into();
    }
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor();
    if (-3.0..6.0).contains(&mag) {
        let decimals = (2.0 - mag).max(0.0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

/// The summary as a Markdown table (what the CLI prints and `summary.md` holds): per
/// (node, solver) CPU and chip latency, energy per solve, EDP vs the baseline, misses.
pub fn summary_table(s: &Summary) -> String {
    let mut out = String::new();
    out.push_str(
        "| node | solver | arithmetic | solves | CPU p50 [µs] | CPU p99 [µs] | prep mean [µs] | chip p50 [µs] | chip p99 [µs] \
         | chip E/solve [µJ] | CPU E/solve [µJ] | chip EDP [J·s] | CPU EDP [J·s] | EDP gain vs baseline | CPU misses | chip misses | fallbacks | not solved |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for e in &s.entries {
        let chip = e.chip.as_ref();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            if e.node.is_empty() { "?" } else { &e.node },
            e.solver,
            e.arithmetic,
            e.solves,
            sig(e.cpu.p50_us, false),
            sig(e.cpu.p99_us, false),
            sig(e.preprocess_mean_us, true),
            chip.map_or("-".into(), |c| sig(c.p50_us, false)),
            chip.map_or("-".into(), |c| sig(c.p99_us, false)),
            chip.map_or("-".into(), |_| sig(e.chip_energy_per_solve_j * 1e6, false)),
            sig(e.cpu_energy_per_solve_j * 1e6, false),
            chip.map_or("-".into(), |_| sig(e.chip_edp_js, false)),
            sig(e.cpu_edp_js, false),
            if e.baseline.is_empty() { "no baseline".into() } else { format!("{}x", sig(e.edp_vs_baseline, false)) },
            e.cpu_deadline_misses,
            chip.map_or("-".into(), |_| e.chip_deadline_misses.to_string()),
            e.fallbacks,
            e.not_solved,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(node: &str, solver: &str, t_s: f64, solve_s: f64) -> Sample {
        Sample {
            t_s,
            node: node.into(),
            solver: solver.into(),
            arithmetic: "cpu".into(),
            status: "Solved".into(),
            iterations: 10,
            solve_s,
            cpu_watts: 10.0,
            cpu_energy_j: solve_s * 10.0,
            ..Default::default()
        }
    }

    fn chip(node: &str, t_s: f64, lat_s: f64, e_j: f64) -> Sample {
        Sample {
            arithmetic: "loihi2-fixed".into(),
            chip_profile: "loihi2-est".into(),
            chip_cores: 2,
            chip_latency_s: lat_s,
            chip_energy_j: e_j,
            ops: OpCounts { timesteps: 5, synops: 100, ..Default::default() },
            ..sample(node, "loihi2", t_s, 1e-3)
        }
    }

    #[test]
    fn entries_are_per_node_and_solver_with_two_deadlines_and_edp() {
        let cfg = LedgerConfig { cpu_deadline_s: 2e-3, chip_deadline_s: 50e-6, ..Default::default() };
        let mut l = Ledger::new(cfg);
        // Two nodes with the same solver name stay apart.
        for k in 0..10 {
            let t = k as f64 * 0.1;
            l.ingest(sample("/a/ctrl", "osqp", t, 1e-3)).unwrap();
            l.ingest(sample("/b/ctrl", "osqp", t, 3e-3)).unwrap();
            l.ingest(chip("/c/ctrl", t, if k < 3 { 100e-6 } else { 20e-6 }, 2e-6)).unwrap();
        }
        let s = l.summary();
        assert_eq!(s.entries.len(), 3);
        let a = &s.entries[0];
        assert_eq!((a.node.as_str(), a.solver.as_str(), a.solves), ("/a/ctrl", "osqp", 10));
        assert!((a.cpu.p50_us - 1000.0).abs() < 1e-6 && a.cpu_deadline_misses == 0);
        let b = &s.entries[1];
        assert_eq!(b.cpu_deadline_misses, 10);
        let c = &s.entries[2];
        // CPU time 1 ms each: under the 2 ms CPU deadline; chip: 3 of 10 over 50 µs.
        assert_eq!((c.cpu_deadline_misses, c.chip_deadline_misses), (0, 3));
        let chip_stats = c.chip.as_ref().unwrap();
        assert!((chip_stats.max_us - 100.0).abs() < 1e-9);
        // Energy per solve and per second (span 0.9 s).
        assert!((c.chip_energy_per_solve_j - 2e-6).abs() < 1e-18);
        assert!((c.chip_power_w - 10.0 * 2e-6 / 0.9).abs() < 1e-12);
        assert!((a.cpu_energy_per_solve_j - 1e-2).abs() < 1e-12);
        // EDP: chip mean energy × mean latency; baseline = the OSQP entry with most solves,
        // tie broken by the larger key, either way a CPU entry.
        let mean_lat = (3.0 * 100e-6 + 7.0 * 20e-6) / 10.0;
        assert!((c.chip_edp_js - 2e-6 * mean_lat).abs() < 1e-20);
        assert!(c.baseline.ends_with("osqp"));
        let base_edp = s.entries.iter().find(|e| format!("{} {}", e.node, e.solver) == c.baseline).unwrap().cpu_edp_js;
        assert!((c.edp_vs_baseline - base_edp / c.chip_edp_js).abs() < 1e-9 * c.edp_vs_baseline);
        let table = summary_table(&s);
        assert_eq!(table.lines().count(), 2 + 3);
        assert!(table.contains("| /c/ctrl | loihi2 | loihi2-fixed | 10 |"), "{table}");
    }

    #[test]
    fn bad_samples_are_counted_per_kind_and_harmless() {
        let mut l = Ledger::new(LedgerConfig::default());
        let good = sample("/n", "osqp", 0.0, 1e-3);
        let bad = [
            Sample { solve_s: f64::NAN, ..good.clone() },
            Sample { solve_s: -1e-3, ..good.clone() },
            Sample { chip_energy_j: f64::INFINITY, ..good.clone() },
            Sample { solver: String::new(), ..good.clone() },
            Sample { node: "a b".into(), ..good.clone() },
            Sample { arithmetic: "quantum".into(), ..good.clone() },
            Sample { status: "Exploded".into(), ..good.clone() },
        ];
        for b in bad {
            assert!(l.ingest(b).is_err());
        }
        l.ingest(good).unwrap();
        let s = l.summary();
        assert_eq!((s.received, s.malformed), (8, 7));
        assert_eq!(s.malformed_by_kind["non_finite"], 2);
        assert_eq!(s.malformed_by_kind["negative"], 1);
        assert_eq!(s.malformed_by_kind["bad_name"], 2);
        assert_eq!(s.entries.len(), 1);
        assert!(s.entries.iter().all(|e| e.cpu.mean_us.is_finite()));
        for k in 0..MAX_ENTRIES {
            let _ = l.ingest(sample("/n", &format!("s{k}"), 0.0, 1e-3));
        }
        assert!(matches!(l.ingest(sample("/n", "extra", 0.0, 1e-3)), Err(BadSample::TooMany(_))));
    }

    #[test]
    fn counts_without_an_estimate_are_priced_like_spikectl_run() {
        let mut l = Ledger::new(LedgerConfig::default());
        let ops = OpCounts { timesteps: 100, neuron_updates: 4000, messages: 900, synops: 20000, ..Default::default() };
        let s = Sample { ops, arithmetic: String::new(), ..sample("/t", "net-float", 0.0, 1e-4) };
        l.ingest(s).unwrap();
        let sm = l.summary();
        let e = &sm.entries[0];
        assert_eq!(e.arithmetic, "float-network");
        let want = NeuroCost::loihi2_default().estimate(&ops);
        assert!((e.chip_energy_per_solve_j - want.energy_j).abs() < 1e-18);
        assert!((e.chip_mean_all_us - want.time_s * 1e6).abs() < 1e-9);
        assert_eq!(e.chip_profile, "loihi2-est");
    }
}
