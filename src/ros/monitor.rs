//! The aggregation behind the `spikectl-monitor` node: per-solver latency percentiles over a
//! sliding window, deadline misses, fallbacks and non-solved statuses from received
//! `spikectl_msgs/SolveStats`, reported as `diagnostic_msgs/DiagnosticStatus`es.
//!
//! Malformed messages ([`super::stats::validate`]) are counted and otherwise ignored; the
//! number of distinct solver names is capped so a flood of names cannot grow memory.

use std::collections::{BTreeMap, VecDeque};

use r2r::diagnostic_msgs::msg::DiagnosticStatus;
use r2r::spikectl_msgs::msg::SolveStats;

use super::diagnostics::{Level, StatusBuilder};
use super::stats::{Malformed, validate};
use crate::monitor::latency::LatencyStats;

/// Most distinct solver names tracked; messages naming more are counted as malformed.
pub(crate) const MAX_SOLVERS: usize = 16;

/// Monitor settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonitorConfig {
    /// Samples per solver in the sliding window [count] (≥ 1).
    pub window: usize,
    /// Solve-time deadline: a solve longer than this is a deadline miss [s].
    pub deadline_s: f64,
}

#[derive(Debug, Default)]
struct SolverWindow {
    times_us: VecDeque<f64>,
    total: u64,
    deadline_misses: u64,
    fallbacks: u64,
    not_solved: u64,
    // Totals at the previous report, to flag growth.
    reported: (u64, u64, u64),
    iterations_sum: u64,
    synops_sum: u64,
}

/// Aggregates `SolveStats` messages.
#[derive(Debug)]
pub struct SolveStatsMonitor {
    cfg: MonitorConfig,
    solvers: BTreeMap<String, SolverWindow>,
    malformed: u64,
    malformed_reported: u64,
    last_malformed: Option<Malformed>,
    received: u64,
}

impl SolveStatsMonitor {
    /// An empty monitor (`window` is raised to at least 1).
    pub fn new(cfg: MonitorConfig) -> Self {
        let cfg = MonitorConfig { window: cfg.window.max(1), ..cfg };
        Self { cfg, solvers: BTreeMap::new(), malformed: 0, malformed_reported: 0, last_malformed: None, received: 0 }
    }

    /// Takes one message; a malformed one is counted and its reason returned.
    pub fn ingest(&mut self, msg: &SolveStats) -> Result<(), Malformed> {
        self.received += 1;
        if let Err(e) = validate(msg) {
            self.malformed += 1;
            self.last_malformed = Some(e.clone());
            return Err(e);
        }
        if !self.solvers.contains_key(&msg.solver) && self.solvers.len() >= MAX_SOLVERS {
            let e = Malformed::Solver(format!("{} (more than {MAX_SOLVERS} solvers)", msg.solver));
            self.malformed += 1;
            self.last_malformed = Some(e.clone());
            return Err(e);
        }
        let w = self.solvers.entry(msg.solver.clone()).or_default();
        if w.times_us.len() == self.cfg.window {
            w.times_us.pop_front();
        }
        w.times_us.push_back(msg.solve_time_s * 1e6);
        w.total += 1;
        w.deadline_misses += u64::from(msg.solve_time_s > self.cfg.deadline_s);
        w.fallbacks += u64::from(msg.fallback);
        w.not_solved += u64::from(msg.status != "Solved");
        w.iterations_sum += u64::from(msg.iterations);
        w.synops_sum = w.synops_sum.saturating_add(msg.synops);
        Ok(())
    }

    /// Messages received, malformed ones included [count].
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Malformed messages [count].
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Latency statistics of `solver`'s window [µs], if it was seen.
    pub fn latency(&self, solver: &str) -> Option<LatencyStats> {
        let w = self.solvers.get(solver)?;
        let v: Vec<f64> = w.times_us.iter().copied().collect();
        Some(LatencyStats::from_micros(&v, Some(self.cfg.deadline_s * 1e6)))
    }

