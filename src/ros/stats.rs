//! `spikectl_msgs/SolveStats`: built from an MPC [`SolveRecord`], and checked on receipt.

use r2r::spikectl_msgs::msg::{EnergyEstimate, SolveStats};
use r2r::std_msgs::msg::Header;

use crate::monitor::energy::NeuroCost;
use crate::mpc::SolveRecord;
use crate::qp::Status;
use crate::qp::registry::{Arithmetic, SolverSpec};

/// Status names carried in `SolveStats.status` (the [`Status`] variant names).
pub(crate) const STATUS_NAMES: [&str; 6] =
    ["Solved", "MaxIterations", "TimeLimit", "PrimalInfeasible", "DualInfeasible", "NumericalError"];

/// Longest accepted solver name [bytes].
pub(crate) const MAX_SOLVER_NAME: usize = 64;

/// The name of a [`Status`] in `SolveStats.status`.
pub(crate) fn status_name(s: Status) -> &'static str {
    match s {
        Status::Solved => STATUS_NAMES[0],
        Status::MaxIterations => STATUS_NAMES[1],
        Status::TimeLimit => STATUS_NAMES[2],
        Status::PrimalInfeasible => STATUS_NAMES[3],
        Status::DualInfeasible => STATUS_NAMES[4],
        Status::NumericalError => STATUS_NAMES[5],
    }
}

/// Replaces a non-finite number by 0 so that no NaN leaves a node.
fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// Who publishes the solve records and how their cost is reported: the source node, the
/// solver as configured, its arithmetic, the chip model pricing its operation counts and the
/// stated CPU power.
#[derive(Debug, Clone)]
pub struct StatsSource {
    /// Fully qualified node name (`SolveStats.node`).
    pub node: String,
    /// Solver label (`SolveStats.solver`), e.g. `loihi2:planes=2`; the record's own solver
    /// name when empty.
    pub solver: String,
    /// Arithmetic of the solves.
    pub arithmetic: Arithmetic,
    /// Chip model for solves with operation counts (`None`: no chip estimate is sent).
    pub cost: Option<NeuroCost>,
    /// Stated CPU power of the CPU energy figure [W].
    pub cpu_watts: f64,
}

impl StatsSource {
    /// A source on `spec`'s solver; network solvers are priced with
    /// [`NeuroCost::loihi2_default`] (the model `spikectl run` uses).
    pub fn new(node: &str, spec: &SolverSpec, cpu_watts: f64) -> Self {
        Self {
            node: node.to_string(),
            solver: spec.label(),
            arithmetic: spec.backend.arithmetic(),
            cost: spec.backend.is_network().then(NeuroCost::loihi2_default),
            cpu_watts,
        }
    }
}

/// `SolveStats.arithmetic` of an [`Arithmetic`].
pub fn arithmetic_name(a: Arithmetic) -> &'static str {
    match a {
        Arithmetic::Cpu => "cpu",
        Arithmetic::FloatNetwork => "float-network",
        Arithmetic::Loihi2Fixed => "loihi2-fixed",
    }
}

