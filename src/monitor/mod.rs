//! Monitoring: latency statistics and histograms, deadline misses, neuromorphic energy
//! accounting from [`crate::neuro::OpCounts`], JSON/CSV report writers, and plots.
//!
//! - [`latency`]: [`latency::LatencyStats`] (percentiles, histogram, deadline misses).
//! - [`energy`]: per-solve energy/latency estimates from operation counts.
//! - [`report`]: JSON and CSV writers.
//! - [`plot`]: line plots and histograms (PNG) with plotters.
//! - [`ledger`]: the monitor's books per (source node, solver): CPU and chip latency,
//!   energy, EDP against the run's CPU baseline, two deadlines, bad input counted.
//! - [`folder`]: the report folder (JSON, CSV, PNG, Markdown) of the `spikectl-monitor`
//!   node and of `spikectl report`.

pub mod energy;
pub mod folder;
pub mod latency;
pub mod ledger;
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
