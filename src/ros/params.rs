//! Typed node parameters with defaults and validation.
//!
//! A node lists its parameters as [`ParamSpec`]s; [`declare`] reads the overrides given on the
//! command line (`--ros-args -p deadline_s:=0.002`), fills in defaults, checks type and range,
//! writes the resulting values back into the node (so r2r's parameter services show them) and
//! returns them as [`Params`]. A bad value is a clear [`ParamError`] and the node refuses to
//! start, rather than running with a guess. While the node runs, [`super::param_server`]
//! serves them (`ros2 param list/get/set`) and accepts changes to the ones the node declares
//! live.

use std::collections::BTreeMap;

use r2r::{Parameter, ParameterValue};

/// The value of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `true` / `false`.
    Bool(bool),
    /// 64-bit integer.
    Int(i64),
    /// 64-bit float (an integer given on the command line is accepted and converted).
    Double(f64),
    /// UTF-8 string.
    Str(String),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
        }
    }

    /// The value as r2r carries it.
    pub(crate) fn to_ros(&self) -> ParameterValue {
        match self {
            Value::Bool(b) => ParameterValue::Bool(*b),
            Value::Int(i) => ParameterValue::Integer(*i),
            Value::Double(d) => ParameterValue::Double(*d),
            Value::Str(s) => ParameterValue::String(s.clone()),
        }
    }
}

/// What a value must satisfy beyond its type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    /// Any value of the right type.
    Any,
    /// A finite number in `[min, max]` (integers and doubles).
    Range {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// A non-empty string.
    NonEmpty,
    /// A ROS topic name: non-empty, no spaces, only `[A-Za-z0-9_/~{}]`.
    Topic,
    /// Empty (the output is off) or a ROS topic name as [`Check::Topic`].
    OptionalTopic,
    /// One of the listed strings.
    OneOf(&'static [&'static str]),
}

/// One declared parameter: name, default, check and a description (with units).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Parameter name, e.g. `deadline_s`.
    pub name: &'static str,
    /// What it means, with units.
    pub description: &'static str,
    /// Value used when the command line does not set it.
    pub default: DefaultValue,
    /// Validation beyond the type.
    pub check: Check,
}

/// A default value that can live in a `const`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// Boolean default.
    Bool(bool),
    /// Integer default.
    Int(i64),
    /// Float default.
    Double(f64),
    /// String default.
    Str(&'static str),
}

impl DefaultValue {
    fn value(self) -> Value {
        match self {
            DefaultValue::Bool(b) => Value::Bool(b),
            DefaultValue::Int(i) => Value::Int(i),
            DefaultValue::Double(d) => Value::Double(d),
            DefaultValue::Str(s) => Value::Str(s.to_string()),
        }
    }
}

impl ParamSpec {
    /// A boolean parameter.
    pub const fn bool(name: &'static str, default: bool, description: &'static str) -> Self {
        Self { name, description, default: DefaultValue::Bool(default), check: Check::Any }
    }
    /// An integer parameter in `[min, max]`.
    pub const fn int(name: &'static str, default: i64, min: i64, max: i64, description: &'static str) -> Self {
        Self {
            name,
            description,
            default: DefaultValue::Int(default),
            check: Check::Range { min: min as f64, max: max as f64 },
        }
    }
    /// A float parameter, finite and in `[min, max]`.
    pub const fn double(name: &'static str, default: f64, min: f64, max: f64, description: &'static str) -> Self {
        Self { name, description, default: DefaultValue::Double(default), check: Check::Range { min, max } }
    }
    /// A string parameter with a check ([`Check::NonEmpty`], [`Check::Topic`], [`Check::OneOf`]).
    pub const fn string(name: &'static str, default: &'static str, check: Check, description: &'static str) -> Self {
        Self { name, description, default: DefaultValue::Str(default), check }
    }
}

/// If the command line asks for `--help`/`-h`, prints `usage` and the parameters of `specs`
/// (name, default, description) and returns true; the node then exits.
pub fn print_help_if_asked(usage: &str, specs: &[ParamSpec]) -> bool {
    if !std::env::args().any(|a| a == "--help" || a == "-h") {
        return false;
    }
    println!("{usage}\nparameters:");
    for p in specs {
        println!("  {:<22} {:<32} {}", p.name, format!("{:?}", p.default), p.description);
    }
    true
}

/// `use_sim_time`: the standard ROS 2 parameter, declared by the nodes that take time from a
/// clock (the controllers, the monitor, the tracker).
pub const USE_SIM_TIME: ParamSpec =
    ParamSpec::bool("use_sim_time", false, "Follow the /clock topic instead of the system clock");

