//! Robot descriptions from URDF (parsed with the `urdf-rs` crate): the kinematic and inertial
//! parameters of a [`QuadrupedParams`] or [`ArmParams`] come from the URDF; what URDF cannot
//! say comes from a YAML overlay (same keys as a description file, every key optional) or,
//! for keys the overlay leaves out, from the shipped default robot ([`GO1`], [`PANDA`]).
//!
//! **From the URDF.** Quadruped: the trunk (root link, or the single child of a massless root
//! such as `base`) gives `trunk_mass`, the diagonal of its inertia (`trunk_inertia`; products
//! of inertia are dropped: the model takes principal axes along the trunk frame) and, when it
//! has a box collision, `trunk_half_size`. Each leg is the chain of joints
//! `<leg>_<kind>_joint` for the overlay's `leg_names` × `joint_kinds` (default FR, FL, RR, RL ×
//! hip, thigh, calf): hip joint origin → `hip_offset` (|x|, |y|, signs checked against the leg
//! order), thigh joint origin → `thigh_offset` (|y|), calf joint origin → `thigh_length` (−z),
//! the foot (a fixed joint below the calf link, or a sphere collision of the calf) →
//! `calf_length` (−z) and, with a sphere, `foot_radius`; link masses (calf + foot),
//! CoM fractions (thigh CoM −z / thigh length; calf+foot CoM −z / calf length), and the
//! joints' `<limit>` (`joint_limits`, `torque_limits` = effort, `velocity_limits`). The
//! model has one set of leg values: the four legs must agree within 1 mm / 1 g / 10⁻⁶.
//!
//! Arm: the serial chain of the 7 revolute joints from the root (fixed joints allowed only
//! before the first). Each joint's origin must be a Craig DH step — `rpy = (α, 0, 0)` and
//! `xyz = (a, −d sin α, d cos α)`, joint axis +z — which gives `dh_alpha`, `dh_a`, `dh_d`
//! (Franka's published URDF has this form); a fixed joint below the 7th link with a pure z
//! offset gives `flange_d`; each moving link's mass and inertial origin give `link_masses`
//! and `link_coms` (the link frame is the DH frame); joint names and `<limit>`s.
//!
//! **From the overlay or the defaults**: the quadruped's `stand_height`, `stand_q`,
//! `safe_damping`, `leg_names`, `joint_kinds`, and `foot_radius` / `trunk_half_size` when the
//! URDF has no sphere / box; the arm's `q_nominal`, tool (`tool_length`, `tool_mass`,
//! `tool_tip_radius`), `safe_damping`, and `flange_d` when the URDF has no flange joint. An
//! overlay key that the URDF also sets is an error (one source per value). The result is
//! validated like a YAML description; every problem is listed at once.

use std::collections::HashMap;

use urdf_rs::{Geometry, Joint, JointType, Link, Robot};

use crate::description::{ArmFile, DescriptionError, QuadrupedFile, parse, read};
use crate::robots::{ArmParams, GO1, PANDA, QuadrupedParams};

/// Tolerance on lengths that must agree or vanish [m].
const TOL_M: f64 = 1e-3;
/// Tolerance on angles and unit-axis components [rad].
const TOL_RAD: f64 = 1e-6;

/// Links and joints of a URDF, indexed by name.
struct Tree<'a> {
    links: HashMap<&'a str, &'a Link>,
    joints: HashMap<&'a str, &'a Joint>,
    children: HashMap<&'a str, Vec<&'a Joint>>,
}

