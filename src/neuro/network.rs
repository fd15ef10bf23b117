//! Populations, synapses and barrier-synchronous timesteps.
//!
//! A [`Network`] holds neuron populations, dendrites (the running input sums of a
//! population, one per incoming synapse matrix or group of matrices) and projections
//! (sparse synapse matrices stored as fan-out lists: for each presynaptic neuron, the
//! postsynaptic neurons and weights it reaches). One call to [`Network::step`] is one
//! barrier-synchronised timestep:
//!
//! 1. every population scheduled this timestep updates all its neurons from the dendritic
//!    sums as they stood at the end of the previous timestep (its [`NeuronModel`]);
//! 2. every updated population sends sigma-delta graded spikes for the outputs that changed
//!    by at least θ; each message is added, times the synaptic weight, into the receivers'
//!    dendritic accumulators, which in fixed point are shifted (rounded) onto the dendrite's
//!    grid and added, saturating, into the running sums at the end of the timestep;
//! 3. barrier: the new sums become visible at the next timestep.
//!
//! Every operation is counted exactly in [`OpCounts`]: a timestep, an update per neuron of
//! a scheduled population (an idle update for the others), a message per graded spike, a
//! synaptic operation per message per stored synapse of its fan-out (per weight plane),
//! `msg_bits` payload bits per message, and each saturation.

use super::OpCounts;
use super::fixed::{Arith, Grid, QuantWeights, pow2};
use super::sliced::SlicedRows;
use crate::sparse::CscMatrix;

/// A neuron model: how one population updates its neurons in a timestep.
pub trait NeuronModel {
    /// Updates every neuron of the population. `inputs.get(k)` is the running sum of the
    /// population's k-th dendrite (in the order the dendrites were added); `out` holds the
    /// neurons' outputs, to be overwritten with the new outputs (in fixed point, on the
    /// population's output grid). Saturations are added to `overflows`.
    fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, overflows: &mut u64);
}

/// The dendritic sums a population reads in its update.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    dendrites: &'a [Dendrite],
    ids: &'a [usize],
}

impl<'a> Inputs<'a> {
    /// Running sum of the k-th dendrite of the population, one value per neuron.
    pub fn get(&self, k: usize) -> &'a [f64] {
        &self.dendrites[self.ids[k]].sigma
    }
    /// Number of dendrites.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    /// True when the population has no dendrites.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A population of neurons with sigma-delta outputs.
#[derive(Debug, Clone)]
pub struct Population {
    /// Name (for reports).
    pub name: String,
    /// Current output of each neuron (what it wants its receivers to see).
    pub out: Vec<f64>,
    /// What the receivers have accumulated from each neuron (sum of the deltas sent).
    pub sent: Vec<f64>,
    /// Sigma-delta threshold θ (output units); 0 sends every change.
    pub theta: f64,
    /// Fixed point: exponent of the output grid, which is also the message payload grid.
    pub out_exp: i32,
    /// Stored synapses reached by each neuron, over all its projections and weight planes.
    /// Neurons with fan-out 0 have no axon and never send.
    pub fanout: Vec<u64>,
    /// Number of neurons with fan-out > 0.
    pub axons: u64,
    /// Scratch: the payload each neuron sent in the current timestep (0 if none).
    delta: Vec<f64>,
    dendrites: Vec<usize>,
    projections: Vec<usize>,
}

impl Population {
    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.out.len()
    }
    /// True for an empty population.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }
}

/// The running input sums of one dendrite of a population.
#[derive(Debug, Clone)]
pub struct Dendrite {
    /// Postsynaptic population.
    pub post: usize,
    /// Running sum per neuron (Σ over timesteps of the weighted incoming deltas).
    pub sigma: Vec<f64>,
    /// Fixed point: exponent of the sum's grid (the shared shift at the accumulator).
    pub exp: i32,
    /// Per weight plane, this timestep's accumulator (fixed point only).
    acc: Vec<Vec<f64>>,
    /// Per weight plane, the bits dropped by the shift, when the profile carries them.
    rem: Vec<Vec<f64>>,
    dirty: bool,
}

