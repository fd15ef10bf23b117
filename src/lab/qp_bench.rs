//! A qpbenchmark-style QP benchmark: problem families × accuracy tiers × cold/warm, run
//! in-process against any set of [`QpSolver`] backends.
//!
//! - **Success** of a run: the solver reports [`Status::Solved`] and the residuals of its
//!   answer on the original problem satisfy prim ≤ ε, dual ≤ ε and gap ≤ ε with the tier's ε
//!   (absolute, relative tolerance 0, as qpbenchmark's low/mid accuracy). On infeasible
//!   problems, success means reporting [`Status::PrimalInfeasible`].
//! - **Runtime** of a cold run: setup + solve wall time (setup includes scaling and, for
//!   OSQP, the factorisation). Of a warm step: the update of q and bounds + the solve (the
//!   solver's own warm start from its previous answer). A failed run counts as the time limit
//!   (qpbenchmark's convention), so failures weigh on the runtime too.
//! - **Shifted geometric mean** of runtimes t_i over the runs of a group:
//!   exp(mean(ln(t_i + s))) − s with shift s = [`SHIFT_S`], normalised so that the best
//!   solver of the group has 1.0.
//! - Each problem is solved by every solver back to back (interleaved), so machine load
//!   affects all solvers alike.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::lab::families::RoboticsFamily;
use crate::lab::generate::{Family, mpc_sequence};
use crate::qp::{Problem, QpSolver, Settings, Status};

/// Shift of the shifted geometric mean, seconds (10 µs).
pub const SHIFT_S: f64 = 1e-5;

/// An accuracy tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Tier {
    /// eps_abs = 1e-3, eps_rel = 0.
    Low,
    /// eps_abs = 1e-6, eps_rel = 0.
    Mid,
}

