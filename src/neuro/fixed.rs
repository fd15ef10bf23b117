//! Fixed-point arithmetic of the substrate, with configurable widths and the Loihi 2 profile.
//!
//! Every fixed-point quantity is an integer mantissa times a power of two fixed per
//! quantity ("grid" exponent `e`: value = mantissa · 2^e). The simulator stores these values
//! as `f64` holding exact dyadic numbers: all mantissas used here are below 2^53 in
//! magnitude, so sums and products of them are exact in `f64` and quantizing a value to a
//! grid (round, clamp to the width) is bit-identical to the integer shift-and-saturate the
//! hardware performs. Overflow **saturates** (never wraps) and is counted.
//!
//! Weights: each synapse matrix has one shared exponent and signed `weight_bits`-bit
//! mantissas, with the exponent chosen as in lava-optimization:
//! `exp = ceil(log2 max|M|) − weight_bits + 1`. Optionally a matrix is split into several
//! "planes" (extra synapse groups between the same populations, each with its own
//! exponent, quantizing the remainder of the previous planes): each plane costs its own
//! synaptic operations, and the results of the planes are shifted and rounded separately at
//! the dendritic accumulator, as separate synapse groups would be on the chip.

/// How a right shift rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Rounding {
    /// Round to nearest (add half an LSB before the arithmetic shift; ties away from zero).
    Nearest,
    /// Plain arithmetic right shift (floor towards −∞), biased by −½ LSB on average.
    Floor,
}

/// Widths of a fixed-point substrate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FixedProfile {
    /// Signed weight mantissa width in bits (Loihi 2: 8).
    pub weight_bits: u32,
    /// Signed neuron-state and dendritic-sum width in bits (Loihi 2: 24).
    pub state_bits: u32,
    /// Signed graded-spike payload width in bits (Loihi 2: 24, up to 32).
    pub msg_bits: u32,
    /// Signed mantissa width of the scalar constants neurons multiply by (step sizes).
    pub const_bits: u32,
    /// Number of weight planes per matrix (1 = the plain one-exponent-per-matrix format).
    pub weight_planes: u32,
    /// Rounding of shifts.
    pub rounding: Rounding,
    /// Keep the bits a dendrite's shift drops (one extra register per neuron and weight
    /// plane) and add them to the next timestep's accumulator, so the running sum tracks the
    /// exact weighted sum of the messages within one LSB instead of drifting by up to ½ LSB
    /// per timestep. False in the plain profile (lava's neurons drop them).
    pub carry_shift_remainder: bool,
}

impl FixedProfile {
    /// Loihi 2 as used by lava-optimization: 8-bit weights with one exponent per matrix,
    /// 24-bit state and graded spikes, 16-bit constants (neuron microcode multiplies),
    /// round-to-nearest shifts, one weight plane.
    pub const LOIHI2: FixedProfile = FixedProfile {
        weight_bits: 8,
        state_bits: 24,
        msg_bits: 24,
        const_bits: 16,
        weight_planes: 1,
        rounding: Rounding::Nearest,
        carry_shift_remainder: false,
    };

    /// The Loihi 2 profile with `planes` weight planes per matrix (see the module docs).
    pub fn loihi2_planes(planes: u32) -> Self {
        Self { weight_planes: planes.max(1), ..Self::LOIHI2 }
    }

    /// Largest state mantissa, 2^(state_bits−1) − 1.
    pub fn state_max(&self) -> f64 {
        pow2(self.state_bits as i32 - 1) - 1.0
    }
    /// Largest message mantissa, 2^(msg_bits−1) − 1.
    pub fn msg_max(&self) -> f64 {
        pow2(self.msg_bits as i32 - 1) - 1.0
    }
}

/// Arithmetic mode of a network: IEEE double precision or a fixed-point profile.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Arith {
    /// f64 everywhere; no quantization, no saturation.
    Float,
    /// Fixed point with the given widths.
    Fixed(FixedProfile),
}

