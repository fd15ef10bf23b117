//! Classic (non-spiking) baseline: an event-cluster tracker in the style of Delbruck & Lang
//! 2013 (jAER's RectangularClusterTracker). Events first pass a background-activity filter
//! (an event survives when one of its 8 neighbours fired within `baf_us`), the standard
//! denoiser in front of jAER's trackers. Each surviving event joins the nearest cluster
//! within its radius and pulls it by a mixing factor; unmatched events seed new clusters (up
//! to a maximum); a cluster's support is its event count decaying with `tau_ms`; the cluster
//! with the largest support above `min_support` is the ball. The output is the sub-pixel
//! refinement [`super::refine::refine`] (centroid of the packet's events near the cluster,
//! extrapolated with the velocity), the tracker network's optional host stage.
//!
//! Cost: one pass over the packet's events (8 reads of a per-pixel time map for the filter,
//! a distance to each of at most `max_clusters` clusters per surviving event) plus the
//! refinement; `spikectl bench tracking` measures it on 25 k-event bursts.
use super::refine::refine;
use super::{Estimate, Event, Tracker};

/// Parameters of the cluster tracker.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ClusterConfig {
    /// Sensor width, in pixels.
    pub width: u16,
    /// Sensor height, in pixels.
    pub height: u16,
    /// Background-activity filter window, in µs (0 disables the filter).
    pub baf_us: u32,
    /// Cluster radius, in pixels.
    pub radius_px: f32,
    /// Mixing factor: fraction of the distance a cluster moves towards each event.
    pub mixing: f32,
    /// Maximum number of clusters.
    pub max_clusters: usize,
    /// Support decay time constant, in ms.
    pub tau_ms: f32,
    /// Support (decayed event count) needed to report a cluster.
    pub min_support: f32,
    /// Support below which a cluster is removed.
    pub prune_support: f32,
    /// Radius of the sub-pixel refinement, in pixels.
    pub refine_radius_px: f32,
}

