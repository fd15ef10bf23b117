//! Spiking ball tracker: a two-layer network of leaky integrate-and-fire (LIF) neurons over a
//! downsampled pixel grid, the second layer a dynamic neural field (DNF) with local
//! excitation and global inhibition (winner-take-all) that keeps one activity bump on the
//! ball through sensor noise (after Renner et al. 2019, DNF tracking on Loihi).
//!
//! Network (one neuron per `cell`×`cell` pixel block in each layer, `substeps` timesteps per
//! packet):
//! - **input layer** `v`: each event adds `w_event`; leak time constant `tau_in_ms`; a spike
//!   when `v ≥ theta_in` (then `v −= theta_in`): a coincidence detector that drops most
//!   isolated noise events;
//! - **field layer** `u`: receives input spikes through a 5×5 kernel `k_ff` (centre, ring 1,
//!   ring 2), its own previous spikes through a 5×5 kernel `k_exc` (the bump sustains itself
//!   and can follow the ball), and global inhibition from one inhibitory neuron that sums all
//!   field spikes of the previous step and projects `w_inh` per spike onto every field neuron;
//!   leak `tau_dnf_ms`, threshold `theta_dnf`, reset to 0, floor `u_min`.
//!
//! Readout: the field neuron with the most recent spikes (weights decaying with
//! `tau_trace_ms`) over the last two packets wins; the weighted centroid of the spiking
//! cells around it gives a centre, refined below the cell size by
//! the centroid of the packet's events within `refine_radius_px` of the winner's centre,
//! extrapolated with the tracked velocity to the packet's end time.
//!
//! Host side: the sub-cell refinement and the velocity filter run on the host over the
//! packet's events (like the ROI crop); they are not part of the network and not in its op
//! counts, so the chip energy estimate covers the network only. Both trackers share the
//! refinement ([`refine`]): the accuracy numbers mostly measure it, the network's job is to
//! find the ball and hold it through noise.
//!
//! Region of interest: once locked, only a `roi`×`roi` pixel crop around the last estimate
//! is fed to the network (like the 64×64 crop of Ziegler et al. 2025), so only its neurons
//! are clocked; after `lost_after_ms` packets without field spikes it falls back to the full
//! frame.
//!
//! Simulation: the dynamics are linear between inputs, so neurons are updated lazily (the
//! global inhibition is a shared decaying potential `G`; a neuron's value is
//! `u·βᵏ − (G_now − G_then·βᵏ)`), which is exact up to the floor being applied at read time.
//! The operation counts are those of a synchronous chip that clocks every neuron of the
//! active grid each timestep: neurons receiving input count as active updates, the others
//! as idle updates.
use super::{Estimate, Event, Tracker};
use crate::neuro::OpCounts;

/// Parameters of the DNF tracker.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DnfConfig {
    /// Sensor width, in pixels.
    pub width: u16,
    /// Sensor height, in pixels.
    pub height: u16,
    /// Side of the pixel block of one neuron, in pixels.
    pub cell: u16,
    /// Timesteps per packet.
    pub substeps: u32,
    /// Packet length, in ns.
    pub packet_ns: u64,
    /// Input-layer leak time constant, in ms.
    pub tau_in_ms: f32,
    /// Input-layer threshold (in units of event weight).
    pub theta_in: f32,
    /// Weight of one event.
    pub w_event: f32,
    /// Field leak time constant, in ms.
    pub tau_dnf_ms: f32,
    /// Field threshold.
    pub theta_dnf: f32,
    /// Feed-forward kernel: centre, ring 1, ring 2 (Chebyshev distance).
    pub k_ff: [f32; 3],
    /// Lateral excitation kernel: centre, ring 1, ring 2.
    pub k_exc: [f32; 3],
    /// Global inhibition per field spike.
    pub w_inh: f32,
    /// Floor of the field potential.
    pub u_min: f32,
    /// Time constant of the readout's recency weights, in ms.
    pub tau_trace_ms: f32,
    /// Region of interest side, in pixels (`None`: always the full frame).
    pub roi: Option<u16>,
    /// Packets without field spikes before the track is declared lost.
    pub lost_after_ms: u32,
    /// Radius of the sub-cell centroid refinement, in pixels.
    pub refine_radius_px: f32,
}

