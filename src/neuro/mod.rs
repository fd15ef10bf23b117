//! The simulated neuromorphic substrate: neurons, synapses, graded spikes with
//! sigma-delta messaging, Loihi 2-style fixed point, and exact operation counts.

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
    }
}
