//! The real-time step shared by the controller nodes: every command passes the controller's
//! [`SafetyGuard`] (e-stop latched until reset, fall / contact-loss faults, the damping stop
//! on every tick while the newest state is stale, joint limits), and the node's counters
//! are kept. ROS-free; it runs on the [`super::rt`] loop's thread.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use super::diagnostics::Counters;
use crate::control::safety::{Fault, FaultSignals, SafetyConfig, SafetyGuard, SafetyMode};
use crate::control::{ControlError, Controller, ControllerCounters, RobotState};
use crate::mpc::SolveRecord;

/// Counters of a controller node's real-time step beyond [`Counters`] (shared with the ROS thread).
#[derive(Debug, Default)]
pub struct RtCounters {
    /// Real-time ticks that sent the safe command because the state was stale [count].
    pub stale_ticks: AtomicU64,
    /// States the controller itself rejected as invalid (→ safe command) [count].
    pub controller_invalid: AtomicU64,
    /// MPC solves started [count].
    pub solves: AtomicU64,
    /// Commands computed [count].
    pub commands: AtomicU64,
    /// MPC solves finished [count] (with the MPC thread, fewer than started when a newer
    /// job replaced one the worker had not taken, or one is in flight).
    pub solves_finished: AtomicU64,
    /// Controller updates that fell back because no MPC solution was young enough [count]
    /// ([`crate::control::ControllerCounters::stale_solutions`]).
    pub stale_solutions: AtomicU64,
    /// Largest age of the MPC solution in use at a tick [µs, controller time].
    pub max_solution_age_us: AtomicU64,
    /// 1 once the MPC worker thread has stopped (a panic in the solver): every tick then
    /// falls back; the diagnostics report ERROR.
    pub mpc_thread_down: AtomicU64,
    /// E-stop requests from the ROS thread (`estop` true) [count]; the step engages the
    /// e-stop when this grows.
    pub estop_requests: AtomicU64,
    /// Reset requests from the ROS thread (`estop_reset`) [count]; the step clears the
    /// e-stop and a latched fault when this grows.
    pub reset_requests: AtomicU64,
    /// 1 while the e-stop is latched (written by the step).
    pub estop_engaged: AtomicU64,
    /// The latched fault (written by the step): 0 none, 1 fall, 2 contact loss, 3 excessive
    /// contact force ([`fault_code`]).
    pub fault: AtomicU64,
    /// Ticks stopped by the e-stop [count].
    pub estop_ticks: AtomicU64,
    /// Ticks stopped by a latched fault [count].
    pub fault_ticks: AtomicU64,
    /// Joint positions found beyond a limit [count, joint·ticks].
    pub position_violations: AtomicU64,
    /// Joint speeds found above a limit [count, joint·ticks].
    pub velocity_violations: AtomicU64,
    /// Commanded torques clamped to a torque limit [count, joint·ticks].
    pub torque_clamps: AtomicU64,
}

/// The code of a latched fault in [`RtCounters::fault`] (0: none).
pub fn fault_code(f: Option<Fault>) -> u64 {
    match f {
        None => 0,
        Some(Fault::Fall) => 1,
        Some(Fault::ContactLoss) => 2,
        Some(Fault::ExcessiveForce) => 3,
    }
}

/// The fault of a [`fault_code`].
pub fn fault_of_code(c: u64) -> Option<Fault> {
    match c {
        1 => Some(Fault::Fall),
        2 => Some(Fault::ContactLoss),
        3 => Some(Fault::ExcessiveForce),
        _ => None,
    }
}

/// A state handed to the real-time thread, with the wall time it was assembled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamped<S> {
    /// The measured state [SI].
    pub state: S,
    /// When it was assembled (monotonic wall clock).
    pub received: Instant,
}

/// Why the real-time step produced a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// The controller's command for a new state.
    Control,
    /// The damping stop: the state is stale.
    SafeStale,
    /// The damping stop: the e-stop or a fault is latched.
    Stop,
}

/// One output of [`RtStep::step`].
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutput<const N: usize> {
    /// Stamp of the state the command answers [s].
    pub stamp_s: f64,
    /// Joint torques [N·m], finite.
    pub tau: [f64; N],
    /// What produced it.
    pub kind: CommandKind,
    /// MPC solves done in this step.
    pub records: Vec<SolveRecord>,
}