impl<'a> Tree<'a> {
    fn new(r: &'a Robot) -> Self {
        let mut children: HashMap<&str, Vec<&Joint>> = HashMap::new();
        for j in &r.joints {
            children.entry(j.parent.link.as_str()).or_default().push(j);
        }
        Tree {
            links: r.links.iter().map(|l| (l.name.as_str(), l)).collect(),
            joints: r.joints.iter().map(|j| (j.name.as_str(), j)).collect(),
            children,
        }
    }
    /// The root link (a link that is no joint's child); an error unless exactly one.
    fn root(&self, r: &'a Robot) -> Result<&'a str, String> {
        let roots: Vec<&str> =
            r.links.iter().map(|l| l.name.as_str()).filter(|n| !r.joints.iter().any(|j| j.child.link == *n)).collect();
        match roots.as_slice() {
            [one] => Ok(*one),
            [] => Err("the URDF has no root link (every link is a joint's child)".into()),
            many => Err(format!("the URDF has {} root links ({}), expected one tree", many.len(), many.join(", "))),
        }
    }
    fn kids(&self, link: &str) -> &[&'a Joint] {
        self.children.get(link).map(Vec::as_slice).unwrap_or(&[])
    }
    fn mass(&self, link: &str) -> f64 {
        self.links.get(link).map_or(0.0, |l| l.inertial.mass.value)
    }
}

fn sphere_of(l: &Link) -> Option<(f64, [f64; 3])> {
    l.collision.iter().find_map(|c| match c.geometry {
        Geometry::Sphere { radius } => Some((radius, c.origin.xyz.0)),
        _ => None,
    })
}

fn box_of(l: &Link) -> Option<[f64; 3]> {
    l.collision.iter().find_map(|c| match &c.geometry {
        Geometry::Box { size } => Some(size.0),
        _ => None,
    })
}

fn movable(j: &Joint) -> bool {
    matches!(j.joint_type, JointType::Revolute | JointType::Continuous)
}

fn parse_urdf(text: &str) -> Result<Robot, DescriptionError> {
    urdf_rs::read_from_string(text).map_err(|e| DescriptionError::Parse(format!("URDF: {e}")))
}

/// Collects problems; `set` records a value taken from the URDF and flags an overlay conflict.
#[derive(Default)]
struct Found {
    missing: Vec<String>,
    bad: Vec<String>,
}

impl Found {
    fn set<T>(&mut self, key: &str, slot: &mut Option<T>, overlay_has: bool, v: T) {
        if overlay_has {
            self.bad.push(format!("{key} is set by both the URDF and the overlay (remove it from the overlay)"));
        }
        *slot = Some(v);
    }
    fn into_error(self, name: &str) -> Option<DescriptionError> {
        (!self.missing.is_empty() || !self.bad.is_empty()).then(|| DescriptionError::Invalid {
            name: name.to_string(),
            missing: self.missing,
            inconsistent: self.bad,
        })
    }
}

/// One value per leg → the common value, or an inconsistency when the legs differ.
fn common(f: &mut Found, what: &str, v: &[f64], tol: f64) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    if v.iter().any(|x| (x - mean).abs() > tol) {
        f.bad.push(format!("{what} differs between legs ({v:?}); the model has one value for all four"));
    }
    mean
}

fn quadruped_defaults() -> QuadrupedFile {
    let p = GO1;
    QuadrupedFile {
        kind: Some("quadruped".into()),
        name: None,
        trunk_mass: Some(p.trunk_mass),
        trunk_inertia: Some(p.trunk_inertia),
        trunk_half_size: Some(p.trunk_half_size),
        hip_offset: Some(p.hip_offset),
        thigh_offset: Some(p.thigh_offset),
        thigh_length: Some(p.thigh_length),
        calf_length: Some(p.calf_length),
        foot_radius: Some(p.foot_radius),
        link_masses: Some(p.link_masses),
        torque_limits: Some(p.torque_limits),
        velocity_limits: Some(p.velocity_limits),
        stand_height: Some(p.stand_height),
        stand_q: Some(p.stand_q),
        joint_limits: Some(p.joint_limits),
        thigh_com_fraction: Some(p.thigh_com_fraction),
        calf_com_fraction: Some(p.calf_com_fraction),
        leg_names: Some(p.leg_names.map(String::from)),
        joint_kinds: Some(p.joint_kinds.map(String::from)),
        safe_damping: Some(p.safe_damping),
    }
}

fn arm_defaults() -> ArmFile {
    let p = PANDA;
    ArmFile {
        kind: Some("arm".into()),
        name: None,
        dh_a: Some(p.dh_a),
        dh_d: Some(p.dh_d),
        dh_alpha: Some(p.dh_alpha),
        flange_d: Some(p.flange_d),
        tool_length: Some(p.tool_length),
        link_masses: Some(p.link_masses),
        q_limits: Some(p.q_limits),
        torque_limits: Some(p.torque_limits),
        velocity_limits: Some(p.velocity_limits),
        q_nominal: Some(p.q_nominal),
        link_coms: Some(p.link_coms),
        tool_mass: Some(p.tool_mass),
        tool_tip_radius: Some(p.tool_tip_radius),
        joint_names: Some(p.joint_names.map(String::from)),
        safe_damping: Some(p.safe_damping),
    }
}

/// Overlay keys over defaults (`$k`: the keys of the file struct).
macro_rules! merge {
    ($base:ident, $ov:ident; $($k:ident),*) => { $( if $ov.$k.is_some() { $base.$k = $ov.$k.clone(); } )* };
}

/// A joint's `<limit>`: (lower, upper) [rad], effort [N·m], velocity [rad/s].
type Limits = ((f64, f64), f64, f64);

fn limits_of(f: &mut Found, j: &Joint) -> Limits {
    let l = &j.limit;
    if j.joint_type == JointType::Continuous {
        f.bad.push(format!("{} is continuous: a joint needs position limits", j.name));
    }
    if !(l.effort > 0.0 && l.effort.is_finite()) {
        f.bad.push(format!("{} has no positive finite <limit effort>", j.name));
    }
    if !(l.velocity > 0.0 && l.velocity.is_finite()) {
        f.bad.push(format!("{} has no positive finite <limit velocity>", j.name));
    }
    ((l.lower, l.upper), l.effort, l.velocity)
}