impl DnfConfig {
    /// Defaults for a `width`×`height` sensor, 1 ms packets, 4-pixel cells, 64×64 ROI; the
    /// refinement window scales with the width (the ball's image size does, for the default
    /// side view).
    pub fn new(width: u16, height: u16) -> Self {
        Self {
            width,
            height,
            cell: 4,
            substeps: 2,
            packet_ns: 1_000_000,
            tau_in_ms: 1.0,
            theta_in: 2.5,
            w_event: 1.0,
            tau_dnf_ms: 2.0,
            theta_dnf: 1.5,
            k_ff: [1.0, 0.6, 0.25],
            k_exc: [0.05, 0.04, 0.02],
            w_inh: 0.12,
            u_min: -1.0,
            tau_trace_ms: 0.5,
            roi: Some(64),
            lost_after_ms: 8,
            // Twice the ball's image radius in the default side view (3.8 px at 640 wide).
            refine_radius_px: 8.0 * f32::from(width) / 640.0,
        }
    }
}

const HIST: usize = 64;

/// The spiking DNF tracker.
#[derive(Debug, Clone)]
pub struct DnfTracker {
    cfg: DnfConfig,
    gw: usize,
    gh: usize,
    step: u32,
    alpha: f32,
    beta: f32,
    gamma: f32,
    v_in: Vec<f32>,
    s_in: Vec<u32>,
    u: Vec<f32>,
    s_u: Vec<u32>,
    g_hist: [f32; HIST],
    acc: Vec<f32>,
    acc_list: Vec<u32>,
    in_spikes: Vec<u32>,
    prev_spikes: Vec<u32>,
    recent: Vec<(u32, u32)>,
    est: Option<Estimate>,
    silent: u32,
    locked: bool,
    ops: OpCounts,
    last_ops: OpCounts,
}

fn pow_decay(f: f32, k: u32) -> f32 {
    if k > 60 { 0.0 } else { f.powi(k as i32) }
}

impl DnfTracker {
    /// A tracker with the given parameters.
    pub fn new(cfg: DnfConfig) -> Self {
        let cell = usize::from(cfg.cell.max(1));
        let gw = usize::from(cfg.width).div_ceil(cell).max(1);
        let gh = usize::from(cfg.height).div_ceil(cell).max(1);
        let n = gw * gh;
        let dt_ms = cfg.packet_ns as f32 * 1e-6 / cfg.substeps.max(1) as f32;
        Self {
            cfg,
            gw,
            gh,
            step: 1,
            alpha: (-dt_ms / cfg.tau_in_ms).exp(),
            beta: (-dt_ms / cfg.tau_dnf_ms).exp(),
            gamma: (-dt_ms / cfg.tau_trace_ms).exp(),
            v_in: vec![0.0; n],
            s_in: vec![0; n],
            u: vec![0.0; n],
            s_u: vec![0; n],
            g_hist: [0.0; HIST],
            acc: vec![0.0; n],
            acc_list: Vec::new(),
            in_spikes: Vec::new(),
            prev_spikes: Vec::new(),
            recent: Vec::new(),
            est: None,
            silent: u32::MAX,
            locked: false,
            ops: OpCounts::default(),
            last_ops: OpCounts::default(),
        }
    }

    /// Parameters.
    pub fn config(&self) -> &DnfConfig {
        &self.cfg
    }

    /// Neurons of the network: input layer + field + 1 inhibitory neuron.
    pub fn neurons(&self) -> usize {
        2 * self.gw * self.gh + 1
    }

    /// Stored synapses per neuron (fan-in), for mapping onto cores: input neurons have
    /// `cell²` pixel synapses, field neurons 25 feed-forward + 25 lateral + 1 inhibitory,
    /// the inhibitory neuron one per field neuron.
    pub fn fan_in(&self) -> Vec<u64> {
        let n = self.gw * self.gh;
        let c = u64::from(self.cfg.cell) * u64::from(self.cfg.cell);
        let mut f = vec![c; n];
        f.extend(std::iter::repeat_n(51, n));
        f.push(n as u64);
        f
    }

    /// Whether the tracker is locked on a target (ROI mode active).
    pub fn locked(&self) -> bool {
        self.locked
    }

