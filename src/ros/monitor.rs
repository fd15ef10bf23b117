//! The aggregation behind the `spikectl-monitor` node: received `spikectl_msgs/SolveStats`
//! become [`Sample`]s of a [`Ledger`] (per source node and solver: CPU and chip latency
//! percentiles, energy per solve and per second, EDP against the run's CPU baseline,
//! deadline misses on CPU time and on chip time), reported as
//! `diagnostic_msgs/DiagnosticStatus`es and as a `spikectl_msgs/MonitorSummary`.
//!
//! Malformed messages ([`crate::monitor::ledger::check`]: NaN, negative times, unknown
//! arithmetic or status, bad names) are counted per kind and otherwise ignored; the number of
//! (node, solver) entries is capped so a flood of names cannot grow memory.

use std::collections::BTreeMap;

use r2r::diagnostic_msgs::msg::DiagnosticStatus;
use r2r::spikectl_msgs::msg::{MonitorSummary, SolveStats, SolverSummary};
use r2r::std_msgs::msg::Header;

use super::diagnostics::{Level, StatusBuilder};
use crate::monitor::ledger::{BadSample, EntrySummary, Ledger, LedgerConfig, Sample, Summary};
use crate::neuro::OpCounts;

/// The [`Sample`] of a received message, at time `t_s` on the monitor's clock [s].
pub fn sample_of(msg: &SolveStats, t_s: f64) -> Sample {
    Sample {
        t_s,
        node: msg.node.clone(),
        solver: msg.solver.clone(),
        arithmetic: msg.arithmetic.clone(),
        status: msg.status.clone(),
        iterations: u64::from(msg.iterations),
        preprocess_s: msg.preprocess_time_s,
        solve_s: msg.solve_time_s,
        objective: msg.objective,
        primal_residual: msg.primal_residual,
        dual_residual: msg.dual_residual,
        ops: OpCounts {
            timesteps: msg.timesteps,
            neuron_updates: msg.neuron_updates,
            idle_neuron_updates: msg.idle_neuron_updates,
            messages: msg.messages,
            synops: msg.synops,
            readouts: msg.readouts,
            readout_checks: msg.readout_checks,
            ..Default::default()
        },
        chip_profile: msg.chip_profile.clone(),
        chip_cores: msg.chip_cores,
        chip_latency_s: msg.chip_latency_s,
        chip_energy_j: msg.chip_energy_j,
        cpu_watts: msg.cpu_watts,
        cpu_energy_j: msg.cpu_energy_j,
        fallback: msg.fallback,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Reported {
    cpu_misses: u64,
    chip_misses: u64,
    fallbacks: u64,
    not_solved: u64,
}

/// Aggregates `SolveStats` messages (see the module docs).
#[derive(Debug)]
pub struct SolveStatsMonitor {
    ledger: Ledger,
    malformed_reported: u64,
    reported: BTreeMap<(String, String), Reported>,
}

impl SolveStatsMonitor {
    /// An empty monitor.
    pub fn new(cfg: LedgerConfig) -> Self {
        Self { ledger: Ledger::new(cfg), malformed_reported: 0, reported: BTreeMap::new() }
    }

    /// New CPU and chip deadlines [s] ([`Ledger::set_deadlines`]).
    pub fn set_deadlines(&mut self, cpu_deadline_s: f64, chip_deadline_s: f64) {
        self.ledger.set_deadlines(cpu_deadline_s, chip_deadline_s);
    }

    /// The deadlines in force: (CPU, chip) [s].
    pub fn deadlines(&self) -> (f64, f64) {
        let c = self.ledger.config();
        (c.cpu_deadline_s, c.chip_deadline_s)
    }

    /// Takes one message received at `t_s` [s, monitor clock]; a malformed one is counted
    /// and its reason returned.
    pub fn ingest(&mut self, msg: &SolveStats, t_s: f64) -> Result<(), BadSample> {
        self.ledger.ingest(sample_of(msg, t_s))
    }

    /// Messages received, malformed ones included [count].
    pub fn received(&self) -> u64 {
        self.ledger.received()
    }

    /// Malformed messages [count].
    pub fn malformed(&self) -> u64 {
        self.ledger.malformed()
    }

    /// The books.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The current summary.
    pub fn summary(&self) -> Summary {
        self.ledger.summary()
    }

    /// One status for the monitor itself (`<node>: input`) and one per entry
    /// (`<node>: <source> <solver>`). An entry is WARN when its CPU or chip deadline misses,
    /// fallbacks or non-solved statuses grew since the previous report; the input status is
    /// WARN when malformed messages arrived since. Marks the current totals as reported.
    pub fn report(&mut self, node: &str) -> Vec<DiagnosticStatus> {
        let s = self.ledger.summary();
        let mut out = Vec::with_capacity(1 + s.entries.len());
        let new_malformed = s.malformed - self.malformed_reported;
        let input = StatusBuilder::new(format!("{node}: input"), "spikectl");
        let input = if new_malformed > 0 {
            let why = self.ledger.last_bad().map(|e| e.to_string()).unwrap_or_default();
            input.level(Level::Warn, format!("{new_malformed} malformed SolveStats (last: {why})"))
        } else {
            input.level(Level::Ok, "ok")
        };
        let mut input = input
            .kv("received", s.received)
            .kv("malformed", s.malformed)
            .kv("entries", s.entries.len())
            .kv_f("cpu_deadline_s", s.cpu_deadline_s)
            .kv_f("chip_deadline_s", s.chip_deadline_s);
        for (k, v) in &s.malformed_by_kind {
            input = input.kv(format!("malformed_{k}"), *v);
        }
        out.push(input.build());
        self.malformed_reported = s.malformed;
        for e in &s.entries {
            let key = (e.node.clone(), e.solver.clone());
            let before = self.reported.get(&key).copied().unwrap_or_default();
            let mut what = Vec::new();
            for (n, label) in [
                (e.cpu_deadline_misses - before.cpu_misses, "CPU deadline misses"),
                (e.chip_deadline_misses - before.chip_misses, "chip deadline misses"),
                (e.fallbacks - before.fallbacks, "fallbacks"),
                (e.not_solved - before.not_solved, "not solved"),
            ] {
                if n > 0 {
                    what.push(format!("{n} new {label}"));
                }
            }
            let (level, msg) =
                if what.is_empty() { (Level::Ok, "ok".to_string()) } else { (Level::Warn, what.join(", ")) };
            self.reported.insert(
                key,
                Reported {
                    cpu_misses: e.cpu_deadline_misses,
                    chip_misses: e.chip_deadline_misses,
                    fallbacks: e.fallbacks,
                    not_solved: e.not_solved,
                },
            );
            out.push(entry_status(node, e, level, msg));
        }
        out
    }

    /// The summary as a `MonitorSummary` message stamped `stamp`.
    pub fn summary_msg(&self, stamp: r2r::builtin_interfaces::msg::Time) -> MonitorSummary {
        let s = self.ledger.summary();
        MonitorSummary {
            header: Header { stamp, frame_id: String::new() },
            received: s.received,
            malformed: s.malformed,
            cpu_deadline_s: s.cpu_deadline_s,
            chip_deadline_s: s.chip_deadline_s,
            entries: s.entries.iter().map(summary_entry).collect(),
        }
    }
}

fn entry_status(node: &str, e: &EntrySummary, level: Level, msg: String) -> DiagnosticStatus {
    let chip = e.chip.clone().unwrap_or_default();
    let src = if e.node.is_empty() { "?" } else { e.node.as_str() };
    StatusBuilder::new(format!("{node}: {src} {}", e.solver), e.solver.clone())
        .level(level, msg)
        .kv("source", src)
        .kv("arithmetic", &e.arithmetic)
        .kv("solves", e.solves)
        .kv("window", e.cpu.count)
        .kv_f("cpu_mean_us", e.cpu.mean_us)
        .kv_f("cpu_p50_us", e.cpu.p50_us)
        .kv_f("cpu_p90_us", e.cpu.p90_us)
        .kv_f("cpu_p99_us", e.cpu.p99_us)
        .kv_f("cpu_max_us", e.cpu.max_us)
        .kv_f("preprocess_mean_us", e.preprocess_mean_us)
        .kv("chip_profile", if e.chip_profile.is_empty() { "-" } else { e.chip_profile.as_str() })
        .kv_f("chip_p50_us", chip.p50_us)
        .kv_f("chip_p99_us", chip.p99_us)
        .kv_f("chip_max_us", chip.max_us)
        .kv_f("chip_energy_per_solve_j", e.chip_energy_per_solve_j)
        .kv_f("cpu_energy_per_solve_j", e.cpu_energy_per_solve_j)
        .kv_f("chip_power_w", e.chip_power_w)
        .kv_f("cpu_power_w", e.cpu_power_w)
        .kv_f("chip_edp_js", e.chip_edp_js)
        .kv_f("cpu_edp_js", e.cpu_edp_js)
        .kv("baseline", if e.baseline.is_empty() { "-" } else { e.baseline.as_str() })
        .kv_f("edp_vs_baseline", e.edp_vs_baseline)
        .kv("cpu_deadline_misses", e.cpu_deadline_misses)
        .kv("chip_deadline_misses", e.chip_deadline_misses)
        .kv("fallbacks", e.fallbacks)
        .kv("not_solved", e.not_solved)
        .kv_f("mean_iterations", e.mean_iterations)
        .build()
}

fn summary_entry(e: &EntrySummary) -> SolverSummary {
    let chip = e.chip.clone().unwrap_or_default();
    SolverSummary {
        node: e.node.clone(),
        solver: e.solver.clone(),
        arithmetic: e.arithmetic.clone(),
        solves: e.solves,
        span_s: e.span_s,
        cpu_mean_s: e.cpu.mean_us * 1e-6,
        cpu_p50_s: e.cpu.p50_us * 1e-6,
        cpu_p90_s: e.cpu.p90_us * 1e-6,
        cpu_p99_s: e.cpu.p99_us * 1e-6,
        cpu_max_s: e.cpu.max_us * 1e-6,
        preprocess_mean_s: e.preprocess_mean_us * 1e-6,
        chip_mean_s: chip.mean_us * 1e-6,
        chip_p50_s: chip.p50_us * 1e-6,
        chip_p99_s: chip.p99_us * 1e-6,
        chip_max_s: chip.max_us * 1e-6,
        chip_energy_per_solve_j: e.chip_energy_per_solve_j,
        cpu_energy_per_solve_j: e.cpu_energy_per_solve_j,
        chip_power_w: e.chip_power_w,
        cpu_power_w: e.cpu_power_w,
        chip_edp_js: e.chip_edp_js,
        cpu_edp_js: e.cpu_edp_js,
        baseline: e.baseline.clone(),
        edp_vs_baseline: e.edp_vs_baseline,
        cpu_deadline_misses: e.cpu_deadline_misses,
        chip_deadline_misses: e.chip_deadline_misses,
        fallbacks: e.fallbacks,
        not_solved: e.not_solved,
        mean_iterations: e.mean_iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(node: &str, solver: &str, t_s: f64) -> SolveStats {
        SolveStats {
            node: node.into(),
            solver: solver.into(),
            arithmetic: "cpu".into(),
            status: "Solved".into(),
            solve_time_s: t_s,
            cpu_watts: 15.0,
            cpu_energy_j: t_s * 15.0,
            ..Default::default()
        }
    }

    fn value(s: &DiagnosticStatus, key: &str) -> f64 {
        s.values.iter().find(|kv| kv.key == key).unwrap_or_else(|| panic!("no {key}")).value.parse().unwrap()
    }

    fn cfg(cpu: f64, chip: f64) -> LedgerConfig {
        LedgerConfig { window: 1000, cpu_deadline_s: cpu, chip_deadline_s: chip, ..Default::default() }
    }

    #[test]
    fn percentiles_misses_and_malformed_counts() {
        let mut m = SolveStatsMonitor::new(cfg(90e-6, 1e-3));
        for k in 1..=100 {
            m.ingest(&msg("/a", "osqp", k as f64 * 1e-6), k as f64).unwrap();
        }
        let net = SolveStats {
            fallback: true,
            status: "MaxIterations".into(),
            arithmetic: "loihi2-fixed".into(),
            chip_profile: "loihi2-est".into(),
            chip_cores: 2,
            chip_latency_s: 2e-3,
            chip_energy_j: 1e-6,
            ..msg("/b", "loihi2", 5e-6)
        };
        m.ingest(&net, 1.0).unwrap();
        assert!(m.ingest(&msg("/a", "osqp", f64::NAN), 0.0).is_err());
        assert!(m.ingest(&SolveStats { dual_residual: f64::NAN, ..msg("/a", "osqp", 1e-6) }, 0.0).is_err());
        assert!(m.ingest(&SolveStats { arithmetic: "analog".into(), ..msg("/a", "osqp", 1e-6) }, 0.0).is_err());
        assert_eq!((m.received(), m.malformed()), (104, 3));

        let r = m.report("mon");
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].name, "mon: input");
        assert_eq!(r[0].level, Level::Warn as u8);
        assert_eq!(value(&r[0], "malformed"), 3.0);
        assert_eq!(value(&r[0], "malformed_non_finite"), 2.0);
        let osqp = r.iter().find(|s| s.name == "mon: /a osqp").unwrap();
        // 1..=100 µs: linear-interpolated median 50.5, p99 99.01, 10 samples above 90 µs.
        assert!((value(osqp, "cpu_p50_us") - 50.5).abs() < 1e-4);
        assert!((value(osqp, "cpu_p99_us") - 99.01).abs() < 1e-4);
        assert_eq!(value(osqp, "cpu_deadline_misses"), 10.0);
        assert_eq!(osqp.level, Level::Warn as u8);
        let sp = r.iter().find(|s| s.name == "mon: /b loihi2").unwrap();
        assert_eq!((value(sp, "fallbacks"), value(sp, "not_solved")), (1.0, 1.0));
        // 5 µs of CPU time is within the CPU deadline; 2 ms of chip time is not.
        assert_eq!((value(sp, "cpu_deadline_misses"), value(sp, "chip_deadline_misses")), (0.0, 1.0));
        assert!((value(sp, "chip_p50_us") - 2000.0).abs() < 1e-6);
        assert!(value(sp, "edp_vs_baseline") > 0.0);

        let sm = m.summary_msg(Default::default());
        assert_eq!(sm.entries.len(), 2);
        assert_eq!((sm.received, sm.malformed), (104, 3));
        let b = sm.entries.iter().find(|e| e.node == "/b").unwrap();
        assert!((b.chip_energy_per_solve_j - 1e-6).abs() < 1e-18 && (b.chip_p50_s - 2e-3).abs() < 1e-12, "{b:?}");
        assert_eq!(b.baseline, "/a osqp");

        // Nothing new since the last report: all OK.
        let r2 = m.report("mon");
        assert!(r2.iter().all(|s| s.level == Level::Ok as u8), "{r2:?}");
    }

    #[test]
    fn same_solver_on_two_nodes_stays_apart() {
        let mut m = SolveStatsMonitor::new(cfg(1.0, 1.0));
        for k in 1..=30 {
            m.ingest(&msg("/left", "pipg", k as f64 * 1e-6), k as f64).unwrap();
            m.ingest(&msg("/right", "pipg", 1e-3), k as f64).unwrap();
        }
        let s = m.summary();
        assert_eq!(s.entries.len(), 2);
        assert!((s.entries[0].cpu.max_us - 30.0).abs() < 1e-9);
        assert!((s.entries[1].cpu.max_us - 1000.0).abs() < 1e-9);
        assert_eq!(m.report("mon").len(), 3);
    }
}