fn axis_is(f: &mut Found, j: &Joint, want: [f64; 3], label: &str) {
    let a = j.axis.xyz.0;
    if a.iter().zip(want).any(|(x, w)| (x - w).abs() > TOL_RAD) {
        f.bad.push(format!("{} axis is {a:?}, the model needs {label} {want:?}", j.name));
    }
}

/// The overlay `yaml` as a description file `F` (every field absent without one); a `kind` it
/// names (read by `kind`) must be `expected`.
fn overlay<F: Default + for<'de> serde::Deserialize<'de>>(
    yaml: Option<&str>,
    expected: &'static str,
    kind: fn(&F) -> Option<&String>,
) -> Result<F, DescriptionError> {
    let ov: F = yaml.map(parse).transpose()?.unwrap_or_default();
    match kind(&ov) {
        Some(k) if k != expected => Err(DescriptionError::Kind { expected, found: k.clone() }),
        _ => Ok(ov),
    }
}

fn no_rotation(f: &mut Found, j: &Joint) {
    if j.origin.rpy.0.iter().any(|x| x.abs() > TOL_RAD) {
        f.bad.push(format!("{} origin has rpy {:?}; the leg model needs rpy = 0", j.name, j.origin.rpy.0));
    }
}

impl QuadrupedParams {
    /// A quadruped from URDF text and an optional YAML overlay (see the module docs).
    pub fn from_urdf(urdf: &str, overlay_yaml: Option<&str>) -> Result<Self, DescriptionError> {
        let robot = parse_urdf(urdf)?;
        let ov: QuadrupedFile = overlay(overlay_yaml, "quadruped", |f: &QuadrupedFile| f.kind.as_ref())?;
        let mut d = quadruped_defaults();
        merge!(d, ov; trunk_mass, trunk_inertia, trunk_half_size, hip_offset, thigh_offset, thigh_length,
            calf_length, foot_radius, link_masses, torque_limits, velocity_limits, stand_height, stand_q,
            joint_limits, thigh_com_fraction, calf_com_fraction, leg_names, joint_kinds, safe_damping);
        let name = ov.name.clone().unwrap_or_else(|| robot.name.clone());
        d.name = Some(name.clone());
        let mut f = Found::default();
        let t = Tree::new(&robot);
        let root = t.root(&robot).map_err(|e| DescriptionError::Invalid {
            name: name.clone(),
            missing: vec![],
            inconsistent: vec![e],
        })?;
        // A massless root with one fixed child (the usual `base` → `trunk`) is a frame only.
        let trunk = match t.kids(root) {
            [j] if t.mass(root) == 0.0 && j.joint_type == JointType::Fixed => j.child.link.as_str(),
            _ => root,
        };
        let Some(tl) = t.links.get(trunk).copied() else {
            return Err(DescriptionError::Invalid {
                name,
                missing: vec![format!("link {trunk} (a joint's child)")],
                inconsistent: vec![],
            });
        };
        f.set("trunk_mass", &mut d.trunk_mass, ov.trunk_mass.is_some(), tl.inertial.mass.value);
        let i = &tl.inertial.inertia;
        f.set("trunk_inertia", &mut d.trunk_inertia, ov.trunk_inertia.is_some(), [i.ixx, i.iyy, i.izz]);
        if let Some(b) = box_of(tl) {
            f.set("trunk_half_size", &mut d.trunk_half_size, ov.trunk_half_size.is_some(), b.map(|x| x / 2.0));
        }
        let com = tl.inertial.origin.xyz.0;
        if com.iter().map(|x| x * x).sum::<f64>().sqrt() > 0.05 {
            f.bad.push(format!(
                "the trunk's CoM is {com:?} m from the {trunk} frame; the model puts it at the frame (hip offsets are measured from there): at most 0.05 m"
            ));
        }
        let legs = d.leg_names.clone().unwrap_or_default();
        let kinds = d.joint_kinds.clone().unwrap_or_default();
        // Per leg: hip |x|, |y|, thigh offset, thigh length, calf length, masses, CoM fractions.
        let mut vals: Vec<[f64; 10]> = Vec::new();
        let mut limits: Vec<[Limits; 3]> = Vec::new();
        let mut radius: Option<f64> = None;
        for (li, leg) in legs.iter().enumerate() {
            let names: [String; 3] = std::array::from_fn(|k| format!("{leg}_{}_joint", kinds[k]));
            let js: Vec<Option<&Joint>> = names.iter().map(|n| t.joints.get(n.as_str()).copied()).collect();
            let absent: Vec<&str> =
                names.iter().zip(&js).filter(|(_, j)| j.is_none()).map(|(n, _)| n.as_str()).collect();
            if !absent.is_empty() {
                f.missing.push(format!("leg {leg}: joint(s) {} (a quadruped needs four hip-thigh-calf chains named <leg>_<kind>_joint for leg_names × joint_kinds)", absent.join(", ")));
                continue;
            }
            let [hip, thigh, calf] = [js[0].unwrap(), js[1].unwrap(), js[2].unwrap()];
            let mut chain_ok = true;
            for (j, parent) in [(hip, trunk), (thigh, hip.child.link.as_str()), (calf, thigh.child.link.as_str())] {
                if !movable(j) {
                    f.bad.push(format!("{} is {:?}, expected revolute", j.name, j.joint_type));
                    chain_ok = false;
                }
                if j.parent.link != parent {
                    f.bad.push(format!(
                        "{}'s parent is {}, expected {parent} (hip-thigh-calf chain from the trunk)",
                        j.name, j.parent.link
                    ));
                    chain_ok = false;
                }
            }
            if !chain_ok {
                continue;
            }
            axis_is(&mut f, hip, [1.0, 0.0, 0.0], "+x");
            axis_is(&mut f, thigh, [0.0, 1.0, 0.0], "+y");
            axis_is(&mut f, calf, [0.0, 1.0, 0.0], "+y");
            for j in [hip, thigh, calf] {
                no_rotation(&mut f, j);
            }
            let (sx, sy) = QuadrupedParams::leg_signs(li);
            let h = hip.origin.xyz.0;
            if h[0] * sx <= 0.0 || h[1] * sy <= 0.0 {
                f.bad.push(format!(
                    "{} origin {h:?}: leg {li} ({leg}) of the order FR, FL, RR, RL must sit at x {} 0, y {} 0",
                    hip.name,
                    if sx > 0.0 { ">" } else { "<" },
                    if sy > 0.0 { ">" } else { "<" }
                ));
            }
            let th = thigh.origin.xyz.0;
            if th[0].abs() > TOL_M || th[2].abs() > TOL_M || th[1] * sy < -TOL_M {
                f.bad.push(format!("{} origin {th:?}: expected (0, ±thigh_offset outward, 0)", thigh.name));
            }
            let c = calf.origin.xyz.0;
            if c[0].abs() > TOL_M || c[1].abs() > TOL_M || c[2] >= 0.0 {
                f.bad.push(format!("{} origin {c:?}: expected (0, 0, −thigh_length)", calf.name));
            }
            let calf_link = calf.child.link.as_str();
            // The foot: a fixed joint below the calf link, else a sphere collision on the calf.
            let foot_joint = t.kids(calf_link).iter().find(|j| j.joint_type == JointType::Fixed).copied();
            let (foot_z, foot_mass, foot_sphere) = match foot_joint {
                Some(fj) => {
                    let o = fj.origin.xyz.0;
                    if o[0].abs() > TOL_M || o[1].abs() > TOL_M {
                        f.bad.push(format!("{} origin {o:?}: the foot must be straight below the knee", fj.name));
                    }
                    let fl = t.links.get(fj.child.link.as_str());
                    (Some(o[2]), fl.map_or(0.0, |l| l.inertial.mass.value), fl.and_then(|l| sphere_of(l)))
                }
                None => {
                    let s = t.links.get(calf_link).and_then(|l| sphere_of(l));
                    (s.map(|(_, o)| o[2]), 0.0, s.map(|(r, _)| (r, [0.0; 3])))
                }
            };
            let Some(fz) = foot_z.filter(|z| *z < 0.0) else {
                f.missing.push(format!(
                    "leg {leg}: the foot (a fixed joint below {calf_link} or a sphere collision on it, below the knee)"
                ));
                continue;
            };
            if let Some((r, _)) = foot_sphere {
                radius.get_or_insert(r);
            }
            let (mh, mt, mc) = (t.mass(hip.child.link.as_str()), t.mass(thigh.child.link.as_str()), t.mass(calf_link));
            let thigh_len = -c[2];
            let calf_len = -fz;
            let thigh_com = -t.links.get(thigh.child.link.as_str()).map_or(0.0, |l| l.inertial.origin.xyz.0[2]);
            let calf_com = -t.links.get(calf_link).map_or(0.0, |l| l.inertial.origin.xyz.0[2]);
            let calf_foot_com =
                if mc + foot_mass > 0.0 { (mc * calf_com + foot_mass * calf_len) / (mc + foot_mass) } else { 0.0 };
            vals.push([
                h[0].abs(),
                h[1].abs(),
                th[1].abs(),
                thigh_len,
                calf_len,
                mh,
                mt,
                mc + foot_mass,
                thigh_com / thigh_len,
                calf_foot_com / calf_len,
            ]);
            limits.push([limits_of(&mut f, hip), limits_of(&mut f, thigh), limits_of(&mut f, calf)]);
        }
        if vals.len() == 4 {
            let col = |k: usize| -> Vec<f64> { vals.iter().map(|v| v[k]).collect() };
            let lab = ["hip origin |x|", "hip origin |y|", "thigh offset", "thigh length", "calf length"];
            let g: Vec<f64> = (0..5).map(|k| common(&mut f, lab[k], &col(k), TOL_M)).collect();
            let m: Vec<f64> = (5..8).map(|k| common(&mut f, "link mass", &col(k), 1e-3)).collect();
            let fr: Vec<f64> = (8..10).map(|k| common(&mut f, "link CoM fraction", &col(k), 1e-2)).collect();
            f.set("hip_offset", &mut d.hip_offset, ov.hip_offset.is_some(), [g[0], g[1]]);
            f.set("thigh_offset", &mut d.thigh_offset, ov.thigh_offset.is_some(), g[2]);
            f.set("thigh_length", &mut d.thigh_length, ov.thigh_length.is_some(), g[3]);
            f.set("calf_length", &mut d.calf_length, ov.calf_length.is_some(), g[4]);
            f.set("link_masses", &mut d.link_masses, ov.link_masses.is_some(), [m[0], m[1], m[2]]);
            f.set("thigh_com_fraction", &mut d.thigh_com_fraction, ov.thigh_com_fraction.is_some(), fr[0]);
            f.set("calf_com_fraction", &mut d.calf_com_fraction, ov.calf_com_fraction.is_some(), fr[1]);
            let mut jl = [(0.0, 0.0); 3];
            let mut tq = [0.0; 3];
            let mut vl = [0.0; 3];
            for k in 0..3 {
                let lo: Vec<f64> = limits.iter().map(|l| l[k].0.0).collect();
                let hi: Vec<f64> = limits.iter().map(|l| l[k].0.1).collect();
                let ef: Vec<f64> = limits.iter().map(|l| l[k].1).collect();
                let ve: Vec<f64> = limits.iter().map(|l| l[k].2).collect();
                let what = &kinds[k];
                jl[k] = (
                    common(&mut f, &format!("{what} lower limit"), &lo, TOL_RAD),
                    common(&mut f, &format!("{what} upper limit"), &hi, TOL_RAD),
                );
                tq[k] = common(&mut f, &format!("{what} effort limit"), &ef, TOL_RAD);
                vl[k] = common(&mut f, &format!("{what} velocity limit"), &ve, TOL_RAD);
            }
            f.set("joint_limits", &mut d.joint_limits, ov.joint_limits.is_some(), jl);
            f.set("torque_limits", &mut d.torque_limits, ov.torque_limits.is_some(), tq);
            f.set("velocity_limits", &mut d.velocity_limits, ov.velocity_limits.is_some(), vl);
            if let Some(r) = radius {
                f.set("foot_radius", &mut d.foot_radius, ov.foot_radius.is_some(), r);
            }
        }
        if let Some(e) = f.into_error(&name) {
            return Err(e);
        }
        QuadrupedParams::from_fields(d)
    }