/// The controller nodes' `rt_priority` parameter (see [`super::rt::priority_from_param`]).
pub(crate) const RT_PRIORITY: ParamSpec = ParamSpec::int(
    "rt_priority",
    0,
    0,
    super::rt::MAX_RT_PRIORITY as i64,
    "SCHED_FIFO priority of the real-time tick thread (1-90; needs CAP_SYS_NICE or an rtprio limit; refused → default scheduling, logged, in /diagnostics); 0: default scheduling",
);

/// Why a parameter was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// The value has the wrong type.
    #[error("parameter `{name}`: expected {expected}, got {got}")]
    Type {
        /// Parameter name.
        name: String,
        /// Declared type.
        expected: &'static str,
        /// Type given.
        got: &'static str,
    },
    /// The value failed its check.
    #[error("parameter `{name}` = {value}: {reason}")]
    Invalid {
        /// Parameter name.
        name: String,
        /// The rejected value, printed.
        value: String,
        /// What it must satisfy.
        reason: String,
    },
    /// Code asked for a parameter that was never declared (a programming error).
    #[error("parameter `{0}` was not declared")]
    Unknown(String),
}

/// Checks `value` against `spec` (type and [`Check`]); integers are accepted for doubles.
pub fn validate(spec: &ParamSpec, value: Value) -> Result<Value, ParamError> {
    let expected = spec.default.value();
    let value = match (&expected, value) {
        (Value::Double(_), Value::Int(i)) => Value::Double(i as f64),
        (e, v) if std::mem::discriminant(e) == std::mem::discriminant(&v) => v,
        (e, v) => {
            return Err(ParamError::Type { name: spec.name.into(), expected: e.type_name(), got: v.type_name() });
        }
    };
    let invalid = |reason: String| ParamError::Invalid { name: spec.name.into(), value: format!("{value:?}"), reason };
    match (spec.check, &value) {
        (Check::Any, _) => {}
        (Check::Range { min, max }, Value::Double(x)) => {
            if !x.is_finite() || *x < min || *x > max {
                return Err(invalid(format!("must be finite and in [{min}, {max}]")));
            }
        }
        (Check::Range { min, max }, Value::Int(i)) => {
            if (*i as f64) < min || (*i as f64) > max {
                return Err(invalid(format!("must be in [{min}, {max}]")));
            }
        }
        (Check::NonEmpty, Value::Str(s)) => {
            if s.trim().is_empty() {
                return Err(invalid("must not be empty".into()));
            }
        }
        (Check::OptionalTopic, Value::Str(s)) if s.is_empty() => {}
        (Check::Topic | Check::OptionalTopic, Value::Str(s)) => {
            let ok_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || "_/~{}".contains(c));
            if s.is_empty() || !ok_chars || s.contains("//") || s.ends_with('/') {
                return Err(invalid("must be a valid ROS topic name".into()));
            }
        }
        (Check::OneOf(allowed), Value::Str(s)) => {
            if !allowed.contains(&s.as_str()) {
                return Err(invalid(format!("must be one of {allowed:?}")));
            }
        }
        (check, v) => return Err(invalid(format!("check {check:?} does not apply to a {}", v.type_name()))),
    }
    Ok(value)
}

/// The scalar in `v` (`None`: not set), or a type error naming `name`.
pub(crate) fn from_ros(name: &str, v: &ParameterValue) -> Result<Option<Value>, ParamError> {
    Ok(Some(match v {
        ParameterValue::NotSet => return Ok(None),
        ParameterValue::Bool(b) => Value::Bool(*b),
        ParameterValue::Integer(i) => Value::Int(*i),
        ParameterValue::Double(d) => Value::Double(*d),
        ParameterValue::String(s) => Value::Str(s.clone()),
        other => {
            return Err(ParamError::Type { name: name.into(), expected: "a scalar", got: other.type_name() });
        }
    }))
}

/// Validated parameter values of a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<&'static str, Value>,
}

impl Params {
    /// Resolves `specs` against explicit overrides (name → value), without a ROS node.
    /// Unknown override names are ignored (ROS passes e.g. `use_sim_time` to every node).
    pub(crate) fn resolve(specs: &[ParamSpec], overrides: &BTreeMap<String, Value>) -> Result<Self, ParamError> {
        let mut values = BTreeMap::new();
        for spec in specs {
            let v = match overrides.get(spec.name) {
                Some(v) => validate(spec, v.clone())?,
                None => validate(spec, spec.default.value())?,
            };
            values.insert(spec.name, v);
        }
        Ok(Self { values })
    }

    /// The value of `name`, whatever its type.
    pub(crate) fn value(&self, name: &str) -> Result<&Value, ParamError> {
        self.values.get(name).ok_or_else(|| ParamError::Unknown(name.into()))
    }