/// A `SolveStats` message for one MPC solve with every count the energy model prices and,
/// when `src` has a chip model and the record counts, the chip estimate; `objective` and the
/// preprocessing time come from the record. Non-finite numbers are sent as 0 (and `status`
/// says what went wrong).
pub fn solve_stats_from(record: &SolveRecord, src: &StatsSource, header: Header) -> SolveStats {
    let ops = record.ops.unwrap_or_default();
    let chip = src.cost.as_ref().filter(|_| record.ops.is_some()).map(|c| (c, c.estimate(&ops)));
    let solve_time_s = record.solve_time.as_secs_f64();
    SolveStats {
        header,
        node: src.node.clone(),
        solver: if src.solver.is_empty() { record.solver.clone() } else { src.solver.clone() },
        arithmetic: arithmetic_name(src.arithmetic).to_string(),
        status: status_name(record.status).to_string(),
        iterations: u32::try_from(record.iterations).unwrap_or(u32::MAX),
        preprocess_time_s: record.preprocess_time.as_secs_f64(),
        solve_time_s,
        primal_residual: finite_or_zero(record.residuals.prim),
        dual_residual: finite_or_zero(record.residuals.dual),
        objective: finite_or_zero(record.objective),
        timesteps: ops.timesteps,
        neuron_updates: ops.neuron_updates,
        idle_neuron_updates: ops.idle_neuron_updates,
        messages: ops.messages,
        synops: ops.synops,
        readouts: ops.readouts,
        readout_checks: ops.readout_checks,
        chip_profile: chip.map(|(c, _)| c.hw.name.clone()).unwrap_or_default(),
        chip_cores: chip.map_or(0, |(_, e)| u32::try_from(e.cores).unwrap_or(u32::MAX)),
        chip_latency_s: chip.map_or(0.0, |(_, e)| finite_or_zero(e.time_s)),
        chip_energy_j: chip.map_or(0.0, |(_, e)| finite_or_zero(e.energy_j)),
        cpu_watts: finite_or_zero(src.cpu_watts),
        cpu_energy_j: finite_or_zero(solve_time_s * src.cpu_watts),
        fallback: record.fallback,
    }
}

/// The `EnergyEstimate` of one solve (as the tracker publishes per window): the chip
/// estimate of its `SolveStats` and the host CPU baseline; `None` without a chip estimate.
pub fn energy_estimate(stats: &SolveStats) -> Option<EnergyEstimate> {
    if stats.chip_profile.is_empty() {
        return None;
    }
    Some(EnergyEstimate {
        header: stats.header.clone(),
        profile: stats.chip_profile.clone(),
        energy_j: stats.chip_energy_j,
        latency_s: stats.chip_latency_s,
        edp_js: finite_or_zero(stats.chip_energy_j * stats.chip_latency_s),
        cpu_time_s: stats.solve_time_s,
        cpu_energy_j: stats.cpu_energy_j,
    })
}

/// A `SolveStats` message for one solve, sent without a source node, chip estimate or CPU
/// power (the tracker's windows; the monitor prices their counts). `objective` is given by
/// the caller (0 when unknown); non-finite numbers are sent as 0.
pub fn solve_stats(record: &SolveRecord, objective: f64, header: Header) -> SolveStats {
    let src = StatsSource {
        node: String::new(),
        solver: String::new(),
        arithmetic: if record.ops.is_some() { Arithmetic::FloatNetwork } else { Arithmetic::Cpu },
        cost: None,
        cpu_watts: 0.0,
    };
    let mut m = solve_stats_from(record, &src, header);
    m.objective = finite_or_zero(objective);
    m
}

/// Why a received `SolveStats` was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Malformed {
    /// A float field is NaN or infinite.
    #[error("{0} is not finite")]
    NonFinite(&'static str),
    /// A time or residual is negative.
    #[error("{0} is negative")]
    Negative(&'static str),
    /// The solver name is empty, too long or not printable ASCII.
    #[error("bad solver name {0:?}")]
    Solver(String),
    /// The status is not one of [`STATUS_NAMES`].
    #[error("unknown status {0:?}")]
    Status(String),
}

/// Checks a received `SolveStats`: finite, non-negative times and residuals, a sane solver
/// name and a known status.
pub fn validate(msg: &SolveStats) -> Result<(), Malformed> {
    for (name, v, nonneg) in [
        ("solve_time_s", msg.solve_time_s, true),
        ("primal_residual", msg.primal_residual, true),
        ("dual_residual", msg.dual_residual, true),
        ("objective", msg.objective, false),
    ] {
        if !v.is_finite() {
            return Err(Malformed::NonFinite(name));
        }
        if nonneg && v < 0.0 {
            return Err(Malformed::Negative(name));
        }
    }
    let s = &msg.solver;
    if s.is_empty() || s.len() > MAX_SOLVER_NAME || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Malformed::Solver(s.chars().take(MAX_SOLVER_NAME).collect()));
    }
    if !STATUS_NAMES.contains(&msg.status.as_str()) {
        return Err(Malformed::Status(msg.status.chars().take(MAX_SOLVER_NAME).collect()));
    }
    Ok(())
}

