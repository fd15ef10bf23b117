//! Receiver-major synapse storage in slices of [`LANES`] receivers, for the dense delivery
//! of a timestep (a gather per receiver over its incoming synapses).
//!
//! The layout is SELL-C-σ (Kreutzer et al., SIAM J. Sci. Comput. 2014) with C = [`LANES`]
//! and σ = the whole population: receivers are sorted by fan-in (longest first), cut into
//! slices of `LANES` consecutive receivers, and each slice is padded to its longest
//! receiver's fan-in with zero-weight entries. A slice's entries are stored slot-major
//! (slot 0 of every lane, then slot 1, …), so the kernel keeps one running sum per lane:
//! `LANES` independent multiply-add chains instead of one short chain per receiver and no
//! per-receiver loop overhead. The kernel loads the senders' values with scalar loads: AVX-512
//! vector gathers of the same loop measured slower on the development CPU (4.4 against
//! 3.7 µs per spiking-QP iteration), and run-time AVX2/AVX-512 versions of the scalar loop
//! gave nothing.
//!
//! Padding entries have weight 0 and read sender 0; they do not change the sums and are
//! not operations of the network (counts come from the stored synapses, see
//! [`super::network`]). Each receiver's sum is accumulated in its synapses' sender order,
//! one chain, so the result equals a sequential dot product to rounding.

/// Receivers per slice: independent multiply-add chains (8 measured best among 4, 8 and 16:
/// 3.8, 3.7 and 5.4 µs per spiking-QP iteration at the time).
pub const LANES: usize = 8;

/// Synapses of one projection stored by receiver slices (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct SlicedRows {
    /// Receiver of each lane position, in slice order (length = receivers).
    order: Vec<u32>,
    /// Start of each slice in slots (an entry index is slot·LANES + lane); one more than
    /// the slices.
    slice_ptr: Vec<usize>,
    /// Sender of each entry (0 on padding).
    pre: Vec<u32>,
    /// Position of each entry's synapse in the source weight list ([`PAD`] on padding).
    src: Vec<usize>,
    /// Weights, entry-major: entry k's weight in plane p at `k·planes + p` (0 on padding).
    w: Vec<f64>,
    /// Weight planes loaded.
    planes: usize,
}

/// `src` marker of a padding entry.
const PAD: usize = usize::MAX;

impl SlicedRows {
    /// Builds the slices from a receiver-major (CSR) description: receiver `i`'s synapses
    /// are `rowptr[i]..rowptr[i+1]`, from senders `pre_of[k]`, and their weights are at
    /// positions `src_of[k]` of the weight lists later given to [`SlicedRows::load`]
    /// (weights start at 0).
    pub fn from_csr(rowptr: &[usize], pre_of: &[u32], src_of: &[usize]) -> Self {
        let nrows = rowptr.len().saturating_sub(1);
        let len = |i: usize| rowptr[i + 1] - rowptr[i];
        let mut order: Vec<u32> = (0..nrows as u32).collect();
        // Longest first; ties keep receiver order (stable), so the layout is deterministic.
        order.sort_by_key(|&i| std::cmp::Reverse(len(i as usize)));
        let nslices = nrows.div_ceil(LANES);
        let mut slice_ptr = Vec::with_capacity(nslices + 1);
        slice_ptr.push(0);
        for s in 0..nslices {
            // sorted longest first: the slice's first receiver is its longest
            let slots = len(order[s * LANES] as usize);
            slice_ptr.push(slice_ptr[s] + slots);
        }
        let entries = slice_ptr[nslices] * LANES;
        let mut pre = vec![0u32; entries];
        let mut src = vec![PAD; entries];
        for s in 0..nslices {
            for lane in 0..LANES {
                let Some(&r) = order.get(s * LANES + lane) else { break };
                let r = r as usize;
                for (slot, k) in (rowptr[r]..rowptr[r + 1]).enumerate() {
                    let e = (slice_ptr[s] + slot) * LANES + lane;
                    pre[e] = pre_of[k];
                    src[e] = src_of[k];
                }
            }
        }
        Self { order, slice_ptr, pre, src, w: Vec::new(), planes: 0 }
    }

    /// Loads the weights: `planes[p][src_of[k]]` is synapse k's weight in plane p.
    pub fn load(&mut self, planes: &[Vec<f64>]) {
        let np = planes.len();
        self.planes = np;
        self.w.clear();
        self.w.resize(self.src.len() * np, 0.0);
        for (we, &k) in self.w.chunks_exact_mut(np.max(1)).zip(&self.src) {
            if k != PAD {
                for (w, pl) in we.iter_mut().zip(planes) {
                    *w = pl[k];
                }
            }
        }
    }

