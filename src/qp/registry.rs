//! The solver registry: every QP backend by name, with its options, in one place.
//!
//! `spikectl solve`, `spikectl run`, the benchmarks and the ROS nodes' `solver` parameter all
//! build their solvers here. A solver is named by a [`SolverSpec`] string:
//!
//! ```text
//! osqp | clarabel | pipg | hpdhg | spiking | loihi2  the backend
//! loihi2:planes=2,theta=1e-4                          with options
//! ```
//!
//! | name       | arithmetic                          | what runs                                   |
//! |------------|-------------------------------------|---------------------------------------------|
//! | `osqp`     | float64 (CPU)                       | OSQP (ADMM), the conventional baseline      |
//! | `clarabel` | float64 (CPU)                       | Clarabel (interior point), the reference    |
//! | `pipg`     | float64 (CPU)                       | xPIPG, the spiking network's reference      |
//! | `hpdhg`    | float64 (CPU)                       | restarted PDHG, cost-aware preconditioning  |
//! | `spiking`  | float network, op-counted           | the QP network on the `neuro` substrate     |
//! | `loihi2`   | Loihi 2 fixed point, op-counted     | the same network in Loihi 2 arithmetic      |
//!
//! Options (network backends only): `planes=N` weight planes of 8 bits per matrix (fixed
//! point, 1–4; default [`DEFAULT_PLANES`]), `theta=X` initial sigma-delta threshold θ₀ ≥ 0 in
//! the scaled problem's units, halved every [`THETA_HALVE_EVERY`] iterations (a constant θ
//! leaves a bias that stops convergence; the halving schedule is lava-optimization's idea), in the
//! scaled problem's units (0 sends every change), `omega=X` a constant primal-dual weight
//! ω > 0 (with `method=hpdhg`: the initial primal weight), `adaptive=true|false` the host-side
//! adaptive ω (with `method=hpdhg`: false fixes ω), `method=pipg|hpdhg` the method the
//! network runs ([`NetMethod`]: xPIPG, or the `hpdhg` backend's restarted, cost-aware
//! method; default: the preset's), `refine=N` iterative refinement around the network
//! ([`super::refine`]: up to N correction rounds after the first solve, each solving the
//! scaled residual problem on re-quantised data; all rounds' iterations count against
//! `max_iter`; 0 or absent: the network alone). Refinement is opt-in: [`cold_preset`]
//! regrids the fixed-point network at its restarts instead ([`SpikingSettings::regrid`],
//! the same re-posing around the current point inside the method), which solves the lava
//! ANYmal QP in 703 network iterations and every robotics family member cold; refinement on
//! top solves lava in 900 and, with its first solve capped at half the budget, costs
//! family members at a 1000-iteration budget (`docs/results.md`).
//!
//! Network backends take a *preset* ([`SpikingSettings`]) from the caller: the MPCs pass
//! their tuned settings (`crate::mpc::tuning`), a file solve passes
//! [`SpikingSettings::default`]; the options above override it.

use std::fmt;
use std::str::FromStr;

use super::hpdhg::OmegaRule as HpdhgOmegaRule;
use super::refine::{RefineOptions, RefinedSolver};
use super::spiking::{NetMethod, SpikingSettings, SpikingSolver, StepRule};
use super::{ClarabelSolver, OsqpSolver, PipgSolver, QpSolver};
use crate::neuro::ThetaSchedule;

/// Weight planes of `loihi2` when the option is not given: 3 planes of 8 bits reach the
/// float network's accuracy on the MPC families (one plane leaves a ≈ 1e-2 relative
/// weight error).
pub const DEFAULT_PLANES: u32 = 3;

/// Largest value of the `refine` option.
pub const MAX_REFINE_ROUNDS: usize = 20;

/// Iterations between halvings of the sigma-delta threshold given by the `theta` option.
pub const THETA_HALVE_EVERY: usize = 10;

/// Names of every backend, in the order they are listed to users.
pub const NAMES: [&str; 6] = ["osqp", "clarabel", "pipg", "hpdhg", "spiking", "loihi2"];

