//! Robot description files: a robot's parameters ([`QuadrupedParams`], [`ArmParams`]) from a
//! YAML file, one per robot, so a robot of a supported kind needs no code change.
//!
//! A file names its `kind` (`quadruped` or `arm`), an optional `name`, and every field of
//! the parameter struct under the same name, in SI units and radians (see
//! `robot/descriptions/go1.yaml` and `panda.yaml`, the shipped defaults, embedded as
//! [`GO1_YAML`] and [`PANDA_YAML`]; they parse to exactly [`GO1`](crate::robots::GO1) and
//! [`PANDA`](crate::robots::PANDA)). Loading checks the whole file and reports every problem
//! at once: unknown keys and wrong types (from the YAML parser, with the line), then all
//! missing fields, or, when none is missing, all inconsistent values (limits out of order,
//! non-positive masses, a standing posture outside the joint limits or taller than the legs,
//! duplicate names …).
//!
//! Names (joints, legs) are stored as `&'static str` so the parameter structs stay `Copy`;
//! the names of a loaded file are leaked once, a few bytes per load.

use serde::Deserialize;

use crate::robots::{ArmParams, QuadrupedParams};

/// The shipped Go1-like quadruped description (parses to [`crate::robots::GO1`]).
pub const GO1_YAML: &str = include_str!("../descriptions/go1.yaml");
/// The shipped Panda-like arm description (parses to [`crate::robots::PANDA`]).
pub const PANDA_YAML: &str = include_str!("../descriptions/panda.yaml");

/// Why a description could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DescriptionError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// Not YAML of the expected shape (unknown key, wrong type or length; with the line).
    #[error("robot description: {0}")]
    Parse(String),
    /// A description of another kind of robot.
    #[error("robot description: kind is {found:?}, expected {expected:?}")]
    Kind {
        /// The kind asked for.
        expected: &'static str,
        /// The kind in the file.
        found: String,
    },
    /// Fields missing or inconsistent, all listed.
    #[error("robot description {name:?}: {}", list(missing, inconsistent))]
    Invalid {
        /// The file's `name` (or `?`).
        name: String,
        /// Fields that are missing.
        missing: Vec<String>,
        /// Values that are inconsistent, each with the reason.
        inconsistent: Vec<String>,
    },
}

fn list(missing: &[String], inconsistent: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing: {}", missing.join(", ")));
    }
    if !inconsistent.is_empty() {
        parts.push(format!("inconsistent: {}", inconsistent.join("; ")));
    }
    parts.join("; ")
}

/// A quadruped description as written in the file (every field optional, so all missing
/// ones can be listed).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuadrupedFile {
    pub(crate) kind: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) trunk_mass: Option<f64>,
    pub(crate) trunk_inertia: Option<[f64; 3]>,
    pub(crate) trunk_half_size: Option<[f64; 3]>,
    pub(crate) hip_offset: Option<[f64; 2]>,
    pub(crate) thigh_offset: Option<f64>,
    pub(crate) thigh_length: Option<f64>,
    pub(crate) calf_length: Option<f64>,
    pub(crate) foot_radius: Option<f64>,
    pub(crate) link_masses: Option<[f64; 3]>,
    pub(crate) torque_limits: Option<[f64; 3]>,
    pub(crate) velocity_limits: Option<[f64; 3]>,
    pub(crate) stand_height: Option<f64>,
    pub(crate) stand_q: Option<[f64; 3]>,
    pub(crate) joint_limits: Option<[(f64, f64); 3]>,
    pub(crate) thigh_com_fraction: Option<f64>,
    pub(crate) calf_com_fraction: Option<f64>,
    pub(crate) leg_names: Option<[String; 4]>,
    pub(crate) joint_kinds: Option<[String; 3]>,
    pub(crate) safe_damping: Option<f64>,
}

/// An arm description as written in the file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArmFile {
    pub(crate) kind: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) dh_a: Option<[f64; 7]>,
    pub(crate) dh_d: Option<[f64; 7]>,
    pub(crate) dh_alpha: Option<[f64; 7]>,
    pub(crate) flange_d: Option<f64>,
    pub(crate) tool_length: Option<f64>,
    pub(crate) link_masses: Option<[f64; 7]>,
    pub(crate) q_limits: Option<[(f64, f64); 7]>,
    pub(crate) torque_limits: Option<[f64; 7]>,
    pub(crate) velocity_limits: Option<[f64; 7]>,
    pub(crate) q_nominal: Option<[f64; 7]>,
    pub(crate) link_coms: Option<[[f64; 3]; 7]>,
    pub(crate) tool_mass: Option<f64>,
    pub(crate) tool_tip_radius: Option<f64>,
    pub(crate) joint_names: Option<[String; 7]>,
    pub(crate) safe_damping: Option<f64>,
}