    /// Packets in a row without field spikes (the tracker coasts on its last estimate for up
    /// to `lost_after_ms` of them); 0 when the last packet had network output.
    pub(crate) fn coasting_packets(&self) -> u32 {
        self.silent
    }

    /// Operation counts since creation.
    pub fn ops(&self) -> &OpCounts {
        &self.ops
    }

    /// Operation counts of the last packet.
    pub(crate) fn last_ops(&self) -> &OpCounts {
        &self.last_ops
    }

    #[inline]
    fn g_at(&self, s: u32) -> f32 {
        self.g_hist[s as usize % HIST]
    }

    /// Current field potential of neuron `i` at step `self.step` (before this step's input).
    #[inline]
    fn u_now(&self, i: usize) -> f32 {
        let k = self.step - self.s_u[i];
        let g_now = self.g_at(self.step);
        let g_then = if k as usize >= HIST { 0.0 } else { self.g_at(self.s_u[i]) };
        let d = pow_decay(self.beta, k);
        (self.u[i] * d - (g_now - g_then * d)).max(self.cfg.u_min)
    }

    /// ROI in cells (x0, y0, x1, y1), or the full grid.
    fn roi_cells(&self) -> (usize, usize, usize, usize) {
        match (self.cfg.roi, self.locked, self.est) {
            (Some(r), true, Some(e)) => {
                let c = f64::from(self.cfg.cell);
                let half = f64::from(r) / 2.0;
                let x0 = ((e.x - half) / c).floor().max(0.0) as usize;
                let y0 = ((e.y - half) / c).floor().max(0.0) as usize;
                let x1 = (((e.x + half) / c).ceil().max(0.0) as usize).min(self.gw);
                let y1 = (((e.y + half) / c).ceil().max(0.0) as usize).min(self.gh);
                if x0 < x1 && y0 < y1 { (x0, y0, x1, y1) } else { (0, 0, self.gw, self.gh) }
            }
            _ => (0, 0, self.gw, self.gh),
        }
    }

    fn add_kernel(&mut self, center: usize, k: [f32; 3], roi: (usize, usize, usize, usize)) -> u64 {
        let (cx, cy) = (center % self.gw, center / self.gw);
        let mut n = 0;
        for yy in cy.saturating_sub(2).max(roi.1)..(cy + 3).min(roi.3) {
            for xx in cx.saturating_sub(2).max(roi.0)..(cx + 3).min(roi.2) {
                let ring = xx.abs_diff(cx).max(yy.abs_diff(cy));
                let j = yy * self.gw + xx;
                if self.acc[j] == 0.0 {
                    self.acc_list.push(j as u32);
                }
                self.acc[j] += k[ring];
                if self.acc[j] == 0.0 {
                    self.acc[j] = f32::MIN_POSITIVE;
                }
                n += 1;
            }
        }
        n
    }

