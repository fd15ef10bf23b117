//! Kinematics and statics of the Panda-like 7-DoF arm ([`PANDA`]).
//!
//! Craig (modified) DH convention: `T_{i−1,i} = RotX(α_{i−1}) · TransX(a_{i−1}) ·
//! RotZ(θ_i) · TransZ(d_i)`, then the flange `TransZ(flange_d)` and the tool
//! `TransZ(tool_length)`; the tool-centre point (TCP) is the tool tip. The arm base is the
//! world origin (z up). Gravity compensation uses the link masses of [`PANDA`], the
//! approximate centres of mass [`ArmParams::link_coms`] (identified Panda values, rounded; the
//! simulator's MJCF uses the same) and the tool as a point mass at half its length. All
//! functions are allocation-free.

use nalgebra::{Isometry3, Matrix3, Matrix6, SMatrix, SVector, Translation3, UnitQuaternion, Vector3};
use spikectl_robot::robots::{ArmParams, PANDA};

/// 6×7 geometric Jacobian: rows 0..3 linear velocity [m/s per rad/s], rows 3..6 angular.
pub(crate) type ArmJacobian = SMatrix<f64, 6, 7>;
/// A 7-vector (joint angles, velocities or torques).
pub(crate) type Vector7 = SVector<f64, 7>;

/// Standard gravity [m/s²].
pub const GRAVITY: f64 = 9.81;

/// Frames of the arm at one configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmFrames {
    /// Pose of link frame i (i = 1..7 stored at index i−1) in the world.
    pub links: [Isometry3<f64>; 7],
    /// Pose of the TCP (tool tip) in the world.
    pub tcp: Isometry3<f64>,
}

/// Kinematic and mass model of the arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmModel {
    /// Geometry and masses.
    pub params: ArmParams,
    /// Link centres of mass in link frames [m].
    pub coms: [[f64; 3]; 7],
    /// Point mass of the tool at the tool's mid-length [kg] (0 = not modelled).
    pub tool_mass: f64,
}

impl Default for ArmModel {
    /// The [`PANDA`] description with its tool.
    fn default() -> Self {
        Self::new(&PANDA)
    }
}

fn dh(alpha: f64, a: f64, theta: f64, d: f64) -> Isometry3<f64> {
    let rx = UnitQuaternion::from_axis_angle(&Vector3::x_axis(), alpha);
    let rz = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), theta);
    // RotX(α)·TransX(a)·RotZ(θ)·TransZ(d): t = RotX(α)·(a, 0, 0) + RotX(α)RotZ(θ)·(0, 0, d).
    let r = rx * rz;
    let t = rx * Vector3::new(a, 0.0, 0.0) + r * Vector3::new(0.0, 0.0, d);
    Isometry3::from_parts(Translation3::from(t), r)
}

impl ArmModel {
    /// The model of arm `p`, with its tool.
    pub fn new(p: &ArmParams) -> Self {
        Self { params: *p, coms: p.link_coms, tool_mass: p.tool_mass }
    }

    /// All link frames and the TCP pose for joint angles `q` [rad].
    pub fn frames(&self, q: &[f64; 7]) -> ArmFrames {
        let p = &self.params;
        let mut t = Isometry3::identity();
        let mut links = [Isometry3::identity(); 7];
        for i in 0..7 {
            t *= dh(p.dh_alpha[i], p.dh_a[i], q[i], p.dh_d[i]);
            links[i] = t;
        }
        let tcp = t * Isometry3::translation(0.0, 0.0, p.flange_d + p.tool_length);
        ArmFrames { links, tcp }
    }

    /// TCP pose in the world.
    pub fn tcp_pose(&self, q: &[f64; 7]) -> Isometry3<f64> {
        self.frames(q).tcp
    }

    /// Geometric Jacobian of the TCP (linear; angular), world frame.
    pub fn jacobian(&self, q: &[f64; 7]) -> ArmJacobian {
        let f = self.frames(q);
        self.jacobian_of_point(&f, &f.tcp.translation.vector, 7)
    }

    /// Geometric Jacobian of a world point rigidly attached to link `upto` (1..=7), using
    /// joints 1..=upto (other columns zero).
    fn jacobian_of_point(&self, f: &ArmFrames, point: &Vector3<f64>, upto: usize) -> ArmJacobian {
        let mut j = ArmJacobian::zeros();
        for i in 0..upto {
            let z = f.links[i].rotation * Vector3::z();
            let o = f.links[i].translation.vector;
            let v = z.cross(&(point - o));
            j.fixed_view_mut::<3, 1>(0, i).copy_from(&v);
            j.fixed_view_mut::<3, 1>(3, i).copy_from(&z);
        }
        j
    }

    /// Joint torques [N·m] that hold the arm still against gravity: ∂V/∂q with
    /// V = Σ m_j g z_com,j (plus the tool mass if modelled).
    pub fn gravity_torques(&self, q: &[f64; 7]) -> Vector7 {
        let f = self.frames(q);
        let mut tau = Vector7::zeros();
        for j in 0..7 {
            let c = f.links[j] * nalgebra::Point3::from(Vector3::from(self.coms[j]));
            self.add_point_mass_torque(&f, &c.coords, j + 1, self.params.link_masses[j], &mut tau);
        }
        if self.tool_mass > 0.0 {
            let c = f.links[6] * nalgebra::Point3::new(0.0, 0.0, self.params.flange_d + 0.5 * self.params.tool_length);
            self.add_point_mass_torque(&f, &c.coords, 7, self.tool_mass, &mut tau);
        }
        tau
    }

