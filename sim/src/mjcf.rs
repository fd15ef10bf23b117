//! MJCF scenes generated from the parameters in [`crate::robots`] (the single source of
//! truth for geometry). Nothing here is copied from an existing model file: every body,
//! joint and inertia is derived from [`QuadrupedParams`] / [`ArmParams`] / [`ArmScene`].
//!
//! Conventions: world frame x forward, y left, z up; SI units.

use std::fmt::Write;

use crate::robots::{ArmParams, ArmScene, QuadrupedParams};

/// Physics timestep of the quadruped scene [s].
pub const QUADRUPED_TIMESTEP: f64 = 0.002;
/// Physics timestep of the arm scene [s].
pub const ARM_TIMESTEP: f64 = 0.001;
/// Coulomb friction coefficient of the quadruped's floor and feet.
pub const FLOOR_FRICTION: f64 = 0.8;
/// Coulomb friction coefficient of the arm's table and probe tip (a probe sliding on a
/// table: μ ≈ 0.1–0.3; the upper end is the harder case for the force loop).
pub const TABLE_FRICTION: f64 = 0.3;
/// MuJoCo `solref` (time constant [s], damping ratio) of the tip–table contact, set on both
/// geoms so no mixing rule applies: MuJoCo's default 20 ms (20 physics steps, well above
/// the 2-step minimum for stability), critically damped.
pub const TABLE_SOLREF: [f64; 2] = [0.02, 1.0];
/// MuJoCo `solimp` (d0, dwidth, width [m]) of the tip–table contact: the constraint
/// impedance rises from 0.5 at first touch to 0.95 at 1 mm penetration, i.e. a stiffening
/// contact spring (zero-load stiffness low, growing with depth, like a Hertzian contact of
/// the 1 cm probe sphere with an elastomer tip or pad). Measured in the closed loop: ≈ 0.47 mm
/// penetration at 10 N (secant stiffness ≈ 2·10⁴ N/m, in series with the 1000 N/m impedance).
///
/// Why not MuJoCo's default `d0 = 0.9` (the "rigid" table, ≈ 0.1 mm at 10 N): MuJoCo's soft
/// contact damps the sliding velocity through the friction cone, which adds a separating
/// term to the normal direction; while sliding at 5 cm/s with μ = 0.3 it moves the
/// contact's equilibrium out by ≈ 0.1–0.3 mm (measured with `examples/arm_slide_diag`).
/// When that exceeds the static penetration the tip leaves the table, falls back and
/// bounces at the physics rate: the 9 N RMS "chatter" every controller showed. With the
/// stiffening impedance the static penetration (0.47 mm) exceeds the shift (≈ 0.22 mm), so
/// a sliding tip stays in contact.
pub const TABLE_SOLIMP: [f64; 3] = [0.5, 0.95, 0.001];
/// Friction cone of the arm scene: `elliptic` (the true Coulomb cone, isotropic in the
/// sliding direction) rather than MuJoCo's default pyramid.
pub const ARM_CONE: &str = "elliptic";
/// Solid-cylinder principal inertia (about the axis, and about a transverse axis through
/// the centre) [kg·m²] for mass `m` [kg], radius `r` [m], length `l` [m].
fn cylinder_inertia(m: f64, r: f64, l: f64) -> (f64, f64) {
    (0.5 * m * r * r, m * (3.0 * r * r + l * l) / 12.0)
}

/// Joint angles (hip, thigh, calf) → foot-centre position relative to the hip-abduction
/// joint, in the trunk frame (with the leg's lateral sign `sy`) [m].
pub fn leg_forward_kinematics(p: &QuadrupedParams, sy: f64, q: [f64; 3]) -> [f64; 3] {
    let (l1, l2) = (p.thigh_length, p.calf_length);
    // Sagittal-plane foot position (x, z) in the rotated hip frame.
    let x = -l1 * q[1].sin() - l2 * (q[1] + q[2]).sin();
    let z = -l1 * q[1].cos() - l2 * (q[1] + q[2]).cos();
    let y = sy * p.thigh_offset;
    // Hip abduction about x: y' = c y − s z, z' = s y + c z.
    let (s, c) = q[0].sin_cos();
    [x, c * y - s * z, s * y + c * z]
}

/// Trunk height at which the feet (spheres) just touch flat ground when every leg is at
/// [`QuadrupedParams::stand_q`] and the trunk is level [m].
pub fn quadruped_rest_height(p: &QuadrupedParams) -> f64 {
    -leg_forward_kinematics(p, -1.0, p.stand_q)[2] + p.foot_radius
}

