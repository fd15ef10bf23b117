//! Energy and latency estimates of neuromorphic solves from operation counts.
//!
//! The hardware cost model itself belongs to `neuro::energy` (hardware profiles); this
//! module holds the small interface the monitor needs and a default Loihi 2-like profile,
//! so reports work whichever profile is plugged in.

use crate::neuro::OpCounts;

/// Per-operation costs of a neuromorphic chip.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpCostModel {
    /// Profile name.
    pub name: String,
    /// Energy per synaptic operation [pJ].
    pub synop_pj: f64,
    /// Energy per neuron state update [pJ].
    pub neuron_update_pj: f64,
    /// Energy per message (spike) sent [pJ].
    pub message_pj: f64,
    /// Energy per payload bit moved [pJ].
    pub bit_pj: f64,
    /// Time per barrier-synchronised timestep [s].
    pub timestep_s: f64,
}

impl OpCostModel {
    /// Loihi 2-like defaults: published Loihi figures of ~24 pJ per synaptic op, ~52 pJ
    /// per neuron update, ~1.7 pJ per spike hop, ~0.1 pJ per payload bit (on-chip mesh)
    /// and ~1 µs per timestep for networks of this size.
    pub fn loihi2_like() -> Self {
        Self {
            name: "loihi2-like".into(),
            synop_pj: 24.0,
            neuron_update_pj: 52.0,
            message_pj: 1.7,
            bit_pj: 0.1,
            timestep_s: 1e-6,
        }
    }

    /// Estimated energy of `ops` [J].
    pub fn energy_j(&self, ops: &OpCounts) -> f64 {
        1e-12
            * (self.synop_pj * ops.synops as f64
                + self.neuron_update_pj * ops.neuron_updates as f64
                + self.message_pj * ops.messages as f64
                + self.bit_pj * ops.bits_moved as f64)
    }

    /// Estimated on-chip latency of `ops` [s].
    pub fn latency_s(&self, ops: &OpCounts) -> f64 {
        self.timestep_s * ops.timesteps as f64
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
    /// Cost profile name.
    pub profile: String,
}

impl EnergySummary {
    /// Summary of the per-solve counts `ops` under `model` (entries without counts, e.g.
    /// OSQP solves, are skipped).
    pub fn from_ops<'a>(model: &OpCostModel, ops: impl IntoIterator<Item = Option<&'a OpCounts>>) -> Self {
        let mut s = EnergySummary { profile: model.name.clone(), ..Default::default() };
        let (mut e_sum, mut l_sum) = (0.0, 0.0);
        for o in ops.into_iter().flatten() {
            s.solves += 1;
            s.total_ops.accumulate(o);
            let e = model.energy_j(o) * 1e6;
            e_sum += e;
            l_sum += model.latency_s(o) * 1e6;
            s.max_energy_uj = s.max_energy_uj.max(e);
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
    fn energy_is_linear_in_counts() {
        let m = OpCostModel::loihi2_like();
        let o = OpCounts {
            timesteps: 10,
            neuron_updates: 100,
            messages: 50,
            synops: 1000,
            bits_moved: 800,
            ..Default::default()
        };
        let e = m.energy_j(&o);
        let expect = 1e-12 * (24.0 * 1000.0 + 52.0 * 100.0 + 1.7 * 50.0 + 0.1 * 800.0);
        assert!((e - expect).abs() < 1e-18);
        let s = EnergySummary::from_ops(&m, [Some(&o), None, Some(&o)]);
        assert_eq!(s.solves, 2);
        assert_eq!(s.total_ops.synops, 2000);
        assert!((s.mean_energy_uj - expect * 1e6).abs() < 1e-9);
        assert!((s.mean_chip_latency_us - 10.0).abs() < 1e-9);
    }
}