    /// Weight planes loaded.
    pub fn planes(&self) -> usize {
        self.planes
    }

    /// Stored entries including padding (per plane).
    pub fn entries(&self) -> usize {
        self.pre.len()
    }

    /// For every weight plane p and every receiver i: `targets[p][i] += Σ_k w[p][k]·x[pre[k]]`
    /// over receiver i's synapses. All planes in one pass (each sender value is loaded once
    /// for all planes); each plane's sums are formed exactly as a one-plane pass would form
    /// them. `targets` holds one slice per loaded plane.
    pub fn gather_add_planes(&self, x: &[f64], targets: &mut [Vec<f64>]) {
        assert_eq!(targets.len(), self.planes, "one target per weight plane");
        gather_planes(&self.order, &self.slice_ptr, &self.pre, &self.w, x, targets);
    }

    /// `target[i] += Σ_k w[k]·x[pre[k]]` over receiver `i`'s synapses, for every receiver,
    /// with one loaded weight plane.
    pub fn gather_add(&self, x: &[f64], target: &mut [f64]) {
        assert_eq!(self.planes, 1, "gather_add takes one weight plane");
        gather_kernel::<1>(&self.order, &self.slice_ptr, &self.pre, &self.w, x, [target]);
    }
}

/// Most weight planes delivered by one fused kernel (more planes go one by one).
pub const MAX_PLANES: usize = 4;

/// [`SlicedRows::gather_add_planes`]: the kernel for the number of planes, compiled for the
/// widest vector unit found at run time (AVX2 / AVX-512 hold the `P × LANES` running sums of
/// several planes in registers; the sums are exact or rounded as on every target, no fused
/// multiply-add is formed).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn gather_planes(order: &[u32], slice_ptr: &[usize], pre: &[u32], w: &[f64], x: &[f64], targets: &mut [Vec<f64>]) {
    let (o, sp) = (order, slice_ptr);
    match targets {
        [] => {}
        [t0] => gather_kernel::<1>(o, sp, pre, w, x, [&mut t0[..]]),
        [t0, t1] => gather_kernel::<2>(o, sp, pre, w, x, [&mut t0[..], &mut t1[..]]),
        [t0, t1, t2] => gather_kernel::<3>(o, sp, pre, w, x, [&mut t0[..], &mut t1[..], &mut t2[..]]),
        [t0, t1, t2, t3] => gather_kernel::<4>(o, sp, pre, w, x, [&mut t0[..], &mut t1[..], &mut t2[..], &mut t3[..]]),
        _ => gather_kernel_any(o, sp, pre, w, x, targets),
    }
}

/// The gather for more than [`MAX_PLANES`] planes: one plane after the other, each with
/// the sums of the fused kernels.
fn gather_kernel_any(order: &[u32], slice_ptr: &[usize], pre: &[u32], w: &[f64], x: &[f64], targets: &mut [Vec<f64>]) {
    let np = targets.len();
    for (s, bounds) in slice_ptr.windows(2).enumerate() {
        let (a, b) = (bounds[0] * LANES, bounds[1] * LANES);
        let end = ((s + 1) * LANES).min(order.len());
        for (p, t) in targets.iter_mut().enumerate() {
            let mut acc = [0.0f64; LANES];
            for (e, ic) in (a..b).step_by(LANES).zip(pre[a..b].chunks_exact(LANES)) {
                for lane in 0..LANES {
                    acc[lane] += w[(e + lane) * np + p] * x.get(ic[lane] as usize).copied().unwrap_or(0.0);
                }
            }
            for (&r, v) in order[s * LANES..end].iter().zip(acc) {
                t[r as usize] += v;
            }
        }
    }
}

