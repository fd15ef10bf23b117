//! Energy and latency of neuromorphic solves, from their exact operation counts, through
//! the hardware cost model of [`crate::neuro::energy`] (profiles with cited constants).
//!
//! The model needs a placement of the network on cores ([`CoreMap`]). When the solver does
//! not report its own, [`NeuroCost::even`] assumes the work is balanced over a given number
//! of cores (default [`DEFAULT_CORES`], the core count lava's ANYmal QP of similar size
//! uses; an ASSUMPTION stated in every report through [`EnergySummary::assumption`]).

use crate::neuro::OpCounts;
use crate::neuro::energy::{CoreMap, Estimate, HardwareProfile, estimate, mean_hops};

/// Cores assumed for an MPC QP network when the solver reports no mapping.
pub(crate) const DEFAULT_CORES: usize = 2;

/// A hardware profile plus a core mapping: everything needed to price an [`OpCounts`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NeuroCost {
    /// Hardware profile.
    pub hw: HardwareProfile,
    /// Placement on cores.
    pub map: CoreMap,
    /// How the mapping was obtained.
    pub assumption: String,
}

impl NeuroCost {
    /// Work spread evenly over `cores` cores of `hw`.
    pub fn even(hw: HardwareProfile, cores: usize) -> Self {
        let c = cores.max(1);
        Self {
            hw,
            map: CoreMap { neurons: vec![1; c], synapses: vec![1; c] },
            assumption: format!("work balanced over {c} cores (assumed; the solver reported no mapping)"),
        }
    }
    /// The default: the Loihi 2 estimate profile, [`DEFAULT_CORES`] balanced cores.
    pub fn loihi2_default() -> Self {
        Self::even(HardwareProfile::loihi2_estimate(), DEFAULT_CORES)
    }
    /// Estimated time, energy and EDP of `ops`.
    pub fn estimate(&self, ops: &OpCounts) -> Estimate {
        estimate(ops, &self.map, &self.hw, mean_hops(self.map.cores()))
    }
}

/// Accumulated energy over many solves.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct EnergySummary {
    /// Solves that carried operation counts.
    pub solves: usize,
    /// Sum of operation counts.
    pub total_ops: OpCounts,
    /// Mean energy per solve [µJ].
    pub mean_energy_uj: f64,
    /// Maximum energy of one solve [µJ].
    pub max_energy_uj: f64,
    /// Mean estimated on-chip latency per solve [µs].
    pub mean_chip_latency_us: f64,
    /// Maximum estimated on-chip latency of one solve [µs].
    pub max_chip_latency_us: f64,
    /// Hardware profile name.
    pub profile: String,
    /// Whether the profile is an estimate, and the mapping assumption.
    pub assumption: String,
}

impl EnergySummary {
    /// Summary of the per-solve counts `ops` priced by `cost` (entries without counts, e.g.
    /// OSQP solves, are skipped).
    pub fn from_ops<'a>(cost: &NeuroCost, ops: impl IntoIterator<Item = Option<&'a OpCounts>>) -> Self {
        let mut s = EnergySummary {
            profile: cost.hw.name.clone(),
            assumption: format!("{}{}", if cost.hw.estimate { "ESTIMATE profile; " } else { "" }, cost.assumption),
            ..Default::default()
        };
        let (mut e_sum, mut l_sum) = (0.0, 0.0);
        for o in ops.into_iter().flatten() {
            s.solves += 1;
            s.total_ops.accumulate(o);
            let est = cost.estimate(o);
            let (e, l) = (est.energy_j * 1e6, est.time_s * 1e6);
            e_sum += e;
            l_sum += l;
            s.max_energy_uj = s.max_energy_uj.max(e);
            s.max_chip_latency_us = s.max_chip_latency_us.max(l);
        }
        if s.solves > 0 {
            s.mean_energy_uj = e_sum / s.solves as f64;
            s.mean_chip_latency_us = l_sum / s.solves as f64;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_averages_the_model_estimates() {
        let cost = NeuroCost::loihi2_default();
        let o = OpCounts {
            timesteps: 10,
            neuron_updates: 100,
            messages: 50,
            synops: 1000,
            bits_moved: 800,
            ..Default::default()
        };
        let one = cost.estimate(&o);
        assert!(one.energy_j > 0.0 && one.time_s > 0.0);
        let s = EnergySummary::from_ops(&cost, [Some(&o), None, Some(&o)]);
        assert_eq!(s.solves, 2);
        assert_eq!(s.total_ops.synops, 2000);
        assert!((s.mean_energy_uj - one.energy_j * 1e6).abs() < 1e-9);
        assert!((s.max_chip_latency_us - one.time_s * 1e6).abs() < 1e-9);
        assert!(s.assumption.contains("ESTIMATE"));
        // Twice the work costs more.
        let o2 = OpCounts { synops: 2000, ..o };
        assert!(cost.estimate(&o2).energy_j > one.energy_j);
    }
}