/// Publishes one [`SolveStats`] per record, stamped `stamp`, with `node` as the source; a
/// failed publish is logged (rate-limited by [`super::inputs::log_every`]) and otherwise
/// ignored.
pub fn publish_records(
    publisher: &r2r::Publisher<SolveStats>,
    stamp: &r2r::builtin_interfaces::msg::Time,
    records: &[SolveRecord],
    node: &str,
) {
    for rec in records {
        let header = Header { stamp: stamp.clone(), frame_id: String::new() };
        let mut m = solve_stats(rec, rec.objective, header);
        m.node = node.to_string();
        if let Err(e) = publisher.publish(&m) {
            super::inputs::log_every(node, 1, || format!("cannot publish SolveStats: {e}"));
        }
    }
}

/// A controller's cost publishing path: one `SolveStats` per solve record and, for solves
/// with a chip estimate, one `EnergyEstimate`.
pub struct StatsPublisher {
    stats: r2r::Publisher<SolveStats>,
    energy: r2r::Publisher<EnergyEstimate>,
    src: StatsSource,
}

impl StatsPublisher {
    /// Publishers on `stats_topic` and `energy_topic` (keep-last 100) for `src`.
    pub fn new(node: &mut r2r::Node, stats_topic: &str, energy_topic: &str, src: StatsSource) -> r2r::Result<Self> {
        let qos = r2r::QosProfile::default().keep_last(100);
        let stats = node.create_publisher::<SolveStats>(stats_topic, qos.clone())?;
        let energy = node.create_publisher::<EnergyEstimate>(energy_topic, qos)?;
        Ok(Self { stats, energy, src })
    }