/// The node's real-time step: through the [`SafetyGuard`], the controller's `update` on each
/// new state, and the damping stop on every tick while the newest state is older than the
/// stale timeout (see [`crate::control::safety`]).
pub struct RtStep<C: Controller<N>, const N: usize> {
    ctrl: C,
    cmd: C::Command,
    last: Option<Stamped<C::State>>,
    guard: SafetyGuard<N>,
    counters: Arc<Counters>,
    rt: Arc<RtCounters>,
    seen: ControllerCounters,
    seen_estop: u64,
    seen_reset: u64,
}

impl<C: Controller<N>, const N: usize> RtStep<C, N>
where
    C::State: FaultSignals,
{
    /// Wraps `ctrl` with a guard of `safety` and `ctrl`'s joint limits; counters are shared
    /// with the ROS thread (e-stop and reset requests come through them).
    pub fn new(
        ctrl: C,
        cmd: C::Command,
        safety: SafetyConfig,
        counters: Arc<Counters>,
        rt: Arc<RtCounters>,
    ) -> Result<Self, ControlError> {
        let seen = ctrl.counters();
        let guard = SafetyGuard::for_controller(safety, &ctrl)?;
        let seen_estop = rt.estop_requests.load(std::sync::atomic::Ordering::Relaxed);
        let seen_reset = rt.reset_requests.load(std::sync::atomic::Ordering::Relaxed);
        Ok(Self { ctrl, cmd, last: None, guard, counters, rt, seen, seen_estop, seen_reset })
    }

    /// The command in force.
    pub fn command(&self) -> C::Command {
        self.cmd
    }

    /// The wrapped controller.
    pub fn controller(&self) -> &C {
        &self.ctrl
    }

    /// The safety guard.
    pub fn guard(&self) -> &SafetyGuard<N> {
        &self.guard
    }

    /// One tick at wall time `now` with the newest state and command, if new ones arrived.
    /// Returns `None` before the first state and while the newest state is fresh and answered.
    pub fn step(
        &mut self,
        now: Instant,
        state: Option<Stamped<C::State>>,
        cmd: Option<C::Command>,
    ) -> Option<StepOutput<N>> {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(c) = cmd {
            self.cmd = c;
        }
        // Requests from the ROS thread: a reset first, then an e-stop that came after it.
        let (resets, estops) = (self.rt.reset_requests.load(Relaxed), self.rt.estop_requests.load(Relaxed));
        if resets != self.seen_reset {
            self.seen_reset = resets;
            self.guard.reset();
        }
        if estops != self.seen_estop {
            self.seen_estop = estops;
            self.guard.engage_estop();
        }
        let (s, fresh) = match state {
            Some(s) => {
                self.last = Some(s);
                (s, true)
            }
            None => (self.last?, false),
        };
        let age = now.saturating_duration_since(s.received).as_secs_f64();
        if !fresh && age <= self.guard.config().stale_timeout {
            return None;
        }
        let before = self.guard.counters();
        let tau = self.guard.step(&mut self.ctrl, &s.state, &self.cmd, age);
        let after = self.guard.counters();
        let add = |a: &AtomicU64, now: u64, before: u64| {
            a.fetch_add(now.saturating_sub(before), Relaxed);
        };
        add(&self.rt.stale_ticks, after.stale_ticks, before.stale_ticks);
        add(&self.rt.estop_ticks, after.estop_ticks, before.estop_ticks);
        add(&self.rt.fault_ticks, after.fault_ticks, before.fault_ticks);
        add(&self.rt.position_violations, after.limits.position, before.limits.position);
        add(&self.rt.velocity_violations, after.limits.velocity, before.limits.velocity);
        add(
            &self.rt.torque_clamps,
            after.limits.torque + after.limits.non_finite,
            before.limits.torque + before.limits.non_finite,
        );
        self.rt.estop_engaged.store(self.guard.estop_engaged() as u64, Relaxed);
        self.rt.fault.store(fault_code(self.guard.fault()), Relaxed);
        let kind = match self.guard.mode() {
            SafetyMode::Control => CommandKind::Control,
            SafetyMode::Stale => CommandKind::SafeStale,
            SafetyMode::EStop | SafetyMode::Fault(_) => CommandKind::Stop,
        };
        let records = if kind == CommandKind::Control { self.ctrl.take_solve_records() } else { Vec::new() };
        if kind == CommandKind::Control {
            let c = self.ctrl.counters();
            for _ in self.seen.fallbacks..c.fallbacks {
                Counters::bump(&self.counters.fallbacks);
            }
            for _ in self.seen.invalid_inputs..c.invalid_inputs {
                Counters::bump(&self.rt.controller_invalid);
            }
            for _ in self.seen.solves..c.solves {
                Counters::bump(&self.rt.solves);
            }
            add(&self.rt.solves_finished, c.solves_finished, self.seen.solves_finished);
            add(&self.rt.stale_solutions, c.stale_solutions, self.seen.stale_solutions);
            self.rt.max_solution_age_us.fetch_max(c.max_solution_age_us, Relaxed);
            self.seen = c;
        }
        if !self.ctrl.mpc_alive() {
            self.rt.mpc_thread_down.store(1, Relaxed);
        }
        Counters::bump(&self.rt.commands);
        let tau = tau.map(|t| if t.is_finite() { t } else { 0.0 });
        Some(StepOutput { stamp_s: s.state.stamp(), tau, kind, records })
    }
}