impl Arith {
    /// True in fixed-point mode.
    pub fn is_fixed(&self) -> bool {
        matches!(self, Arith::Fixed(_))
    }
    /// Payload bits of one graded spike (64 for float mode).
    pub fn msg_bits(&self) -> u32 {
        match self {
            Arith::Float => 64,
            Arith::Fixed(p) => p.msg_bits,
        }
    }
    /// Quantizes `v` to the state grid 2^e with saturation at `state_bits` (identity in
    /// float mode). Saturation events are added to `overflows`; a NaN saturates to 0 and
    /// counts as an overflow.
    #[inline]
    pub fn state(&self, v: f64, e: i32, overflows: &mut u64) -> f64 {
        match self {
            Arith::Float => v,
            Arith::Fixed(p) => quantize(v, e, p.state_max(), p.rounding, overflows),
        }
    }
    /// Quantizes a scalar constant to `const_bits` significant bits (identity in float mode).
    pub fn constant(&self, c: f64) -> f64 {
        match self {
            Arith::Float => c,
            Arith::Fixed(p) => quantize_significant(c, p.const_bits),
        }
    }
}

/// 2^e as f64 (exact for |e| < 1023).
#[inline]
pub fn pow2(e: i32) -> f64 {
    f64::powi(2.0, e)
}

/// Rounds `v / 2^e` to an integer with `rounding`, clamps it to ±`max` (counting a
/// saturation in `overflows`), and returns the result times 2^e. NaN gives 0 and counts.
#[inline]
pub fn quantize(v: f64, e: i32, max: f64, rounding: Rounding, overflows: &mut u64) -> f64 {
    let s = v * pow2(-e);
    let r = match rounding {
        Rounding::Nearest => s.round(),
        Rounding::Floor => s.floor(),
    };
    if r.is_nan() {
        *overflows += 1;
        return 0.0;
    }
    if r > max {
        *overflows += 1;
        max * pow2(e)
    } else if r < -max {
        *overflows += 1;
        -max * pow2(e)
    } else {
        r * pow2(e)
    }
}

/// Rounds `c` to `bits` signed significant bits (a mantissa of `bits` bits and a free
/// exponent), as a neuron's multiply-and-shift by a constant would use it.
pub fn quantize_significant(c: f64, bits: u32) -> f64 {
    if c == 0.0 || !c.is_finite() {
        return 0.0;
    }
    let e = c.abs().log2().floor() as i32 - (bits as i32 - 2);
    (c * pow2(-e)).round() * pow2(e)
}

/// Exponent of an integer grid able to hold magnitudes up to `max_abs` in a signed
/// `bits`-bit mantissa: the smallest e with max_abs ≤ (2^(bits−1) − 1) · 2^e, so no
/// saturation for values within `max_abs`.
pub fn grid_exponent(max_abs: f64, bits: u32) -> i32 {
    let m = if max_abs > 0.0 && max_abs.is_finite() { max_abs } else { 1.0 };
    let mut e = m.log2().ceil() as i32 - (bits as i32 - 1);
    while m > (pow2(bits as i32 - 1) - 1.0) * pow2(e) {
        e += 1;
    }
    e
}

/// lava-optimization's weight exponent: `ceil(log2 max|M|) − bits + 1`.
pub fn weight_exponent(max_abs: f64, bits: u32) -> i32 {
    let m = if max_abs > 0.0 && max_abs.is_finite() { max_abs } else { 1.0 };
    m.log2().ceil() as i32 - bits as i32 + 1
}

/// A list of weights quantized into planes (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantWeights {
    /// Per plane: the weights (mantissa · 2^exp) as exact f64 values, one per synapse.
    pub planes: Vec<Vec<f64>>,
    /// Per plane: the shared exponent.
    pub exps: Vec<i32>,
    /// Largest |w − Σ planes| over all synapses (quantization error).
    pub max_error: f64,
}