/// The gather of [`SlicedRows::gather_add_planes`] for `P` planes: per slice, `P × LANES`
/// running sums, one multiply-add chain per lane and plane in slot order.
#[inline(always)]
fn gather_kernel<const P: usize>(
    order: &[u32],
    slice_ptr: &[usize],
    pre: &[u32],
    w: &[f64],
    x: &[f64],
    targets: [&mut [f64]; P],
) {
    let mut targets = targets;
    for (s, bounds) in slice_ptr.windows(2).enumerate() {
        let (a, b) = (bounds[0] * LANES, bounds[1] * LANES);
        let mut acc = [[0.0f64; LANES]; P];
        for (wc, ic) in w[a * P..b * P].chunks_exact(LANES * P).zip(pre[a..b].chunks_exact(LANES)) {
            for lane in 0..LANES {
                // `get` instead of indexing: a select instead of a bounds-check branch (indices
                // are < x.len() by construction, so the 0 is never taken).
                let xv = x.get(ic[lane] as usize).copied().unwrap_or(0.0);
                for p in 0..P {
                    acc[p][lane] += wc[lane * P + p] * xv;
                }
            }
        }
        let end = ((s + 1) * LANES).min(order.len());
        for (t, accp) in targets.iter_mut().zip(&acc) {
            for (&r, v) in order[s * LANES..end].iter().zip(accp) {
                t[r as usize] += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CSR of a small irregular matrix: rows of lengths 0..=5 and a long one.
    fn sample() -> (Vec<usize>, Vec<u32>, Vec<Vec<f64>>, usize) {
        let ncols = 13;
        let mut rowptr = vec![0];
        let mut pre = Vec::new();
        let mut w0 = Vec::new();
        let mut w1 = Vec::new();
        for i in 0..19usize {
            let len = if i == 7 { 13 } else { i % 6 };
            for k in 0..len {
                pre.push(((i * 5 + k * 3) % ncols) as u32);
                w0.push(1.0 + (i * 7 + k) as f64 * 0.25);
                w1.push(-0.5 * k as f64);
            }
            rowptr.push(pre.len());
        }
        (rowptr, pre, vec![w0, w1], ncols)
    }

    #[test]
    fn sliced_gather_equals_csr_matvec() {
        let (rowptr, pre, planes, ncols) = sample();
        let ident: Vec<usize> = (0..pre.len()).collect();
        let mut s = SlicedRows::from_csr(&rowptr, &pre, &ident);
        s.load(&planes);
        let x: Vec<f64> = (0..ncols).map(|j| (j as f64 * 0.37).sin()).collect();
        let mut got = vec![vec![0.5; rowptr.len() - 1]; planes.len()];
        s.gather_add_planes(&x, &mut got);
        for (p, wp) in planes.iter().enumerate() {
            let got = &got[p];
            for i in 0..rowptr.len() - 1 {
                let want: f64 = 0.5 + (rowptr[i]..rowptr[i + 1]).map(|k| wp[k] * x[pre[k] as usize]).sum::<f64>();
                assert!(
                    (got[i] - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "plane {p} row {i}: {} vs {want}",
                    got[i]
                );
            }
        }
        // 19 receivers → 3 slices of 8; the padding is bounded by the slices' longest rows
        assert!(s.entries() >= pre.len());
        assert_eq!(s.slice_ptr.len(), 4);
    }

    /// Every plane count (fused kernels 1–4, plane by plane above) gives each plane's sums.
    #[test]
    fn any_plane_count_gathers_each_plane() {
        let (rowptr, pre, planes, ncols) = sample();
        let ident: Vec<usize> = (0..pre.len()).collect();
        let x: Vec<f64> = (0..ncols).map(|j| j as f64 - 4.0).collect();
        for np in 1..=6 {
            // integer weights: every sum is exact, so each plane must match exactly
            let ps: Vec<Vec<f64>> =
                (0..np).map(|p| planes[p % 2].iter().map(|w| (w * 4.0).round() + p as f64).collect()).collect();
            let mut s = SlicedRows::from_csr(&rowptr, &pre, &ident);
            s.load(&ps);
            let mut got = vec![vec![0.0; rowptr.len() - 1]; np];
            s.gather_add_planes(&x, &mut got);
            for (p, wp) in ps.iter().enumerate() {
                for i in 0..rowptr.len() - 1 {
                    let want: f64 = (rowptr[i]..rowptr[i + 1]).map(|k| wp[k] * x[pre[k] as usize]).sum();
                    assert_eq!(got[p][i], want, "{np} planes, plane {p}, row {i}");
                }
            }
        }
    }

    #[test]
    fn empty_matrix_is_a_no_op() {
        let mut s = SlicedRows::from_csr(&[0], &[], &[]);
        s.load(&[vec![]]);
        let mut t: Vec<f64> = vec![];
        s.gather_add(&[], &mut t);
        assert_eq!(s.entries(), 0);
    }
}