/// A sparse synapse matrix stored as fan-out lists.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Presynaptic population.
    pub pre: usize,
    /// Target dendrite.
    pub dendrite: usize,
    /// Fan-out list pointers: neuron j's synapses are `colptr[j]..colptr[j+1]`.
    pub colptr: Vec<usize>,
    /// Postsynaptic neuron of each synapse.
    pub post: Vec<u32>,
    /// Weights (quantized into planes in fixed point; one exact plane in float).
    pub weights: QuantWeights,
    /// The same synapses by receiver, in slices (see [`super::sliced`]). Used for the dense
    /// delivery of a timestep in which most neurons sent (see [`Network::step`]); the
    /// operation counts do not depend on the delivery order.
    by_receiver: SlicedRows,
    /// One-to-one connectivity (square, synapse j → j only, every neuron connected): delivery
    /// is an element-wise product.
    one_to_one: bool,
}

/// θ = 0 without a payload limit (float): every change is sent; the rule of
/// [`encode`](super::sigma_delta::encode) without its branches, so that the loop vectorizes (multiversioned for the
/// widest vector unit found at run time). Returns (messages, synaptic operations).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn encode_all_changes(out: &[f64], sent: &mut [f64], delta: &mut [f64], fanout: &[u64]) -> (u64, u64) {
    let (mut messages, mut synops) = (0u64, 0u64);
    for (((o, s), dl), &f) in out.iter().zip(sent.iter_mut()).zip(delta.iter_mut()).zip(fanout) {
        let d = *o - *s;
        let send = d != 0.0 && !d.is_nan() && f != 0;
        let d = if send { d } else { 0.0 };
        *s += d;
        *dl = d;
        messages += u64::from(send);
        synops += if send { f } else { 0 };
    }
    (messages, synops)
}

/// The general sigma-delta rule of [`encode`](super::sigma_delta::encode) (threshold θ, payloads clamped to ±`lim`, the
/// clamped remainder carried in `out − sent`) for every neuron with an axon, without
/// branches so that the loop vectorizes (multiversioned as [`encode_all_changes`]). Returns
/// (messages, synaptic operations, saturated payloads).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn encode_thresholded(
    out: &[f64],
    sent: &mut [f64],
    delta: &mut [f64],
    fanout: &[u64],
    theta: f64,
    lim: f64,
) -> (u64, u64, u64) {
    let (mut messages, mut synops, mut sats) = (0u64, 0u64, 0u64);
    for (((o, s), dl), &f) in out.iter().zip(sent.iter_mut()).zip(delta.iter_mut()).zip(fanout) {
        let d = *o - *s;
        // `!(|d| < θ)`, not `|d| ≥ θ`: the same decision as `encode` for every θ, NaN included.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let above = d != 0.0 && !(d.abs() < theta) && !d.is_nan();
        let sat = d.abs() > lim;
        let dc = if sat { lim.copysign(d) } else { d };
        let send = above && dc != 0.0 && f != 0;
        *s = if send { *s + dc } else { *s };
        *dl = if send { dc } else { 0.0 };
        messages += u64::from(send);
        synops += if send { f } else { 0 };
        sats += u64::from(send && sat);
    }
    (messages, synops, sats)
}

/// `target[i] += w[i]·x[i]` (one-to-one delivery), multiversioned as [`encode_all_changes`].
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn add_product(target: &mut [f64], w: &[f64], x: &[f64]) {
    for ((t, w), d) in target.iter_mut().zip(w).zip(x) {
        *t += w * d;
    }
}

/// Fixed point, end of a timestep, one weight plane of a dendrite: each non-zero
/// accumulator (plus, with `carry`, the bits its previous shift dropped, kept in `rem`) is
/// shifted (rounded) onto the dendrite's grid and added, saturating, into the running sum;
/// the accumulator is cleared ([`super::FixedProfile::carry_shift_remainder`]). Returns the
/// saturations. Multiversioned as [`encode_all_changes`]: the loop has no branches, and on
/// AVX2 / AVX-512 it runs 4 / 8 neurons at a time with the same results.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn shift_add(grid: &Grid, carry: bool, sigma: &mut [f64], acc: &mut [f64], rem: &mut [f64]) -> u64 {
    match (grid.nearest(), carry) {
        (true, true) => shift_add_kernel::<true, true>(grid, sigma, acc, rem),
        (true, false) => shift_add_kernel::<true, false>(grid, sigma, acc, rem),
        (false, true) => shift_add_kernel::<false, true>(grid, sigma, acc, rem),
        (false, false) => shift_add_kernel::<false, false>(grid, sigma, acc, rem),
    }
}

