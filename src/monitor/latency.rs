//! Latency percentiles, histograms and deadline misses.

use std::time::Duration;

/// Summary of a set of latencies. All times in microseconds [µs].
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LatencyStats {
    /// Number of samples.
    pub count: usize,
    /// Mean [µs].
    pub mean_us: f64,
    /// Median [µs].
    pub p50_us: f64,
    /// 90th percentile [µs].
    pub p90_us: f64,
    /// 99th percentile [µs].
    pub p99_us: f64,
    /// Maximum [µs].
    pub max_us: f64,
    /// Deadline (period) the samples were judged against [µs], if any.
    pub deadline_us: Option<f64>,
    /// Samples longer than the deadline.
    pub deadline_misses: usize,
}

/// Percentile `p` in [0, 100] of sorted `v` by linear interpolation between closest ranks
/// (0 for an empty slice).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let r = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo as f64)
}

impl LatencyStats {
    /// Statistics of `samples`, counting misses against `deadline` if given.
    #[cfg_attr(not(feature = "sim"), allow(dead_code))] // used by the closed-loop runner
    pub(crate) fn from_durations(samples: &[Duration], deadline: Option<Duration>) -> Self {
        let us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        Self::from_micros(&us, deadline.map(|d| d.as_secs_f64() * 1e6))
    }

    /// Statistics of `samples_us` [µs], counting misses against `deadline_us` if given.
    pub fn from_micros(samples_us: &[f64], deadline_us: Option<f64>) -> Self {
        let mut s: Vec<f64> = samples_us.iter().copied().filter(|v| v.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let mean = if n == 0 { 0.0 } else { s.iter().sum::<f64>() / n as f64 };
        let misses = deadline_us.map_or(0, |d| s.iter().filter(|&&v| v > d).count());
        Self {
            count: n,
            mean_us: mean,
            p50_us: percentile(&s, 50.0),
            p90_us: percentile(&s, 90.0),
            p99_us: percentile(&s, 99.0),
            max_us: s.last().copied().unwrap_or(0.0),
            deadline_us,
            deadline_misses: misses,
        }
    }

    /// Fraction of samples that missed the deadline (0 without samples).
    pub fn miss_rate(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.deadline_misses as f64 / self.count as f64 }
    }
}

/// A histogram with logarithmically spaced bins, for latencies spanning decades.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogHistogram {
    /// Bin edges [µs], length `counts.len() + 1`.
    pub edges_us: Vec<f64>,
    /// Samples per bin; values outside the range go to the first/last bin.
    pub counts: Vec<u64>,
}

impl LogHistogram {
    /// `bins` log-spaced bins from `lo_us` to `hi_us` (both > 0, `lo_us < hi_us`).
    pub fn new(lo_us: f64, hi_us: f64, bins: usize) -> Self {
        let bins = bins.max(1);
        let (a, b) = (lo_us.max(1e-9).ln(), hi_us.max(lo_us * 1.0001).ln());
        let edges_us = (0..=bins).map(|i| (a + (b - a) * i as f64 / bins as f64).exp()).collect();
        Self { edges_us, counts: vec![0; bins] }
    }
    /// Adds one sample [µs].
    pub fn add(&mut self, v_us: f64) {
        if !v_us.is_finite() {
            return;
        }
        let n = self.counts.len();
        let i = self.edges_us[1..].iter().position(|&e| v_us < e).unwrap_or(n - 1);
        self.counts[i] += 1;
    }
    /// Total samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_misses() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = LatencyStats::from_micros(&v, Some(95.0));
        assert_eq!(s.count, 100);
        assert!((s.p50_us - 50.5).abs() < 1e-12);
        assert!((s.p99_us - 99.01).abs() < 1e-9);
        assert_eq!(s.max_us, 100.0);
        assert_eq!(s.deadline_misses, 5);
        assert!((s.miss_rate() - 0.05).abs() < 1e-12);
        assert_eq!(LatencyStats::from_micros(&[], None).count, 0);
    }

    #[test]
    fn histogram_bins_every_sample() {
        let mut h = LogHistogram::new(1.0, 1000.0, 3);
        for v in [0.5, 2.0, 20.0, 200.0, 5000.0] {
            h.add(v);
        }
        assert_eq!(h.counts, vec![2, 1, 2]);
        assert_eq!(h.total(), 5);
    }
}