/// Errors naming or configuring a solver.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// No backend of that name.
    #[error("unknown solver '{0}' (one of: osqp, clarabel, pipg, hpdhg, spiking, loihi2)")]
    UnknownSolver(String),
    /// An option the backend does not take, or a malformed `key=value`.
    #[error("solver '{backend}': unknown or malformed option '{option}' ({hint})")]
    BadOption {
        /// Backend name.
        backend: &'static str,
        /// The offending text.
        option: String,
        /// What is accepted.
        hint: &'static str,
    },
    /// An option value out of range.
    #[error("solver '{backend}': {msg}")]
    BadValue {
        /// Backend name.
        backend: &'static str,
        /// What is wrong.
        msg: String,
    },
}

/// A QP backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// OSQP (ADMM, float64).
    Osqp,
    /// Clarabel (interior point, float64).
    Clarabel,
    /// xPIPG in float64 on the CPU.
    Pipg,
    /// Restarted PDHG with cost-aware preconditioning in float64 on the CPU ([`super::hpdhg`]).
    Hpdhg,
    /// The QP network on the neuromorphic substrate, float arithmetic.
    Spiking,
    /// The QP network in Loihi 2 fixed point.
    Loihi2,
}

impl Backend {
    /// Registry name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Osqp => "osqp",
            Backend::Clarabel => "clarabel",
            Backend::Pipg => "pipg",
            Backend::Hpdhg => "hpdhg",
            Backend::Spiking => "spiking",
            Backend::Loihi2 => "loihi2",
        }
    }

    /// True for the backends that run as a network on the `neuro` substrate.
    pub fn is_network(self) -> bool {
        matches!(self, Backend::Spiking | Backend::Loihi2)
    }

    /// The arithmetic the backend computes in.
    pub fn arithmetic(self) -> Arithmetic {
        match self {
            Backend::Osqp | Backend::Clarabel | Backend::Pipg | Backend::Hpdhg => Arithmetic::Cpu,
            Backend::Spiking => Arithmetic::FloatNetwork,
            Backend::Loihi2 => Arithmetic::Loihi2Fixed,
        }
    }
}

/// What arithmetic a solve ran in; energy and chip-latency figures name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arithmetic {
    /// float64 on the CPU (no operation counts).
    Cpu,
    /// The network in floating point, every operation counted.
    FloatNetwork,
    /// The network in Loihi 2 fixed point (8-bit weight planes, 24-bit state), counted.
    Loihi2Fixed,
}

impl Arithmetic {
    /// Label used in reports.
    pub fn label(self) -> &'static str {
        match self {
            Arithmetic::Cpu => "float64 CPU",
            Arithmetic::FloatNetwork => "float network, op-counted",
            Arithmetic::Loihi2Fixed => "Loihi 2 fixed point",
        }
    }
}

/// A backend and its options, as parsed from `name[:key=value,…]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SolverSpec {
    /// Which backend.
    pub backend: Backend,
    /// Fixed point: weight planes of 8 bits per matrix (1–4).
    pub planes: Option<u32>,
    /// Initial sigma-delta threshold θ₀ ≥ 0 (scaled units), halved every
    /// [`THETA_HALVE_EVERY`] iterations.
    pub theta: Option<f64>,
    /// Constant primal-dual weight ω > 0.
    pub omega: Option<f64>,
    /// Host-side adaptive ω on or off.
    pub adaptive: Option<bool>,
    /// The method the network runs.
    pub method: Option<NetMethod>,
    /// Iterative refinement ([`super::refine`]): at most this many correction rounds after
    /// the first solve, every round's iterations within the one budget (`Settings::max_iter`).
    /// `None` or 0: the network alone.
    #[serde(default)]
    pub refine: Option<usize>,
}

impl SolverSpec {
    /// The backend with no options.
    pub fn new(backend: Backend) -> Self {
        Self { backend, planes: None, theta: None, omega: None, adaptive: None, method: None, refine: None }
    }