/// The loop of [`shift_add`] for one rounding and carry mode.
#[inline(always)]
fn shift_add_kernel<const NEAREST: bool, const CARRY: bool>(
    grid: &Grid,
    sigma: &mut [f64],
    acc: &mut [f64],
    rem: &mut [f64],
) -> u64 {
    let n = sigma.len().min(acc.len()).min(rem.len());
    let (sigma, acc, rem) = (&mut sigma[..n], &mut acc[..n], &mut rem[..n]);
    let mut overflows = 0u64;
    for i in 0..n {
        let a = acc[i];
        let active = a != 0.0;
        let total = if CARRY { a + rem[i] } else { a };
        let (shifted, sat_shift) = grid.quantize_lane::<NEAREST>(total);
        let (sum, sat_sum) = grid.quantize_lane::<NEAREST>(sigma[i] + shifted);
        if CARRY {
            rem[i] = if active { total - shifted } else { rem[i] };
        }
        sigma[i] = if active { sum } else { sigma[i] };
        acc[i] = if active { 0.0 } else { a };
        overflows += u64::from(active & sat_shift) + u64::from(active & sat_sum);
    }
    overflows
}

/// Deliver a timestep's messages receiver by receiver (a gather over each receiver's
/// synapses) when at least this fraction of a population sent: cheaper on a CPU than
/// scattering each message along its fan-out, and the same sums up to float rounding order.
pub const DENSE_DELIVERY_FRACTION: f64 = 0.25;

/// A network of populations, dendrites and projections on one arithmetic.
#[derive(Debug, Clone)]
pub struct Network {
    /// Populations.
    pub pops: Vec<Population>,
    /// Dendrites.
    pub dendrites: Vec<Dendrite>,
    /// Projections.
    pub projections: Vec<Projection>,
    /// Float or fixed point.
    pub arith: Arith,
    /// Operation counts since construction (or the last [`Network::reset_counts`]).
    pub counts: OpCounts,
}

impl Network {
    /// An empty network.
    pub fn new(arith: Arith) -> Self {
        Self { pops: Vec::new(), dendrites: Vec::new(), projections: Vec::new(), arith, counts: OpCounts::default() }
    }

    /// Adds a population of `n` neurons with outputs on the grid 2^`out_exp` (ignored in
    /// float mode), initial outputs 0; returns its id.
    pub fn add_population(&mut self, name: &str, n: usize, out_exp: i32) -> usize {
        self.pops.push(Population {
            name: name.to_string(),
            out: vec![0.0; n],
            sent: vec![0.0; n],
            theta: 0.0,
            out_exp,
            fanout: vec![0; n],
            axons: 0,
            delta: vec![0.0; n],
            dendrites: Vec::new(),
            projections: Vec::new(),
        });
        self.pops.len() - 1
    }

    /// Adds a dendrite (running-sum input) to population `post` with sums on the grid
    /// 2^`exp` (fixed point); returns its id. The population's model sees dendrites in the
    /// order they are added.
    pub fn add_dendrite(&mut self, post: usize, exp: i32) -> usize {
        let n = self.pops[post].len();
        let planes = match self.arith {
            Arith::Float => 0,
            Arith::Fixed(p) => p.weight_planes.max(1) as usize,
        };
        self.dendrites.push(Dendrite {
            post,
            sigma: vec![0.0; n],
            exp,
            acc: vec![vec![0.0; n]; planes],
            rem: vec![vec![0.0; n]; planes],
            dirty: false,
        });
        let id = self.dendrites.len() - 1;
        self.pops[post].dendrites.push(id);
        id
    }