impl Tier {
    /// The tolerance ε of the tier.
    pub fn eps(self) -> f64 {
        match self {
            Tier::Low => 1e-3,
            Tier::Mid => 1e-6,
        }
    }
    /// "low" / "mid".
    pub fn name(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Mid => "mid",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Cold-start problems: (family, size parameters).
    pub cold: Vec<(Family, Vec<usize>)>,
    /// Instances (seeds) per (family, size).
    pub seeds: usize,
    /// Accuracy tiers.
    pub tiers: Vec<Tier>,
    /// State dimensions of the warm-started MPC sequences.
    pub warm_sizes: Vec<usize>,
    /// Steps per warm-started sequence.
    pub warm_steps: usize,
    /// Iteration cap for first-order solvers.
    pub max_iter: usize,
    /// Time limit per run (also the runtime charged to a failed run).
    pub time_limit: Duration,
    /// Base seed.
    pub seed: u64,
}

impl BenchConfig {
    /// The full benchmark (several minutes).
    pub fn full() -> Self {
        Self {
            cold: vec![
                (Family::Mpc, vec![10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
                (Family::RandomMixed, vec![20, 50, 100, 200]),
                (Family::Box, vec![20, 50, 100, 200]),
                (Family::Equality, vec![20, 50, 100, 200]),
                (Family::Infeasible, vec![20, 50, 100]),
            ]
            .into_iter()
            .chain(RoboticsFamily::ALL.map(|f| (Family::Robotics(f), f.horizons().to_vec())))
            .collect(),
            seeds: 2,
            tiers: vec![Tier::Low, Tier::Mid],
            warm_sizes: vec![20, 50],
            warm_steps: 100,
            max_iter: 20_000,
            time_limit: Duration::from_secs(5),
            seed: 1,
        }
    }

    /// A reduced set that finishes within a minute.
    pub fn quick() -> Self {
        Self {
            cold: vec![
                (Family::Mpc, vec![10, 20, 40]),
                (Family::RandomMixed, vec![20, 50]),
                (Family::Box, vec![20, 50]),
                (Family::Equality, vec![20, 50]),
                (Family::Infeasible, vec![20]),
            ]
            .into_iter()
            .chain(RoboticsFamily::ALL.map(|f| (Family::Robotics(f), vec![f.horizons()[0]])))
            .collect(),
            seeds: 2,
            tiers: vec![Tier::Low, Tier::Mid],
            warm_sizes: vec![20],
            warm_steps: 100,
            max_iter: 20_000,
            time_limit: Duration::from_secs(1),
            seed: 1,
        }
    }

    /// Number of (problem, tier) units the progress callback counts to.
    pub fn units(&self) -> usize {
        let cold: usize = self.cold.iter().map(|(_, s)| s.len() * self.seeds).sum();
        (cold + self.warm_sizes.len() * self.warm_steps) * self.tiers.len()
    }
}

/// One solver run on one problem.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    /// Solver name.
    pub solver: String,
    /// Family name ("mpc", …).
    pub family: String,
    /// "cold" or "warm".
    pub mode: String,
    /// Accuracy tier.
    pub tier: Tier,
    /// Size parameter.
    pub size: usize,
    /// Seed (cold) or step index (warm).
    pub instance: u64,
    /// Reported status.
    pub status: Status,
    /// Solved (or infeasibility detected where expected) and residuals within tolerance.
    pub success: bool,
    /// Measured runtime, seconds (setup + solve cold; update + solve warm).
    pub runtime_s: f64,
    /// Iterations.
    pub iterations: usize,
    /// Residuals (prim, dual, gap) on the original problem.
    pub prim: f64,
    /// Dual residual.
    pub dual: f64,
    /// Duality gap.
    pub gap: f64,
}

/// Makes a fresh solver by name.
pub(crate) type SolverFactory<'a> = &'a dyn Fn(&str) -> Option<Box<dyn QpSolver>>;

fn settings(cfg: &BenchConfig, tier: Tier) -> Settings {
    Settings {
        eps_abs: tier.eps(),
        eps_rel: 0.0,
        max_iter: cfg.max_iter,
        time_limit: Some(cfg.time_limit),
        warm_start: true,
        ..Settings::default()
    }
}

fn judge(feasible: bool, status: Status, prim: f64, dual: f64, gap: f64, eps: f64) -> bool {
    if feasible {
        status == Status::Solved && prim <= eps && dual <= eps && gap <= eps
    } else {
        status == Status::PrimalInfeasible
    }
}

/// What one run gave: status, success, runtime [s], iterations, residuals (prim, dual, gap).
type Outcome = (Status, bool, f64, usize, [f64; 3]);

/// Where a run belongs in the results.
struct Slot<'a> {
    family: &'a str,
    mode: &'a str,
    tier: Tier,
    size: usize,
    instance: u64,
}

impl Slot<'_> {
    /// The record of `solver`'s outcome here; a failed run is booked at `limit` seconds.
    fn record(&self, solver: &str, (status, success, t, iterations, r): Outcome, limit: f64) -> Record {
        Record {
            solver: solver.into(),
            family: self.family.into(),
            mode: self.mode.into(),
            tier: self.tier,
            size: self.size,
            instance: self.instance,
            status,
            success,
            runtime_s: if success { t } else { limit },
            iterations,
            prim: r[0],
            dual: r[1],
            gap: r[2],
        }
    }
}

fn cold_run(
    name: &str,
    make: SolverFactory,
    pb: &Problem,
    st: &Settings,
    feasible: bool,
    tier: Tier,
) -> Option<Outcome> {
    let mut s = make(name)?;
    let t0 = Instant::now();
    let res = s.setup(pb, st).and_then(|_| {
        let setup = t0.elapsed();
        s.solve().map(|sol| (setup, sol))
    });
    Some(match res {
        Ok((setup, sol)) => {
            let r = sol.residuals;
            let ok = judge(feasible, sol.status, r.prim, r.dual, r.gap, tier.eps());
            (sol.status, ok, (setup + sol.solve_time).as_secs_f64(), sol.iterations, [r.prim, r.dual, r.gap])
        }
        Err(_) => (Status::NumericalError, false, f64::INFINITY, 0, [f64::INFINITY; 3]),
    })
}