    /// One status for the monitor itself (`<node>: input`) and one per solver
    /// (`<node>: <solver>`). A status is WARN when its trouble counters grew since the
    /// previous report. Marks the current totals as reported.
    pub fn report(&mut self, node: &str) -> Vec<DiagnosticStatus> {
        let mut out = Vec::with_capacity(1 + self.solvers.len());
        let new_malformed = self.malformed - self.malformed_reported;
        let input = StatusBuilder::new(format!("{node}: input"), "spikectl");
        let input = if new_malformed > 0 {
            let why = self.last_malformed.as_ref().map(|e| e.to_string()).unwrap_or_default();
            input.level(Level::Warn, format!("{new_malformed} malformed SolveStats (last: {why})"))
        } else {
            input.level(Level::Ok, "ok")
        };
        out.push(
            input
                .kv("received", self.received)
                .kv("malformed", self.malformed)
                .kv("solvers", self.solvers.len())
                .kv_f("deadline_s", self.cfg.deadline_s)
                .build(),
        );
        self.malformed_reported = self.malformed;
        let deadline_us = self.cfg.deadline_s * 1e6;
        for (name, w) in &mut self.solvers {
            let v: Vec<f64> = w.times_us.iter().copied().collect();
            let lat = LatencyStats::from_micros(&v, Some(deadline_us));
            let grew = (w.deadline_misses - w.reported.0, w.fallbacks - w.reported.1, w.not_solved - w.reported.2);
            let mut what = Vec::new();
            for (n, label) in [(grew.0, "deadline misses"), (grew.1, "fallbacks"), (grew.2, "not solved")] {
                if n > 0 {
                    what.push(format!("{n} new {label}"));
                }
            }
            let (level, msg) =
                if what.is_empty() { (Level::Ok, "ok".to_string()) } else { (Level::Warn, what.join(", ")) };
            w.reported = (w.deadline_misses, w.fallbacks, w.not_solved);
            let mean_iter = if w.total == 0 { 0.0 } else { w.iterations_sum as f64 / w.total as f64 };
            out.push(
                StatusBuilder::new(format!("{node}: {name}"), name.clone())
                    .level(level, msg)
                    .kv("solves", w.total)
                    .kv("window", lat.count)
                    .kv_f("mean_us", lat.mean_us)
                    .kv_f("p50_us", lat.p50_us)
                    .kv_f("p90_us", lat.p90_us)
                    .kv_f("p99_us", lat.p99_us)
                    .kv_f("max_us", lat.max_us)
                    .kv_f("deadline_us", deadline_us)
                    .kv("window_deadline_misses", lat.deadline_misses)
                    .kv("deadline_misses", w.deadline_misses)
                    .kv("fallbacks", w.fallbacks)
                    .kv("not_solved", w.not_solved)
                    .kv_f("mean_iterations", mean_iter)
                    .kv("synops", w.synops_sum)
                    .build(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(solver: &str, t_s: f64) -> SolveStats {
        SolveStats { solver: solver.into(), status: "Solved".into(), solve_time_s: t_s, ..Default::default() }
    }

    fn value(s: &DiagnosticStatus, key: &str) -> f64 {
        s.values.iter().find(|kv| kv.key == key).unwrap_or_else(|| panic!("no {key}")).value.parse().unwrap()
    }

    #[test]
    fn percentiles_misses_and_malformed_counts() {
        let mut m = SolveStatsMonitor::new(MonitorConfig { window: 1000, deadline_s: 90e-6 });
        for k in 1..=100 {
            m.ingest(&msg("osqp", k as f64 * 1e-6)).unwrap();
        }
        m.ingest(&SolveStats { fallback: true, status: "MaxIterations".into(), ..msg("spiking", 5e-6) }).unwrap();
        assert!(m.ingest(&msg("osqp", f64::NAN)).is_err());
        assert!(m.ingest(&SolveStats { dual_residual: f64::NAN, ..msg("osqp", 1e-6) }).is_err());
        assert_eq!((m.received(), m.malformed()), (103, 2));

        let r = m.report("mon");
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].name, "mon: input");
        assert_eq!(r[0].level, Level::Warn as u8);
        assert_eq!(value(&r[0], "malformed"), 2.0);
        let osqp = r.iter().find(|s| s.name == "mon: osqp").unwrap();
        // 1..=100 µs: linear-interpolated median 50.5, p99 99.01, 10 samples above 90 µs.
        assert!((value(osqp, "p50_us") - 50.5).abs() < 1e-4);
        assert!((value(osqp, "p99_us") - 99.01).abs() < 1e-4);
        assert!((value(osqp, "max_us") - 100.0).abs() < 1e-4);
        assert_eq!(value(osqp, "deadline_misses"), 10.0);
        assert_eq!(osqp.level, Level::Warn as u8);
        let sp = r.iter().find(|s| s.name == "mon: spiking").unwrap();
        assert_eq!((value(sp, "fallbacks"), value(sp, "not_solved")), (1.0, 1.0));

        // Nothing new since the last report: all OK.
        let r2 = m.report("mon");
        assert!(r2.iter().all(|s| s.level == Level::Ok as u8), "{r2:?}");
    }

    #[test]
    fn window_slides_and_solver_names_are_capped() {
        let mut m = SolveStatsMonitor::new(MonitorConfig { window: 10, deadline_s: 1.0 });
        for k in 1..=30 {
            m.ingest(&msg("pipg", k as f64 * 1e-6)).unwrap();
        }
        let lat = m.latency("pipg").unwrap();
        assert_eq!(lat.count, 10);
        assert!((lat.max_us - 30.0).abs() < 1e-9 && (lat.p50_us - 25.5).abs() < 1e-9);
        for k in 1..MAX_SOLVERS {
            m.ingest(&msg(&format!("s{k}"), 1e-6)).unwrap();
        }
        assert!(m.ingest(&msg("one-too-many", 1e-6)).is_err());
        assert_eq!(m.report("mon").len(), 1 + MAX_SOLVERS);
    }
}