    /// One timestep with the events of its time bin.
    fn timestep(&mut self, events: &[Event], roi: (usize, usize, usize, usize), ops: &mut OpCounts) {
        let cell = self.cfg.cell.max(1);
        let s = self.step;
        // Input layer.
        self.in_spikes.clear();
        for e in events {
            let (gx, gy) = (usize::from(e.x / cell), usize::from(e.y / cell));
            if gx < roi.0 || gx >= roi.2 || gy < roi.1 || gy >= roi.3 {
                continue;
            }
            let i = gy * self.gw + gx;
            let v = self.v_in[i] * pow_decay(self.alpha, s - self.s_in[i]) + self.cfg.w_event;
            self.s_in[i] = s;
            ops.synops += 1;
            if v >= self.cfg.theta_in {
                self.v_in[i] = v - self.cfg.theta_in;
                self.in_spikes.push(i as u32);
            } else {
                self.v_in[i] = v;
            }
        }
        // Field input: feed-forward from input spikes, lateral from the field's last spikes.
        let in_spikes = std::mem::take(&mut self.in_spikes);
        for &i in &in_spikes {
            ops.synops += self.add_kernel(i as usize, self.cfg.k_ff, roi);
        }
        ops.messages += in_spikes.len() as u64;
        self.in_spikes = in_spikes;
        let prev = std::mem::take(&mut self.prev_spikes);
        for &i in &prev {
            ops.synops += self.add_kernel(i as usize, self.cfg.k_exc, roi);
        }
        // Field update of the neurons with input; the rest only decay (idle).
        let mut spikes = prev;
        spikes.clear();
        let list = std::mem::take(&mut self.acc_list);
        let mut active = 0u64;
        for &j in &list {
            let j = j as usize;
            let u = self.u_now(j) + self.acc[j];
            self.acc[j] = 0.0;
            active += 1;
            if u >= self.cfg.theta_dnf {
                self.u[j] = 0.0;
                spikes.push(j as u32);
                self.recent.push((j as u32, s));
            } else {
                // With s_u = s, u_now(j) at step s returns exactly u.
                self.u[j] = u;
            }
            self.s_u[j] = s;
        }
        self.acc_list = list;
        self.acc_list.clear();
        let grid = ((roi.2 - roi.0) * (roi.3 - roi.1)) as u64;
        ops.neuron_updates += active + events.len().min(grid as usize) as u64;
        ops.idle_neuron_updates += 2 * grid - (active + events.len().min(grid as usize) as u64).min(2 * grid);
        ops.messages += spikes.len() as u64;
        // Global inhibition: one inhibitory neuron, fan-out to every field neuron of the grid.
        let g_next = self.g_at(s) * self.beta + self.cfg.w_inh * spikes.len() as f32;
        if !spikes.is_empty() {
            ops.messages += 1;
            ops.synops += grid;
            ops.neuron_updates += 1;
        } else {
            ops.idle_neuron_updates += 1;
        }
        ops.readouts += spikes.len() as u64;
        ops.timesteps += 1;
        self.prev_spikes = spikes;
        self.step = s + 1;
        self.g_hist[self.step as usize % HIST] = g_next;
    }

    /// Readout: the field cell with the largest recency-weighted spike count over the last
    /// `2 × substeps` timesteps, refined to the weighted centroid of the spiking cells within
    /// two cells of it. Returns the centre in pixels.
    fn winner(&mut self) -> Option<(f64, f64)> {
        let s = self.step;
        let horizon = 2 * self.cfg.substeps;
        self.recent.retain(|&(_, t)| s - t <= horizon);
        if self.recent.is_empty() {
            return None;
        }
        // Scores accumulate in the scratch buffer, which is all zeros between timesteps.
        let mut best = (self.recent[0].0, f32::MIN);
        for &(j, t) in &self.recent {
            self.acc[j as usize] += pow_decay(self.gamma, s - t);
        }
        for &(j, _) in &self.recent {
            let sc = self.acc[j as usize];
            if sc > best.1 {
                best = (j, sc);
            }
        }
        for &(j, _) in &self.recent {
            self.acc[j as usize] = 0.0;
        }
        let (bx, by) = ((best.0 as usize % self.gw) as f64, (best.0 as usize / self.gw) as f64);
        let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
        for &(j, t) in &self.recent {
            let (x, y) = ((j as usize % self.gw) as f64, (j as usize / self.gw) as f64);
            if (x - bx).abs() <= 2.0 && (y - by).abs() <= 2.0 {
                let wgt = f64::from(pow_decay(self.gamma, s - t));
                sx += wgt * x;
                sy += wgt * y;
                sw += wgt;
            }
        }
        let c = f64::from(self.cfg.cell);
        Some(((sx / sw + 0.5) * c, (sy / sw + 0.5) * c))
    }
}

impl Tracker for DnfTracker {
    fn name(&self) -> &'static str {
        "snn-dnf"
    }

    fn process(&mut self, events: &[Event], t_end_ns: u64) -> Option<Estimate> {
        let roi = self.roi_cells();
        let mut ops = OpCounts::default();
        let sub = self.cfg.substeps.max(1) as u64;
        let t0 = t_end_ns.saturating_sub(self.cfg.packet_ns);
        let packet_ns = self.cfg.packet_ns.max(1);
        let bin = |e: &Event| ((e.t_ns.saturating_sub(t0)) * sub / packet_ns).min(sub - 1);
        let mut start = 0;
        for k in 0..sub {
            let mut end = start;
            while end < events.len() && bin(&events[end]) <= k {
                end += 1;
            }
            self.timestep(&events[start..end], roi, &mut ops);
            start = end;
        }
        let winner = self.winner();
        ops.readout_checks += 1;
        self.ops.accumulate(&ops);
        self.last_ops = ops;
        let Some((wx, wy)) = winner else {
            self.silent = self.silent.saturating_add(1);
            if self.silent >= self.cfg.lost_after_ms {
                self.locked = false;
                self.est = None;
                return None;
            }
            // Coast on the last estimate for a few packets.
            return self.est.map(|e| {
                let dt = (t_end_ns - e.t_ns) as f64 * 1e-9;
                let c = Estimate { t_ns: t_end_ns, x: e.x + e.vx * dt, y: e.y + e.vy * dt, ..e };
                self.est = Some(c);
                c
            });
        };
        self.silent = 0;
        let est = refine(events, wx, wy, f64::from(self.cfg.refine_radius_px), t_end_ns, self.est);
        self.est = Some(est);
        self.locked = true;
        Some(est)
    }

    fn reset(&mut self) {
        *self = Self::new(self.cfg);
    }

    fn ops(&self) -> Option<&OpCounts> {
        Some(&self.ops)
    }
}