    /// Registry name with the options that were given, e.g. `loihi2:planes=2`.
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// Builds the solver. Network backends start from `preset` (the caller's tuned settings)
    /// and apply the options; other backends ignore it.
    pub fn build(&self, preset: &SpikingSettings) -> Box<dyn QpSolver> {
        match self.backend {
            Backend::Osqp => Box::new(OsqpSolver::new()),
            Backend::Clarabel => Box::new(ClarabelSolver::new()),
            Backend::Pipg => Box::new(PipgSolver::new()),
            Backend::Hpdhg => Box::new(super::hpdhg::HpdhgSolver::new()),
            Backend::Spiking | Backend::Loihi2 => {
                let ss = self.network_settings(preset);
                match self.refine {
                    Some(rounds) if rounds > 0 => Box::new(RefinedSolver::network(
                        ss,
                        RefineOptions { max_rounds: rounds, ..RefineOptions::default() },
                    )),
                    _ => Box::new(SpikingSolver::new(ss)),
                }
            }
        }
    }

    /// The network settings this spec gives on top of `preset`.
    pub fn network_settings(&self, preset: &SpikingSettings) -> SpikingSettings {
        let mut s = preset.clone();
        if self.backend == Backend::Loihi2 {
            s.arith = SpikingSettings::loihi2(self.planes.unwrap_or(DEFAULT_PLANES)).arith;
        }
        if let Some(theta) = self.theta {
            s.theta = ThetaSchedule { theta0: theta, halve_every: THETA_HALVE_EVERY, min: 0.0 };
        }
        if let Some(m) = self.method {
            s.method = m;
        }
        if let Some(omega) = self.omega {
            s.steps = StepRule::Constant { omega };
            s.hpdhg.omega = omega;
        }
        if let Some(a) = self.adaptive {
            s.adaptive_omega = a;
            if !a {
                s.hpdhg.omega_rule = HpdhgOmegaRule::Fixed;
            }
        }
        s
    }

    fn check(&self) -> Result<(), RegistryError> {
        let backend = self.backend.name();
        let bad = |msg: String| Err(RegistryError::BadValue { backend, msg });
        if !self.backend.is_network()
            && (self.planes.is_some()
                || self.theta.is_some()
                || self.omega.is_some()
                || self.adaptive.is_some()
                || self.method.is_some()
                || self.refine.is_some())
        {
            return bad(
                "takes no options (planes, theta, omega, adaptive, method and refine are for spiking and loihi2)"
                    .into(),
            );
        }
        if let Some(r) = self.refine
            && r > MAX_REFINE_ROUNDS
        {
            return bad(format!("refine = {r}: at most {MAX_REFINE_ROUNDS} correction rounds"));
        }
        if self.planes.is_some() && self.backend != Backend::Loihi2 {
            return bad("planes applies to loihi2 (fixed point) only".into());
        }
        if let Some(p) = self.planes
            && !(1..=4).contains(&p)
        {
            return bad(format!("planes = {p}: must be 1, 2, 3 or 4"));
        }
        if let Some(t) = self.theta
            && !(t.is_finite() && t >= 0.0)
        {
            return bad(format!("theta = {t}: must be finite and ≥ 0"));
        }
        if let Some(w) = self.omega
            && !(w.is_finite() && w > 0.0)
        {
            return bad(format!("omega = {w}: must be finite and > 0"));
        }
        Ok(())
    }
}

impl FromStr for SolverSpec {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (name, opts) = match s.split_once(':') {
            Some((n, o)) => (n.trim(), Some(o)),
            None => (s, None),
        };
        let backend = match name {
            "osqp" => Backend::Osqp,
            "clarabel" => Backend::Clarabel,
            "pipg" => Backend::Pipg,
            "hpdhg" => Backend::Hpdhg,
            "spiking" => Backend::Spiking,
            "loihi2" => Backend::Loihi2,
            _ => return Err(RegistryError::UnknownSolver(name.to_string())),
        };
        let mut spec = SolverSpec::new(backend);
        const HINT: &str =
            "options: planes=1..4, theta=X≥0, omega=X>0, adaptive=true|false, method=pipg|hpdhg, refine=0..20";
        for opt in opts.into_iter().flat_map(|o| o.split(',')).map(str::trim).filter(|o| !o.is_empty()) {
            let bad = || RegistryError::BadOption { backend: backend.name(), option: opt.to_string(), hint: HINT };
            let (k, v) = opt.split_once('=').ok_or_else(bad)?;
            let (k, v) = (k.trim(), v.trim());
            match k {
                "planes" => spec.planes = Some(v.parse().map_err(|_| bad())?),
                "theta" => spec.theta = Some(v.parse().map_err(|_| bad())?),
                "omega" => spec.omega = Some(v.parse().map_err(|_| bad())?),
                "adaptive" => spec.adaptive = Some(v.parse().map_err(|_| bad())?),
                "refine" => spec.refine = Some(v.parse().map_err(|_| bad())?),
                "method" => {
                    spec.method = Some(match v {
                        "pipg" => NetMethod::Pipg,
                        "hpdhg" => NetMethod::Hpdhg,
                        _ => return Err(bad()),
                    })
                }
                _ => return Err(bad()),
            }
        }
        spec.check()?;
        Ok(spec)
    }
}

