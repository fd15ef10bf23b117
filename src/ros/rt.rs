//! The fixed-period real-time loop of a node, on its own thread.
//!
//! - [`latest`]: a one-slot channel (crossbeam) from ROS callbacks to the loop: the sender
//!   never blocks and replaces a value the loop has not taken yet; the loop takes the newest.
//! - [`RtLoop::spawn`]: calls a step function at a fixed period on a dedicated thread. Ticks
//!   are scheduled on absolute times (`start + k·period`, no drift); a step that ends after
//!   the next tick's time is a deadline miss (counted in [`Counters::deadline_misses`]) and the
//!   ticks it overran are skipped, never run in a burst.
//! - [`Pacing::OnInput`]: the loop instead steps as soon as an input is waiting (and at the
//!   period when none comes, so timeouts still run): a node on simulated time ticks with the
//!   simulator's samples, at whatever rate the simulator runs.
//!
//! The step function owns its receivers and senders; it must not call into ROS. Results go
//! back to the ROS thread through an ordinary bounded crossbeam channel with `try_send`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use super::diagnostics::Counters;

/// Sending half of [`latest`]: never blocks.
#[derive(Clone)]
pub struct LatestSender<T> {
    tx: Sender<T>,
    // Used only to evict a stale value the loop has not taken yet.
    evict: Receiver<T>,
}

/// Receiving half of [`latest`].
pub struct LatestReceiver<T> {
    rx: Receiver<T>,
}

/// A channel that holds only the newest value.
pub fn latest<T>() -> (LatestSender<T>, LatestReceiver<T>) {
    let (tx, rx) = bounded(1);
    (LatestSender { tx, evict: rx.clone() }, LatestReceiver { rx })
}

impl<T> LatestSender<T> {
    /// Offers `v`, replacing an untaken older value. Never blocks. (A value sent after the
    /// loop stopped is simply dropped with the channel.)
    pub fn send(&self, v: T) {
        let mut v = v;
        // Two attempts suffice with one sender; with several, a concurrent sender may win the
        // slot, which is fine: its value is just as new.
        for _ in 0..2 {
            match self.tx.try_send(v) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    v = back;
                    let _ = self.evict.try_recv();
                }
            }
        }
    }
}

impl<T> LatestReceiver<T> {
    /// The newest value sent since the last call, if any. Never blocks.
    pub fn take(&self) -> Option<T> {
        self.rx.try_iter().last()
    }
}

/// What the step function learns about its tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tick {
    /// Tick number since the start (skipped ticks included) [count].
    pub index: u64,
    /// Scheduled time of this tick since the loop started [s].
    pub t_s: f64,
    /// Loop period [s].
    pub period_s: f64,
}

/// Totals of a finished loop.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct RtReport {
    /// Steps run [count].
    pub steps: u64,
    /// Steps that ended after the next tick's scheduled time [count].
    pub deadline_misses: u64,
    /// Ticks skipped because a step overran them [count].
    pub skipped: u64,
    /// Longest step [s].
    pub max_step_s: f64,
}

/// What the step function asks of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep going.
    Continue,
    /// Stop after this step.
    Stop,
}

/// When a real-time loop steps.
pub(crate) enum Pacing {
    /// At `start + k·period` on the wall clock.
    Fixed,
    /// As soon as the function returns: it blocks until an input is ready or the given
    /// timeout (the period) passes, without taking the input. A step longer than the period is
    /// a deadline miss.
    OnInput(Box<dyn FnMut(Duration) + Send>),
}

/// A running real-time loop; stop it with [`RtLoop::stop`] (or let the step return [`Flow::Stop`]).
pub(crate) struct RtLoop {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<RtReport>>,
}

/// Highest SCHED_FIFO priority a real-time loop may ask for (Linux allows 1–99; the top ones
/// are left to the kernel's own threads and interrupt handlers).
pub(crate) const MAX_RT_PRIORITY: i32 = 90;

