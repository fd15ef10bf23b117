//! Quadruped leg kinematics for the simulator's Go1-like robot ([`GO1`]).
//!
//! Base frame: x forward, y left, z up, origin at the trunk CoM. Legs FR, FL, RR, RL; each
//! leg has hip abduction `q0` (about x), thigh `q1` (about y) and calf `q2` (about y).
//! The chain, matching the MJCF built from the same constants:
//!
//! ```text
//! p_foot = p_hip + Rx(q0) · ( [0, s_y·d, 0] + Ry(q1) · ( [0, 0, −l1] + Ry(q2) · [0, 0, −l2] ) )
//! ```
//!
//! with `p_hip = (s_x·hx, s_y·hy, 0)`, `d` the thigh offset and `l1`, `l2` the thigh and
//! calf lengths; the foot point is the centre of the foot sphere. All functions are
//! allocation-free.

use nalgebra::{Matrix3, Vector3};
use spikectl_robot::robots::{GO1, QuadrupedParams};

/// Kinematic model of one leg.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    /// Hip-abduction joint position in the base frame [m].
    pub hip: Vector3<f64>,
    /// Signed lateral thigh offset `s_y·d` [m].
    pub offset_y: f64,
    /// Thigh length [m].
    pub l1: f64,
    /// Calf length [m].
    pub l2: f64,
    /// Thigh CoM along the thigh, fraction of `l1` from the hip-pitch axis.
    pub thigh_com: f64,
    /// Calf CoM along the calf, fraction of `l2` from the knee.
    pub calf_com: f64,
}

impl Leg {
    /// Leg `i` (0 FR, 1 FL, 2 RR, 3 RL) of robot `p`.
    pub fn new(p: &QuadrupedParams, i: usize) -> Self {
        let (sx, sy) = QuadrupedParams::leg_signs(i);
        Self {
            hip: Vector3::new(sx * p.hip_offset[0], sy * p.hip_offset[1], 0.0),
            offset_y: sy * p.thigh_offset,
            l1: p.thigh_length,
            l2: p.calf_length,
            thigh_com: p.thigh_com_fraction,
            calf_com: p.calf_com_fraction,
        }
    }

    /// The four legs of [`GO1`].
    pub fn go1_legs() -> [Leg; 4] {
        Self::legs(&GO1)
    }

    /// The four legs (FR, FL, RR, RL) of the robot `p`.
    pub fn legs(p: &QuadrupedParams) -> [Leg; 4] {
        [Leg::new(p, 0), Leg::new(p, 1), Leg::new(p, 2), Leg::new(p, 3)]
    }

    /// Foot position in the base frame [m] for joint angles `q` [rad].
    pub(crate) fn foot_position(&self, q: &[f64; 3]) -> Vector3<f64> {
        self.hip + self.foot_in_hip(q)
    }

    /// Foot position relative to the hip-abduction joint, base-frame axes [m].
    pub(crate) fn foot_in_hip(&self, q: &[f64; 3]) -> Vector3<f64> {
        let (s0, c0) = q[0].sin_cos();
        let (s1, c1) = q[1].sin_cos();
        let (s12, c12) = (q[1] + q[2]).sin_cos();
        let x = -self.l1 * s1 - self.l2 * s12;
        let z = -self.l1 * c1 - self.l2 * c12;
        let y = self.offset_y;
        Vector3::new(x, c0 * y - s0 * z, s0 * y + c0 * z)
    }

    /// Knee (calf joint) position in the base frame [m].
    pub(crate) fn knee_position(&self, q: &[f64; 3]) -> Vector3<f64> {
        let (s1, c1) = q[1].sin_cos();
        self.hip + self.rx(q[0]) * Vector3::new(-self.l1 * s1, self.offset_y, -self.l1 * c1)
    }