impl fmt::Display for SolverSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.backend.name())?;
        let mut opts = Vec::new();
        if let Some(p) = self.planes {
            opts.push(format!("planes={p}"));
        }
        if let Some(t) = self.theta {
            opts.push(format!("theta={t}"));
        }
        if let Some(w) = self.omega {
            opts.push(format!("omega={w}"));
        }
        if let Some(a) = self.adaptive {
            opts.push(format!("adaptive={a}"));
        }
        if let Some(m) = self.method {
            opts.push(format!("method={}", if m == NetMethod::Hpdhg { "hpdhg" } else { "pipg" }));
        }
        if let Some(r) = self.refine {
            opts.push(format!("refine={r}"));
        }
        if !opts.is_empty() {
            write!(f, ":{}", opts.join(","))?;
        }
        Ok(())
    }
}

/// Parses `name[:options]` and builds the solver on `preset` (see the module docs).
pub fn build(spec: &str, preset: &SpikingSettings) -> Result<Box<dyn QpSolver>, RegistryError> {
    Ok(spec.parse::<SolverSpec>()?.build(preset))
}

/// The network preset for one cold QP (a problem file, `spikectl bench qp`): the default
/// settings with the [`NetMethod::Hpdhg`] method and the `hpdhg` backend's own options
/// (cost column ratio 0, not the MPC presets' [`super::spiking::MPC_COST_COLUMN_RATIO`]), which converges on robotics MPC QPs where
/// the PIPG recurrence stalls (`docs/results.md`, first-order methods). The MPCs pass their
/// own presets (`crate::mpc::tuning`). Fixed point regrids at restarts
/// ([`SpikingSettings::regrid`]).
pub fn cold_preset() -> SpikingSettings {
    let mut s = SpikingSettings::default().with_method(NetMethod::Hpdhg);
    // The `hpdhg` backend's options (θ = 0), so the float network runs the backend's method.
    s.hpdhg = super::hpdhg::HpdhgOptions::default();
    s.regrid = true;
    s
}