    /// Connects population `pre` to `dendrite` through the matrix `w` (rows: postsynaptic
    /// neurons, columns: presynaptic neurons; column j is neuron j's fan-out list). In
    /// fixed point the weights are quantized per the profile (one exponent per plane per
    /// matrix); synapses whose mantissa is 0 in a plane are not stored. Returns its id.
    pub fn add_projection(&mut self, pre: usize, dendrite: usize, w: &CscMatrix) -> usize {
        let post_pop = self.dendrites[dendrite].post;
        assert_eq!(w.ncols, self.pops[pre].len(), "matrix columns must match the presynaptic population");
        assert_eq!(w.nrows, self.pops[post_pop].len(), "matrix rows must match the postsynaptic population");
        let weights = self.quantize(w);
        // Receiver-major (CSR) copy: one counting pass; perm[k] is the CSC position of the
        // k-th synapse in receiver order, so every weight plane is reordered the same way.
        let mut rowptr = vec![0usize; w.nrows + 1];
        for &r in &w.rowval {
            rowptr[r + 1] += 1;
        }
        for i in 0..w.nrows {
            rowptr[i + 1] += rowptr[i];
        }
        let mut next = rowptr.clone();
        let mut pre_of = vec![0u32; w.nnz()];
        let mut perm = vec![0usize; w.nnz()];
        for j in 0..w.ncols {
            for k in w.colptr[j]..w.colptr[j + 1] {
                let slot = &mut next[w.rowval[k]];
                pre_of[*slot] = j as u32;
                perm[*slot] = k;
                *slot += 1;
            }
        }
        let one_to_one =
            w.nrows == w.ncols && w.nnz() == w.ncols && (0..w.ncols).all(|j| w.colptr[j] == j && w.rowval[j] == j);
        let mut by_receiver = SlicedRows::from_csr(&rowptr, &pre_of, &perm);
        by_receiver.load(&weights.planes);
        self.projections.push(Projection {
            pre,
            dendrite,
            colptr: w.colptr.clone(),
            post: w.rowval.iter().map(|&r| r as u32).collect(),
            weights,
            one_to_one,
            by_receiver,
        });
        let id = self.projections.len() - 1;
        self.pops[pre].projections.push(id);
        self.recount_fanout(pre);
        id
    }

    /// Loads new weights into projection `pr` from a matrix with the sparsity pattern it was
    /// built with (same dimensions, `colptr` and `rowval`); quantized as in
    /// [`Network::add_projection`], fan-out counts updated. Neuron state, sums and counts are
    /// untouched. Returns false, changing nothing, when the pattern differs.
    pub fn set_weights(&mut self, pr: usize, w: &CscMatrix) -> bool {
        let proj = &self.projections[pr];
        let post_len = self.pops[self.dendrites[proj.dendrite].post].len();
        let same = w.nrows == post_len
            && w.colptr == proj.colptr
            && w.rowval.len() == proj.post.len()
            && w.rowval.iter().zip(&proj.post).all(|(&a, &b)| a == b as usize);
        if !same {
            return false;
        }
        let weights = self.quantize(w);
        let proj = &mut self.projections[pr];
        proj.by_receiver.load(&weights.planes);
        proj.weights = weights;
        let pre = proj.pre;
        self.recount_fanout(pre);
        true
    }

    fn quantize(&self, w: &CscMatrix) -> QuantWeights {
        match self.arith {
            Arith::Float => QuantWeights::exact(&w.nzval),
            Arith::Fixed(p) => QuantWeights::new(&w.nzval, &p),
        }
    }

    /// Fan-out of each neuron of population `pre`: its stored synapses (non-zero weights,
    /// per plane) over all its projections.
    fn recount_fanout(&mut self, pre: usize) {
        let Self { pops, projections, .. } = self;
        let pop = &mut pops[pre];
        pop.fanout.iter_mut().for_each(|f| *f = 0);
        for &pr in &pop.projections {
            let proj = &projections[pr];
            for (j, f) in pop.fanout.iter_mut().enumerate() {
                let (k0, k1) = (proj.colptr[j], proj.colptr[j + 1]);
                for plane in &proj.weights.planes {
                    *f += plane[k0..k1].iter().filter(|v| **v != 0.0).count() as u64;
                }
            }
        }
        pop.axons = pop.fanout.iter().filter(|&&f| f > 0).count() as u64;
    }

    /// Stored incoming synapses (over all weight planes) of every neuron of every population,
    /// populations in order: the fan-in that a core must hold for that neuron.
    pub fn fan_in(&self) -> Vec<u64> {
        let mut per_pop: Vec<Vec<u64>> = self.pops.iter().map(|p| vec![0; p.len()]).collect();
        for pr in &self.projections {
            let post = self.dendrites[pr.dendrite].post;
            for plane in &pr.weights.planes {
                for (k, &r) in pr.post.iter().enumerate() {
                    if plane[k] != 0.0 {
                        per_pop[post][r as usize] += 1;
                    }
                }
            }
        }
        per_pop.concat()
    }