    /// A quadruped from a description file: URDF when the name ends in `.urdf` (with the
    /// optional YAML overlay file), otherwise a YAML description (an overlay is then an error).
    pub fn from_file(
        path: impl AsRef<std::path::Path>,
        overlay: Option<&std::path::Path>,
    ) -> Result<Self, DescriptionError> {
        load(path.as_ref(), overlay, Self::from_urdf, |p| Self::from_yaml_file(p))
    }
}

fn is_urdf(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("urdf"))
}

/// A description from `path`: URDF (with the optional overlay file) when the name ends in
/// `.urdf`, otherwise YAML (an overlay is then an error).
fn load<T>(
    path: &std::path::Path,
    overlay: Option<&std::path::Path>,
    from_urdf: impl FnOnce(&str, Option<&str>) -> Result<T, DescriptionError>,
    from_yaml: impl FnOnce(&std::path::Path) -> Result<T, DescriptionError>,
) -> Result<T, DescriptionError> {
    if is_urdf(path) {
        let ov = overlay.map(read).transpose()?;
        return from_urdf(&read(path)?, ov.as_deref());
    }
    if let Some(o) = overlay {
        return Err(DescriptionError::Parse(format!(
            "overlay {} given with the YAML description {}: an overlay completes a URDF only",
            o.display(),
            path.display()
        )));
    }
    from_yaml(path)
}