    fn add_point_mass_torque(&self, f: &ArmFrames, c: &Vector3<f64>, upto: usize, m: f64, tau: &mut Vector7) {
        for i in 0..upto {
            let z = f.links[i].rotation * Vector3::z();
            let o = f.links[i].translation.vector;
            // ∂z_c/∂q_i = (z_i × (c − o_i))_z
            tau[i] += m * GRAVITY * z.cross(&(c - o)).z;
        }
    }

    /// Potential energy V = Σ m g z_com [J] (for checking [`Self::gravity_torques`]).
    pub fn potential_energy(&self, q: &[f64; 7]) -> f64 {
        let f = self.frames(q);
        let mut v = 0.0;
        for j in 0..7 {
            let c = f.links[j] * nalgebra::Point3::from(Vector3::from(self.coms[j]));
            v += self.params.link_masses[j] * GRAVITY * c.z;
        }
        if self.tool_mass > 0.0 {
            let c = f.links[6] * nalgebra::Point3::new(0.0, 0.0, self.params.flange_d + 0.5 * self.params.tool_length);
            v += self.tool_mass * GRAVITY * c.z;
        }
        v
    }
}

/// Damped least-squares pseudo-inverse of J Jᵀ used by the null-space projector:
/// returns `N = I − Jᵀ (J Jᵀ + λ²I)⁻¹ J` (7×7, dynamically inconsistent projector).
pub(crate) fn nullspace_projector(j: &ArmJacobian, damping: f64) -> SMatrix<f64, 7, 7> {
    let jjt: Matrix6<f64> = j * j.transpose() + Matrix6::identity() * (damping * damping);
    let inv = jjt.try_inverse().unwrap_or_else(Matrix6::zeros);
    SMatrix::<f64, 7, 7>::identity() - j.transpose() * inv * j
}

/// Orientation error vector (axis·angle, world frame) that rotates `current` onto `desired`.
pub(crate) fn orientation_error(current: &UnitQuaternion<f64>, desired: &UnitQuaternion<f64>) -> Vector3<f64> {
    let e = desired * current.inverse();
    e.scaled_axis()
}

/// Rotation matrix of a unit quaternion (helper for callers without nalgebra imports).
pub fn rotation_matrix(r: &UnitQuaternion<f64>) -> Matrix3<f64> {
    r.to_rotation_matrix().into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    const QS: [[f64; 7]; 3] = [
        [0.0, -0.3, 0.0, -2.2, 0.0, 1.9, 0.785],
        [0.4, 0.2, -0.3, -1.5, 0.6, 1.2, -0.4],
        [-1.0, 0.8, 0.9, -2.6, -1.2, 2.5, 1.5],
    ];

    #[test]
    fn jacobian_matches_finite_differences() {
        let m = ArmModel::default();
        let h = 1e-6;
        for q in &QS {
            let j = m.jacobian(q);
            for c in 0..7 {
                let mut qp = *q;
                let mut qm = *q;
                qp[c] += h;
                qm[c] -= h;
                let (tp, tm) = (m.tcp_pose(&qp), m.tcp_pose(&qm));
                let dv = (tp.translation.vector - tm.translation.vector) / (2.0 * h);
                let dw = (tp.rotation * tm.rotation.inverse()).scaled_axis() / (2.0 * h);
                for r in 0..3 {
                    assert!((j[(r, c)] - dv[r]).abs() < 1e-6, "lin q{c} row {r}: {} vs {}", j[(r, c)], dv[r]);
                    assert!((j[(r + 3, c)] - dw[r]).abs() < 1e-6, "ang q{c} row {r}: {} vs {}", j[(r + 3, c)], dw[r]);
                }
            }
        }
    }

    #[test]
    fn gravity_torques_match_potential_gradient() {
        let h = 1e-6;
        let without_tool = ArmModel { tool_mass: 0.0, ..ArmModel::default() };
        for (m, q) in [ArmModel::default(), without_tool].iter().flat_map(|m| QS.iter().map(move |q| (m, q))) {
            let g = m.gravity_torques(q);
            for c in 0..7 {
                let mut qp = *q;
                let mut qm = *q;
                qp[c] += h;
                qm[c] -= h;
                let fd = (m.potential_energy(&qp) - m.potential_energy(&qm)) / (2.0 * h);
                assert!((g[c] - fd).abs() < 1e-5, "joint {c}: {} vs {fd}", g[c]);
            }
        }
    }

    #[test]
    fn zero_posture_is_straight_up() {
        let m = ArmModel::default();
        let t = m.tcp_pose(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let p = PANDA;
        // Straight configuration: x = a3 + a4 + a6 = 0.088, z = d1 + d3 + d5 − flange − tool.
        assert!((t.translation.x - 0.088).abs() < 1e-9, "{}", t.translation.x);
        assert!(t.translation.y.abs() < 1e-9);
        let z = p.dh_d[0] + p.dh_d[2] + p.dh_d[4] - p.flange_d - p.tool_length;
        assert!((t.translation.z - z).abs() < 1e-9, "{} vs {z}", t.translation.z);
    }

    #[test]
    fn projector_annihilates_task_space() {
        let m = ArmModel::default();
        let j = m.jacobian(&QS[1]);
        let n = nullspace_projector(&j, 1e-6);
        // J · N ≈ 0: null-space torques produce no task-space velocity for the dual mapping.
        let jn = j * n;
        assert!(jn.abs().max() < 1e-6, "{}", jn.abs().max());
    }
}