/// Sub-cell refinement shared by the trackers: centroid of the events within `r` px of
/// (`cx`, `cy`), extrapolated with the velocity to `t_end_ns`; velocity smoothed from the
/// previous estimate.
pub(crate) fn refine(events: &[Event], cx: f64, cy: f64, r: f64, t_end_ns: u64, prev: Option<Estimate>) -> Estimate {
    // Start from the previous estimate moved with its velocity when it is close to the
    // coarse centre: a tracker's coarse centre lags a fast ball, and a window cut by a
    // lagging centre has a biased mean-shift fixed point behind the ball. The window is
    // fixed (it should be about twice the ball's image radius): growing it with the event
    // cloud lets the long OFF tail of a slow photoreceptor and the noise pull it backwards.
    let r2 = r * r;
    let (mut cx, mut cy) = (cx, cy);
    if let Some(p) = prev {
        let dt = t_end_ns.saturating_sub(p.t_ns) as f64 * 1e-9;
        let (px, py) = (p.x + p.vx * dt, p.y + p.vy * dt);
        if (px - cx).hypot(py - cy) < 2.0 * r {
            (cx, cy) = (px, py);
        }
    }
    // One pass keeps the events the window can reach in its iterations (it moves < 2r).
    let reach2 = 9.0 * r2;
    let near: Vec<(f64, f64, f64)> = events
        .iter()
        .filter_map(|e| {
            let (x, y) = (f64::from(e.x) + 0.5, f64::from(e.y) + 0.5);
            ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= reach2)
                .then(|| (x, y, t_end_ns.saturating_sub(e.t_ns) as f64))
        })
        .collect();
    let (mut st, mut n, mut rho) = (0.0, 0.0, 0.0);
    for _ in 0..8 {
        let (mut sx, mut sy, mut sxx) = (0.0, 0.0, 0.0);
        (st, n) = (0.0, 0.0);
        for &(x, y, age) in &near {
            let d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            if d2 <= r2 {
                sx += x;
                sy += y;
                sxx += x * x + y * y;
                st += age;
                n += 1.0;
            }
        }
        if n < 3.0 {
            break;
        }
        let (nx, ny) = (sx / n, sy / n);
        rho = (sxx / n - nx * nx - ny * ny).max(0.0).sqrt();
        let moved = (nx - cx).hypot(ny - cy);
        (cx, cy) = (nx, ny);
        if moved < 0.05 {
            break;
        }
    }
    let (vx, vy) = prev.map_or((0.0, 0.0), |p| (p.vx, p.vy));
    let (x, y) = if n >= 3.0 {
        let lag = st / n * 1e-9;
        (cx + vx * lag, cy + vy * lag)
    } else {
        (cx, cy)
    };
    let (vx, vy) = match prev {
        Some(p) if t_end_ns > p.t_ns && t_end_ns - p.t_ns <= 3_000_000 => {
            let dt = (t_end_ns - p.t_ns) as f64 * 1e-9;
            let a = 0.3;
            (p.vx + a * ((x - p.x) / dt - p.vx), p.vy + a * ((y - p.y) / dt - p.vy))
        }
        _ => (0.0, 0.0),
    };
    Estimate { t_ns: t_end_ns, x, y, vx, vy, radius_px: if n >= 3.0 { rho } else { prev.map_or(0.0, |p| p.radius_px) } }
}