    /// A boolean parameter.
    pub fn bool(&self, name: &str) -> Result<bool, ParamError> {
        match self.value(name)? {
            Value::Bool(b) => Ok(*b),
            v => Err(ParamError::Type { name: name.into(), expected: "bool", got: v.type_name() }),
        }
    }
    /// An integer parameter.
    pub fn int(&self, name: &str) -> Result<i64, ParamError> {
        match self.value(name)? {
            Value::Int(i) => Ok(*i),
            v => Err(ParamError::Type { name: name.into(), expected: "integer", got: v.type_name() }),
        }
    }
    /// A float parameter.
    pub fn double(&self, name: &str) -> Result<f64, ParamError> {
        match self.value(name)? {
            Value::Double(d) => Ok(*d),
            v => Err(ParamError::Type { name: name.into(), expected: "double", got: v.type_name() }),
        }
    }
    /// A string parameter.
    pub fn string(&self, name: &str) -> Result<&str, ParamError> {
        match self.value(name)? {
            Value::Str(s) => Ok(s),
            v => Err(ParamError::Type { name: name.into(), expected: "string", got: v.type_name() }),
        }
    }
}

/// Declares `specs` on `node`: reads command-line overrides, validates them (or takes the
/// defaults), and stores the final values in the node's parameter table.
pub fn declare(node: &mut r2r::Node, specs: &[ParamSpec]) -> Result<Params, ParamError> {
    let mut overrides = BTreeMap::new();
    {
        let table = node.params.lock().unwrap_or_else(|e| e.into_inner());
        for spec in specs {
            if let Some(p) = table.get(spec.name)
                && let Some(v) = from_ros(spec.name, &p.value)?
            {
                overrides.insert(spec.name.to_string(), v);
            }
        }
    }
    let params = Params::resolve(specs, &overrides)?;
    let mut table = node.params.lock().unwrap_or_else(|e| e.into_inner());
    for spec in specs {
        let v = params.value(spec.name)?;
        table.insert(spec.name.to_string(), Parameter { value: v.to_ros(), description: spec.description });
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::double("deadline_s", 0.002, 1e-6, 10.0, "deadline [s]"),
        ParamSpec::int("window", 1000, 10, 1_000_000, "samples"),
        ParamSpec::string("topic", "/spikectl/solve_stats", Check::Topic, "topic"),
        ParamSpec::string("solver", "spiking", Check::OneOf(&["spiking", "osqp"]), "backend"),
        USE_SIM_TIME,
    ];

    fn with(name: &str, v: Value) -> Result<Params, ParamError> {
        Params::resolve(SPECS, &BTreeMap::from([(name.to_string(), v)]))
    }

    #[test]
    fn defaults_fill_unset_parameters() {
        let p = Params::resolve(SPECS, &BTreeMap::new()).unwrap();
        assert_eq!(p.double("deadline_s").unwrap(), 0.002);
        assert_eq!(p.int("window").unwrap(), 1000);
        assert_eq!(p.string("topic").unwrap(), "/spikectl/solve_stats");
        assert!(!p.bool("use_sim_time").unwrap());
        assert!(matches!(p.double("nope"), Err(ParamError::Unknown(_))));
        assert!(matches!(p.int("deadline_s"), Err(ParamError::Type { .. })));
    }

    #[test]
    fn overrides_are_validated() {
        assert_eq!(with("deadline_s", Value::Double(0.01)).unwrap().double("deadline_s").unwrap(), 0.01);
        // An integer on the command line (`deadline_s:=1`) is a valid double.
        assert_eq!(with("deadline_s", Value::Int(1)).unwrap().double("deadline_s").unwrap(), 1.0);
        for bad in [Value::Double(-1.0), Value::Double(f64::NAN), Value::Double(f64::INFINITY), Value::Double(11.0)] {
            assert!(matches!(with("deadline_s", bad), Err(ParamError::Invalid { .. })));
        }
        assert!(matches!(with("deadline_s", Value::Str("fast".into())), Err(ParamError::Type { .. })));
        assert!(matches!(with("window", Value::Int(5)), Err(ParamError::Invalid { .. })));
        assert!(matches!(with("window", Value::Double(100.0)), Err(ParamError::Type { .. })));
        assert!(matches!(with("topic", Value::Str("has space".into())), Err(ParamError::Invalid { .. })));
        assert!(matches!(with("topic", Value::Str("".into())), Err(ParamError::Invalid { .. })));
        assert!(with("topic", Value::Str("/a/b_c".into())).is_ok());
        assert!(matches!(with("solver", Value::Str("cplex".into())), Err(ParamError::Invalid { .. })));
        assert!(matches!(with("use_sim_time", Value::Int(1)), Err(ParamError::Type { .. })));
        // Unknown names are ignored.
        assert!(with("something_else", Value::Int(3)).is_ok());
    }

    #[test]
    fn errors_name_the_parameter() {
        let e = with("deadline_s", Value::Double(-1.0)).unwrap_err().to_string();
        assert!(e.contains("deadline_s") && e.contains("[0.000001, 10]"), "{e}");
    }
}
