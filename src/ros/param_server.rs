//! Parameter services of a node: `ros2 param list | get | set | describe` answer, a set is
//! validated against the node's [`ParamSpec`]s, and only the parameters the node can change
//! while it runs ("live") are accepted; every other one is refused with the reason.
//!
//! [`ParamServer::start`] registers the services (r2r's parameter handler over a table of
//! this module) after [`super::params::declare`] has resolved the start-up values. The node
//! calls [`ParamServer::poll`] after each `spin_once`: it runs the service handlers and
//! returns the accepted changes, which the node applies (a setpoint, a gain, a deadline).
//! Nothing blocks: requests are answered from the node's own thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt as _;
use r2r::{Parameter, ParameterValue, RosParams};

use super::params::{ParamError, ParamSpec, Params, Value, from_ros, validate};

/// The node's parameters as the services see them.
struct Table {
    specs: Vec<ParamSpec>,
    live: Vec<&'static str>,
    values: BTreeMap<&'static str, Value>,
}

impl Table {
    fn spec(&self, name: &str) -> r2r::Result<&ParamSpec> {
        self.specs
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| r2r::Error::InvalidParameterName { name: name.to_string() })
    }

    /// The validated value of a set request, or why it is refused.
    fn accept(&self, name: &str, value: &ParameterValue) -> r2r::Result<(&'static str, Value)> {
        let spec = self.spec(name)?;
        let refuse = |msg: String| r2r::Error::ParameterValueConv { name: name.to_string(), msg };
        if !self.live.contains(&spec.name) {
            return Err(refuse(
                "read-only while the node runs: it is used at start-up only (set it on the command line, in the \
                 parameter file or as a launch argument, then restart the node)"
                    .into(),
            ));
        }
        let v = from_ros(name, value)
            .and_then(|v| v.ok_or_else(|| ParamError::Unknown(name.to_string())))
            .and_then(|v| validate(spec, v))
            .map_err(|e| refuse(e.to_string()))?;
        Ok((spec.name, v))
    }
}

impl RosParams for Table {
    fn register_parameters(
        &mut self,
        _prefix: &str,
        _param: Option<Parameter>,
        params: &mut r2r::indexmap::IndexMap<String, Parameter>,
    ) -> r2r::Result<()> {
        for spec in &self.specs {
            if let Some(v) = self.values.get(spec.name) {
                params.insert(spec.name.to_string(), Parameter { value: v.to_ros(), description: spec.description });
            }
        }
        Ok(())
    }

    fn get_parameter(&mut self, name: &str) -> r2r::Result<ParameterValue> {
        self.values
            .get(name)
            .map(Value::to_ros)
            .ok_or_else(|| r2r::Error::InvalidParameterName { name: name.to_string() })
    }

    fn set_parameter(&mut self, name: &str, value: &ParameterValue) -> r2r::Result<()> {
        let (name, v) = self.accept(name, value)?;
        self.values.insert(name, v);
        Ok(())
    }

    fn check_parameter(&self, name: &str, value: &ParameterValue) -> r2r::Result<()> {
        self.accept(name, value).map(|_| ())
    }
}

/// The parameter services of one node (see the module docs).
pub struct ParamServer {
    /// The node's name, for the log line of each accepted change.
    node: String,
    pool: LocalPool,
    changes: crossbeam_channel::Receiver<(String, ParameterValue)>,
    table: Arc<Mutex<Table>>,
}

impl ParamServer {
    /// Serves the parameters `specs` of `node` with their start-up values `current`;
    /// `live` names those a set may change while the node runs.
    pub fn start(
        node: &mut r2r::Node,
        specs: &[ParamSpec],
        current: &Params,
        live: &[&'static str],
    ) -> anyhow::Result<Self> {
        let values = specs.iter().filter_map(|s| Some((s.name, current.value(s.name).ok()?.clone()))).collect();
        let table = Arc::new(Mutex::new(Table { specs: specs.to_vec(), live: live.to_vec(), values }));
        let shared: Arc<Mutex<dyn RosParams + Send>> = table.clone();
        let (handler, events) = node.make_derived_parameter_handler(shared)?;
        let pool = LocalPool::new();
        let (tx, changes) = crossbeam_channel::unbounded();
        let spawner = pool.spawner();
        spawner.spawn_local(handler).map_err(|e| anyhow::anyhow!("parameter services: {e}"))?;
        spawner
            .spawn_local(events.for_each(move |e| {
                // The receiver lives as long as the pool: a send cannot fail while it runs.
                let _ = tx.send(e);
                futures::future::ready(())
            }))
            .map_err(|e| anyhow::anyhow!("parameter events: {e}"))?;
        Ok(Self { node: node.name()?, pool, changes, table })
    }

    /// Answers the parameter requests that arrived (call after `spin_once`) and returns the
    /// accepted changes, validated, in arrival order (each logged on stderr).
    pub fn poll(&mut self) -> Vec<(&'static str, Value)> {
        self.pool.run_until_stalled();
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let changes: Vec<(&'static str, Value)> = self
            .changes
            .try_iter()
            .filter_map(|(name, _)| table.values.get_key_value(name.as_str()).map(|(k, v)| (*k, v.clone())))
            .collect();
        for (name, v) in &changes {
            eprintln!("[{}] parameter {name} set to {v:?}", self.node);
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros::params::Check;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::double("deadline_s", 0.002, 1e-6, 10.0, "deadline [s]"),
        ParamSpec::string("solver", "osqp", Check::OneOf(&["spiking", "osqp"]), "backend"),
    ];

    fn table() -> Table {
        let p = Params::resolve(SPECS, &BTreeMap::new()).unwrap();
        let values = SPECS.iter().map(|s| (s.name, p.value(s.name).unwrap().clone())).collect();
        Table { specs: SPECS.to_vec(), live: vec!["deadline_s"], values }
    }

    #[test]
    fn live_parameters_are_validated_and_static_ones_refused_with_a_reason() {
        let mut t = table();
        t.set_parameter("deadline_s", &ParameterValue::Double(0.005)).unwrap();
        assert_eq!(t.get_parameter("deadline_s").unwrap(), ParameterValue::Double(0.005));
        // An integer is a valid double.
        t.set_parameter("deadline_s", &ParameterValue::Integer(1)).unwrap();
        assert_eq!(t.values["deadline_s"], Value::Double(1.0));
        for bad in [ParameterValue::Double(-1.0), ParameterValue::Double(f64::NAN), ParameterValue::Bool(true)] {
            let e = t.set_parameter("deadline_s", &bad).unwrap_err().to_string();
            assert!(e.contains("deadline_s"), "{e}");
        }
        assert_eq!(t.values["deadline_s"], Value::Double(1.0), "a refused set changes nothing");
        let e = t.set_parameter("solver", &ParameterValue::String("spiking".into())).unwrap_err().to_string();
        assert!(e.contains("read-only while the node runs"), "{e}");
        assert!(matches!(
            t.set_parameter("nope", &ParameterValue::Integer(1)),
            Err(r2r::Error::InvalidParameterName { .. })
        ));
        assert!(t.check_parameter("deadline_s", &ParameterValue::Double(0.5)).is_ok());
        assert!(t.check_parameter("deadline_s", &ParameterValue::Double(50.0)).is_err());
    }

    #[test]
    fn registration_lists_every_parameter_with_its_description() {
        let mut t = table();
        let mut map = r2r::indexmap::IndexMap::new();
        t.register_parameters("", None, &mut map).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map["solver"].value, ParameterValue::String("osqp".into()));
        assert_eq!(map["deadline_s"].description, "deadline [s]");
    }
}
