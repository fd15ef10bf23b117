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

/// 2^e as f64: built from the exponent bits for normal results (−1022 ≤ e ≤ 1023, exact),
/// `f64::powi(2.0, e)` outside that range (the value the simulator has always used there).
#[inline]
pub fn pow2(e: i32) -> f64 {
    if (-1022..=1023).contains(&e) { f64::from_bits(((e + 1023) as u64) << 52) } else { f64::powi(2.0, e) }
}

/// Below this magnitude an f64 may have a fractional part; from it on every f64 is an
/// integer (2^52).
const FRACTION_LIMIT: f64 = 4_503_599_627_370_496.0;

/// The largest f64 below ½: adding it with the sign of x and truncating rounds x to the
/// nearest integer with ties away from zero, exactly (LLVM's own lowering of `round`).
const JUST_BELOW_HALF: f64 = 0.499_999_999_999_999_94;

/// `s` rounded to an integer by `rounding`, bit-identical to `f64::round` (ties away from
/// zero) or `f64::floor`, including the sign of a zero result and NaN passing through. On
/// the baseline x86-64 target those are library calls; this is an add, a truncating
/// conversion and selects, without data-dependent branches (a rounding direction decided by
/// a branch mispredicts on half the values).
#[inline(always)]
pub fn round_to_int(s: f64, rounding: Rounding) -> f64 {
    // |s| < 2^52: exact in an i64 and possibly fractional. The sum below stays below 2^52 + ½,
    // and its truncation is exact.
    let small = s.abs() < FRACTION_LIMIT;
    let r = match rounding {
        Rounding::Nearest => ((s + JUST_BELOW_HALF.copysign(s)) as i64) as f64,
        Rounding::Floor => {
            let t = (s as i64) as f64;
            if t > s { t - 1.0 } else { t }
        }
    };
    // A zero result keeps the sign of s (round/floor give −0 for s in (−½, −0]); a non-zero
    // one has it already. Larger magnitudes, ±∞ and NaN are returned as they are.
    if small { r.copysign(s) } else { s }
}

/// Rounds `v / 2^e` to an integer with `rounding`, clamps it to ±`max` (counting a
/// saturation in `overflows`), and returns the result times 2^e. NaN gives 0 and counts.
#[inline]
pub fn quantize(v: f64, e: i32, max: f64, rounding: Rounding, overflows: &mut u64) -> f64 {
    Grid::new(e, max, rounding).quantize(v, overflows)
}

/// One fixed-point grid with its constants precomputed: [`quantize`] for loops over many
/// values on the same grid (bit-identical to it).
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    /// 2^−e.
    inv: f64,
    /// 2^e.
    lsb: f64,
    /// Largest mantissa.
    max: f64,
    rounding: Rounding,
}

impl Grid {
    /// The grid 2^`e` with mantissas clamped to ±`max`.
    #[inline]
    pub fn new(e: i32, max: f64, rounding: Rounding) -> Self {
        Self { inv: pow2(-e), lsb: pow2(e), max, rounding }
    }

    /// The state grid 2^`e` of `profile` (mantissas of `state_bits`).
    #[inline]
    pub fn state(e: i32, profile: &FixedProfile) -> Self {
        Self::new(e, profile.state_max(), profile.rounding)
    }

    /// True when the grid rounds to nearest ([`Rounding::Nearest`]).
    #[inline]
    pub fn nearest(&self) -> bool {
        self.rounding == Rounding::Nearest
    }