/// The solver named `spec` on the [`cold_preset`] (network backends); `None` when the name or
/// an option is not accepted.
pub fn by_name(spec: &str) -> Option<Box<dyn QpSolver>> {
    build(spec, &cold_preset()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuro::fixed::Arith;

    #[test]
    fn every_name_builds_and_round_trips() {
        for n in NAMES {
            let spec: SolverSpec = n.parse().unwrap();
            assert_eq!(spec.to_string(), n);
            let s = spec.build(&SpikingSettings::default());
            assert_eq!(s.name(), n);
        }
    }

    #[test]
    fn options_apply_on_the_preset() {
        let spec: SolverSpec = "loihi2: planes=2, theta=0.001 ,omega=0.5".parse().unwrap();
        assert_eq!(spec.to_string(), "loihi2:planes=2,theta=0.001,omega=0.5");
        let s = spec.network_settings(&SpikingSettings::default());
        match s.arith {
            Arith::Fixed(p) => assert_eq!(
                p,
                match SpikingSettings::loihi2(2).arith {
                    Arith::Fixed(q) => q,
                    Arith::Float => unreachable!(),
                }
            ),
            Arith::Float => panic!("loihi2 must be fixed point"),
        }
        assert_eq!(s.theta, ThetaSchedule { theta0: 0.001, halve_every: THETA_HALVE_EVERY, min: 0.0 });
        assert_eq!(s.steps, StepRule::Constant { omega: 0.5 });
        let f = "spiking".parse::<SolverSpec>().unwrap().network_settings(&SpikingSettings::default());
        assert_eq!(f.arith, Arith::Float);
    }

    #[test]
    fn method_option_selects_the_network_method() {
        let spec: SolverSpec = "loihi2:planes=3,method=hpdhg".parse().unwrap();
        assert_eq!(spec.method, Some(NetMethod::Hpdhg));
        assert_eq!(spec.to_string(), "loihi2:planes=3,method=hpdhg");
        assert_eq!(spec.to_string().parse::<SolverSpec>().unwrap(), spec);
        let s = spec.network_settings(&SpikingSettings::default());
        assert_eq!(s.method, NetMethod::Hpdhg);
        assert!(s.arith.is_fixed());
        let p: SolverSpec = "spiking: method = pipg".parse().unwrap();
        assert_eq!(p.to_string(), "spiking:method=pipg");
        assert_eq!(p.network_settings(&SpikingSettings::default()).method, NetMethod::Pipg);
        // Without the option the preset's method stays (default PIPG).
        let d = "spiking".parse::<SolverSpec>().unwrap().network_settings(&SpikingSettings::default());
        assert_eq!(d.method, NetMethod::Pipg);
        let h = SpikingSettings::default().with_method(NetMethod::Hpdhg);
        assert_eq!("loihi2".parse::<SolverSpec>().unwrap().network_settings(&h).method, NetMethod::Hpdhg);
        // omega and adaptive reach the hpdhg options.
        let o = "spiking:method=hpdhg,omega=3,adaptive=false".parse::<SolverSpec>().unwrap();
        let s = o.network_settings(&SpikingSettings::default());
        assert_eq!((s.hpdhg.omega, s.hpdhg.omega_rule), (3.0, HpdhgOmegaRule::Fixed));
        // It builds and solves.
        let pb = crate::lab::generate::Family::RandomMixed.generate(10, 1);
        let mut sv = spec.build(&SpikingSettings::default());
        sv.setup(&pb, &crate::qp::Settings { max_iter: 2000, ..Default::default() }).unwrap();
        assert_eq!(sv.solve().unwrap().status, crate::qp::Status::Solved);
    }

    #[test]
    fn refine_option_wraps_the_network_in_refinement() {
        let spec: SolverSpec = "loihi2:method=hpdhg,refine=4".parse().unwrap();
        assert_eq!(spec.refine, Some(4));
        assert_eq!(spec.to_string(), "loihi2:method=hpdhg,refine=4");
        assert_eq!(spec.to_string().parse::<SolverSpec>().unwrap(), spec);
        let mut sv = spec.build(&SpikingSettings::default());
        assert_eq!(sv.name(), "loihi2");
        let pb = crate::lab::generate::Family::RandomMixed.generate(10, 1);
        let st = crate::qp::Settings { eps_abs: 1e-4, eps_rel: 0.0, max_iter: 3000, ..Default::default() };
        sv.setup(&pb, &st).unwrap();
        let sol = sv.solve().unwrap();
        assert_eq!(sol.status, crate::qp::Status::Solved, "{:?}", sol.residuals);
        assert!(sol.ops.is_some());
        // refine=0 is the network alone.
        assert_eq!(
            "spiking:refine=0".parse::<SolverSpec>().unwrap().build(&SpikingSettings::default()).name(),
            "spiking"
        );
    }

    #[test]
    fn bad_names_and_options_are_clear_errors() {
        let e = "foo".parse::<SolverSpec>().unwrap_err();
        assert!(e.to_string().contains("unknown solver 'foo'"), "{e}");
        for (s, needle) in [
            ("osqp:theta=1", "takes no options"),
            ("spiking:planes=2", "loihi2"),
            ("loihi2:planes=9", "planes = 9"),
            ("loihi2:theta=-1", "theta = -1"),
            ("loihi2:omega=0", "omega = 0"),
            ("loihi2:gain=2", "unknown or malformed option 'gain=2'"),
            ("loihi2:planes", "malformed"),
            ("loihi2:planes=two", "malformed"),
            ("loihi2:method=admm", "unknown or malformed option 'method=admm'"),
            ("hpdhg:method=hpdhg", "takes no options"),
            ("osqp:refine=2", "takes no options"),
            ("loihi2:refine=21", "refine = 21"),
            ("loihi2:refine=-1", "malformed"),
        ] {
            let e = s.parse::<SolverSpec>().unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }
}