    /// Publishes the records, stamped `stamp`; a failed publish is logged (rate-limited)
    /// and otherwise ignored.
    pub fn publish(&self, stamp: &r2r::builtin_interfaces::msg::Time, records: &[SolveRecord], log_name: &str) {
        for rec in records {
            let header = Header { stamp: stamp.clone(), frame_id: String::new() };
            let m = solve_stats_from(rec, &self.src, header);
            if let Err(e) = self.stats.publish(&m) {
                super::inputs::log_every(log_name, 1, || format!("cannot publish SolveStats: {e}"));
            }
            if let Some(e) = energy_estimate(&m)
                && let Err(err) = self.energy.publish(&e)
            {
                super::inputs::log_every(log_name, 1, || format!("cannot publish EnergyEstimate: {err}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::neuro::OpCounts;
    use crate::qp::Residuals;

    fn record() -> SolveRecord {
        SolveRecord {
            t: 1.0,
            solver: "spiking".into(),
            status: Status::MaxIterations,
            iterations: 321,
            solve_time: Duration::from_micros(250),
            cpu_time: Some(Duration::from_micros(240)),
            preprocess_time: Duration::from_micros(40),
            objective: -2.5,
            residuals: Residuals { prim: 1e-4, dual: f64::NAN, gap: 0.0 },
            ops: Some(OpCounts { timesteps: 7, messages: 8, synops: 9, ..Default::default() }),
            fallback: true,
        }
    }

    #[test]
    fn record_becomes_a_valid_message_without_nan() {
        let m = solve_stats(&record(), f64::INFINITY, Header::default());
        assert_eq!((m.solver.as_str(), m.status.as_str(), m.iterations), ("spiking", "MaxIterations", 321));
        assert_eq!(m.solve_time_s, 250e-6);
        assert_eq!((m.dual_residual, m.objective), (0.0, 0.0));
        assert_eq!((m.timesteps, m.messages, m.synops, m.fallback), (7, 8, 9, true));
        assert_eq!(validate(&m), Ok(()));
    }

    #[test]
    fn controller_messages_carry_every_priced_count_the_estimate_and_the_source() {
        let spec: SolverSpec = "loihi2:planes=2".parse().unwrap();
        let src = StatsSource::new("/q/spikectl_quadruped", &spec, 15.0);
        let mut rec = record();
        rec.ops = Some(OpCounts {
            timesteps: 70,
            neuron_updates: 900,
            idle_neuron_updates: 30,
            messages: 400,
            synops: 5000,
            readouts: 12,
            readout_checks: 3,
            ..Default::default()
        });
        let m = solve_stats_from(&rec, &src, Header::default());
        assert_eq!(
            (m.node.as_str(), m.solver.as_str(), m.arithmetic.as_str()),
            ("/q/spikectl_quadruped", "loihi2:planes=2", "loihi2-fixed")
        );
        assert_eq!((m.objective, m.preprocess_time_s), (-2.5, 40e-6));
        assert_eq!(
            (m.timesteps, m.neuron_updates, m.idle_neuron_updates, m.messages, m.synops, m.readouts, m.readout_checks),
            (70, 900, 30, 400, 5000, 12, 3)
        );
        let want = NeuroCost::loihi2_default().estimate(&rec.ops.unwrap());
        let cores = crate::monitor::energy::DEFAULT_CORES as u32;
        assert_eq!((m.chip_profile.as_str(), m.chip_cores), ("loihi2-est", cores));
        assert_eq!((m.chip_latency_s, m.chip_energy_j), (want.time_s, want.energy_j));
        assert!((m.cpu_energy_j - 250e-6 * 15.0).abs() < 1e-15);
        let e = energy_estimate(&m).unwrap();
        assert_eq!((e.energy_j, e.latency_s, e.cpu_time_s), (want.energy_j, want.time_s, 250e-6));
        assert!((e.edp_js - want.energy_j * want.time_s).abs() < 1e-24);
        // A CPU solver: no chip estimate, no EnergyEstimate.
        let osqp = StatsSource::new("/q/c", &"osqp".parse().unwrap(), 15.0);
        let m = solve_stats_from(&SolveRecord { ops: None, ..record() }, &osqp, Header::default());
        assert_eq!((m.arithmetic.as_str(), m.chip_profile.as_str(), m.chip_energy_j), ("cpu", "", 0.0));
        assert!(energy_estimate(&m).is_none());
    }

    #[test]
    fn malformed_messages_are_rejected() {
        let good = solve_stats(&record(), 1.0, Header::default());
        let cases: Vec<(SolveStats, Malformed)> = vec![
            (SolveStats { solve_time_s: f64::NAN, ..good.clone() }, Malformed::NonFinite("solve_time_s")),
            (SolveStats { primal_residual: f64::INFINITY, ..good.clone() }, Malformed::NonFinite("primal_residual")),
            (SolveStats { objective: f64::NAN, ..good.clone() }, Malformed::NonFinite("objective")),
            (SolveStats { solve_time_s: -1e-3, ..good.clone() }, Malformed::Negative("solve_time_s")),
            (SolveStats { solver: String::new(), ..good.clone() }, Malformed::Solver(String::new())),
            (SolveStats { solver: "a b".into(), ..good.clone() }, Malformed::Solver("a b".into())),
            (SolveStats { status: "Done".into(), ..good.clone() }, Malformed::Status("Done".into())),
        ];
        for (msg, want) in cases {
            assert_eq!(validate(&msg), Err(want));
        }
        let long = SolveStats { solver: "x".repeat(1000), ..good };
        assert!(matches!(validate(&long), Err(Malformed::Solver(s)) if s.len() == MAX_SOLVER_NAME));
    }

    #[test]
    fn every_status_has_a_known_name() {
        for s in [
            Status::Solved,
            Status::MaxIterations,
            Status::TimeLimit,
            Status::PrimalInfeasible,
            Status::DualInfeasible,
            Status::NumericalError,
        ] {
            assert_eq!(status_name(s), format!("{s:?}"));
        }
    }
}