    /// [`quantize`] on this grid for loops the compiler vectorizes: `NEAREST` must be
    /// [`Grid::nearest`]; returns the value and whether it saturated (or was NaN), to be
    /// counted by the caller. Bit-identical to [`Grid::quantize`]. The rounding uses
    /// `f64::trunc`/`f64::floor`, single instructions on targets with SSE4.1 (AVX2 and
    /// AVX-512 loops; see `network.rs`) and library calls on the x86-64 baseline, where
    /// [`Grid::quantize`] is the faster choice.
    #[inline(always)]
    pub fn quantize_lane<const NEAREST: bool>(&self, v: f64) -> (f64, bool) {
        let x = v * self.inv;
        // trunc(x + copysign(largest f64 below ½, x)) is round-half-away-from-zero for every x
        // (and keeps ±0, ±∞ and NaN).
        let r = if NEAREST { (x + JUST_BELOW_HALF.copysign(x)).trunc() } else { x.floor() };
        let nan = r.is_nan();
        let over = r > self.max;
        let under = r < -self.max;
        let q = if over {
            self.max * self.lsb
        } else if under {
            -self.max * self.lsb
        } else {
            r * self.lsb
        };
        (if nan { 0.0 } else { q }, nan | over | under)
    }

    /// [`quantize`] on this grid.
    #[inline(always)]
    pub fn quantize(&self, v: f64, overflows: &mut u64) -> f64 {
        let r = round_to_int(v * self.inv, self.rounding);
        if r.is_nan() {
            *overflows += 1;
            return 0.0;
        }
        if r > self.max {
            *overflows += 1;
            self.max * self.lsb
        } else if r < -self.max {
            *overflows += 1;
            -self.max * self.lsb
        } else {
            r * self.lsb
        }
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
            let (inv, lsb) = (pow2(-e), pow2(e));
            let plane: Vec<f64> =
                rem.iter().map(|&v| round_to_int(v * inv, Rounding::Nearest).clamp(lo, hi) * lsb).collect();
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

    /// The quantization as first written (f64 library round/floor and powi), the reference
    /// the fast path must equal bit for bit.
    fn quantize_reference(v: f64, e: i32, max: f64, rounding: Rounding, overflows: &mut u64) -> f64 {
        let p = |e: i32| f64::powi(2.0, e);
        let s = v * p(-e);
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
            max * p(e)
        } else if r < -max {
            *overflows += 1;
            -max * p(e)
        } else {
            r * p(e)
        }
    }

    #[test]
    fn fast_rounding_and_quantize_are_bit_identical_to_the_library_ones() {
        let mut vals = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            0.3,
            -0.3,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            4_503_599_627_370_495.5,
            -4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.007_199_254_740_993e15,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
            -5e-324,
            f64::MAX,
        ];
        // a deterministic spread over magnitudes and fractions
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mag = ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0f64.powi((x % 64) as i32 - 20);
            vals.push(if x & 1 == 0 { mag } else { -mag });
            vals.push((mag * 4.0).round() / 4.0 * if x & 2 == 0 { 1.0 } else { -1.0 });
        }
        for &v in &vals {
            assert_eq!(round_to_int(v, Rounding::Nearest).to_bits(), v.round().to_bits(), "round {v:e}");
            assert_eq!(round_to_int(v, Rounding::Floor).to_bits(), v.floor().to_bits(), "floor {v:e}");
        }
        for e in [-1100, -1074, -1023, -1022, -40, -13, -1, 0, 1, 7, 30, 1023, 1024, 1100] {
            assert_eq!(pow2(e).to_bits(), f64::powi(2.0, e).to_bits(), "2^{e}");
        }
        let max = FixedProfile::LOIHI2.state_max();
        for &v in &vals {
            for e in [-30, -13, -8, 0, 4] {
                for r in [Rounding::Nearest, Rounding::Floor] {
                    let (mut o1, mut o2) = (0, 0);
                    let a = quantize(v, e, max, r, &mut o1);
                    let b = quantize_reference(v, e, max, r, &mut o2);
                    assert_eq!((a.to_bits(), o1), (b.to_bits(), o2), "quantize({v:e}, {e}, {r:?})");
                    let g = Grid::new(e, max, r);
                    let (c, sat) = if g.nearest() { g.quantize_lane::<true>(v) } else { g.quantize_lane::<false>(v) };
                    assert_eq!((c.to_bits(), u64::from(sat)), (b.to_bits(), o2), "quantize_lane({v:e}, {e}, {r:?})");
                }
            }
        }
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
