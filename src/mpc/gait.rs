//! Periodic gait scheduler: which feet are in stance at a given time.
//!
//! Each leg `i` has phase `φ_i(t) = frac(t / T + offset_i)`; it is in stance while
//! `φ_i < duty` and in swing for the rest of the cycle. A duty factor of 1 means every foot
//! always stands.

/// Which gait to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum GaitKind {
    /// All four feet on the ground.
    #[default]
    Stand,
    /// Diagonal pairs (FR+RL, FL+RR) alternate.
    Trot,
}

/// A periodic gait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Gait {
    /// Cycle period T [s].
    pub period: f64,
    /// Fraction of the cycle each foot is in stance, in (0, 1].
    pub duty: f64,
    /// Phase offset of each leg (FR, FL, RR, RL) in cycles, in [0, 1).
    pub offsets: [f64; 4],
}

impl Gait {
    /// Standing: all feet always in stance.
    pub fn stand() -> Self {
        Self { period: 1.0, duty: 1.0, offsets: [0.0; 4] }
    }

    /// Trot with the given period [s] and duty factor: FR and RL in phase, FL and RR half a
    /// cycle later.
    pub fn trot(period: f64, duty: f64) -> Self {
        Self { period, duty: duty.clamp(0.05, 1.0), offsets: [0.0, 0.5, 0.5, 0.0] }
    }

    /// Gait of `kind` with the trot period [s] and duty factor given.
    pub(crate) fn of_kind(kind: GaitKind, trot_period: f64, trot_duty: f64) -> Self {
        match kind {
            GaitKind::Stand => Self::stand(),
            GaitKind::Trot => Self::trot(trot_period, trot_duty),
        }
    }

    /// Phase of leg `i` at time `t` [s], in [0, 1).
    pub fn phase(&self, i: usize, t: f64) -> f64 {
        let p = (t / self.period + self.offsets[i]).rem_euclid(1.0);
        if p.is_finite() { p } else { 0.0 }
    }

    /// True when leg `i` is scheduled in stance at time `t`.
    pub(crate) fn in_stance(&self, i: usize, t: f64) -> bool {
        self.duty >= 1.0 || self.phase(i, t) < self.duty
    }

    /// Progress through the swing in [0, 1) of leg `i` at `t`, or `None` in stance.
    pub(crate) fn swing_progress(&self, i: usize, t: f64) -> Option<f64> {
        if self.in_stance(i, t) {
            None
        } else {
            Some(((self.phase(i, t) - self.duty) / (1.0 - self.duty)).clamp(0.0, 1.0))
        }
    }

    /// Stance duration [s].
    pub(crate) fn stance_time(&self) -> f64 {
        self.duty * self.period
    }

    /// Swing duration [s] (0 when standing).
    pub(crate) fn swing_time(&self) -> f64 {
        (1.0 - self.duty).max(0.0) * self.period
    }

    /// Time from `t` until leg `i` next touches down [s] (0 while in stance).
    pub(crate) fn time_to_touchdown(&self, i: usize, t: f64) -> f64 {
        if self.in_stance(i, t) { 0.0 } else { (1.0 - self.phase(i, t)) * self.period }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trot_timing() {
        let g = Gait::trot(0.4, 0.5);
        // t = 0: FR, RL start stance; FL, RR start swing.
        assert!(g.in_stance(0, 0.0) && g.in_stance(3, 0.0));
        assert!(!g.in_stance(1, 0.0) && !g.in_stance(2, 0.0));
        // 0.19 s later still the same; at 0.21 s they have swapped.
        assert!(g.in_stance(0, 0.19) && !g.in_stance(1, 0.19));
        assert!(!g.in_stance(0, 0.21) && g.in_stance(1, 0.21) && g.in_stance(2, 0.21) && !g.in_stance(3, 0.21));
        // Diagonal pairs always complementary, exactly two feet down.
        for k in 0..400 {
            let t = k as f64 * 0.001 + 0.0005;
            let n = (0..4).filter(|&i| g.in_stance(i, t)).count();
            assert_eq!(n, 2, "t = {t}");
            assert_eq!(g.in_stance(0, t), g.in_stance(3, t));
            assert_eq!(g.in_stance(1, t), g.in_stance(2, t));
        }
        // Swing progress of FL at t = 0.1: 0.1/0.2 = 0.5; touchdown in 0.1 s.
        let s = g.swing_progress(1, 0.1).expect("swing");
        assert!((s - 0.5).abs() < 1e-12);
        assert!((g.time_to_touchdown(1, 0.1) - 0.1).abs() < 1e-12);
        assert!((g.stance_time() - 0.2).abs() < 1e-12 && (g.swing_time() - 0.2).abs() < 1e-12);
    }

    #[test]
    fn duty_factor_sets_stance_fraction() {
        let g = Gait::trot(0.5, 0.6);
        let n = 10_000;
        let stance = (0..n).filter(|&k| g.in_stance(2, k as f64 * 0.5 / n as f64)).count();
        assert!((stance as f64 / n as f64 - 0.6).abs() < 1e-3);
    }

    #[test]
    fn stand_always_in_stance() {
        let g = Gait::stand();
        for k in 0..100 {
            for i in 0..4 {
                assert!(g.in_stance(i, k as f64 * 0.037));
            }
        }
    }
}