/// Puts the calling thread under SCHED_FIFO at `priority` (1–[`MAX_RT_PRIORITY`]): it then
/// preempts every time-sharing thread (the MPC worker, ROS executors, other processes) as
/// soon as its tick is due. Needs CAP_SYS_NICE or an `rtprio` limit (e.g. in
/// /etc/security/limits.conf); the error says so when it is missing.
pub(crate) fn set_realtime_priority(priority: i32) -> std::io::Result<()> {
    check_priority(priority)?;
    let param = libc::sched_param { sched_priority: priority };
    // SAFETY: pthread_self() is the calling thread's valid handle and `param` lives for the
    // call; the function only reads it.
    let rc = unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
    if rc == 0 {
        Ok(())
    } else {
        let e = std::io::Error::from_raw_os_error(rc);
        Err(std::io::Error::new(
            e.kind(),
            format!("SCHED_FIFO priority {priority}: {e} (needs CAP_SYS_NICE or an rtprio limit)"),
        ))
    }
}

/// Refuses a priority outside 1..=[`MAX_RT_PRIORITY`].
fn check_priority(priority: i32) -> std::io::Result<()> {
    if (1..=MAX_RT_PRIORITY).contains(&priority) {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("real-time priority must be 1..={MAX_RT_PRIORITY}, got {priority}"),
        ))
    }
}

/// The `rt_priority` node parameter ([`super::params::RT_PRIORITY`]) as a request: 0 is the
/// default scheduling (`None`); the parameter's range keeps other values in 1..=90.
pub(crate) fn priority_from_param(value: i64) -> Option<i32> {
    i32::try_from(value).ok().filter(|&p| p != 0)
}

/// The calling thread's scheduling policy and priority (e.g. `(libc::SCHED_FIFO, 50)`).
pub fn current_scheduling() -> std::io::Result<(i32, i32)> {
    let mut policy = 0;
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: both out-pointers are valid for writes for the duration of the call.
    let rc = unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param) };
    if rc == 0 { Ok((policy, param.sched_priority)) } else { Err(std::io::Error::from_raw_os_error(rc)) }
}

impl RtLoop {
    /// Starts `step` every `period` on a new thread named `name`. Deadline misses are also
    /// added to `counters`. Errors if the period is zero or the thread cannot be spawned.
    #[cfg(test)]
    fn spawn<F>(name: &str, period: Duration, counters: Arc<Counters>, step: F) -> std::io::Result<Self>
    where
        F: FnMut(Tick) -> Flow + Send + 'static,
    {
        Self::spawn_with_priority(name, period, counters, None, Pacing::Fixed, step)
    }

    /// [`RtLoop::spawn`], and the loop thread first asks for SCHED_FIFO at `priority`
    /// ([`set_realtime_priority`]; `None`: the default policy). The outcome goes to
    /// [`Counters::rt_priority`]; a refused request is printed on stderr once and the loop
    /// runs on with the default policy. `pacing` says when it steps.
    pub fn spawn_with_priority<F>(
        name: &str,
        period: Duration,
        counters: Arc<Counters>,
        priority: Option<i32>,
        pacing: Pacing,
        mut step: F,
    ) -> std::io::Result<Self>
    where
        F: FnMut(Tick) -> Flow + Send + 'static,
    {
        if period.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "real-time period must be > 0"));
        }
        if let Some(p) = priority {
            check_priority(p)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = stop.clone();
        let thread_name = name.to_string();
        let handle = std::thread::Builder::new().name(name.to_string()).spawn(move || {
            if let Some(p) = priority {
                let outcome = match set_realtime_priority(p) {
                    Ok(()) => i64::from(p),
                    Err(e) => {
                        eprintln!("[{thread_name}] running without real-time priority: {e}");
                        -i64::from(e.raw_os_error().unwrap_or(libc::EPERM))
                    }
                };
                counters.rt_priority.store(outcome, Ordering::Relaxed);
            }
            let mut report = RtReport::default();
            let start = Instant::now();
            let mut index: u64 = 0;
            if let Pacing::OnInput(mut wait) = pacing {
                while !stop_thread.load(Ordering::Relaxed) {
                    wait(period);
                    let begin = Instant::now();
                    let flow = step(Tick { index, t_s: (begin - start).as_secs_f64(), period_s: period.as_secs_f64() });
                    let took = begin.elapsed();
                    report.steps += 1;
                    report.max_step_s = report.max_step_s.max(took.as_secs_f64());
                    counters.tick_times.record(took);
                    if took > period {
                        report.deadline_misses += 1;
                        Counters::bump(&counters.deadline_misses);
                    }
                    index += 1;
                    if flow == Flow::Stop {
                        break;
                    }
                }
                return report;
            }
            while !stop_thread.load(Ordering::Relaxed) {
                let scheduled = start + period.mul_f64(index as f64);
                let now = Instant::now();
                if scheduled > now {
                    std::thread::sleep(scheduled - now);
                }
                let begin = Instant::now();
                let flow = step(Tick { index, t_s: (scheduled - start).as_secs_f64(), period_s: period.as_secs_f64() });
                let end = Instant::now();
                report.steps += 1;
                report.max_step_s = report.max_step_s.max((end - begin).as_secs_f64());
                counters.tick_times.record(end - begin);
                // Next tick: the first scheduled time not yet passed.
                let next = index + 1;
                let due = ((end - start).as_secs_f64() / period.as_secs_f64()).floor() as u64 + 1;
                if due > next {
                    report.deadline_misses += 1;
                    report.skipped += due - next;
                    Counters::bump(&counters.deadline_misses);
                    index = due;
                } else {
                    index = next;
                }
                if flow == Flow::Stop {
                    break;
                }
            }
            report
        })?;
        Ok(Self { stop, handle: Some(handle) })
    }

    /// True while the loop thread runs.
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Asks the loop to stop after the current step and waits for it. A panicking step
    /// returns an empty report.
    pub fn stop(self) -> RtReport {
        self.stop.store(true, Ordering::Relaxed);
        self.join()
    }

    /// Waits until the step function returns [`Flow::Stop`] (or panics: empty report).
    pub fn join(mut self) -> RtReport {
        self.handle.take().and_then(|h| h.join().ok()).unwrap_or_default()
    }
}