impl QuantWeights {
    /// Quantizes `w` into `profile.weight_planes` planes of `weight_bits`-bit mantissas.
    /// Mantissas clamp to [−2^(b−1), 2^(b−1) − 1] (e.g. −128..127); the remainder of a
    /// clamped entry goes to the next plane.
    pub fn new(w: &[f64], profile: &FixedProfile) -> Self {
        let b = profile.weight_bits;
        let (lo, hi) = (-pow2(b as i32 - 1), pow2(b as i32 - 1) - 1.0);
        let mut rem: Vec<f64> = w.to_vec();
        let mut planes = Vec::new();
        let mut exps = Vec::new();
        for _ in 0..profile.weight_planes.max(1) {
            let maxabs = rem.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if maxabs == 0.0 && !planes.is_empty() {
                break;
            }
            let e = weight_exponent(maxabs, b);
            let plane: Vec<f64> = rem.iter().map(|&v| (v * pow2(-e)).round().clamp(lo, hi) * pow2(e)).collect();
            for (r, p) in rem.iter_mut().zip(&plane) {
                *r -= p;
            }
            planes.push(plane);
            exps.push(e);
        }
        let max_error = rem.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        Self { planes, exps, max_error }
    }

    /// Float (unquantized) weights as a single plane.
    pub fn exact(w: &[f64]) -> Self {
        Self { planes: vec![w.to_vec()], exps: vec![0], max_error: 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_exponent_matches_lava_rule() {
        // max 1.0 → ceil(log2 1) − 8 + 1 = −7: mantissa 128 saturates to 127.
        assert_eq!(weight_exponent(1.0, 8), -7);
        assert_eq!(weight_exponent(1500.0, 8), 11 - 7);
        let q = QuantWeights::new(&[1.0, -1.0, 0.5, 0.003], &FixedProfile::LOIHI2);
        assert_eq!(q.exps, vec![-7]);
        assert_eq!(q.planes[0], vec![127.0 / 128.0, -1.0, 0.5, 0.0]);
        assert_eq!(q.max_error, 1.0 / 128.0); // the clamped 1.0
    }

    #[test]
    fn two_planes_reduce_error() {
        let w = [0.3, -0.77, 0.0123, 1.9];
        let q1 = QuantWeights::new(&w, &FixedProfile::LOIHI2);
        let q2 = QuantWeights::new(&w, &FixedProfile::loihi2_planes(2));
        assert!(q1.max_error > 1e-3 && q1.max_error <= pow2(weight_exponent(1.9, 8)));
        assert!(q2.max_error < q1.max_error / 60.0, "{} vs {}", q2.max_error, q1.max_error);
        for (i, &wi) in w.iter().enumerate() {
            let s: f64 = q2.planes.iter().map(|p| p[i]).sum();
            assert!((s - wi).abs() <= q2.max_error);
        }
    }

    #[test]
    fn quantize_saturates_and_counts() {
        let mut ov = 0;
        let max = FixedProfile::LOIHI2.state_max();
        // grid 2^-10: representable range ±(2^23 − 1)·2^-10 ≈ ±8192.
        assert_eq!(quantize(1.25, -10, max, Rounding::Nearest, &mut ov), 1.25);
        assert_eq!(ov, 0);
        let big = quantize(1e6, -10, max, Rounding::Nearest, &mut ov);
        assert_eq!(big, (pow2(23) - 1.0) * pow2(-10));
        let neg = quantize(-1e9, -10, max, Rounding::Nearest, &mut ov);
        assert_eq!(neg, -big);
        assert_eq!(ov, 2);
        assert_eq!(quantize(f64::NAN, -10, max, Rounding::Nearest, &mut ov), 0.0);
        assert_eq!(ov, 3);
        // floor vs nearest
        assert_eq!(quantize(-0.4, 0, max, Rounding::Floor, &mut ov), -1.0);
        assert_eq!(quantize(-0.4, 0, max, Rounding::Nearest, &mut ov), 0.0);
    }

    #[test]
    fn grid_exponent_holds_range() {
        for &m in &[1.0, 3.7, 1e-3, 8388607.0, 8388608.0] {
            let e = grid_exponent(m, 24);
            assert!(m <= (pow2(23) - 1.0) * pow2(e));
            assert!(m > (pow2(23) - 1.0) * pow2(e - 1));
        }
        assert_eq!(quantize_significant(0.1, 16), (0.1f64 * pow2(18)).round() * pow2(-18));
    }
}