/// The diagnostic status of a controller node, report by report: the counters' level
/// ([`super::diagnostics::CounterSnapshot::level_since`]), `Stale` until the first command,
/// `Warn` when safe-command ticks for a stale state grew since the previous report (also
/// logged) or when ticks fell back for want of a young enough MPC solution, and the
/// real-time counters as key-values: the MPC's (`solves`, `solves_finished`,
/// `stale_solutions`, `max_solution_age_us`) and the loop's step durations (`ticks`,
/// `tick_p50_us`, `tick_p99_us`, `tick_max_us`, since the start; overruns are
/// `deadline_misses`).
pub(crate) struct ControllerStatus {
    prev: super::diagnostics::CounterSnapshot,
    prev_stale: u64,
    prev_stale_solutions: u64,
}

impl ControllerStatus {
    /// Starts from the counters' current values.
    pub fn new(counters: &Counters) -> Self {
        Self { prev: counters.snapshot(), prev_stale: 0, prev_stale_solutions: 0 }
    }

    /// The status for this report; `started` is false until the first command, `waiting_for`
    /// names the inputs the node is waiting for then. The caller adds its own key-values.
    pub fn report(
        &mut self,
        node: &str,
        solver: &str,
        counters: &Counters,
        rt: &RtCounters,
        started: bool,
        waiting_for: &str,
    ) -> super::diagnostics::StatusBuilder {
        use super::diagnostics::{Level, StatusBuilder};
        use std::sync::atomic::Ordering;
        let snap = counters.snapshot();
        let stale = rt.stale_ticks.load(Ordering::Relaxed);
        let (mut level, mut msg) = snap.level_since(&self.prev);
        let stale_solutions = rt.stale_solutions.load(Ordering::Relaxed);
        let fault = fault_of_code(rt.fault.load(Ordering::Relaxed));
        let estop = rt.estop_engaged.load(Ordering::Relaxed) != 0;
        if let Some(f) = fault {
            (level, msg) = (Level::Error, format!("stopped: {} detected, damping stop until estop_reset", f.name()));
        } else if !started {
            (level, msg) = (Level::Stale, format!("waiting for {waiting_for}"));
        } else if estop {
            (level, msg) = (Level::Warn, "e-stop engaged: damping stop until estop_reset".into());
        } else if stale > self.prev_stale {
            (level, msg) = (Level::Warn, format!("state stale: {} safe-command ticks; {msg}", stale - self.prev_stale));
        } else if rt.mpc_thread_down.load(Ordering::Relaxed) != 0 {
            (level, msg) = (Level::Error, "the MPC thread stopped: fallback command on every tick".into());
        } else if stale_solutions > self.prev_stale_solutions {
            let n = stale_solutions - self.prev_stale_solutions;
            (level, msg) = (Level::Warn, format!("{n} ticks without a young enough MPC solution; {msg}"));
        }
        self.prev_stale_solutions = stale_solutions;
        if stale > self.prev_stale {
            super::inputs::log_every(node, stale, || {
                format!("state stale: safe command sent ({stale} ticks in total)")
            });
        }
        self.prev = snap;
        self.prev_stale = stale;
        StatusBuilder::new(format!("{node}: controller"), solver)
            .level(level, msg)
            .counters(&snap)
            .kv("stale_ticks", stale)
            .kv("controller_invalid", rt.controller_invalid.load(Ordering::Relaxed))
            .kv("solves", rt.solves.load(Ordering::Relaxed))
            .kv("solves_finished", rt.solves_finished.load(Ordering::Relaxed))
            .kv("stale_solutions", stale_solutions)
            .kv("max_solution_age_us", rt.max_solution_age_us.load(Ordering::Relaxed))
            .kv("mpc_thread_down", rt.mpc_thread_down.load(Ordering::Relaxed))
            .kv("estop", estop as u8)
            .kv("fault", fault.map(|f| f.name()).unwrap_or("none"))
            .kv("estop_ticks", rt.estop_ticks.load(Ordering::Relaxed))
            .kv("fault_ticks", rt.fault_ticks.load(Ordering::Relaxed))
            .kv("position_violations", rt.position_violations.load(Ordering::Relaxed))
            .kv("velocity_violations", rt.velocity_violations.load(Ordering::Relaxed))
            .kv("torque_clamps", rt.torque_clamps.load(Ordering::Relaxed))
            .kv("commands", rt.commands.load(Ordering::Relaxed))
            .kv("ticks", counters.tick_times.count())
            .kv("tick_p50_us", counters.tick_times.quantile(0.5).as_micros())
            .kv("tick_p99_us", counters.tick_times.quantile(0.99).as_micros())
            .kv("tick_max_us", counters.tick_times.max().as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros::diagnostics::Level;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    #[test]
    fn controller_status_warns_when_ticks_lack_a_young_enough_mpc_solution() {
        let counters = Counters::default();
        let rt = RtCounters::default();
        let mut status = ControllerStatus::new(&counters);
        let get = |s: &r2r::diagnostic_msgs::msg::DiagnosticStatus, k: &str| {
            s.values.iter().find(|kv| kv.key == k).map(|kv| kv.value.clone())
        };
        let s = status.report("node", "osqp", &counters, &rt, true, "state").build();
        assert_eq!(s.level, Level::Ok as u8, "{s:?}");
        rt.stale_solutions.fetch_add(3, Ordering::Relaxed);
        rt.solves.fetch_add(5, Ordering::Relaxed);
        rt.solves_finished.fetch_add(4, Ordering::Relaxed);
        rt.max_solution_age_us.fetch_max(27_000, Ordering::Relaxed);
        counters.tick_times.record(Duration::from_micros(40));
        let s = status.report("node", "osqp", &counters, &rt, true, "state").build();
        assert_eq!(s.level, Level::Warn as u8);
        assert!(s.message.contains("3 ticks without a young enough MPC solution"), "{}", s.message);
        for (k, v) in [("stale_solutions", "3"), ("solves", "5"), ("solves_finished", "4"), ("ticks", "1")] {
            assert_eq!(get(&s, k).as_deref(), Some(v), "{k}");
        }
        assert_eq!(get(&s, "max_solution_age_us").as_deref(), Some("27000"));
        assert_eq!(get(&s, "tick_p99_us").as_deref(), Some("40"));
        // No growth since: back to OK.
        let s = status.report("node", "osqp", &counters, &rt, true, "state").build();
        assert_eq!(s.level, Level::Ok as u8, "{s:?}");
        // A dead MPC thread is an error, report after report.
        rt.mpc_thread_down.store(1, Ordering::Relaxed);
        for _ in 0..2 {
            let s = status.report("node", "osqp", &counters, &rt, true, "state").build();
            assert_eq!(s.level, Level::Error as u8, "{s:?}");
            assert_eq!(get(&s, "mpc_thread_down").as_deref(), Some("1"));
        }
    }
}