    /// Zeroes the operation counts.
    pub fn reset_counts(&mut self) {
        self.counts = OpCounts::default();
    }

    /// Resets all outputs, sent values and dendritic sums to 0 (the network as loaded).
    pub fn clear_state(&mut self) {
        for p in &mut self.pops {
            p.out.iter_mut().for_each(|v| *v = 0.0);
            p.sent.iter_mut().for_each(|v| *v = 0.0);
        }
        for d in &mut self.dendrites {
            d.sigma.iter_mut().for_each(|v| *v = 0.0);
            d.acc.iter_mut().chain(d.rem.iter_mut()).for_each(|a| a.iter_mut().for_each(|v| *v = 0.0));
            d.dirty = false;
        }
    }

    /// One timestep in which the listed populations only send (their current outputs,
    /// e.g. initial values), with no neuron update. Counted as a timestep with idle updates.
    pub fn prime(&mut self, senders: &[usize]) {
        self.counts.timesteps += 1;
        for p in &self.pops {
            self.counts.idle_neuron_updates += p.len() as u64;
        }
        for &pid in senders {
            self.emit(pid);
        }
        self.finish_delivery();
    }

    /// One barrier-synchronised timestep: the listed populations update with their models,
    /// then send; all other populations idle (see the module docs).
    pub fn step(&mut self, updates: &mut [(usize, &mut dyn NeuronModel)]) {
        self.counts.timesteps += 1;
        let mut active = 0u64;
        for (pid, model) in updates.iter_mut() {
            let pop = &mut self.pops[*pid];
            active += pop.out.len() as u64;
            let inputs = Inputs { dendrites: &self.dendrites, ids: &pop.dendrites };
            model.update(inputs, &mut pop.out, &self.arith, &mut self.counts.overflows);
        }
        let total: u64 = self.pops.iter().map(|p| p.len() as u64).sum();
        self.counts.neuron_updates += active;
        self.counts.idle_neuron_updates += total - active;
        for (pid, _) in updates.iter() {
            self.emit(*pid);
        }
        self.finish_delivery();
    }

    /// Host readout of a population's outputs (counted: one readout per value).
    pub fn readout(&mut self, pid: usize) -> &[f64] {
        self.counts.readouts += self.pops[pid].len() as u64;
        &self.pops[pid].out
    }

    fn emit(&mut self, pid: usize) {
        let msg_bits = self.arith.msg_bits() as u64;
        let msg_limit = match self.arith {
            Arith::Float => None,
            Arith::Fixed(p) => Some(p.msg_max() * pow2(self.pops[pid].out_exp)),
        };
        let fixed = self.arith.is_fixed();
        let Self { pops, dendrites, projections, counts, .. } = self;
        let pop = &mut pops[pid];
        let theta = pop.theta;
        let n = pop.out.len();
        counts.potential_messages += pop.axons;
        for &pr in &pop.projections {
            dendrites[projections[pr].dendrite].dirty = true;
        }
        // Encode: what each neuron sends this timestep.
        let (messages, synops) = if theta == 0.0 && msg_limit.is_none() {
            encode_all_changes(&pop.out, &mut pop.sent, &mut pop.delta, &pop.fanout)
        } else {
            let lim = msg_limit.unwrap_or(f64::INFINITY);
            let (messages, synops, sats) =
                encode_thresholded(&pop.out, &mut pop.sent, &mut pop.delta, &pop.fanout, theta, lim);
            counts.msg_saturations += sats;
            (messages, synops)
        };
        counts.messages += messages;
        counts.synops += synops;
        counts.bits_moved += messages * msg_bits;
        if messages == 0 {
            return;
        }
        // Deliver: into the running sums (float) or the per-plane accumulators (fixed point).
        let dense = messages as f64 >= DENSE_DELIVERY_FRACTION * n as f64;
        let delta = &pop.delta;
        for &pr in &pop.projections {
            let proj = &projections[pr];
            let dend = &mut dendrites[proj.dendrite];
            if dense && !proj.one_to_one {
                // Every weight plane in one pass over the receivers' synapses.
                if fixed {
                    // A matrix whose remainder vanishes has fewer planes than the profile.
                    let planes = proj.by_receiver.planes();
                    proj.by_receiver.gather_add_planes(delta, &mut dend.acc[..planes]);
                } else {
                    proj.by_receiver.gather_add(delta, &mut dend.sigma);
                }
                continue;
            }
            let nplanes = proj.weights.planes.len();
            for plane in 0..nplanes {
                let target: &mut [f64] = if fixed { &mut dend.acc[plane] } else { &mut dend.sigma };
                if proj.one_to_one {
                    // Receiver i's only synapse is from sender i (stored in that order).
                    add_product(target, &proj.weights.planes[plane], delta);
                } else {
                    let w = &proj.weights.planes[plane];
                    for (j, &d) in delta.iter().enumerate() {
                        if d == 0.0 {
                            continue;
                        }
                        let (k0, k1) = (proj.colptr[j], proj.colptr[j + 1]);
                        for (w, &i) in w[k0..k1].iter().zip(&proj.post[k0..k1]) {
                            target[i as usize] += w * d;
                        }
                    }
                }
            }
        }
    }