/// Collects missing and inconsistent fields.
#[derive(Default)]
struct Check {
    missing: Vec<String>,
    bad: Vec<String>,
}

impl Check {
    /// The value of a required field (a placeholder when missing; the error is recorded).
    fn req<T: Default>(&mut self, name: &str, v: Option<T>) -> T {
        match v {
            Some(v) => v,
            None => {
                self.missing.push(name.to_string());
                T::default()
            }
        }
    }
    fn positive(&mut self, name: &str, v: &[f64]) {
        for (i, x) in v.iter().enumerate() {
            if !(x.is_finite() && *x > 0.0) {
                self.bad.push(format!("{name}[{i}] = {x} must be positive"));
            }
        }
    }
    fn non_negative(&mut self, name: &str, v: &[f64]) {
        for (i, x) in v.iter().enumerate() {
            if !(x.is_finite() && *x >= 0.0) {
                self.bad.push(format!("{name}[{i}] = {x} must be ≥ 0"));
            }
        }
    }
    fn finite(&mut self, name: &str, v: &[f64]) {
        for (i, x) in v.iter().enumerate() {
            if !x.is_finite() {
                self.bad.push(format!("{name}[{i}] is not finite"));
            }
        }
    }
    fn fraction(&mut self, name: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) {
            self.bad.push(format!("{name} = {v} must be in [0, 1]"));
        }
    }
    fn limits(&mut self, name: &str, v: &[(f64, f64)]) {
        for (i, (lo, hi)) in v.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                self.bad.push(format!("{name}[{i}] = [{lo}, {hi}] must be finite with lower < upper"));
            }
        }
    }
    fn within(&mut self, name: &str, q: &[f64], limits: &[(f64, f64)], limits_name: &str) {
        for (i, (x, (lo, hi))) in q.iter().zip(limits).enumerate() {
            if !(lo <= x && x <= hi) {
                self.bad.push(format!("{name}[{i}] = {x} is outside {limits_name}[{i}] = [{lo}, {hi}]"));
            }
        }
    }
    fn names(&mut self, field: &str, names: &[String]) {
        for (i, n) in names.iter().enumerate() {
            if n.trim().is_empty() {
                self.bad.push(format!("{field}[{i}] is empty"));
            } else if names[..i].contains(n) {
                self.bad.push(format!("{field}[{i}] = {n:?} is a duplicate"));
            }
        }
    }
    fn kind(&mut self, kind: Option<String>, expected: &'static str) -> Result<(), DescriptionError> {
        match kind {
            None => {
                self.missing.push("kind".into());
                Ok(())
            }
            Some(k) if k == expected => Ok(()),
            Some(k) => Err(DescriptionError::Kind { expected, found: k }),
        }
    }
    fn finish<T>(self, name: &str, value: T) -> Result<T, DescriptionError> {
        if self.missing.is_empty() && self.bad.is_empty() {
            Ok(value)
        } else {
            Err(DescriptionError::Invalid { name: name.to_string(), missing: self.missing, inconsistent: self.bad })
        }
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, DescriptionError> {
    serde_yaml::from_str(text).map_err(|e| DescriptionError::Parse(e.to_string()))
}

pub(crate) fn read(path: &std::path::Path) -> Result<String, DescriptionError> {
    std::fs::read_to_string(path)
        .map_err(|e| DescriptionError::Io { path: path.display().to_string(), reason: e.to_string() })
}

impl QuadrupedParams {
    /// Loads a quadruped description from YAML text (see the module docs).
    pub fn from_yaml(text: &str) -> Result<Self, DescriptionError> {
        Self::from_fields(parse(text)?)
    }

    /// Validates a description's fields (all listed problems at once).
    pub(crate) fn from_fields(f: QuadrupedFile) -> Result<Self, DescriptionError> {
        let mut c = Check::default();
        c.kind(f.kind, "quadruped")?;
        let name = f.name.unwrap_or_else(|| "?".into());
        let p = QuadrupedParams {
            trunk_mass: c.req("trunk_mass", f.trunk_mass),
            trunk_inertia: c.req("trunk_inertia", f.trunk_inertia),
            trunk_half_size: c.req("trunk_half_size", f.trunk_half_size),
            hip_offset: c.req("hip_offset", f.hip_offset),
            thigh_offset: c.req("thigh_offset", f.thigh_offset),
            thigh_length: c.req("thigh_length", f.thigh_length),
            calf_length: c.req("calf_length", f.calf_length),
            foot_radius: c.req("foot_radius", f.foot_radius),
            link_masses: c.req("link_masses", f.link_masses),
            torque_limits: c.req("torque_limits", f.torque_limits),
            velocity_limits: c.req("velocity_limits", f.velocity_limits),
            stand_height: c.req("stand_height", f.stand_height),
            stand_q: c.req("stand_q", f.stand_q),
            joint_limits: c.req("joint_limits", f.joint_limits),
            thigh_com_fraction: c.req("thigh_com_fraction", f.thigh_com_fraction),
            calf_com_fraction: c.req("calf_com_fraction", f.calf_com_fraction),
            leg_names: ["", "", "", ""],
            joint_kinds: ["", "", ""],
            safe_damping: c.req("safe_damping", f.safe_damping),
        };
        let legs = c.req("leg_names", f.leg_names);
        let kinds = c.req("joint_kinds", f.joint_kinds);
        if !c.missing.is_empty() {
            return c.finish(&name, p);
        }
        c.positive("trunk_mass", &[p.trunk_mass]);
        c.positive("trunk_inertia", &p.trunk_inertia);
        c.positive("trunk_half_size", &p.trunk_half_size);
        c.non_negative("hip_offset", &p.hip_offset);
        c.non_negative("thigh_offset", &[p.thigh_offset]);
        c.positive("thigh_length", &[p.thigh_length]);
        c.positive("calf_length", &[p.calf_length]);
        c.positive("foot_radius", &[p.foot_radius]);
        c.positive("link_masses", &p.link_masses);
        c.positive("torque_limits", &p.torque_limits);
        c.positive("velocity_limits", &p.velocity_limits);
        c.positive("stand_height", &[p.stand_height]);
        c.non_negative("safe_damping", &[p.safe_damping]);
        c.finite("stand_q", &p.stand_q);
        c.limits("joint_limits", &p.joint_limits);
        c.within("stand_q", &p.stand_q, &p.joint_limits, "joint_limits");
        c.fraction("thigh_com_fraction", p.thigh_com_fraction);
        c.fraction("calf_com_fraction", p.calf_com_fraction);
        let reach = p.thigh_length + p.calf_length + p.foot_radius;
        if p.stand_height >= reach {
            c.bad.push(format!(
                "stand_height = {} must be below the stretched leg (thigh + calf + foot radius = {reach})",
                p.stand_height
            ));
        }
        c.names("leg_names", &legs);
        c.names("joint_kinds", &kinds);
        let p = QuadrupedParams { leg_names: legs.map(leak), joint_kinds: kinds.map(leak), ..p };
        c.finish(&name, p)
    }

    /// Loads a quadruped description file.
    pub fn from_yaml_file(path: impl AsRef<std::path::Path>) -> Result<Self, DescriptionError> {
        Self::from_yaml(&read(path.as_ref())?)
    }
}

impl ArmParams {
    /// Loads an arm description from YAML text (see the module docs).
    pub fn from_yaml(text: &str) -> Result<Self, DescriptionError> {
        Self::from_fields(parse(text)?)
    }

    /// Validates a description's fields (all listed problems at once).
    pub(crate) fn from_fields(f: ArmFile) -> Result<Self, DescriptionError> {
        let mut c = Check::default();
        c.kind(f.kind, "arm")?;
        let name = f.name.unwrap_or_else(|| "?".into());
        let p = ArmParams {
            dh_a: c.req("dh_a", f.dh_a),
            dh_d: c.req("dh_d", f.dh_d),
            dh_alpha: c.req("dh_alpha", f.dh_alpha),
            flange_d: c.req("flange_d", f.flange_d),
            tool_length: c.req("tool_length", f.tool_length),
            link_masses: c.req("link_masses", f.link_masses),
            q_limits: c.req("q_limits", f.q_limits),
            torque_limits: c.req("torque_limits", f.torque_limits),
            velocity_limits: c.req("velocity_limits", f.velocity_limits),
            q_nominal: c.req("q_nominal", f.q_nominal),
            link_coms: c.req("link_coms", f.link_coms),
            tool_mass: c.req("tool_mass", f.tool_mass),
            tool_tip_radius: c.req("tool_tip_radius", f.tool_tip_radius),
            joint_names: [""; 7],
            safe_damping: c.req("safe_damping", f.safe_damping),
        };
        let names = c.req("joint_names", f.joint_names);
        if !c.missing.is_empty() {
            return c.finish(&name, p);
        }
        c.finite("dh_a", &p.dh_a);
        c.finite("dh_d", &p.dh_d);
        c.finite("dh_alpha", &p.dh_alpha);
        c.finite("flange_d", &[p.flange_d]);
        c.non_negative("tool_length", &[p.tool_length]);
        c.positive("link_masses", &p.link_masses);
        c.limits("q_limits", &p.q_limits);
        c.positive("torque_limits", &p.torque_limits);
        c.positive("velocity_limits", &p.velocity_limits);
        c.within("q_nominal", &p.q_nominal, &p.q_limits, "q_limits");
        c.finite("link_coms", p.link_coms.as_flattened());
        c.non_negative("tool_mass", &[p.tool_mass]);
        c.positive("tool_tip_radius", &[p.tool_tip_radius]);
        c.non_negative("safe_damping", &[p.safe_damping]);
        c.names("joint_names", &names);
        let joint_names: [&'static str; 7] = std::array::from_fn(|i| leak(names[i].clone()));
        c.finish(&name, ArmParams { joint_names, ..p })
    }

    /// Loads an arm description file.
    pub fn from_yaml_file(path: impl AsRef<std::path::Path>) -> Result<Self, DescriptionError> {
        Self::from_yaml(&read(path.as_ref())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::robots::{GO1, PANDA};

    #[test]
    fn the_shipped_descriptions_are_the_defaults() {
        assert_eq!(QuadrupedParams::from_yaml(GO1_YAML).unwrap(), GO1);
        assert_eq!(ArmParams::from_yaml(PANDA_YAML).unwrap(), PANDA);
    }

    #[test]
    fn every_missing_field_is_listed() {
        let text = GO1_YAML
            .lines()
            .filter(|l| !l.starts_with("calf_length") && !l.starts_with("velocity_limits"))
            .collect::<Vec<_>>()
            .join("\n");
        let e = QuadrupedParams::from_yaml(&text).unwrap_err();
        match &e {
            DescriptionError::Invalid { missing, .. } => {
                assert_eq!(missing, &["calf_length".to_string(), "velocity_limits".to_string()])
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("missing: calf_length, velocity_limits"), "{e}");
    }

    #[test]
    fn inconsistent_values_are_listed_together() {
        let text = GO1_YAML
            .replace("stand_height: 0.30", "stand_height: 0.50")
            .replace("trunk_mass: 5.204", "trunk_mass: -1.0")
            .replace("stand_q: [0.0, 0.67, -1.3]", "stand_q: [0.0, 0.67, -0.2]")
            .replace("leg_names: [FR, FL, RR, RL]", "leg_names: [FR, FR, RR, RL]");
        let e = QuadrupedParams::from_yaml(&text).unwrap_err().to_string();
        for want in ["trunk_mass[0] = -1", "stand_height = 0.5", "stand_q[2] = -0.2 is outside", "leg_names[1]"] {
            assert!(e.contains(want), "{want:?} not in {e}");
        }
        let e = ArmParams::from_yaml(&PANDA_YAML.replace("  - [-2.8973, 2.8973]\n", "  - [2.8973, -2.8973]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("q_limits[0]"), "{e}");
    }

    #[test]
    fn unknown_keys_wrong_kinds_and_shapes_are_errors() {
        let e = QuadrupedParams::from_yaml(&format!("{GO1_YAML}\ntrunk_colour: red\n")).unwrap_err();
        assert!(matches!(&e, DescriptionError::Parse(m) if m.contains("trunk_colour")), "{e}");
        assert!(matches!(QuadrupedParams::from_yaml(PANDA_YAML), Err(DescriptionError::Parse(_))));
        let e = ArmParams::from_yaml(&PANDA_YAML.replace("kind: arm", "kind: quadruped")).unwrap_err();
        assert!(matches!(e, DescriptionError::Kind { .. }), "{e}");
        let e = QuadrupedParams::from_yaml(&GO1_YAML.replace("[0.680, 1.009, 0.196]", "[0.680, 1.009]")).unwrap_err();
        assert!(matches!(&e, DescriptionError::Parse(m) if m.contains("link_masses")), "{e}");
        let e = QuadrupedParams::from_yaml_file("/nonexistent/robot.yaml").unwrap_err();
        assert!(matches!(e, DescriptionError::Io { .. }));
    }
}
