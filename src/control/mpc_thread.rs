//! The MPC on a worker thread of its own, off the controller's real-time tick.
//!
//! [`MpcWorker`] owns a solve function (which owns the MPC and its QP solver) on a dedicated
//! thread. The tick hands it jobs (state, reference, plan) through a one-slot mailbox:
//! latest wins — a job the worker has not taken yet is replaced by the newer one (and its
//! buffer reused). Finished jobs come back, with their output, through a bounded channel the
//! tick drains with [`MpcWorker::poll`]. Neither side ever blocks on the other, and the tick
//! does not allocate: job buffers (e.g. a horizon plan's vectors) circulate in a fixed pool
//! created at start-up.
//!
//! Shutdown: dropping the worker closes the mailbox; the thread finishes the solve it is
//! in, exits and is joined (the drop waits for it).
//!
//! The controllers use it when their configuration asks for it
//! ([`super::quadruped::QuadrupedControllerConfig::mpc_thread`],
//! [`super::arm::ArmControllerConfig::mpc_thread`]): they then apply the newest finished
//! solution (its first step, or optionally the horizon step matching its age) and their
//! fallback command when it is older than a limit ([`solution_step`]).

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

/// Job buffers in circulation: at most one in the mailbox and one being solved when the
/// tick looks for a free one (it drains the finished ones first), so three always leave one.
pub const POOL_SIZE: usize = 3;

/// Horizon steps of a solution kept for shifting to the solution's age [count].
pub(crate) const SHIFT_STEPS: usize = 4;

/// A solve function on a worker thread, fed latest-wins (see the module docs).
pub struct MpcWorker<J, R> {
    mailbox: Option<Sender<J>>,
    /// Takes back a job the worker has not started, to reuse its buffer.
    reclaim: Receiver<J>,
    done: Receiver<(J, R)>,
    free: Vec<J>,
    handle: Option<JoinHandle<()>>,
    submitted: u64,
    replaced: u64,
    finished: u64,
}

impl<J: Send + 'static, R: Send + 'static> MpcWorker<J, R> {
    /// Starts thread `name` running `solve` on every job it takes. `pool` holds the job
    /// buffers ([`POOL_SIZE`] or more, all allocated here, before the real-time loop starts).
    pub fn spawn<F>(name: &str, pool: Vec<J>, mut solve: F) -> std::io::Result<Self>
    where
        F: FnMut(&mut J) -> R + Send + 'static,
    {
        if pool.len() < POOL_SIZE {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "MPC worker needs 3 job buffers"));
        }
        let (tx, rx) = bounded::<J>(1);
        let reclaim = rx.clone();
        let (done_tx, done_rx) = bounded::<(J, R)>(pool.len());
        let handle = std::thread::Builder::new().name(name.to_string()).spawn(move || {
            // Ends when the controller drops its sender.
            while let Ok(mut job) = rx.recv() {
                let out = solve(&mut job);
                // The channel holds the whole pool: never full. A gone receiver ends the loop.
                if let Err(TrySendError::Disconnected(_)) = done_tx.try_send((job, out)) {
                    break;
                }
            }
        })?;
        Ok(Self {
            mailbox: Some(tx),
            reclaim,
            done: done_rx,
            free: pool,
            handle: Some(handle),
            submitted: 0,
            replaced: 0,
            finished: 0,
        })
    }
}

impl<J, R> MpcWorker<J, R> {
    /// A free job buffer to fill, if any (there always is one when [`Self::poll`] ran
    /// earlier in the same tick). Never blocks, never allocates.
    pub fn job_buffer(&mut self) -> Option<J> {
        if let Some(j) = self.free.pop() {
            return Some(j);
        }
        // Take back the job waiting in the mailbox, if the worker has not started it.
        let j = self.reclaim.try_recv().ok()?;
        self.replaced += 1;
        Some(j)
    }

    /// Hands `job` to the worker, replacing (and reclaiming) a job it has not started yet.
    /// Never blocks. Returns false when the worker thread is gone (the job is kept as free).
    pub fn submit(&mut self, job: J) -> bool {
        let Some(tx) = &self.mailbox else {
            self.free.push(job);
            return false;
        };
        let mut job = job;
        // With one sender, the second attempt finds the slot empty: either we reclaimed the
        // old job or the worker took it in between.
        for _ in 0..2 {
            match tx.try_send(job) {
                Ok(()) => {
                    self.submitted += 1;
                    return true;
                }
                Err(TrySendError::Disconnected(j)) => {
                    self.free.push(j);
                    return false;
                }
                Err(TrySendError::Full(j)) => {
                    job = j;
                    if let Ok(old) = self.reclaim.try_recv() {
                        self.replaced += 1;
                        self.free.push(old);
                    }
                }
            }
        }
        self.free.push(job);
        false
    }

    /// Calls `f(job, output)` for every job finished since the last call, oldest first, and
    /// returns their buffers to the pool. Never blocks.
    pub fn poll(&mut self, mut f: impl FnMut(&J, R)) {
        while let Ok((job, out)) = self.done.try_recv() {
            self.finished += 1;
            f(&job, out);
            self.free.push(job);
        }
    }

    /// Like [`Self::poll`], but first waits (up to `timeout`) until every job handed over
    /// has finished. Blocks: for tests and offline runs, not for a real-time tick. Returns
    /// false on timeout or when the worker is gone.
    pub fn wait(&mut self, timeout: std::time::Duration, mut f: impl FnMut(&J, R)) -> bool {
        let end = std::time::Instant::now() + timeout;
        while self.outstanding() > 0 {
            match self.done.recv_deadline(end) {
                Ok((job, out)) => {
                    self.finished += 1;
                    f(&job, out);
                    self.free.push(job);
                }
                Err(_) => return false,
            }
        }
        self.poll(f);
        true
    }

    /// [`Self::poll`] when `wait` is `None` (returns true), else [`Self::wait`] up to it.
    pub fn take(&mut self, wait: Option<std::time::Duration>, f: impl FnMut(&J, R)) -> bool {
        match wait {
            None => {
                self.poll(f);
                true
            }
            Some(timeout) => self.wait(timeout, f),
        }
    }

    /// Jobs handed over and neither finished nor replaced (waiting or being solved) [count].
    pub fn outstanding(&self) -> u64 {
        self.submitted - self.replaced - self.finished
    }

    /// Jobs handed to the worker [count] (including replaced ones).
    pub fn submitted(&self) -> u64 {
        self.submitted
    }

    /// Jobs replaced in the mailbox by a newer one before the worker took them [count].
    pub fn replaced(&self) -> u64 {
        self.replaced
    }

    /// Jobs finished and polled [count].
    pub fn finished(&self) -> u64 {
        self.finished
    }

    /// True while the worker thread runs.
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }
}

impl<J, R> Drop for MpcWorker<J, R> {
    fn drop(&mut self) {
        // Closing the mailbox ends the worker's loop after its current solve.
        self.mailbox = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The horizon step whose input applies at solution age `age` [s] for steps of `dt` [s]:
/// `⌊age/dt⌋`, limited to `steps − 1`. `None` when the solution is too old (`age >
/// max_age`) or from the future (`age < 0`, e.g. the clock was reset).
pub fn solution_step(age: f64, dt: f64, max_age: f64, steps: usize) -> Option<usize> {
    let ok = (0.0..=max_age).contains(&age) && dt > 0.0 && steps > 0;
    if !ok {
        return None;
    }
    Some(((age / dt + 1e-9).floor() as usize).min(steps - 1))
}
