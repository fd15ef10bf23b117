//! `spikectl_msgs/SolveStats`: built from an MPC [`SolveRecord`], and checked on receipt.

use r2r::spikectl_msgs::msg::SolveStats;
use r2r::std_msgs::msg::Header;

use crate::mpc::SolveRecord;
use crate::qp::Status;

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

/// A `SolveStats` message for one MPC solve. `objective` is the QP objective at the returned
/// x (pass 0 when unknown); non-finite numbers are sent as 0 (and `status` says what went wrong).
pub fn solve_stats(record: &SolveRecord, objective: f64, header: Header) -> SolveStats {
    let ops = record.ops.unwrap_or_default();
    SolveStats {
        header,
        solver: record.solver.clone(),
        status: status_name(record.status).to_string(),
        iterations: u32::try_from(record.iterations).unwrap_or(u32::MAX),
        solve_time_s: record.solve_time.as_secs_f64(),
        primal_residual: finite_or_zero(record.residuals.prim),
        dual_residual: finite_or_zero(record.residuals.dual),
        objective: finite_or_zero(objective),
        timesteps: ops.timesteps,
        messages: ops.messages,
        synops: ops.synops,
        fallback: record.fallback,
    }
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

/// Publishes one [`SolveStats`] per record, stamped `stamp`; a failed publish is logged
/// (rate-limited by [`super::inputs::log_every`]) and otherwise ignored.
pub fn publish_records(
    publisher: &r2r::Publisher<SolveStats>,
    stamp: &r2r::builtin_interfaces::msg::Time,
    records: &[SolveRecord],
    node: &str,
) {
    for rec in records {
        let header = Header { stamp: stamp.clone(), frame_id: String::new() };
        if let Err(e) = publisher.publish(&solve_stats(rec, 0.0, header)) {
            super::inputs::log_every(node, 1, || format!("cannot publish SolveStats: {e}"));
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
