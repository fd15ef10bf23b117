//! Monitoring: latency statistics and histograms, deadline misses, neuromorphic energy
//! accounting from [`crate::neuro::OpCounts`], JSON/CSV report writers, and plots.
//!
//! - [`latency`]: [`latency::LatencyStats`] (percentiles, histogram, deadline misses).
//! - [`energy`]: per-solve energy/latency estimates from operation counts.
//! - [`report`]: JSON and CSV writers.
//! - [`plot`]: line plots (PNG) with plotters.

pub mod energy;
pub mod latency;
pub mod plot;
pub mod report;

/// Errors of the monitor (report and plot writers).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// File system error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// JSON serialisation error.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Plot rendering error (e.g. no usable font on the system).
    #[error("plot: {0}")]
    Plot(String),
    /// Malformed input (e.g. CSV rows of the wrong width).
    #[error("invalid input: {0}")]
    Invalid(String),
}