    /// Centres of mass of the hip, thigh and calf links in the base frame [m], placed as in
    /// the simulator's MJCF: hip link at half the thigh offset, thigh and calf at the
    /// description's CoM fractions of their lengths ([`QuadrupedParams::thigh_com_fraction`],
    /// [`QuadrupedParams::calf_com_fraction`]).
    pub fn link_coms(&self, q: &[f64; 3]) -> [Vector3<f64>; 3] {
        let rx = self.rx(q[0]);
        let (s1, c1) = q[1].sin_cos();
        let (s12, c12) = (q[1] + q[2]).sin_cos();
        let y = self.offset_y;
        let hip = self.hip + rx * Vector3::new(0.0, 0.5 * y, 0.0);
        let f = self.thigh_com;
        let thigh = self.hip + rx * Vector3::new(-f * self.l1 * s1, y, -f * self.l1 * c1);
        let g = self.calf_com;
        let calf =
            self.hip + rx * Vector3::new(-self.l1 * s1 - g * self.l2 * s12, y, -self.l1 * c1 - g * self.l2 * c12);
        [hip, thigh, calf]
    }

    /// Joint torques [N·m] that hold this leg's links (masses `m` of hip, thigh, calf [kg])
    /// against gravity, `up` being the world up axis in the base frame: `∂V/∂q` with
    /// `V = g Σ m_k (up · p_k)`, by central differences (error ≈ 1e-9 N·m).
    pub fn gravity_torques(&self, q: &[f64; 3], up: &Vector3<f64>, m: &[f64; 3]) -> Vector3<f64> {
        let v = |qq: &[f64; 3]| {
            let c = self.link_coms(qq);
            9.81 * (m[0] * up.dot(&c[0]) + m[1] * up.dot(&c[1]) + m[2] * up.dot(&c[2]))
        };
        let h = 1e-6;
        let mut t = Vector3::zeros();
        for j in 0..3 {
            let mut qp = *q;
            let mut qm = *q;
            qp[j] += h;
            qm[j] -= h;
            t[j] = (v(&qp) - v(&qm)) / (2.0 * h);
        }
        t
    }

    /// Rotation about x by `a` [rad].
    pub fn rx(&self, a: f64) -> Matrix3<f64> {
        let (s, c) = a.sin_cos();
        Matrix3::new(1.0, 0.0, 0.0, 0.0, c, -s, 0.0, s, c)
    }

    /// Foot Jacobian ∂p_foot/∂q (base frame) [m/rad].
    pub fn jacobian(&self, q: &[f64; 3]) -> Matrix3<f64> {
        let (s0, c0) = q[0].sin_cos();
        let (s1, c1) = q[1].sin_cos();
        let (s12, c12) = (q[1] + q[2]).sin_cos();
        let y = self.offset_y;
        let z = -self.l1 * c1 - self.l2 * c12;
        let dx1 = -self.l1 * c1 - self.l2 * c12;
        let dx2 = -self.l2 * c12;
        let dz1 = self.l1 * s1 + self.l2 * s12;
        let dz2 = self.l2 * s12;
        Matrix3::new(0.0, dx1, dx2, -s0 * y - c0 * z, -s0 * dz1, -s0 * dz2, c0 * y - s0 * z, c0 * dz1, c0 * dz2)
    }

    /// Inverse kinematics: joint angles [rad] that put the foot at `p` (base frame) with
    /// the knee pointing backwards (`q2 < 0`). Unreachable targets are projected onto the
    /// reachable set (the leg stretches towards them); the result is always finite for
    /// finite input. Returns `None` for non-finite input.
    pub fn inverse(&self, p: &Vector3<f64>) -> Option<[f64; 3]> {
        if !(p.x.is_finite() && p.y.is_finite() && p.z.is_finite()) {
            return None;
        }
        let r = p - self.hip;
        let d = self.offset_y;
        // Distance in the y–z plane must be at least |d|; the sagittal foot height is the rest.
        let ryz2 = r.y * r.y + r.z * r.z;
        let zs2 = (ryz2 - d * d).max(1e-8);
        let zs = -zs2.sqrt();
        let q0 = r.z.atan2(r.y) - zs.atan2(d);
        let q0 = wrap_angle(q0);
        // Planar two-link problem in the leg plane: (x, zs).
        let (l1, l2) = (self.l1, self.l2);
        let mut x = r.x;
        let mut z = zs;
        let reach = (x * x + z * z).sqrt();
        let max_reach = (l1 + l2) * 0.9999;
        let min_reach = (l1 - l2).abs() + 1e-4;
        if reach > max_reach || reach < min_reach {
            let target = reach.clamp(min_reach, max_reach);
            let scale = if reach > 1e-9 { target / reach } else { 0.0 };
            if scale == 0.0 {
                z = -target;
            } else {
                x *= scale;
                z *= scale;
            }
        }
        let r2 = x * x + z * z;
        let c2 = ((r2 - l1 * l1 - l2 * l2) / (2.0 * l1 * l2)).clamp(-1.0, 1.0);
        let q2 = -c2.acos();
        let (s2, c2) = q2.sin_cos();
        let k1 = l1 + l2 * c2;
        let k2 = l2 * s2;
        let q1 = (-x).atan2(-z) - k2.atan2(k1);
        Some([q0, wrap_angle(q1), q2])
    }
}