impl ArmParams {
    /// An arm from URDF text and an optional YAML overlay (see the module docs).
    pub fn from_urdf(urdf: &str, overlay_yaml: Option<&str>) -> Result<Self, DescriptionError> {
        let robot = parse_urdf(urdf)?;
        let ov: ArmFile = overlay(overlay_yaml, "arm", |f: &ArmFile| f.kind.as_ref())?;
        let mut d = arm_defaults();
        merge!(d, ov; dh_a, dh_d, dh_alpha, flange_d, tool_length, link_masses, q_limits, torque_limits,
            velocity_limits, q_nominal, link_coms, tool_mass, tool_tip_radius, joint_names, safe_damping);
        let name = ov.name.clone().unwrap_or_else(|| robot.name.clone());
        d.name = Some(name.clone());
        let mut f = Found::default();
        let t = Tree::new(&robot);
        let root = t.root(&robot).map_err(|e| DescriptionError::Invalid {
            name: name.clone(),
            missing: vec![],
            inconsistent: vec![e],
        })?;
        // Walk the serial chain: fixed joints only before the first revolute one.
        let mut chain: Vec<&Joint> = Vec::new();
        let mut link = root;
        let mut hops = 0;
        while chain.len() < 7 {
            hops += 1;
            if hops > robot.joints.len() {
                f.bad.push(format!("the joints below {root} form a cycle"));
                break;
            }
            let kids = t.kids(link);
            let moving: Vec<&Joint> = kids.iter().copied().filter(|j| movable(j)).collect();
            let next = match (moving.as_slice(), kids) {
                ([j], _) => *j,
                ([], [j]) if chain.is_empty() && j.joint_type == JointType::Fixed => *j,
                ([], _) => {
                    f.missing.push(format!(
                        "revolute joints: the serial chain from {root} ends at {link} after {} of 7 (an arm needs 7 revolute joints in series{})",
                        chain.len(),
                        if kids.iter().any(|j| j.joint_type == JointType::Prismatic) { "; prismatic joints are not supported" } else { "" }
                    ));
                    break;
                }
                (many, _) => {
                    let n: Vec<&str> = many.iter().map(|j| j.name.as_str()).collect();
                    f.bad.push(format!(
                        "{link} branches into moving joints {}: the arm must be a serial chain",
                        n.join(", ")
                    ));
                    break;
                }
            };
            if movable(next) {
                chain.push(next);
            }
            link = next.child.link.as_str();
        }
        if chain.len() == 7 {
            let mut a = [0.0; 7];
            let mut dd = [0.0; 7];
            let mut al = [0.0; 7];
            let mut masses = [0.0; 7];
            let mut coms = [[0.0; 3]; 7];
            let mut ql = [(0.0, 0.0); 7];
            let mut tq = [0.0; 7];
            let mut vl = [0.0; 7];
            for (i, j) in chain.iter().enumerate() {
                axis_is(&mut f, j, [0.0, 0.0, 1.0], "+z (Craig DH)");
                let [r, p, y] = j.origin.rpy.0;
                if p.abs() > TOL_RAD || y.abs() > TOL_RAD {
                    f.bad.push(format!(
                        "{} origin rpy {:?}: a Craig DH step rotates about x only (pitch = yaw = 0)",
                        j.name,
                        [r, p, y]
                    ));
                }
                let [x, oy, z] = j.origin.xyz.0;
                let (s, c) = r.sin_cos();
                let resid = oy * c + z * s;
                if resid.abs() > TOL_M {
                    f.bad.push(format!(
                        "{} origin xyz {:?} is not a Craig DH step (a, −d sin α, d cos α) for α = {r}: off by {resid:.4} m",
                        j.name, [x, oy, z]
                    ));
                }
                a[i] = x;
                dd[i] = -oy * s + z * c;
                al[i] = r;
                let l = t.links.get(j.child.link.as_str());
                masses[i] = l.map_or(0.0, |l| l.inertial.mass.value);
                coms[i] = l.map_or([0.0; 3], |l| l.inertial.origin.xyz.0);
                let (lim, e, v) = limits_of(&mut f, j);
                ql[i] = lim;
                tq[i] = e;
                vl[i] = v;
            }
            f.set("dh_a", &mut d.dh_a, ov.dh_a.is_some(), a);
            f.set("dh_d", &mut d.dh_d, ov.dh_d.is_some(), dd);
            f.set("dh_alpha", &mut d.dh_alpha, ov.dh_alpha.is_some(), al);
            f.set("link_masses", &mut d.link_masses, ov.link_masses.is_some(), masses);
            f.set("link_coms", &mut d.link_coms, ov.link_coms.is_some(), coms);
            f.set("q_limits", &mut d.q_limits, ov.q_limits.is_some(), ql);
            f.set("torque_limits", &mut d.torque_limits, ov.torque_limits.is_some(), tq);
            f.set("velocity_limits", &mut d.velocity_limits, ov.velocity_limits.is_some(), vl);
            f.set(
                "joint_names",
                &mut d.joint_names,
                ov.joint_names.is_some(),
                std::array::from_fn(|i| chain[i].name.clone()),
            );
            // The flange: a fixed joint below the last link with a pure z offset.
            let last = chain[6].child.link.as_str();
            let flange = t.kids(last).iter().find(|j| {
                let o = j.origin.xyz.0;
                j.joint_type == JointType::Fixed && o[0].abs() < TOL_M && o[1].abs() < TOL_M && o[2] > 0.0
            });
            if let Some(fj) = flange {
                f.set("flange_d", &mut d.flange_d, ov.flange_d.is_some(), fj.origin.xyz.0[2]);
            }
        }
        if let Some(e) = f.into_error(&name) {
            return Err(e);
        }
        ArmParams::from_fields(d)
    }

