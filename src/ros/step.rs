//! The real-time step shared by the controller nodes: run the controller on each new state,
//! the safe command on every tick while the newest state is stale, and keep the node's
//! counters. ROS-free; it runs on the [`super::rt`] loop's thread.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use super::diagnostics::Counters;
use crate::control::{Controller, ControllerCounters, RobotState};
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
    /// The controller's safe command: the state is stale.
    SafeStale,
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

/// The node's real-time step: the controller's `update` on each new state, and its safe
/// command on every tick while the newest state is older than `stale_timeout`.
pub struct RtStep<C: Controller<N>, const N: usize> {
    ctrl: C,
    cmd: C::Command,
    last: Option<Stamped<C::State>>,
    stale_timeout: Duration,
    counters: Arc<Counters>,
    rt: Arc<RtCounters>,
    seen: ControllerCounters,
}

impl<C: Controller<N>, const N: usize> RtStep<C, N> {
    /// Wraps `ctrl`; counters are shared with the ROS thread.
    pub fn new(
        ctrl: C,
        cmd: C::Command,
        stale_timeout: Duration,
        counters: Arc<Counters>,
        rt: Arc<RtCounters>,
    ) -> Self {
        let seen = ctrl.counters();
        Self { ctrl, cmd, last: None, stale_timeout, counters, rt, seen }
    }

    /// The command in force.
    pub fn command(&self) -> C::Command {
        self.cmd
    }

    /// The wrapped controller.
    pub fn controller(&self) -> &C {
        &self.ctrl
    }

    /// One tick at wall time `now` with the newest state and command, if new ones arrived.
    /// Returns `None` before the first state and while the newest state is fresh and answered.
    pub fn step(
        &mut self,
        now: Instant,
        state: Option<Stamped<C::State>>,
        cmd: Option<C::Command>,
    ) -> Option<StepOutput<N>> {
        if let Some(c) = cmd {
            self.cmd = c;
        }
        let out = match state {
            Some(s) => {
                self.last = Some(s);
                let tau = self.ctrl.update(&s.state, &self.cmd);
                let records = self.ctrl.take_solve_records();
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
                let add = |a: &std::sync::atomic::AtomicU64, now: u64, before: u64| {
                    a.fetch_add(now.saturating_sub(before), std::sync::atomic::Ordering::Relaxed);
                };
                add(&self.rt.solves_finished, c.solves_finished, self.seen.solves_finished);
                add(&self.rt.stale_solutions, c.stale_solutions, self.seen.stale_solutions);
                self.rt.max_solution_age_us.fetch_max(c.max_solution_age_us, std::sync::atomic::Ordering::Relaxed);
                if !self.ctrl.mpc_alive() {
                    self.rt.mpc_thread_down.store(1, std::sync::atomic::Ordering::Relaxed);
                }
                self.seen = c;
                StepOutput { stamp_s: s.state.stamp(), tau, kind: CommandKind::Control, records }
            }
            None => {
                let last = self.last?;
                if now.saturating_duration_since(last.received) <= self.stale_timeout {
                    return None;
                }
                Counters::bump(&self.rt.stale_ticks);
                StepOutput {
                    stamp_s: last.state.stamp(),
                    tau: self.ctrl.safe_torques(&last.state),
                    kind: CommandKind::SafeStale,
                    records: Vec::new(),
                }
            }
        };
        Counters::bump(&self.rt.commands);
        let tau = out.tau.map(|t| if t.is_finite() { t } else { 0.0 });
        Some(StepOutput { tau, ..out })
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
        if !started {
            (level, msg) = (Level::Stale, format!("waiting for {waiting_for}"));
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