/// Whole-body centre of mass in the base frame [m] for joint angles `q` (FR, FL, RR, RL ×
/// hip, thigh, calf): trunk mass at the base origin plus every leg link (see
/// [`Leg::link_coms`]).
pub fn body_com(p: &QuadrupedParams, legs: &[Leg; 4], q: &[f64; 12]) -> Vector3<f64> {
    let mut c = Vector3::zeros();
    for i in 0..4 {
        let coms = legs[i].link_coms(&[q[3 * i], q[3 * i + 1], q[3 * i + 2]]);
        for k in 0..3 {
            c += coms[k] * p.link_masses[k];
        }
    }
    c / p.total_mass()
}

/// Wraps an angle to (−π, π].
pub(crate) fn wrap_angle(a: f64) -> f64 {
    let two_pi = std::f64::consts::TAU;
    let mut w = a.rem_euclid(two_pi);
    if w > std::f64::consts::PI {
        w -= two_pi;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd_jacobian(leg: &Leg, q: &[f64; 3]) -> Matrix3<f64> {
        let h = 1e-6;
        let mut j = Matrix3::zeros();
        for c in 0..3 {
            let mut qp = *q;
            let mut qm = *q;
            qp[c] += h;
            qm[c] -= h;
            let d = (leg.foot_position(&qp) - leg.foot_position(&qm)) / (2.0 * h);
            j.set_column(c, &d);
        }
        j
    }

    #[test]
    fn jacobian_matches_finite_differences() {
        let qs = [[0.0, 0.67, -1.3], [0.3, -0.2, -2.0], [-0.4, 1.1, -0.9], [0.1, 0.0, -0.5]];
        for i in 0..4 {
            let leg = Leg::new(&GO1, i);
            for q in &qs {
                let err = (leg.jacobian(q) - fd_jacobian(&leg, q)).abs().max();
                assert!(err < 1e-7, "leg {i} q {q:?}: err {err}");
            }
        }
    }

    #[test]
    fn standing_foot_is_below_hip_with_offset() {
        for i in 0..4 {
            let leg = Leg::new(&GO1, i);
            let p = leg.foot_position(&[0.0, 0.0, 0.0]);
            assert!((p.x - leg.hip.x).abs() < 1e-12);
            assert!((p.y - leg.hip.y - leg.offset_y).abs() < 1e-12);
            assert!((p.z + GO1.thigh_length + GO1.calf_length).abs() < 1e-12);
        }
    }

    #[test]
    fn inverse_kinematics_round_trips() {
        let qs = [[0.0, 0.67, -1.3], [0.3, -0.2, -2.0], [-0.4, 1.1, -0.9], [0.2, 0.5, -1.6]];
        for i in 0..4 {
            let leg = Leg::new(&GO1, i);
            for q in &qs {
                let p = leg.foot_position(q);
                let qi = leg.inverse(&p).expect("finite");
                let err = (leg.foot_position(&qi) - p).norm();
                assert!(err < 1e-9, "leg {i} q {q:?} -> {qi:?}: {err}");
                for k in 0..3 {
                    assert!((qi[k] - q[k]).abs() < 1e-7, "leg {i} q {q:?} -> {qi:?}");
                }
            }
        }
    }

    #[test]
    fn inverse_kinematics_of_unreachable_target_is_finite() {
        let leg = Leg::new(&GO1, 0);
        for p in [Vector3::new(0.0, 0.0, -2.0), Vector3::new(0.19, -0.05, 0.0), leg.hip] {
            let q = leg.inverse(&p).expect("finite input");
            assert!(q.iter().all(|v| v.is_finite()));
        }
        assert!(leg.inverse(&Vector3::new(f64::NAN, 0.0, 0.0)).is_none());
    }
}