/// The quadruped scene: trunk with a free joint, 4 legs × (hip about x, thigh about y,
/// calf about y), spherical feet, 12 torque motors (`ctrlrange` = torque limits, named
/// `<leg>_<joint>_motor`), an IMU site, and a flat floor. Timestep
/// [`QUADRUPED_TIMESTEP`].
pub fn quadruped_mjcf(p: &QuadrupedParams) -> String {
    let mut s = String::new();
    let h0 = quadruped_rest_height(p) + 0.005;
    let [hx, hy, hz] = p.trunk_half_size;
    let [ixx, iyy, izz] = p.trunk_inertia;
    let _ = writeln!(s, r#"<mujoco model="spikectl_quadruped">"#);
    let _ = writeln!(s, r#"  <option timestep="{QUADRUPED_TIMESTEP}" integrator="implicitfast" gravity="0 0 -9.81"/>"#);
    let _ = writeln!(s, r#"  <compiler angle="radian" autolimits="true"/>"#);
    // Robot geoms collide with the floor only (contype 2 / conaffinity 1 against a floor
    // with contype 1 / conaffinity 2).
    let _ = writeln!(
        s,
        r#"  <default><geom contype="2" conaffinity="1" condim="3" friction="{FLOOR_FRICTION} 0.005 0.0001"/><joint damping="0.01" armature="0.01"/></default>"#
    );
    let _ = writeln!(s, "  <worldbody>");
    let _ = writeln!(
        s,
        r#"    <geom name="floor" type="plane" size="0 0 0.05" contype="1" conaffinity="2" friction="{FLOOR_FRICTION} 0.005 0.0001"/>"#
    );
    let _ = writeln!(s, r#"    <body name="trunk" pos="0 0 {h0}">"#);
    let _ = writeln!(s, r#"      <freejoint name="root"/>"#);
    let _ = writeln!(s, r#"      <inertial pos="0 0 0" mass="{}" diaginertia="{ixx} {iyy} {izz}"/>"#, p.trunk_mass);
    let _ = writeln!(s, r#"      <geom name="trunk" type="box" size="{hx} {hy} {hz}" mass="0"/>"#);
    let _ = writeln!(s, r#"      <site name="imu" pos="0 0 0" size="0.01"/>"#);
    let [m_hip, m_thigh, m_calf] = p.link_masses;
    let [(hip_lo, hip_hi), (thigh_lo, thigh_hi), (calf_lo, calf_hi)] = p.joint_limits;
    for (i, leg) in p.leg_names.iter().enumerate() {
        let (sx, sy) = QuadrupedParams::leg_signs(i);
        let (px, py) = (sx * p.hip_offset[0], sy * p.hip_offset[1]);
        let (l1, l2) = (p.thigh_length, p.calf_length);
        let (a_h, t_h) = cylinder_inertia(m_hip, 0.04, 0.08);
        let (a_t, t_t) = cylinder_inertia(m_thigh, 0.02, l1);
        let (a_c, t_c) = cylinder_inertia(m_calf, 0.012, l2);
        let yo = sy * p.thigh_offset;
        let _ = writeln!(s, r#"      <body name="{leg}_hip" pos="{px} {py} 0">"#);
        let _ = writeln!(
            s,
            r#"        <joint name="{leg}_hip_joint" type="hinge" axis="1 0 0" range="{hip_lo} {hip_hi}" limited="true"/>"#
        );
        let _ =
            writeln!(s, r#"        <inertial pos="0 {} 0" mass="{m_hip}" diaginertia="{a_h} {t_h} {t_h}"/>"#, 0.5 * yo);
        let _ = writeln!(s, r#"        <body name="{leg}_thigh" pos="0 {yo} 0">"#);
        let _ = writeln!(
            s,
            r#"          <joint name="{leg}_thigh_joint" type="hinge" axis="0 1 0" range="{thigh_lo} {thigh_hi}" limited="true"/>"#
        );
        let _ = writeln!(
            s,
            r#"          <inertial pos="0 0 {}" mass="{m_thigh}" diaginertia="{t_t} {t_t} {a_t}"/>"#,
            -p.thigh_com_fraction * l1
        );
        let _ = writeln!(
            s,
            r#"          <geom name="{leg}_thigh" type="capsule" fromto="0 0 0 0 0 {}" size="0.02" mass="0" contype="0" conaffinity="0"/>"#,
            -l1
        );
        let _ = writeln!(s, r#"          <body name="{leg}_calf" pos="0 0 {}">"#, -l1);
        let _ = writeln!(
            s,
            r#"            <joint name="{leg}_calf_joint" type="hinge" axis="0 1 0" range="{calf_lo} {calf_hi}" limited="true"/>"#
        );
        let _ = writeln!(
            s,
            r#"            <inertial pos="0 0 {}" mass="{m_calf}" diaginertia="{t_c} {t_c} {a_c}"/>"#,
            -p.calf_com_fraction * l2
        );
        let _ = writeln!(
            s,
            r#"            <geom name="{leg}_calf" type="capsule" fromto="0 0 0 0 0 {}" size="0.012" mass="0"/>"#,
            -0.7 * l2
        );
        let _ = writeln!(
            s,
            r#"            <geom name="{leg}_foot" type="sphere" pos="0 0 {}" size="{}" mass="0"/>"#,
            -l2, p.foot_radius
        );
        let _ = writeln!(s, r#"            <site name="{leg}_foot" pos="0 0 {}" size="0.005"/>"#, -l2);
        let _ = writeln!(s, "          </body>\n        </body>\n      </body>");
    }
    let _ = writeln!(s, "    </body>\n  </worldbody>\n  <actuator>");
    for leg in p.leg_names {
        for (j, name) in p.joint_kinds.iter().enumerate() {
            let lim = p.torque_limits[j];
            let _ = writeln!(
                s,
                r#"    <motor name="{leg}_{name}_motor" joint="{leg}_{name}_joint" gear="1" ctrlrange="{} {lim}" ctrllimited="true"/>"#,
                -lim
            );
        }
    }
    let _ = writeln!(s, "  </actuator>\n</mujoco>");
    s
}

/// Origin of DH frame i+1 expressed in frame i (Craig convention: frame i+1 is reached by
/// Rot_x(α_i)·Trans_x(a_i)·Rot_z(θ_{i+1})·Trans_z(d_{i+1})) [m].
fn next_origin(a: f64, alpha: f64, d: f64) -> [f64; 3] {
    [a, -alpha.sin() * d, alpha.cos() * d]
}

/// The arm scene: a fixed base, 7 revolute joints built from the Craig DH table (each
/// link's body frame is its DH frame, joint about the local z; link masses from `p`, centres
/// of mass from [`ArmParams::link_coms`], inertia of a 6 cm-radius rod per link), a flange, a tool body of
/// length [`ArmParams::tool_length`] ending in a sphere tip (site `tip`), a force/torque
/// sensor site `ft` at the flange (sensors `ft_force`, `ft_torque`), 7 torque motors with
/// the torque limits, and the table of [`ArmScene`] (contact: [`TABLE_FRICTION`], [`TABLE_SOLREF`],
/// [`TABLE_SOLIMP`], cone [`ARM_CONE`]). Timestep [`ARM_TIMESTEP`].
pub fn arm_mjcf(p: &ArmParams, scene: &ArmScene) -> String {
    let mut s = String::new();
    let _ = writeln!(s, r#"<mujoco model="spikectl_arm">"#);
    let _ = writeln!(
        s,
        r#"  <option timestep="{ARM_TIMESTEP}" integrator="implicitfast" cone="{ARM_CONE}" gravity="0 0 -9.81"/>"#
    );
    let [tc, zeta] = TABLE_SOLREF;
    let [d0, dw, width] = TABLE_SOLIMP;
    let contact = format!(
        r#"condim="3" friction="{TABLE_FRICTION} 0.005 0.0001" solref="{tc} {zeta}" solimp="{d0} {dw} {width}""#
    );
    let _ = writeln!(s, r#"  <compiler angle="radian" autolimits="true"/>"#);
    let _ = writeln!(
        s,
        r#"  <default><geom contype="0" conaffinity="0"/><joint damping="0.1" armature="0.05"/></default>"#
    );
    let _ = writeln!(s, "  <worldbody>");
    let _ = writeln!(s, r#"    <geom name="floor" type="plane" size="0 0 0.05"/>"#);
    let th = 0.02;
    let _ = writeln!(
        s,
        r#"    <geom name="table" type="box" pos="{} {} {}" size="{} {} {th}" contype="1" conaffinity="1" {contact}/>"#,
        scene.table_center[0],
        scene.table_center[1],
        scene.table_top_z - th,
        scene.table_half_size[0],
        scene.table_half_size[1]
    );
    let _ = writeln!(s, r#"    <geom name="base" type="cylinder" size="0.06 0.05" pos="0 0 0.05"/>"#);
    let mut indent = String::from("    ");
    for i in 0..7 {
        let (a, al, d) = (p.dh_a[i], p.dh_alpha[i], p.dh_d[i]);
        let pos = next_origin(a, al, d);
        let (sa, ca) = (0.5 * al).sin_cos();
        let _ = writeln!(
            s,
            r#"{indent}<body name="link{}" pos="{} {} {}" quat="{ca} {sa} 0 0">"#,
            i + 1,
            pos[0],
            pos[1],
            pos[2]
        );
        let (lo, hi) = p.q_limits[i];
        let _ = writeln!(
            s,
            r#"{indent}  <joint name="{}" type="hinge" axis="0 0 1" range="{lo} {hi}" limited="true"/>"#,
            p.joint_names[i]
        );
        // Segment to the next frame's origin carries the link's mass.
        let nxt =
            if i < 6 { next_origin(p.dh_a[i + 1], p.dh_alpha[i + 1], p.dh_d[i + 1]) } else { [0.0, 0.0, p.flange_d] };
        let len = (nxt[0] * nxt[0] + nxt[1] * nxt[1] + nxt[2] * nxt[2]).sqrt().max(0.05);
        let (ax, tr) = cylinder_inertia(p.link_masses[i], 0.06, len);
        let iso = ax.max(tr);
        let com = p.link_coms[i];
        let _ = writeln!(
            s,
            r#"{indent}  <inertial pos="{} {} {}" mass="{}" diaginertia="{iso} {iso} {iso}"/>"#,
            com[0], com[1], com[2], p.link_masses[i]
        );
        if len > 0.051 {
            let _ = writeln!(
                s,
                r#"{indent}  <geom type="capsule" fromto="0 0 0 {} {} {}" size="0.04" mass="0"/>"#,
                nxt[0], nxt[1], nxt[2]
            );
        }
        indent.push_str("  ");
    }
    // Flange and tool (a welded child of link 7, so the flange sensor measures what the
    // tool transmits).
    let tl = p.tool_length;
    let (ta, tt) = cylinder_inertia(p.tool_mass, 0.015, tl);
    let (tool_mass, tip_radius) = (p.tool_mass, p.tool_tip_radius);
    let _ = writeln!(s, r#"{indent}<body name="tool" pos="0 0 {}">"#, p.flange_d);
    let _ =
        writeln!(s, r#"{indent}  <inertial pos="0 0 {}" mass="{tool_mass}" diaginertia="{tt} {tt} {ta}"/>"#, 0.5 * tl);
    let _ = writeln!(s, r#"{indent}  <site name="ft" pos="0 0 0" size="0.01"/>"#);
    let _ = writeln!(
        s,
        r#"{indent}  <geom name="tool_shaft" type="capsule" fromto="0 0 0 0 0 {}" size="0.008" mass="0"/>"#,
        tl - tip_radius
    );
    let _ = writeln!(
        s,
        r#"{indent}  <geom name="tip" type="sphere" pos="0 0 {}" size="{tip_radius}" mass="0" contype="1" conaffinity="1" {contact}/>"#,
        tl - tip_radius
    );
    let _ = writeln!(s, r#"{indent}  <site name="tip" pos="0 0 {tl}" size="0.005"/>"#);
    let _ = writeln!(s, "{indent}</body>");
    for _ in 0..7 {
        indent.truncate(indent.len() - 2);
        let _ = writeln!(s, "{indent}</body>");
    }
    let _ = writeln!(s, "  </worldbody>\n  <actuator>");
    for i in 0..7 {
        let lim = p.torque_limits[i];
        let _ = writeln!(
            s,
            r#"    <motor name="motor{}" joint="{}" gear="1" ctrlrange="{} {lim}" ctrllimited="true"/>"#,
            i + 1,
            p.joint_names[i],
            -lim
        );
    }
    let _ = writeln!(
        s,
        "  </actuator>\n  <sensor>\n    <force name=\"ft_force\" site=\"ft\"/>\n    <torque name=\"ft_torque\" site=\"ft\"/>\n  </sensor>\n</mujoco>"
    );
    s
}