impl ClusterConfig {
    /// Defaults for a `width`×`height` sensor (radii scale with the width like the ball's
    /// image in the default side view).
    pub fn new(width: u16, height: u16) -> Self {
        Self {
            width,
            height,
            baf_us: 2000,
            radius_px: 10.0 * f32::from(width) / 640.0,
            mixing: 0.08,
            max_clusters: 8,
            tau_ms: 2.0,
            min_support: 12.0,
            prune_support: 0.5,
            refine_radius_px: 8.0 * f32::from(width) / 640.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Cluster {
    x: f32,
    y: f32,
    support: f32,
    last_t: u64,
}

/// The event-cluster tracker.
#[derive(Debug, Clone)]
pub struct ClusterTracker {
    cfg: ClusterConfig,
    clusters: Vec<Cluster>,
    est: Option<Estimate>,
    last_ts: Vec<u32>,
    kept: Vec<Event>,
    /// Distance evaluations so far (the per-event work of the algorithm).
    pub distance_evals: u64,
}

impl ClusterTracker {
    /// A tracker with the given parameters.
    pub fn new(cfg: ClusterConfig) -> Self {
        // Per-pixel last event time with a one-pixel border (see `process`).
        let n = (usize::from(cfg.width) + 2) * (usize::from(cfg.height) + 2);
        Self {
            cfg,
            clusters: Vec::with_capacity(cfg.max_clusters),
            est: None,
            last_ts: vec![0; n],
            kept: Vec::new(),
            distance_evals: 0,
        }
    }
}

impl Tracker for ClusterTracker {
    fn name(&self) -> &'static str {
        "cluster"
    }

    fn process(&mut self, events: &[Event], t_end_ns: u64) -> Option<Estimate> {
        let r2 = self.cfg.radius_px * self.cfg.radius_px;
        let tau_ns = self.cfg.tau_ms * 1e6;
        // Background-activity filter: per-pixel last time in µs + 1 (0 = never; u32 wraps
        // after 71 min, which at worst lets one stale neighbour count as support). The map
        // has a one-pixel border that is never written, so the 8 neighbours are read without
        // bounds tests, and the exact pass has no data-dependent branch.
        let (w, h) = (usize::from(self.cfg.width), usize::from(self.cfg.height));
        let stride = w + 2;
        let win = self.cfg.baf_us;
        let mut kept = std::mem::take(&mut self.kept);
        kept.clear();
        kept.resize(events.len(), Event::default());
        let mut n_kept = 0;
        // Touches the three map rows of each event of a block: independent loads whose
        // cache misses overlap. The rows of block k + 1 are touched before the exact pass
        // over block k, so they arrive while that pass runs.
        const BLOCK: usize = 32;
        let touch = |ts: &[u32], block: &[Event]| {
            let mut acc = 0u32;
            for e in block {
                let (x, y) = (usize::from(e.x), usize::from(e.y));
                if x < w && y < h {
                    let p = (y + 1) * stride + x + 1;
                    acc ^= ts[p - stride] ^ ts[p] ^ ts[p + stride];
                }
            }
            std::hint::black_box(acc);
        };
        touch(&self.last_ts, &events[..events.len().min(BLOCK)]);
        for (k, block) in events.chunks(BLOCK).enumerate() {
            let next = ((k + 1) * BLOCK).min(events.len());
            touch(&self.last_ts, &events[next..(next + BLOCK).min(events.len())]);
            for e in block {
                let (x, y) = (usize::from(e.x), usize::from(e.y));
                if x >= w || y >= h {
                    continue;
                }
                let t_us = (e.t_ns / 1000) as u32 + 1;
                let p = (y + 1) * stride + x + 1;
                let ts = &self.last_ts;
                let near = |t: u32| (t != 0) & (t_us.wrapping_sub(t) <= win);
                let support = win == 0
                    || near(ts[p - stride - 1])
                        | near(ts[p - stride])
                        | near(ts[p - stride + 1])
                        | near(ts[p - 1])
                        | near(ts[p + 1])
                        | near(ts[p + stride - 1])
                        | near(ts[p + stride])
                        | near(ts[p + stride + 1]);
                self.last_ts[p] = t_us;
                kept[n_kept] = *e;
                n_kept += usize::from(support);
            }
        }
        kept.truncate(n_kept);
        for e in &kept {
            let (x, y) = (f32::from(e.x) + 0.5, f32::from(e.y) + 0.5);
            // The nearest cluster (the first on ties), if within the radius.
            let (mut best_k, mut best_d2) = (0, f32::INFINITY);
            for (k, c) in self.clusters.iter().enumerate() {
                let d2 = (c.x - x) * (c.x - x) + (c.y - y) * (c.y - y);
                if d2 < best_d2 {
                    (best_k, best_d2) = (k, d2);
                }
            }
            self.distance_evals += self.clusters.len() as u64;
            match (best_d2 <= r2).then_some(best_k) {
                Some(k) => {
                    let c = &mut self.clusters[k];
                    let dt = e.t_ns.saturating_sub(c.last_t);
                    // Events of a dense burst share their µs: no decay to compute.
                    let decay = if dt == 0 { 1.0 } else { (-(dt as f32) / tau_ns).exp() };
                    c.support = c.support * decay + 1.0;
                    c.last_t = e.t_ns;
                    // Better-supported clusters move more slowly (jAER's mixing scaled by support).
                    let m = self.cfg.mixing.max(1.0 / c.support.max(1.0));
                    c.x += m * (x - c.x);
                    c.y += m * (y - c.y);
                }
                None if self.clusters.len() < self.cfg.max_clusters => {
                    self.clusters.push(Cluster { x, y, support: 1.0, last_t: e.t_ns });
                }
                None => {
                    // Replace the weakest cluster if it has decayed away. Since
                    // exp(−a) ≥ 1 − a, a support that stays above the threshold under the
                    // linear bound needs no exp (the common case inside a dense packet).
                    let prune = self.cfg.prune_support;
                    let decayed_below = |c: &Cluster| {
                        let a = e.t_ns.saturating_sub(c.last_t) as f32 / tau_ns;
                        c.support * (1.0 - a) < prune && c.support * (-a).exp() < prune
                    };
                    if let Some((k, c)) =
                        self.clusters.iter().enumerate().min_by(|a, b| a.1.support.total_cmp(&b.1.support))
                        && decayed_below(c)
                    {
                        self.clusters[k] = Cluster { x, y, support: 1.0, last_t: e.t_ns };
                    }
                }
            }
        }
        // Decay to the packet end, prune, merge overlapping clusters.
        for c in &mut self.clusters {
            c.support *= (-((t_end_ns.saturating_sub(c.last_t)) as f32) / tau_ns).exp();
            c.last_t = t_end_ns;
        }
        self.clusters.retain(|c| c.support >= self.cfg.prune_support);
        let mut i = 0;
        while i < self.clusters.len() {
            let mut j = i + 1;
            while j < self.clusters.len() {
                let (a, b) = (self.clusters[i], self.clusters[j]);
                if (a.x - b.x).powi(2) + (a.y - b.y).powi(2) < r2 {
                    let s = a.support + b.support;
                    self.clusters[i] = Cluster {
                        x: (a.x * a.support + b.x * b.support) / s,
                        y: (a.y * a.support + b.y * b.support) / s,
                        support: s,
                        last_t: t_end_ns,
                    };
                    self.clusters.swap_remove(j);
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
        let best = self
            .clusters
            .iter()
            .filter(|c| c.support >= self.cfg.min_support)
            .max_by(|a, b| a.support.total_cmp(&b.support))
            .copied();
        let Some(c) = best else {
            self.kept = kept;
            self.est = None;
            return None;
        };
        let prev = self
            .est
            .filter(|p| (p.x - f64::from(c.x)).hypot(p.y - f64::from(c.y)) < 4.0 * f64::from(self.cfg.radius_px));
        let est = refine(&kept, f64::from(c.x), f64::from(c.y), f64::from(self.cfg.refine_radius_px), t_end_ns, prev);
        self.kept = kept;
        self.est = Some(est);
        Some(est)
    }

    fn reset(&mut self) {
        *self = Self::new(self.cfg);
    }
}