impl Drop for RtLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Capacity of the output channel of an [`RtBridge`] [messages].
pub(crate) const OUTPUT_CAPACITY: usize = 64;

/// A real-time loop wired to the ROS thread: the newest input state goes in through
/// [`RtBridge::send_state`], the loop's outputs come back through [`RtBridge::outputs`].
/// Both sides only ever `try_send`/`try_recv`: neither thread blocks on the other.
pub(crate) struct RtBridge<S, O> {
    state: LatestSender<S>,
    outputs: Receiver<O>,
    rt: RtLoop,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl<S: Send + 'static, O: Send + 'static> RtBridge<S, O> {
    /// Starts `step(tick, newest_state)` every `period` on its own thread; `newest_state` is
    /// `None` when nothing new arrived since the previous tick (the controller then
    /// extrapolates or holds). Each `Some(output)` it returns is queued for the ROS thread;
    /// if the ROS thread falls [`OUTPUT_CAPACITY`] outputs behind, new ones are dropped and
    /// counted ([`RtBridge::dropped_outputs`]).
    #[cfg(test)]
    fn spawn<F>(name: &str, period: Duration, counters: Arc<Counters>, step: F) -> std::io::Result<Self>
    where
        F: FnMut(Tick, Option<S>) -> Option<O> + Send + 'static,
    {
        Self::spawn_with_priority(name, period, counters, None, false, step)
    }

    /// [`RtBridge::spawn`] with the loop thread under SCHED_FIFO at `priority` (see
    /// [`RtLoop::spawn_with_priority`]). With `on_input` the loop steps as soon as a new
    /// state arrives ([`Pacing::OnInput`]), and at the period when none comes.
    pub fn spawn_with_priority<F>(
        name: &str,
        period: Duration,
        counters: Arc<Counters>,
        priority: Option<i32>,
        on_input: bool,
        mut step: F,
    ) -> std::io::Result<Self>
    where
        F: FnMut(Tick, Option<S>) -> Option<O> + Send + 'static,
    {
        let (state_tx, state_rx) = latest::<S>();
        let (out_tx, out_rx) = bounded::<O>(OUTPUT_CAPACITY);
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let dropped_rt = dropped.clone();
        let pacing = if on_input {
            let rx = state_rx.rx.clone();
            Pacing::OnInput(Box::new(move |timeout| {
                let mut sel = crossbeam_channel::Select::new();
                sel.recv(&rx);
                // Ready or timed out: either way the step runs (and takes the state, if any).
                let _ = sel.ready_timeout(timeout);
            }))
        } else {
            Pacing::Fixed
        };
        let rt = RtLoop::spawn_with_priority(name, period, counters, priority, pacing, move |tick| {
            if let Some(out) = step(tick, state_rx.take()) {
                match out_tx.try_send(out) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => Counters::bump(&dropped_rt),
                    Err(TrySendError::Disconnected(_)) => return Flow::Stop,
                }
            }
            Flow::Continue
        })?;
        Ok(Self { state: state_tx, outputs: out_rx, rt, dropped })
    }