    /// An arm from a description file: URDF when the name ends in `.urdf` (with the optional
    /// YAML overlay file), otherwise a YAML description (an overlay is then an error).
    pub fn from_file(
        path: impl AsRef<std::path::Path>,
        overlay: Option<&std::path::Path>,
    ) -> Result<Self, DescriptionError> {
        load(path.as_ref(), overlay, Self::from_urdf, |p| Self::from_yaml_file(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO1_URDF: &str = include_str!("../tests/data/go1_like.urdf");
    const PANDA_URDF: &str = include_str!("../tests/data/panda_like.urdf");

    fn close(a: &[f64], b: &[f64], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-9, "{what}: {a:?} vs {b:?}");
        }
    }

    fn quad_numbers(p: &QuadrupedParams) -> Vec<f64> {
        let mut v = vec![p.trunk_mass];
        v.extend(p.trunk_inertia);
        v.extend(p.trunk_half_size);
        v.extend(p.hip_offset);
        v.extend([p.thigh_offset, p.thigh_length, p.calf_length, p.foot_radius]);
        v.extend(p.link_masses);
        v.extend(p.torque_limits);
        v.extend(p.velocity_limits);
        v.extend(p.joint_limits.iter().flat_map(|(a, b)| [*a, *b]));
        v.extend([p.thigh_com_fraction, p.calf_com_fraction, p.stand_height, p.safe_damping]);
        v.extend(p.stand_q);
        v
    }

    fn arm_numbers(p: &ArmParams) -> Vec<f64> {
        let mut v = Vec::new();
        v.extend(p.dh_a);
        v.extend(p.dh_d);
        v.extend(p.dh_alpha);
        v.extend(p.link_masses);
        v.extend(p.link_coms.as_flattened());
        v.extend(p.q_limits.iter().flat_map(|(a, b)| [*a, *b]));
        v.extend(p.torque_limits);
        v.extend(p.velocity_limits);
        v.extend([p.flange_d, p.tool_length, p.tool_mass, p.tool_tip_radius, p.safe_damping]);
        v.extend(p.q_nominal);
        v
    }

    #[test]
    fn the_go1_like_urdf_gives_the_yaml_description() {
        let p = QuadrupedParams::from_urdf(GO1_URDF, None).unwrap();
        close(&quad_numbers(&p), &quad_numbers(&GO1), "quadruped");
        assert_eq!(p.joint_names(), GO1.joint_names());
    }

    #[test]
    fn the_panda_like_urdf_gives_the_yaml_description() {
        let p = ArmParams::from_urdf(PANDA_URDF, None).unwrap();
        close(&arm_numbers(&p), &arm_numbers(&PANDA), "arm");
        assert_eq!(p.joint_names, PANDA.joint_names);
    }

    #[test]
    fn the_urdf_values_are_read_not_defaulted() {
        // Change URDF-only values: they must show up in the description.
        let longer = GO1_URDF.replace("0 0 -0.213", "0 0 -0.25").replace("mass value=\"5.204\"", "mass value=\"7.5\"");
        let p = QuadrupedParams::from_urdf(&longer, None).unwrap();
        assert!((p.thigh_length - 0.25).abs() < 1e-12 && (p.calf_length - 0.25).abs() < 1e-12);
        assert!((p.trunk_mass - 7.5).abs() < 1e-12);
        let arm =
            ArmParams::from_urdf(&PANDA_URDF.replace("0 0 0.107", "0 0 0.2").replace("\"4.97\"", "\"6.0\""), None)
                .unwrap();
        assert!((arm.flange_d - 0.2).abs() < 1e-12 && (arm.link_masses[0] - 6.0).abs() < 1e-12);
    }

    #[test]
    fn the_overlay_sets_what_urdf_cannot_and_may_not_repeat_urdf_values() {
        let p = QuadrupedParams::from_urdf(GO1_URDF, Some("stand_height: 0.28\nsafe_damping: 2.5\n")).unwrap();
        assert_eq!((p.stand_height, p.safe_damping), (0.28, 2.5));
        let e = QuadrupedParams::from_urdf(GO1_URDF, Some("trunk_mass: 9.0\n")).unwrap_err().to_string();
        assert!(e.contains("trunk_mass is set by both"), "{e}");
        let arm = ArmParams::from_urdf(PANDA_URDF, Some("tool_length: 0.2\ntool_mass: 0.5\n")).unwrap();
        assert_eq!((arm.tool_length, arm.tool_mass), (0.2, 0.5));
        let e = ArmParams::from_urdf(PANDA_URDF, Some("kind: quadruped\n")).unwrap_err();
        assert!(matches!(e, DescriptionError::Kind { .. }), "{e}");
        let e = QuadrupedParams::from_urdf(GO1_URDF, Some("trunk_colour: red\n")).unwrap_err();
        assert!(matches!(&e, DescriptionError::Parse(m) if m.contains("trunk_colour")), "{e}");
    }

    #[test]
    fn a_quadruped_without_four_chains_is_an_error_naming_what_is_missing() {
        // Rename the RL leg's calf joint and FL's hip joint: two chains are incomplete.
        let text = GO1_URDF.replace("RL_calf_joint", "RL_knee_joint").replace("FL_hip_joint", "FL_abad_joint");
        let e = QuadrupedParams::from_urdf(&text, None).unwrap_err();
        let DescriptionError::Invalid { missing, .. } = &e else { panic!("{e:?}") };
        assert_eq!(missing.len(), 2, "{missing:?}");
        let s = e.to_string();
        assert!(s.contains("leg FL: joint(s) FL_hip_joint") && s.contains("leg RL: joint(s) RL_calf_joint"), "{s}");
        assert!(s.contains("four hip-thigh-calf chains"), "{s}");
        // The overlay's naming finds the renamed hip of every leg.
        let renamed = GO1_URDF.replace("_hip_joint", "_abad_joint");
        let p = QuadrupedParams::from_urdf(&renamed, Some("joint_kinds: [abad, thigh, calf]\n")).unwrap();
        assert_eq!(p.joint_names()[0], "FR_abad_joint");
    }

    #[test]
    fn inconsistent_quadruped_urdfs_are_listed() {
        // A longer FR calf only, a pitched thigh joint, a rear-left hip at the front.
        let text = GO1_URDF
            .replacen(
                "0 0 -0.213\" rpy=\"0 0 0\"/></joint>\n  <link name=\"FR_foot\"",
                "0 0 -0.3\" rpy=\"0 0 0\"/></joint>\n  <link name=\"FR_foot\"",
                1,
            )
            .replace("<origin xyz=\"0 0.08 0\" rpy=\"0 0 0\"/>", "<origin xyz=\"0 0.08 0\" rpy=\"0 0.1 0\"/>")
            .replace("<origin xyz=\"-0.1881 0.04675 0\"", "<origin xyz=\"0.1881 0.04675 0\"");
        let e = QuadrupedParams::from_urdf(&text, None).unwrap_err().to_string();
        for want in ["calf length differs between legs", "FL_thigh_joint origin has rpy", "RL_hip_joint origin"] {
            assert!(e.contains(want), "{want:?} not in {e}");
        }
    }

    #[test]
    fn an_arm_urdf_that_is_not_a_dh_chain_is_an_error() {
        // joint4 with a yaw and an origin off the DH form; a 6-joint chain.
        let text = PANDA_URDF.replace(
            "<origin xyz=\"0.0825 0.0 0.0\" rpy=\"1.570796326795 0 0\"/>",
            "<origin xyz=\"0.0825 0.0 0.05\" rpy=\"1.570796326795 0 0.2\"/>",
        );
        assert_ne!(text, PANDA_URDF);
        let e = ArmParams::from_urdf(&text, None).unwrap_err().to_string();
        assert!(e.contains("joint4 origin rpy") && e.contains("joint4 origin xyz"), "{e}");
        let six: String =
            PANDA_URDF.lines().filter(|l| !l.contains("name=\"joint7\"")).map(|l| format!("{l}\n")).collect();
        let e = ArmParams::from_urdf(&six, None).unwrap_err().to_string();
        assert!(e.contains("root links") || e.contains("after 6 of 7"), "{e}");
        let e = ArmParams::from_urdf("<robot name=\"x\"><link name=", None).unwrap_err();
        assert!(matches!(e, DescriptionError::Parse(_)), "{e}");
    }

    #[test]
    fn files_are_dispatched_on_the_extension() {
        let dir = std::env::temp_dir().join(format!("spikectl-urdf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let u = dir.join("robot.urdf");
        let o = dir.join("overlay.yaml");
        std::fs::write(&u, GO1_URDF).unwrap();
        std::fs::write(&o, "stand_height: 0.29\n").unwrap();
        let p = QuadrupedParams::from_file(&u, Some(&o)).unwrap();
        assert_eq!(p.stand_height, 0.29);
        let y = dir.join("go1.yaml");
        std::fs::write(&y, crate::description::GO1_YAML).unwrap();
        assert_eq!(QuadrupedParams::from_file(&y, None).unwrap(), GO1);
        assert!(QuadrupedParams::from_file(&y, Some(&o)).unwrap_err().to_string().contains("overlay"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