/// Runs the benchmark; `progress(done, total)` is called after each unit.
pub fn run(
    cfg: &BenchConfig,
    solvers: &[String],
    make: SolverFactory,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<Record> {
    let total = cfg.units();
    let mut done = 0;
    let mut out = Vec::new();
    let limit = cfg.time_limit.as_secs_f64();
    for &tier in &cfg.tiers {
        let st = settings(cfg, tier);
        for (fam, sizes) in &cfg.cold {
            for &n in sizes {
                for k in 0..cfg.seeds as u64 {
                    let seed = cfg.seed.wrapping_mul(1000).wrapping_add(n as u64 * 7919 + k);
                    let pb = fam.generate(n, seed);
                    let slot = Slot { family: fam.name(), mode: "cold", tier, size: n, instance: seed };
                    for name in solvers {
                        if let Some(o) = cold_run(name, make, &pb, &st, fam.is_feasible(), tier) {
                            out.push(slot.record(name, o, limit));
                        }
                    }
                    done += 1;
                    progress(done, total);
                }
            }
        }
        for &n in &cfg.warm_sizes {
            let seq = mpc_sequence(n, cfg.warm_steps, cfg.seed.wrapping_add(n as u64));
            let mut live: Vec<(String, Box<dyn QpSolver>)> = Vec::new();
            for name in solvers {
                if let Some(mut s) = make(name)
                    && s.setup(&seq.base, &st).is_ok()
                {
                    live.push((name.clone(), s));
                }
            }
            for (step, (q, l, u)) in seq.steps.iter().enumerate() {
                for (name, s) in live.iter_mut() {
                    let t0 = Instant::now();
                    let res = s
                        .update_q(q)
                        .and_then(|_| s.update_bounds(l, u))
                        .map(|_| t0.elapsed())
                        .and_then(|upd| s.solve().map(|sol| (upd, sol)));
                    let o: Outcome = match res {
                        Ok((upd, sol)) => {
                            let r = sol.residuals;
                            let ok = judge(true, sol.status, r.prim, r.dual, r.gap, tier.eps());
                            (
                                sol.status,
                                ok,
                                (upd + sol.solve_time).as_secs_f64(),
                                sol.iterations,
                                [r.prim, r.dual, r.gap],
                            )
                        }
                        Err(_) => (Status::NumericalError, false, limit, 0, [f64::INFINITY; 3]),
                    };
                    let slot = Slot { family: "mpc", mode: "warm", tier, size: n, instance: step as u64 };
                    out.push(slot.record(name, o, limit));
                }
                done += 1;
                progress(done, total);
            }
        }
    }
    out
}

/// Shifted geometric mean exp(mean ln(t + s)) − s (seconds); NaN for no data.
pub(crate) fn shifted_geomean(times: &[f64], shift: f64) -> f64 {
    if times.is_empty() {
        return f64::NAN;
    }
    (times.iter().map(|t| (t + shift).ln()).sum::<f64>() / times.len() as f64).exp() - shift
}

/// Aggregates of one solver over one group of runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SolverSummary {
    /// Fraction of successful runs, 0…1.
    pub success_rate: f64,
    /// Shifted geometric mean runtime normalised to the group's best solver (1.0 = best).
    pub runtime_shm: f64,
    /// Shifted geometric mean runtime, seconds.
    pub runtime_shm_s: f64,
    /// Mean iterations.
    pub mean_iterations: f64,
    /// Number of runs.
    pub runs: usize,
}

/// Summaries per group key → solver. Groups: "family/tier/mode" plus "all".
pub fn summarize(records: &[Record]) -> BTreeMap<String, BTreeMap<String, SolverSummary>> {
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<&Record>>> = BTreeMap::new();
    for r in records {
        let key = format!("{}/{}/{}", r.family, r.tier.name(), r.mode);
        groups.entry(key).or_default().entry(r.solver.clone()).or_default().push(r);
        groups.entry("all".into()).or_default().entry(r.solver.clone()).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(k, by_solver)| {
            let mut sums: BTreeMap<String, SolverSummary> = by_solver
                .into_iter()
                .map(|(s, rs)| {
                    let times: Vec<f64> = rs.iter().map(|r| r.runtime_s).collect();
                    let succ = rs.iter().filter(|r| r.success).count();
                    let summary = SolverSummary {
                        success_rate: succ as f64 / rs.len() as f64,
                        runtime_shm: f64::NAN,
                        runtime_shm_s: shifted_geomean(&times, SHIFT_S),
                        mean_iterations: rs.iter().map(|r| r.iterations as f64).sum::<f64>() / rs.len() as f64,
                        runs: rs.len(),
                    };
                    (s, summary)
                })
                .collect();
            let best = sums.values().map(|s| s.runtime_shm_s).fold(f64::INFINITY, f64::min);
            for s in sums.values_mut() {
                s.runtime_shm = s.runtime_shm_s / best;
            }
            (k, sums)
        })
        .collect()
}

