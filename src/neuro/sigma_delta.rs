//! Sigma-delta graded-spike messaging: a neuron sends the change of its output only when
//! that change reaches a threshold θ; what it does not send stays as the difference between
//! its output and what its receivers have accumulated, so it is carried forward and sent
//! later (never dropped). Receivers integrate the changes into running sums ("sigma").
//!
//! With θ = 0 every change is sent and receivers hold the exact weighted sum of the
//! current outputs; with θ > 0 each receiver's view of a sender is off by less than θ
//! (plus a saturated remainder in fixed point, which is also carried).

/// A threshold schedule θ(k) over iterations k: θ₀ halved every `halve_every` iterations
/// (never when 0), floored at `min`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThetaSchedule {
    /// Initial threshold θ₀ (in the units of the sender's output; 0 sends every change).
    pub theta0: f64,
    /// Halving period in iterations (0: constant θ₀).
    pub halve_every: usize,
    /// Lower bound on θ.
    pub min: f64,
}

impl ThetaSchedule {
    /// θ = 0 forever: every change is sent.
    pub const ZERO: ThetaSchedule = ThetaSchedule { theta0: 0.0, halve_every: 0, min: 0.0 };

    /// A constant threshold.
    pub fn constant(theta: f64) -> Self {
        Self { theta0: theta.max(0.0), halve_every: 0, min: theta.max(0.0) }
    }

    /// θ at iteration `k`.
    pub fn at(&self, k: usize) -> f64 {
        if self.halve_every == 0 {
            return self.theta0;
        }
        let halvings = (k / self.halve_every).min(1000) as i32;
        (self.theta0 * f64::powi(0.5, halvings)).max(self.min)
    }
}

/// Decides what one sender transmits: given its output `out`, the value its receivers hold
/// (`sent`) and θ, returns the delta to send (0 when nothing is sent). In fixed point the
/// delta is clamped to ±`msg_max`·2^`exp` (the payload width): the clamped remainder stays
/// in `out − sent` and goes out later. Returns `(delta, saturated)`.
#[inline]
pub fn encode(out: f64, sent: f64, theta: f64, msg_limit: Option<f64>) -> (f64, bool) {
    let d = out - sent;
    if d == 0.0 || d.abs() < theta || d.is_nan() {
        return (0.0, false);
    }
    match msg_limit {
        Some(lim) if d.abs() > lim => (lim.copysign(d), true),
        _ => (d, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_halves() {
        let s = ThetaSchedule { theta0: 1.0, halve_every: 10, min: 0.1 };
        assert_eq!(s.at(0), 1.0);
        assert_eq!(s.at(9), 1.0);
        assert_eq!(s.at(10), 0.5);
        assert_eq!(s.at(35), 0.125);
        assert_eq!(s.at(100_000), 0.1);
        assert_eq!(ThetaSchedule::ZERO.at(5), 0.0);
    }

    #[test]
    fn remainder_is_carried_not_dropped() {
        // A signal creeping up by 0.3 per step with θ = 1: nothing for 3 steps, then the
        // accumulated 1.2 goes out at once; the receiver is never θ or more behind.
        let (mut sent, mut out) = (0.0, 0.0);
        let mut msgs = 0;
        for step in 1..=10 {
            out += 0.3;
            let (d, sat) = encode(out, sent, 1.0, None);
            assert!(!sat);
            if d != 0.0 {
                msgs += 1;
                sent += d;
            }
            assert!(out - sent < 1.0 + 1e-12, "step {step}");
        }
        // Sent at steps 4 (1.2) and 8 (1.2); the last 0.6 is still pending, not lost.
        assert_eq!(msgs, 2);
        assert!((sent - 2.4).abs() < 1e-12);
        assert!((out - sent - 0.6).abs() < 1e-12);
    }

    #[test]
    fn payload_saturation_keeps_remainder() {
        let (d, sat) = encode(10.0, 0.0, 0.0, Some(4.0));
        assert_eq!((d, sat), (4.0, true));
        let (d2, _) = encode(10.0, d, 0.0, Some(4.0));
        let (d3, sat3) = encode(10.0, d + d2, 0.0, Some(4.0));
        assert_eq!((d2, d3, sat3), (4.0, 2.0, false));
    }
}