    /// Fixed point: shift (round) each plane's accumulator onto the dendrite grid and add it,
    /// saturating, into the running sum.
    fn finish_delivery(&mut self) {
        let Arith::Fixed(p) = self.arith else { return };
        let overflows = &mut self.counts.overflows;
        for d in &mut self.dendrites {
            if !d.dirty {
                continue;
            }
            d.dirty = false;
            let grid = Grid::state(d.exp, &p);
            for (acc, rem) in d.acc.iter_mut().zip(d.rem.iter_mut()) {
                *overflows += shift_add(&grid, p.carry_shift_remainder, &mut d.sigma, acc, rem);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuro::fixed::FixedProfile;

    /// Output = a fixed list of values per step (for hand-counted tests), or integrator.
    struct Script {
        values: Vec<Vec<f64>>,
        k: usize,
    }
    impl NeuronModel for Script {
        fn update(&mut self, _inputs: Inputs<'_>, out: &mut [f64], _a: &Arith, _o: &mut u64) {
            out.copy_from_slice(&self.values[self.k]);
            self.k += 1;
        }
    }
    /// Copies its first dendrite's sum into its output, quantized to the state grid.
    struct Relay {
        e: i32,
    }
    impl NeuronModel for Relay {
        fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], a: &Arith, o: &mut u64) {
            for (y, s) in out.iter_mut().zip(inputs.get(0)) {
                *y = a.state(*s, self.e, o);
            }
        }
    }

    /// 3 senders → 2 receivers through W = [[1, 0, 2], [0, 0, 3]] (fan-outs 1, 0, 2).
    fn tiny(arith: Arith) -> (Network, usize, usize) {
        let mut net = Network::new(arith);
        let a = net.add_population("a", 3, -8);
        let b = net.add_population("b", 2, -8);
        let d = net.add_dendrite(b, -8);
        let w = CscMatrix::from_dense(2, 3, &[1.0, 0.0, 2.0, 0.0, 0.0, 3.0]);
        net.add_projection(a, d, &w);
        (net, a, b)
    }

    /// Every delivery path (fan-out scatter, receiver-major gather, one-to-one) adds W·Δ into
    /// the receivers' sums and counts the same operations: checked against a plain mat-vec
    /// for few senders (scatter) and all senders (gather), float and fixed point.
    #[test]
    fn delivery_paths_agree_with_a_matvec() {
        let (n, m) = (40, 30);
        let mut trip = Vec::new();
        for j in 0..n {
            for i in 0..m {
                if (i * 7 + j * 13) % 5 == 0 {
                    trip.push((i, j, ((i + 2 * j) % 9) as f64 - 4.0));
                }
            }
        }
        let w = CscMatrix::from_triplets(m, n, &trip).unwrap();
        let diag = CscMatrix::from_triplets(n, n, &(0..n).map(|j| (j, j, 1.0 + j as f64)).collect::<Vec<_>>()).unwrap();
        for arith in [Arith::Float, Arith::Fixed(FixedProfile::LOIHI2)] {
            for senders in [3usize, n] {
                let mut net = Network::new(arith);
                let a = net.add_population("a", n, 0);
                let b = net.add_population("b", m, 0);
                let c = net.add_population("c", n, 0);
                // Integer weights, outputs and sums: exact on the unit grid in fixed point.
                let db = net.add_dendrite(b, 0);
                let dc = net.add_dendrite(c, 0);
                net.add_projection(a, db, &w);
                net.add_projection(a, dc, &diag);
                let x: Vec<f64> = (0..n).map(|j| if j < senders { (j % 7) as f64 - 3.0 } else { 0.0 }).collect();
                let mut src = Script { values: vec![x.clone()], k: 0 };
                net.step(&mut [(a, &mut src)]);
                let mut want = vec![0.0; m];
                w.mul_add(&x, &mut want);
                assert_eq!(net.dendrites[db].sigma, want, "{arith:?} senders {senders}");
                let want_c: Vec<f64> = (0..n).map(|j| (1.0 + j as f64) * x[j]).collect();
                assert_eq!(net.dendrites[dc].sigma, want_c, "{arith:?} senders {senders}");
                let sent = x.iter().filter(|v| **v != 0.0).count() as u64;
                assert_eq!(net.counts.messages, sent);
                let fan: u64 = (0..n).filter(|&j| x[j] != 0.0).map(|j| net.pops[a].fanout[j]).sum();
                assert_eq!(net.counts.synops, fan);
            }
        }
    }

    /// New weights on the same pattern give the same sums as a network built with them;
    /// another pattern is refused and changes nothing.
    #[test]
    fn set_weights_reloads_same_pattern_only() {
        let w1 = CscMatrix::from_dense(3, 4, &[1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 4.0, 5.0, 0.0, 0.0, 6.0]);
        let mut w2 = w1.clone();
        w2.nzval.iter_mut().enumerate().for_each(|(k, v)| *v = -0.5 * k as f64);
        let sums = |net: &mut Network, pre: usize, d: usize| {
            net.pops[pre].out.copy_from_slice(&[1.0, -2.0, 0.5, 3.0]);
            net.prime(&[pre]);
            (net.dendrites[d].sigma.clone(), net.counts.synops, net.pops[pre].fanout.clone())
        };
        let build = |w: &CscMatrix| {
            let mut net = Network::new(Arith::Float);
            let pre = net.add_population("pre", 4, 0);
            let post = net.add_population("post", 3, 0);
            let d = net.add_dendrite(post, 0);
            let pr = net.add_projection(pre, d, w);
            (net, pre, d, pr)
        };
        let (mut reloaded, pre, d, pr) = build(&w1);
        assert!(reloaded.set_weights(pr, &w2));
        let (mut fresh, ..) = build(&w2);
        assert_eq!(sums(&mut reloaded, pre, d), sums(&mut fresh, pre, d));
        let other = CscMatrix::from_dense(3, 4, &[1.0; 12]);
        let before = reloaded.projections[pr].weights.clone();
        assert!(!reloaded.set_weights(pr, &other));
        assert_eq!(reloaded.projections[pr].weights, before);
    }

    #[test]
    fn hand_counted_tiny_network() {
        let (mut net, a, b) = tiny(Arith::Float);
        assert_eq!(net.pops[a].fanout, vec![1, 0, 2]);
        let mut src = Script { values: vec![vec![1.0, 5.0, 0.0], vec![1.0, 5.0, 0.5], vec![1.5, 4.0, 0.5]], k: 0 };
        let mut relay = Relay { e: -8 };
        // t1: a → [1, 5, 0]: neuron 0 sends (fan-out 1); neuron 1 has no axon.
        net.step(&mut [(a, &mut src)]);
        assert_eq!(net.dendrites[0].sigma, vec![1.0, 0.0]);
        // t2: a → [1, 5, 0.5]: 1 message (neuron 2), synops 2; b relays the old sums (b has
        // no outgoing synapses, so it sends nothing).
        net.step(&mut [(a, &mut src), (b, &mut relay)]);
        assert_eq!(net.pops[b].out, vec![1.0, 0.0]);
        assert_eq!(net.dendrites[0].sigma, vec![2.0, 1.5]);
        // t3: θ = 0.75: neuron 0 (+0.5) is held back; nothing is sent.
        net.pops[a].theta = 0.75;
        net.step(&mut [(a, &mut src)]);
        assert_eq!(net.pops[a].sent, vec![1.0, 0.0, 0.5]);
        let c = net.counts;
        assert_eq!(c.timesteps, 3);
        assert_eq!(c.neuron_updates, 3 + 5 + 3);
        assert_eq!(c.idle_neuron_updates, 4); // b idles at t1 and t3
        assert_eq!(c.messages, 1 + 1);
        assert_eq!(c.synops, 1 + 2);
        assert_eq!(c.bits_moved, 2 * 64);
        assert_eq!(c.potential_messages, 2 + 2 + 2);
        assert_eq!(c.overflows, 0);
        assert!((c.activity() - 2.0 / 6.0).abs() < 1e-15);
        // The held-back 0.5 is carried: θ back to 0 sends it.
        net.pops[a].theta = 0.0;
        let mut hold = Script { values: vec![vec![1.5, 4.0, 0.5]], k: 0 };
        net.step(&mut [(a, &mut hold)]);
        assert_eq!(net.dendrites[0].sigma, vec![2.5, 1.5]);
        assert_eq!(net.counts.messages, 3);
        assert_eq!(net.counts.synops, 4);
        assert_eq!(net.readout(b), &[1.0, 0.0]);
        assert_eq!(net.counts.readouts, 2);
    }

    #[test]
    fn fixed_point_dendrite_shift_and_saturation() {
        let prof = FixedProfile::LOIHI2;
        let (mut net, a, _b) = tiny(Arith::Fixed(prof));
        // Weights 1, 2, 3 with max 3: exp = ceil(log2 3) − 7 = −5 → exact (32, 64, 96)·2^-5.
        assert_eq!(net.projections[0].weights.exps, vec![-5]);
        let mut src = Script { values: vec![vec![0.00390625, 0.0, 0.0]], k: 0 }; // 2^-8 = 1 LSB
        net.step(&mut [(a, &mut src)]);
        assert_eq!(net.dendrites[0].sigma, vec![0.00390625, 0.0]);
        // A dendrite grid of 2^-4 rounds 1·2^-8 to 0 (the shared shift loses it).
        let (mut net2, a2, _) = tiny(Arith::Fixed(prof));
        net2.dendrites[0].exp = -4;
        let mut src2 = Script { values: vec![vec![0.00390625, 0.0, 0.0]], k: 0 };
        net2.step(&mut [(a2, &mut src2)]);
        assert_eq!(net2.dendrites[0].sigma, vec![0.0, 0.0]);
        // Saturation: sums beyond (2^23 − 1)·2^-8 ≈ 32768 saturate and are counted.
        let (mut net3, a3, _) = tiny(Arith::Fixed(prof));
        let big = 30000.0;
        let mut src3 = Script { values: vec![vec![0.0, 0.0, big]], k: 0 };
        net3.step(&mut [(a3, &mut src3)]);
        let max = (pow2(23) - 1.0) * pow2(-8);
        assert_eq!(net3.dendrites[0].sigma, vec![max, max]);
        assert_eq!(net3.counts.overflows, 2);
        // Message payload saturation: a jump of 2^16 on a 2^-8 grid needs 25 bits.
        let (mut net4, a4, _) = tiny(Arith::Fixed(FixedProfile { msg_bits: 16, ..prof }));
        let mut src4 = Script { values: vec![vec![200.0, 0.0, 0.0], vec![200.0, 0.0, 0.0]], k: 0 };
        net4.step(&mut [(a4, &mut src4)]);
        let lim = (pow2(15) - 1.0) * pow2(-8);
        assert_eq!(net4.pops[a4].sent[0], lim);
        assert_eq!(net4.counts.msg_saturations, 1);
        net4.step(&mut [(a4, &mut src4)]);
        assert_eq!(net4.pops[a4].sent[0], 200.0);
        assert_eq!(net4.dendrites[0].sigma[0], 200.0);
        assert_eq!(net4.counts.bits_moved, 2 * 16);
    }

    #[test]
    fn float_theta_zero_is_exact_matvec() {
        let mut net = Network::new(Arith::Float);
        let a = net.add_population("a", 2, 0);
        net.pops[a].out = vec![1.0, -2.0];
        let d = net.add_dendrite(a, 0);
        net.add_projection(a, d, &CscMatrix::from_dense(2, 2, &[2.0, 1.0, 1.0, 3.0]));
        net.prime(&[a]);
        assert_eq!(net.dendrites[d].sigma, vec![0.0, -5.0]);
        assert_eq!(net.counts.messages, 2);
        assert_eq!(net.counts.synops, 4);
        assert_eq!(net.counts.idle_neuron_updates, 2);
    }
}