/// Markdown table of the summaries (one row per group × solver).
pub fn markdown(summary: &BTreeMap<String, BTreeMap<String, SolverSummary>>) -> String {
    let mut s = String::from(
        "| group (family/tier/mode) | solver | success | runtime shm (× best) | shm time | mean iters | runs |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for (g, by) in summary {
        for (name, v) in by {
            s.push_str(&format!(
                "| {g} | {name} | {:.1}% | {:.2} | {} | {:.0} | {} |\n",
                100.0 * v.success_rate,
                v.runtime_shm,
                fmt_time(v.runtime_shm_s),
                v.mean_iterations,
                v.runs
            ));
        }
    }
    s
}

/// A duration in seconds as µs/ms/s text.
pub fn fmt_time(t: f64) -> String {
    if t < 1e-3 {
        format!("{:.1} µs", t * 1e6)
    } else if t < 1.0 {
        format!("{:.2} ms", t * 1e3)
    } else {
        format!("{t:.2} s")
    }
}

/// CSV of the per-run records (header included).
pub fn csv(records: &[Record]) -> String {
    let mut s =
        String::from("solver,family,mode,tier,size,instance,status,success,runtime_s,iterations,prim,dual,gap\n");
    for r in records {
        s.push_str(&format!(
            "{},{},{},{},{},{},{:?},{},{:.9e},{},{:.3e},{:.3e},{:.3e}\n",
            r.solver,
            r.family,
            r.mode,
            r.tier.name(),
            r.size,
            r.instance,
            r.status,
            r.success,
            r.runtime_s,
            r.iterations,
            r.prim,
            r.dual,
            r.gap
        ));
    }
    s
}

/// The `--json` document: `{"solvers": {NAME: {"success_rate", "runtime_shm", …}}, "groups": …}`
/// where "solvers" is the "all" group.
pub fn json(summary: &BTreeMap<String, BTreeMap<String, SolverSummary>>) -> serde_json::Value {
    serde_json::json!({
        "solvers": summary.get("all").cloned().unwrap_or_default(),
        "groups": summary,
        "shift_s": SHIFT_S,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_geomean_basics() {
        assert!((shifted_geomean(&[2.0, 8.0], 0.0) - 4.0).abs() < 1e-12);
        assert!((shifted_geomean(&[1.0, 1.0], 5.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn tiny_run_counts_and_judges() {
        let cfg = BenchConfig {
            cold: vec![(Family::Mpc, vec![4]), (Family::Infeasible, vec![4])],
            seeds: 1,
            tiers: vec![Tier::Low],
            warm_sizes: vec![4],
            warm_steps: 3,
            max_iter: 20_000,
            time_limit: Duration::from_secs(5),
            seed: 3,
        };
        let names = vec!["osqp".to_string(), "clarabel".to_string()];
        let mut calls = 0;
        let recs = run(&cfg, &names, &crate::qp::registry::by_name, &mut |_, _| calls += 1);
        assert_eq!(calls, cfg.units());
        assert_eq!(recs.len(), (2 + 3) * 2);
        assert!(recs.iter().filter(|r| r.solver == "clarabel").all(|r| r.success), "{recs:?}");
        let sum = summarize(&recs);
        let all = &sum["all"];
        assert!(all.values().any(|s| (s.runtime_shm - 1.0).abs() < 1e-12));
        assert!(markdown(&sum).contains("mpc/low/warm"));
        assert_eq!(csv(&recs).lines().count(), recs.len() + 1);
    }
}
