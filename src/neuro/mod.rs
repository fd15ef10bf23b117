//! The simulated neuromorphic substrate: neurons, synapses, graded spikes with
//! sigma-delta messaging, Loihi 2-style fixed point, and exact operation counts.
//!
//! - [`fixed`]: fixed-point widths (the Loihi 2 profile), quantization with saturation.
//! - [`sigma_delta`]: graded-spike encoding with carried remainders and θ schedules.
//! - [`network`]: populations, dendrites, sparse projections, barrier-synchronous steps.
//! - [`sliced`]: receiver-major synapse slices for the dense delivery (SELL-C-σ).
//! - [`energy`]: hardware profiles, core mapping, energy/latency/EDP, CPU baseline.
//!
//! The spiking QP solver that runs on this substrate is [`crate::qp::spiking`].

pub mod energy;
pub mod fixed;
pub mod network;
pub mod sigma_delta;
pub mod sliced;

pub use fixed::{Arith, FixedProfile, Rounding};
pub use network::{Inputs, Network, NeuronModel};
pub use sigma_delta::ThetaSchedule;

/// Exact operation counts of one run of a network (e.g. one QP solve).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct OpCounts {
    /// Barrier-synchronised timesteps.
    pub timesteps: u64,
    /// Neuron state updates (every neuron, every timestep it is stepped).
    pub neuron_updates: u64,
    /// Graded spikes (messages) sent.
    pub messages: u64,
    /// Synaptic operations: each message times its fan-out.
    pub synops: u64,
    /// Payload bits carried by messages.
    pub bits_moved: u64,
    /// Readout operations (termination checks) counted on the host side.
    pub readouts: u64,
    /// Values that saturated in fixed point.
    pub overflows: u64,
    /// Neurons clocked in a timestep in which their population was not scheduled to update
    /// (charged at the hardware's inactive-update cost).
    #[serde(default)]
    pub idle_neuron_updates: u64,
    /// Messages that could have been sent (neurons of sending populations × timesteps in
    /// which they sent): the denominator of the activity ratio.
    #[serde(default)]
    pub potential_messages: u64,
    /// Graded spikes whose payload was clamped to the message width (remainder carried).
    #[serde(default)]
    pub msg_saturations: u64,
    /// Host termination checks (each reads `readouts / readout_checks` values on average).
    #[serde(default)]
    pub readout_checks: u64,
}

impl OpCounts {
    /// Adds another count into this one.
    pub fn accumulate(&mut self, o: &OpCounts) {
        self.timesteps += o.timesteps;
        self.neuron_updates += o.neuron_updates;
        self.messages += o.messages;
        self.synops += o.synops;
        self.bits_moved += o.bits_moved;
        self.readouts += o.readouts;
        self.overflows += o.overflows;
        self.idle_neuron_updates += o.idle_neuron_updates;
        self.potential_messages += o.potential_messages;
        self.msg_saturations += o.msg_saturations;
        self.readout_checks += o.readout_checks;
    }

    /// The counts added since `earlier` (a snapshot of the same counters): `self − earlier`,
    /// field by field (saturating at 0).
    pub fn since(&self, earlier: &OpCounts) -> OpCounts {
        OpCounts {
            timesteps: self.timesteps.saturating_sub(earlier.timesteps),
            neuron_updates: self.neuron_updates.saturating_sub(earlier.neuron_updates),
            messages: self.messages.saturating_sub(earlier.messages),
            synops: self.synops.saturating_sub(earlier.synops),
            bits_moved: self.bits_moved.saturating_sub(earlier.bits_moved),
            readouts: self.readouts.saturating_sub(earlier.readouts),
            overflows: self.overflows.saturating_sub(earlier.overflows),
            idle_neuron_updates: self.idle_neuron_updates.saturating_sub(earlier.idle_neuron_updates),
            potential_messages: self.potential_messages.saturating_sub(earlier.potential_messages),
            msg_saturations: self.msg_saturations.saturating_sub(earlier.msg_saturations),
            readout_checks: self.readout_checks.saturating_sub(earlier.readout_checks),
        }
    }

    /// Activity: fraction of potential messages actually sent (1 − sparsity); 0 when none
    /// could be sent.
    pub fn activity(&self) -> f64 {
        if self.potential_messages == 0 { 0.0 } else { self.messages as f64 / self.potential_messages as f64 }
    }

    /// Activity sparsity: 1 − [`OpCounts::activity`].
    pub fn sparsity(&self) -> f64 {
        1.0 - self.activity()
    }
}