    /// Hands the newest state to the loop (never blocks; replaces an untaken older state).
    pub(crate) fn send_state(&self, s: S) {
        self.state.send(s);
    }

    /// Every output the loop produced since the last call (never blocks).
    pub fn outputs(&self) -> Vec<O> {
        self.outputs.try_iter().collect()
    }

    /// Outputs dropped because the ROS thread fell behind [count].
    pub(crate) fn dropped_outputs(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// True while the loop thread runs.
    pub fn is_running(&self) -> bool {
        self.rt.is_running()
    }

    /// Stops the loop and returns its report.
    pub fn stop(self) -> RtReport {
        self.rt.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_keeps_only_the_newest_value_and_never_blocks() {
        let (tx, rx) = latest::<u32>();
        assert_eq!(rx.take(), None);
        for i in 0..100 {
            tx.send(i);
        }
        assert_eq!(rx.take(), Some(99));
        assert_eq!(rx.take(), None);
        tx.send(7);
        assert_eq!(rx.take(), Some(7));
        drop(rx);
        tx.send(1); // the loop is gone: dropped, no block, no panic
    }

    #[test]
    fn loop_runs_steps_in_order_and_sees_the_latest_state() {
        let (tx, rx) = latest::<u64>();
        let (out_tx, out_rx) = bounded::<(u64, Option<u64>)>(64);
        let counters = Arc::new(Counters::default());
        tx.send(41);
        tx.send(42);
        let lp = RtLoop::spawn("rt-test", Duration::from_millis(1), counters, move |tick| {
            let _ = out_tx.try_send((tick.index, rx.take()));
            if tick.index >= 20 { Flow::Stop } else { Flow::Continue }
        })
        .unwrap();
        let mut seen = Vec::new();
        while let Ok(v) = out_rx.recv_timeout(Duration::from_secs(10)) {
            seen.push(v);
        }
        let report = lp.stop();
        assert!(!seen.is_empty());
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "tick indices increase");
        assert_eq!(report.steps as usize, seen.len());
        // The first step takes the newest state (42, never the replaced 41); later ones find none.
        let states: Vec<u64> = seen.iter().filter_map(|s| s.1).collect();
        assert_eq!(states, vec![42]);
        assert_eq!(seen[0].1, Some(42));
    }

    #[test]
    fn an_overrunning_step_is_a_counted_deadline_miss() {
        let counters = Arc::new(Counters::default());
        let lp = RtLoop::spawn("rt-overrun", Duration::from_millis(2), counters.clone(), |tick| {
            if tick.index == 0 {
                // Three periods: ticks 1 and 2 are overrun.
                std::thread::sleep(Duration::from_millis(6));
                Flow::Continue
            } else {
                Flow::Stop
            }
        })
        .unwrap();
        let report = lp.join();
        assert!(report.deadline_misses >= 1 && report.skipped >= 2, "{report:?}");
        assert_eq!(counters.snapshot().deadline_misses, report.deadline_misses);
        assert!(report.max_step_s >= 0.006);
    }

    #[test]
    fn bridge_carries_states_in_and_outputs_back() {
        let counters = Arc::new(Counters::default());
        // The "controller" doubles the newest state; without new state it outputs nothing.
        let bridge: RtBridge<f64, f64> =
            RtBridge::spawn("rt-bridge", Duration::from_millis(1), counters, |_, s| s.map(|x| 2.0 * x)).unwrap();
        let mut got = Vec::new();
        let end = Instant::now() + Duration::from_secs(10);
        for x in [1.0, 2.0, 3.0] {
            bridge.send_state(x);
            // Wait for the loop to consume it before offering the next one.
            while Instant::now() < end && !got.contains(&(2.0 * x)) {
                got.extend(bridge.outputs());
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        assert!(bridge.is_running());
        assert_eq!(got, vec![2.0, 4.0, 6.0]);
        assert_eq!(bridge.dropped_outputs(), 0);
        let report = bridge.stop();
        assert!(report.steps >= 3);
    }

    #[test]
    fn an_input_paced_bridge_answers_each_state_without_waiting_for_its_period() {
        // A 2 s period: a fixed-period loop would answer the second state after 2 s.
        let counters = Arc::new(Counters::default());
        let bridge = RtBridge::spawn_with_priority(
            "rt-input",
            Duration::from_secs(2),
            counters.clone(),
            None,
            true,
            |tick, s: Option<u32>| s.map(|s| (tick.index, s)),
        )
        .unwrap();
        for k in 0..20u32 {
            bridge.send_state(k);
            let deadline = Instant::now() + Duration::from_millis(800);
            let out = loop {
                if let Some(o) = bridge.outputs().pop() {
                    break o;
                }
                assert!(Instant::now() < deadline, "state {k} not answered");
                std::thread::sleep(Duration::from_micros(200));
            };
            assert_eq!(out, (u64::from(k), k), "one step per state, in order");
        }
        // Stopping ends the wait in progress at its timeout: one more (empty) step at most.
        let report = bridge.stop();
        assert!((20..=21).contains(&report.steps), "{report:?}");
        assert_eq!(report.deadline_misses, 0);
    }

    #[test]
    fn bridge_drops_outputs_when_nobody_reads_them() {
        let counters = Arc::new(Counters::default());
        let bridge: RtBridge<(), u64> =
            RtBridge::spawn("rt-flood", Duration::from_micros(100), counters, |tick, _| Some(tick.index)).unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while bridge.dropped_outputs() == 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(bridge.dropped_outputs() > 0);
        let out = bridge.outputs();
        // The loop keeps running while we read: a few outputs may join behind the full queue.
        assert!(out.len() >= OUTPUT_CAPACITY, "{} outputs", out.len());
        assert_eq!(out[0], 0, "the first outputs are kept, later ones dropped");
        assert!(out.windows(2).all(|w| w[0] < w[1]));
        bridge.stop();
    }

    #[test]
    fn zero_period_is_rejected() {
        assert!(RtLoop::spawn("rt-zero", Duration::ZERO, Arc::new(Counters::default()), |_| Flow::Stop).is_err());
    }

    /// A priority request is applied or refused, never fatal: the loop runs either way, the
    /// counter tells which, and when it says applied the loop thread really is SCHED_FIFO at
    /// that priority. Out-of-range priorities are refused up front.
    #[test]
    fn realtime_priority_is_applied_or_reported() {
        let counters = Arc::new(Counters::default());
        let (tx, rx) = crossbeam_channel::bounded(4);
        let rt = RtLoop::spawn_with_priority(
            "rt-prio",
            Duration::from_millis(1),
            counters.clone(),
            Some(5),
            Pacing::Fixed,
            move |t| {
                let _ = tx.try_send(current_scheduling().expect("own scheduling"));
                if t.index >= 2 { Flow::Stop } else { Flow::Continue }
            },
        )
        .expect("spawn");
        let report = rt.join();
        assert!(report.steps >= 1);
        let (policy, prio) = rx.recv().expect("the loop ran");
        match counters.rt_priority.load(Ordering::Relaxed) {
            5 => assert_eq!((policy, prio), (libc::SCHED_FIFO, 5)),
            e if e < 0 => assert_ne!(policy, libc::SCHED_FIFO, "refused (errno {}) but FIFO", -e),
            other => panic!("unexpected rt_priority {other}"),
        }
        // This (test) thread keeps its policy.
        assert_ne!(current_scheduling().unwrap().0, libc::SCHED_FIFO);
        for bad in [0, -3, MAX_RT_PRIORITY + 1] {
            assert!(set_realtime_priority(bad).is_err());
            let c = Arc::new(Counters::default());
            assert!(
                RtLoop::spawn_with_priority("rt-bad", Duration::from_millis(1), c, Some(bad), Pacing::Fixed, |_| {
                    Flow::Stop
                })
                .is_err()
            );
        }
    }
}
