//! Where a controller's MPC runs — inside the tick or on a worker thread ([`MpcWorker`]) —
//! and the bookkeeping both places share: the solve records kept for the caller, and the
//! solve / finish / fallback counters.
//!
//! Both controllers hold one `MpcHost<M, J, S>`: `M` is their MPC (which owns its QP
//! solver), `J` the job buffer the tick fills for the worker, `S` the finished plan the tick
//! applies. Inline, the controller calls the MPC itself through [`MpcHost::mpc_mut`] and
//! hands the record to [`MpcHost::record`]; threaded, it fills jobs with
//! [`MpcHost::submit`] and takes plans back with [`MpcHost::take_finished`].

use std::time::Duration;

use super::mpc_thread::{MpcWorker, POOL_SIZE};
use super::{ControlError, ControllerCounters};
use crate::mpc::SolveRecord;

/// A finished plan as the tick applies it.
pub(crate) trait Plan: Copy {
    /// True when the solve failed and the controller must use its fallback command.
    fn failed(&self) -> bool;
}

/// What the worker sends back for one job.
pub(crate) struct Finished<S> {
    /// The plan.
    pub plan: S,
    /// Its solve record(s).
    pub records: Vec<SolveRecord>,
}

// One per controller, built once and never moved in the tick: the size difference is harmless.
#[allow(clippy::large_enum_variant)]
enum Place<M, J, S> {
    Inline(M),
    /// The worker and the newest plan it finished.
    Thread(MpcWorker<J, Finished<S>>, Option<S>),
}

/// A controller's MPC, inline or on its own thread (see the module docs).
pub(crate) struct MpcHost<M, J, S> {
    place: Place<M, J, S>,
    records: Vec<SolveRecord>,
    max_records: usize,
}

impl<M: Send + 'static, J: Send + 'static, S: Plan + Send + 'static> MpcHost<M, J, S> {
    /// The MPC inside the tick, keeping at most `max_records` records.
    pub fn inline(mpc: M, max_records: usize) -> Self {
        Self { place: Place::Inline(mpc), records: Vec::with_capacity(max_records.min(100_000)), max_records }
    }

    /// The MPC on thread `name`: `solve` runs on each job; `job` builds the
    /// [`POOL_SIZE`] job buffers (all allocated here, before the real-time loop).
    pub fn threaded<F>(
        name: &str,
        mut mpc: M,
        job: impl Fn() -> J,
        mut solve: F,
        max_records: usize,
    ) -> Result<Self, ControlError>
    where
        F: FnMut(&mut M, &mut J) -> Finished<S> + Send + 'static,
    {
        let pool = (0..POOL_SIZE).map(|_| job()).collect();
        let worker = MpcWorker::spawn(name, pool, move |j: &mut J| solve(&mut mpc, j))
            .map_err(|e| ControlError::Thread(e.to_string()))?;
        Ok(Self {
            place: Place::Thread(worker, None),
            records: Vec::with_capacity(max_records.min(100_000)),
            max_records,
        })
    }
}

impl<M, J, S: Plan> MpcHost<M, J, S> {
    /// The MPC when it runs inline.
    pub fn mpc(&self) -> Option<&M> {
        match &self.place {
            Place::Inline(m) => Some(m),
            Place::Thread(..) => None,
        }
    }

    /// The MPC when it runs inline, mutable.
    pub(crate) fn mpc_mut(&mut self) -> Option<&mut M> {
        match &mut self.place {
            Place::Inline(m) => Some(m),
            Place::Thread(..) => None,
        }
    }

    /// True when the MPC runs on a worker thread.
    pub(crate) fn is_threaded(&self) -> bool {
        matches!(self.place, Place::Thread(..))
    }

    /// True inline, or while the worker thread runs (false once it panicked).
    pub fn alive(&self) -> bool {
        match &self.place {
            Place::Inline(_) => true,
            Place::Thread(w, _) => w.is_running(),
        }
    }

    /// The newest plan the worker finished (threaded only).
    pub fn newest(&self) -> Option<S> {
        match &self.place {
            Place::Inline(_) => None,
            Place::Thread(_, newest) => *newest,
        }
    }

    /// Threaded: fills a free job buffer with `fill` and hands it to the worker (latest
    /// wins); counts the solve. Never blocks, no allocation. False when inline or no buffer
    /// was free.
    pub fn submit(&mut self, counters: &mut ControllerCounters, fill: impl FnOnce(&mut J)) -> bool {
        let Place::Thread(worker, _) = &mut self.place else { return false };
        let Some(mut job) = worker.job_buffer() else { return false };
        fill(&mut job);
        let sent = worker.submit(job);
        counters.solves += u64::from(sent);
        sent
    }

    /// Threaded: takes the worker's finished plans (waiting up to `wait` for every job handed
    /// to it), counting them and their failures; the newest becomes [`Self::newest`]. Returns
    /// false on a timeout; true at once inline.
    pub(crate) fn take_finished(&mut self, counters: &mut ControllerCounters, wait: Option<Duration>) -> bool {
        let Place::Thread(worker, newest) = &mut self.place else { return true };
        let (records, max) = (&mut self.records, self.max_records);
        worker.take(wait, |_: &J, done: Finished<S>| {
            counters.solves_finished += 1;
            counters.fallbacks += u64::from(done.plan.failed());
            *newest = Some(done.plan);
            keep_records(records, done.records, max);
        })
    }

    /// Inline: keeps the record of a solve the controller ran (the oldest goes when full).
    pub fn record(&mut self, rec: SolveRecord) {
        if self.records.len() >= self.max_records {
            self.records.remove(0);
        }
        self.records.push(rec);
    }

    /// Solve records since the last call (no allocation when there are none).
    pub(crate) fn take_records(&mut self) -> Vec<SolveRecord> {
        std::mem::take(&mut self.records)
    }
}

/// Appends `new` to `records` (moving it in when `records` is empty: no allocation), keeping
/// at most `max` (the oldest go).
fn keep_records(records: &mut Vec<SolveRecord>, mut new: Vec<SolveRecord>, max: usize) {
    if records.is_empty() {
        *records = new;
    } else {
        records.append(&mut new);
    }
    if records.len() > max {
        let extra = records.len() - max;
        records.drain(..extra);
    }
}
