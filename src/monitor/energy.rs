//! Energy and latency of neuromorphic solves, from their exact operation counts, through
//! the hardware cost model of [`crate::neuro::energy`] (profiles with cited constants).
//!
//! The model needs a placement of the network on cores ([`CoreMap`]). The number of cores is
//! a stated mapping choice: the chip time per timestep is the slowest core's work plus a
//! barrier that grows with the cores, and the static power is paid per used core, so fewer
//! cores mean less static energy and longer timesteps. [`NeuroCost::even`] spreads the work
//! evenly over a given number of cores (default [`DEFAULT_CORES`]; the closed loop, `spikectl
//! solve` and the ROS nodes use it, `spikectl run --chip-cores N` changes it), and
//! [`NeuroCost::mapped`] places a network's actual fan-ins ([`CoreMap::split`]). Every
//! report states the choice through [`EnergySummary::assumption`].

use crate::neuro::OpCounts;
use crate::neuro::energy::{CoreMap, Estimate, HardwareProfile, MapError, estimate, mean_hops};

/// Cores an MPC QP network is spread over when nothing else is said. Chosen from the
/// latency/energy/EDP-vs-cores table of both MPCs (`docs/results.md`, "Core mapping";
/// `CORES=… cargo run --release --example mpc_spiking_sweep`): on the Loihi 2 estimate
/// profile 32 cores give the quadruped network (636 neurons) its lowest estimated EDP per
/// solve and the arm network (255 neurons) its lowest chip latency (its EDP is lowest at 16
/// cores, 11 % below the 32-core figure); 32 is also the largest core count whose barrier time
/// Davies et al. published ([`crate::neuro::energy::BARRIER_PUBLISHED_CORES`]), so no
/// default figure rests on the extrapolated barrier. The greedy mapping of the networks' real
/// fan-ins onto 32 cores gives chip latencies within 1 % of the even split assumed here (same
/// table). Fewer cores save static energy and lengthen every timestep: on 2 cores (the
/// mapping of lava's calibration workload, [`crate::neuro::energy::lava_anymal`], and this
/// model's default before) the quadruped's solves take ≈ 6× longer.
pub const DEFAULT_CORES: usize = 32;

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
            assumption: format!("work balanced over {c} cores (mapping choice; the solver reported no mapping)"),
        }
    }
    /// The default: the Loihi 2 estimate profile, [`DEFAULT_CORES`] balanced cores.
    pub fn loihi2_default() -> Self {
        Self::even(HardwareProfile::loihi2_estimate(), DEFAULT_CORES)
    }
    /// The Loihi 2 estimate profile with the work spread evenly over `cores` cores; an
    /// error for 0 or more cores than the chip has.
    pub fn loihi2_on(cores: usize) -> Result<Self, MapError> {
        let hw = HardwareProfile::loihi2_estimate();
        if cores == 0 {
            return Err(MapError::NoCores);
        }
        if cores > hw.cores_per_chip {
            return Err(MapError::TooManyCores { need: cores, have: hw.cores_per_chip });
        }
        let mut c = Self::even(hw, cores);
        c.assumption = format!("work balanced over {cores} cores (mapping choice)");
        Ok(c)
    }
    /// The network with stored synapses `fan_in` per neuron placed on exactly `cores` cores
    /// of `hw` ([`CoreMap::split`]).
    pub fn mapped(hw: HardwareProfile, fan_in: &[u64], cores: usize) -> Result<Self, MapError> {
        let map = CoreMap::split(fan_in, &hw, cores)?;
        let assumption = format!(
            "{} neurons, {} synapses mapped onto {cores} cores (busiest core {:.1} % of the synapses)",
            fan_in.len(),
            fan_in.iter().sum::<u64>(),
            map.max_synapse_share() * 100.0
        );
        Ok(Self { hw, map, assumption })
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

    #[test]
    fn core_count_is_a_checked_choice() {
        assert!(matches!(NeuroCost::loihi2_on(0), Err(MapError::NoCores)));
        assert!(matches!(NeuroCost::loihi2_on(129), Err(MapError::TooManyCores { .. })));
        let o = OpCounts { timesteps: 100, neuron_updates: 60_000, synops: 250_000, ..Default::default() };
        let (two, many) = (NeuroCost::loihi2_on(2).unwrap(), NeuroCost::loihi2_on(DEFAULT_CORES).unwrap());
        let (a, b) = (two.estimate(&o), many.estimate(&o));
        assert!(b.time_s < a.time_s && b.static_j / b.time_s > a.static_j / a.time_s);
        assert_eq!(NeuroCost::loihi2_default().estimate(&o), b);
        // A real placement of 600 equal neurons on 4 cores is the even split.
        let m = NeuroCost::mapped(HardwareProfile::loihi2_estimate(), &[5; 600], 4).unwrap();
        assert_eq!(m.estimate(&o), NeuroCost::loihi2_on(4).unwrap().estimate(&o));
        assert!(m.assumption.contains("4 cores"));
    }
}
