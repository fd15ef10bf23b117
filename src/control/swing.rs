//! Swing-foot trajectories and Raibert-style footholds.
//!
//! Horizontal motion is a cubic Bézier with control points (P₀, P₀, P₁, P₁), i.e.
//! `p(s) = P₀ + (P₁ − P₀)(3s² − 2s³)`, starting and ending at rest. Height is two such
//! segments: lift-off height → apex (`s ∈ [0, ½]`) and apex → touchdown height.

use nalgebra::Vector3;

use crate::model::arm_kin::GRAVITY;

fn smooth(s: f64) -> (f64, f64) {
    let s = s.clamp(0.0, 1.0);
    (s * s * (3.0 - 2.0 * s), 6.0 * s * (1.0 - s))
}

/// One swing from lift-off to touchdown, world frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SwingTrajectory {
    /// Lift-off position [m].
    pub start: Vector3<f64>,
    /// Touchdown position [m].
    pub end: Vector3<f64>,
    /// Apex height above the higher of the two end points [m].
    pub height: f64,
    /// Swing duration [s].
    pub duration: f64,
}

impl SwingTrajectory {
    /// Position at swing progress `s ∈ [0, 1]` [m].
    #[cfg(test)]
    fn position(&self, s: f64) -> Vector3<f64> {
        self.eval(s).0
    }

    /// Position [m] and velocity [m/s] at progress `s ∈ [0, 1]`.
    pub fn eval(&self, s: f64) -> (Vector3<f64>, Vector3<f64>) {
        let s = s.clamp(0.0, 1.0);
        let ds = 1.0 / self.duration.max(1e-6);
        let (b, db) = smooth(s);
        let d = self.end - self.start;
        let mut p = self.start + d * b;
        let mut v = d * (db * ds);
        let apex = self.start.z.max(self.end.z) + self.height;
        if s < 0.5 {
            let (bz, dbz) = smooth(2.0 * s);
            p.z = self.start.z + (apex - self.start.z) * bz;
            v.z = (apex - self.start.z) * dbz * 2.0 * ds;
        } else {
            let (bz, dbz) = smooth(2.0 * s - 1.0);
            p.z = apex + (self.end.z - apex) * bz;
            v.z = (self.end.z - apex) * dbz * 2.0 * ds;
        }
        (p, v)
    }
}

/// Raibert-style foothold (x, y) in the world [m]:
/// `p = p_hip,td + v_cmd T_stance/2 + √(h/g)(v − v_cmd) + ½√(h/g)(v × ω_cmd)`, with the
/// correction limited to `max_offset` [m] from the hip.
///
/// `hip_td` is the hip position predicted at touchdown, `v` the measured and `v_cmd` the
/// commanded horizontal velocity [m/s], `yaw_rate` the commanded yaw rate [rad/s],
/// `stance_time` [s] and `height` the CoM height [m].
pub(crate) fn raibert_foothold(
    hip_td: [f64; 2],
    v: [f64; 2],
    v_cmd: [f64; 2],
    yaw_rate: f64,
    stance_time: f64,
    height: f64,
    max_offset: f64,
) -> [f64; 2] {
    let k = (height.max(0.05) / GRAVITY).sqrt();
    // v × ω with ω = (0, 0, yaw_rate): (v_y ω, −v_x ω)
    let mut dx = v_cmd[0] * stance_time / 2.0 + k * (v[0] - v_cmd[0]) + 0.5 * k * v[1] * yaw_rate;
    let mut dy = v_cmd[1] * stance_time / 2.0 + k * (v[1] - v_cmd[1]) - 0.5 * k * v[0] * yaw_rate;
    let norm = (dx * dx + dy * dy).sqrt();
    if norm > max_offset {
        dx *= max_offset / norm;
        dy *= max_offset / norm;
    }
    [hip_td[0] + dx, hip_td[1] + dy]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swing_starts_and_ends_at_rest_and_reaches_apex() {
        let tr = SwingTrajectory {
            start: Vector3::new(0.0, 0.1, 0.0),
            end: Vector3::new(0.1, 0.12, 0.0),
            height: 0.08,
            duration: 0.2,
        };
        let (p0, v0) = tr.eval(0.0);
        let (p1, v1) = tr.eval(1.0);
        assert!((p0 - tr.start).norm() < 1e-12 && (p1 - tr.end).norm() < 1e-12);
        assert!(v0.norm() < 1e-12 && v1.norm() < 1e-12);
        assert!((tr.position(0.5).z - 0.08).abs() < 1e-12);
        // Velocity is the derivative of position.
        for s in [0.1, 0.3, 0.6, 0.9] {
            let h = 1e-6;
            let fd = (tr.position(s + h) - tr.position(s - h)) / (2.0 * h) / tr.duration;
            assert!((fd - tr.eval(s).1).norm() < 1e-5);
        }
    }

    #[test]
    fn raibert_foothold_leads_with_velocity() {
        let f = raibert_foothold([0.2, -0.1], [0.5, 0.0], [0.5, 0.0], 0.0, 0.2, 0.3, 0.2);
        assert!((f[0] - (0.2 + 0.05)).abs() < 1e-12 && (f[1] + 0.1).abs() < 1e-12);
        // Going faster than commanded steps further forward.
        let g = raibert_foothold([0.2, -0.1], [0.8, 0.0], [0.5, 0.0], 0.0, 0.2, 0.3, 0.2);
        assert!(g[0] > f[0]);
        // Limited offset.
        let h = raibert_foothold([0.0, 0.0], [10.0, 0.0], [0.0, 0.0], 0.0, 0.2, 0.3, 0.15);
        assert!((h[0] - 0.15).abs() < 1e-12);
    }
}
