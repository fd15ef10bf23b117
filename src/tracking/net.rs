//! The ball tracker as a network on the neuromorphic substrate ([`crate::neuro::Network`]),
//! in float or Loihi 2 fixed point, with the position read out by the network itself.
//!
//! Network (a `grid`×`grid` crop of cells, each cell a `stride`×`stride` pixel block):
//! - **input** population (one neuron per cell): its output is the number of the packet's
//!   events in the cell (the sensor interface: each event is a spike into its cell's neuron);
//!   graded sigma-delta messages carry the change of the count from packet to packet;
//! - **field** population (one neuron per cell), a dynamic neural field: dendrites
//!   *feed-forward* (input through a 5×5 Gaussian kernel), *lateral* (its own outputs through
//!   a 3×3 excitation kernel) and *inhibition* (the global inhibitory neuron). Each update
//!   `u ← β·u + (1 − β)·(ff + lateral − w_inh·g)`, output `f = max(0, u − θ)`
//!   (a graded rectified output);
//! - **inhibition**: one neuron summing all field outputs (`g = Σ f`) and projecting
//!   `−w_inh` onto every field neuron (global inhibition: only the strongest bump survives);
//! - **readout**: three graded neurons computing the position by population coding over the
//!   field's activity: `x = Σ fᵢ·xᵢ / Σ fᵢ`, `y = Σ fᵢ·yᵢ / Σ fᵢ` (cell coordinates of the
//!   field neurons, divided by `grid`, as synaptic weights; the neuron divides its two
//!   dendritic sums — one division per update in the neuron model, as a programmable Loihi 2
//!   neuron would run it; counted as one neuron update) and the activity `a = Σ fᵢ`.
//!   Global inhibition leaves activity only around the winning bump, so the sums run over the
//!   winner's neighbourhood.
//!
//! One packet (1 ms of events) is `substeps` barrier-synchronous timesteps: step 1 the
//! input population takes the packet's counts; steps 2 … S−1 the field and the inhibitory
//! neuron update; step S the readout updates from the field's last outputs. All operations
//! (updates, idle updates, graded spikes, synaptic operations, saturations) are counted by
//! the substrate, so [`crate::neuro::energy`] prices the network that ran.
//!
//! Host side (not in the network, not in its op counts):
//! - the crop ("fovea"): while no ball is found, the crop covers the whole sensor with
//!   coarse cells (`stride = ⌈max(width, height)/grid⌉`); once the readout reports activity
//!   the crop moves to fine cells (`fine_stride_px`) centred on the readout, and it is
//!   re-centred on the readout when that drifts more than `recentre_px` from its centre (the
//!   network state is cleared on every move: the neurons now see other pixels). The host
//!   adds the crop origin to the readout (cells → pixels);
//! - the velocity: a first-order filter over successive positions (px/s);
//! - coasting: a packet without readout activity while tracking reports the last estimate
//!   moved with its velocity, for up to `lost_after_ms − 1` packets in a row; the
//!   `lost_after_ms`-th declares the track lost and returns to acquisition;
//! - optionally ([`NetConfig::refine`]) the sub-pixel refinement [`super::refine::refine`]
//!   seeded with the network's position (a mean shift over the packet's events). With it off
//!   the reported position is the network's readout only ("network-only").
use super::refine::refine;
use super::{Estimate, Event, Tracker};
use crate::neuro::fixed::Arith;
use crate::neuro::network::{Inputs, Network, NeuronModel};
use crate::neuro::{FixedProfile, OpCounts};
use crate::sparse::CscMatrix;

/// Parameters of the network tracker.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct NetConfig {
    /// Sensor width, in pixels.
    pub width: u16,
    /// Sensor height, in pixels.
    pub height: u16,
    /// Cells per side of the crop (neurons per population: `grid²`).
    pub grid: u16,
    /// Side of a cell while tracking, in pixels.
    pub fine_stride_px: u16,
    /// Timesteps per packet (at least 4: input, two field updates, readout).
    pub substeps: u32,
    /// Packet length, in ns.
    pub packet_ns: u64,
    /// Standard deviation of the feed-forward Gaussian kernel, in cells.
    pub ff_sigma_cells: f64,
    /// Lateral excitation weight of the 4 nearest neighbours (the 4 diagonal ones get half).
    pub w_exc: f64,
    /// Global inhibition weight per unit of total field output.
    pub w_inh: f64,
    /// Field leak factor β per timestep (0: no memory, 1: no leak).
    pub beta: f64,
    /// Field threshold θ on fine cells (in events through the kernel).
    pub theta: f64,
    /// Background allowance added to θ: events per pixel per packet tolerated (times the
    /// cell area and the kernel's sum), so the coarse cells of acquisition ignore the
    /// background activity that fine cells do not see.
    pub bg_events_per_px: f64,
    /// Readout activity `a` needed to report a position (acquisition and tracking).
    pub min_activity: f64,
    /// Packets in a row without readout activity after which the track is lost (no
    /// estimate, the crop falls back to the whole sensor, the network state is cleared);
    /// before that the tracker coasts: it reports its last estimate moved with its velocity.
    pub lost_after_ms: u32,
    /// Readout distance from the crop centre beyond which the crop is re-centred, in pixels.
    pub recentre_px: f64,
    /// Host refinement stage ([`super::refine::refine`]) after the network's readout.
    pub refine: bool,
    /// Radius of the refinement window, in pixels.
    pub refine_radius_px: f64,
    /// Float or fixed point.
    pub arith: Arith,
}

impl NetConfig {
    /// Defaults for a `width`×`height` sensor: a 32×32 crop of 2-pixel cells (a 64×64 pixel
    /// fovea, like the crop of Ziegler et al.), float arithmetic, no refinement.
    pub fn new(width: u16, height: u16) -> Self {
        Self {
            width,
            height,
            grid: 32,
            fine_stride_px: 2,
            substeps: 4,
            packet_ns: 1_000_000,
            ff_sigma_cells: 1.0,
            w_exc: 0.0,
            w_inh: 0.02,
            beta: 0.3,
            theta: 2.0,
            bg_events_per_px: 0.01,
            min_activity: 1.0,
            lost_after_ms: 8,
            recentre_px: 8.0,
            refine: false,
            refine_radius_px: 8.0 * f64::from(width) / 640.0,
            arith: Arith::Float,
        }
    }

    /// The same in Loihi 2 fixed point.
    pub fn loihi2(self) -> Self {
        Self { arith: Arith::Fixed(FixedProfile::LOIHI2), ..self }
    }

    /// The tracker's name in reports: `net-float` or `net-fixed`, with `+refine` when the
    /// host refinement is on.
    pub fn name(&self) -> &'static str {
        match (self.arith.is_fixed(), self.refine) {
            (false, false) => "net-float",
            (true, false) => "net-fixed",
            (false, true) => "net-float+refine",
            (true, true) => "net-fixed+refine",
        }
    }

    /// The same with the host refinement on or off.
    pub fn with_refine(self, on: bool) -> Self {
        Self { refine: on, ..self }
    }
}

/// Fixed-point grids (exponents) of the network's quantities.
const E_COUNT: i32 = 0;
const E_FIELD: i32 = -6;
const E_READ_SUM: i32 = -6;
const E_POS: i32 = -10;

/// Input neurons: output = the packet's event count of the cell, set by the host.
struct Source {
    counts: Vec<f64>,
}

impl NeuronModel for Source {
    fn update(&mut self, _inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, overflows: &mut u64) {
        for (o, c) in out.iter_mut().zip(&self.counts) {
            *o = arith.state(*c, E_COUNT, overflows);
        }
    }
}

/// Field neurons (see the module docs).
struct Field {
    u: Vec<f64>,
    beta: f64,
    gain: f64,
    theta: f64,
}

impl NeuronModel for Field {
    fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, overflows: &mut u64) {
        let (ff, lat, inh) = (inputs.get(0), inputs.get(1), inputs.get(2));
        for i in 0..out.len() {
            let drive = ff[i] + lat[i] + inh[i];
            let u = arith.state(self.beta * self.u[i] + self.gain * drive, E_FIELD, overflows);
            self.u[i] = u;
            out[i] = (u - self.theta).max(0.0);
        }
    }
}

/// The inhibitory neuron: output = its dendritic sum (Σ of the field outputs).
struct Relay;

impl NeuronModel for Relay {
    fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, overflows: &mut u64) {
        for (o, s) in out.iter_mut().zip(inputs.get(0)) {
            *o = arith.state(*s, E_FIELD, overflows);
        }
    }
}

/// Weight of the readout's count synapses (Σ f): 0.75 is exact in an 8-bit mantissa with
/// lava's exponent rule, where 1.0 (a power of two at the top of its range) would clamp to
/// 127/128.
const W_DEN: f64 = 0.75;

/// Readout neurons `[x, y, a]`: dendrite 0 = (Σ f·x/G, Σ f·y/G, –), dendrite 1 =
/// `W_DEN`·(Σ f, Σ f, Σ f). Position neurons divide (cells; 0 when the activity is below
/// `eps`); the activity neuron scales its sum back to Σ f.
struct Readout {
    /// `grid · W_DEN` (a neuron constant).
    x_scale: f64,
    /// `1 / W_DEN` (a neuron constant).
    a_scale: f64,
    eps: f64,
}

impl NeuronModel for Readout {
    fn update(&mut self, inputs: Inputs<'_>, out: &mut [f64], arith: &Arith, overflows: &mut u64) {
        let (num, den) = (inputs.get(0), inputs.get(1));
        for k in 0..2 {
            let v = if den[k] * self.a_scale > self.eps { self.x_scale * num[k] / den[k] } else { 0.0 };
            out[k] = arith.state(v, E_POS, overflows);
        }
        out[2] = arith.state(self.a_scale * den[2], E_READ_SUM, overflows);
    }
}

/// Population and dendrite ids.
#[derive(Debug, Clone, Copy)]
struct Ids {
    input: usize,
    field: usize,
    inh: usize,
    readout: usize,
}

/// The network tracker (see the module docs).
pub struct NetTracker {
    cfg: NetConfig,
    net: Network,
    ids: Ids,
    source: Source,
    field: Field,
    readout: Readout,
    /// Crop origin (pixels) and stride (pixels per cell); `fine` while tracking.
    origin: (i32, i32),
    stride: u16,
    fine: bool,
    silent: u32,
    est: Option<Estimate>,
    last_net: Option<(f64, f64)>,
    last_ops: OpCounts,
    prev_counts: OpCounts,
}

impl std::fmt::Debug for NetTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetTracker").field("cfg", &self.cfg).field("fine", &self.fine).finish_non_exhaustive()
    }
}

fn kernel_sum(sigma: f64) -> f64 {
    let mut s = 0.0;
    for dy in -2i32..=2 {
        for dx in -2i32..=2 {
            s += (-f64::from(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp();
        }
    }
    s
}

impl NetTracker {
    /// Builds the network for `cfg`.
    pub fn new(cfg: NetConfig) -> Self {
        let g = usize::from(cfg.grid.max(3));
        let n = g * g;
        let mut net = Network::new(cfg.arith);
        let input = net.add_population("input", n, E_COUNT);
        let field = net.add_population("field", n, E_FIELD);
        let inh = net.add_population("inhibition", 1, E_FIELD);
        let readout = net.add_population("readout", 3, E_POS);
        let d_ff = net.add_dendrite(field, E_FIELD);
        let d_lat = net.add_dendrite(field, E_FIELD);
        let d_inh = net.add_dendrite(field, E_FIELD);
        let d_g = net.add_dendrite(inh, E_FIELD);
        let d_num = net.add_dendrite(readout, E_READ_SUM);
        let d_den = net.add_dendrite(readout, E_READ_SUM);
        // Feed-forward 5×5 Gaussian, lateral 3×3 excitation (no self-connection).
        let sigma = cfg.ff_sigma_cells.max(0.1);
        let mut ff = Vec::new();
        let mut lat = Vec::new();
        for j in 0..n {
            let (jx, jy) = ((j % g) as i32, (j / g) as i32);
            for dy in -2i32..=2 {
                for dx in -2i32..=2 {
                    let (ix, iy) = (jx + dx, jy + dy);
                    if ix < 0 || iy < 0 || ix >= g as i32 || iy >= g as i32 {
                        continue;
                    }
                    let i = iy as usize * g + ix as usize;
                    ff.push((i, j, (-f64::from(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp()));
                    let d1 = dx.abs().max(dy.abs());
                    if cfg.w_exc != 0.0 && d1 == 1 {
                        let w = if dx != 0 && dy != 0 { 0.5 * cfg.w_exc } else { cfg.w_exc };
                        lat.push((i, j, w));
                    }
                }
            }
        }
        let m = |r, c, t: &[(usize, usize, f64)]| CscMatrix::from_triplets(r, c, t).expect("indices in range");
        net.add_projection(input, d_ff, &m(n, n, &ff));
        if !lat.is_empty() {
            net.add_projection(field, d_lat, &m(n, n, &lat));
        }
        let all: Vec<_> = (0..n).map(|j| (0, j, 1.0)).collect();
        net.add_projection(field, d_g, &m(1, n, &all));
        let inh_w: Vec<_> = (0..n).map(|i| (i, 0, -cfg.w_inh)).collect();
        net.add_projection(inh, d_inh, &m(n, 1, &inh_w));
        let gf = g as f64;
        let mut num = Vec::with_capacity(2 * n);
        let mut den = Vec::with_capacity(3 * n);
        for j in 0..n {
            num.push((0, j, ((j % g) as f64 + 0.5) / gf));
            num.push((1, j, ((j / g) as f64 + 0.5) / gf));
            den.push((0, j, W_DEN));
            den.push((1, j, W_DEN));
            den.push((2, j, W_DEN));
        }
        net.add_projection(field, d_num, &m(3, n, &num));
        net.add_projection(field, d_den, &m(3, n, &den));
        let beta = cfg.arith.constant(cfg.beta.clamp(0.0, 1.0));
        let gain = cfg.arith.constant(1.0 - cfg.beta.clamp(0.0, 1.0));
        let mut t = Self {
            cfg,
            net,
            ids: Ids { input, field, inh, readout },
            source: Source { counts: vec![0.0; n] },
            field: Field { u: vec![0.0; n], beta, gain, theta: 0.0 },
            readout: Readout {
                x_scale: cfg.arith.constant(gf * W_DEN),
                a_scale: cfg.arith.constant(1.0 / W_DEN),
                eps: 0.0,
            },
            origin: (0, 0),
            stride: 1,
            fine: false,
            silent: 0,
            est: None,
            last_net: None,
            last_ops: OpCounts::default(),
            prev_counts: OpCounts::default(),
        };
        t.acquire();
        t
    }

    /// Parameters.
    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// The network (populations, projections, op counts).
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Neurons of the network.
    pub fn neurons(&self) -> usize {
        self.net.pops.iter().map(|p| p.len()).sum()
    }

    /// Stored incoming synapses of every neuron (for mapping onto cores).
    pub fn fan_in(&self) -> Vec<u64> {
        self.net.fan_in()
    }

    /// Whether the crop is on fine cells (tracking) rather than the whole sensor.
    pub fn locked(&self) -> bool {
        self.fine
    }

    /// Operation counts of the last packet.
    pub fn last_ops(&self) -> &OpCounts {
        &self.last_ops
    }

    /// The network's own readout of the last packet (pixels), before any refinement.
    pub fn last_network_position(&self) -> Option<(f64, f64)> {
        self.last_net
    }

    /// Packets in a row without readout activity (0 when the last packet had some); while
    /// [`Tracker::process`] still returns an estimate, the packets it has coasted.
    pub fn silent_packets(&self) -> u32 {
        self.silent
    }

    fn set_threshold(&mut self) {
        let area = f64::from(self.stride) * f64::from(self.stride);
        let ks = kernel_sum(self.cfg.ff_sigma_cells.max(0.1));
        let theta = self.cfg.theta + self.cfg.bg_events_per_px * area * ks;
        self.field.theta = self.cfg.arith.state(theta, E_FIELD, &mut 0);
        self.readout.eps = self.cfg.min_activity.max(0.0) * 0.5;
    }

    fn clear(&mut self) {
        self.net.clear_state();
        self.field.u.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Crop = the whole sensor on coarse cells.
    fn acquire(&mut self) {
        let g = u32::from(self.cfg.grid.max(3));
        let side = u32::from(self.cfg.width.max(self.cfg.height)).max(1);
        self.stride = side.div_ceil(g).max(1) as u16;
        self.origin = (0, 0);
        self.fine = false;
        self.set_threshold();
        self.clear();
    }

    /// Crop = fine cells centred on (`x`, `y`) pixels.
    fn centre(&mut self, x: f64, y: f64) {
        let s = self.cfg.fine_stride_px.max(1);
        let half = f64::from(self.cfg.grid.max(3)) * f64::from(s) / 2.0;
        self.stride = s;
        self.origin = ((x - half).round() as i32, (y - half).round() as i32);
        self.fine = true;
        self.set_threshold();
        self.clear();
    }

    fn crop_centre(&self) -> (f64, f64) {
        let half = f64::from(self.cfg.grid.max(3)) * f64::from(self.stride) / 2.0;
        (f64::from(self.origin.0) + half, f64::from(self.origin.1) + half)
    }

    /// Runs the network on one packet's events; returns the readout `(x, y)` in pixels and
    /// the activity.
    fn run_network(&mut self, events: &[Event]) -> (f64, f64, f64) {
        let g = usize::from(self.cfg.grid.max(3));
        let s = i32::from(self.stride);
        let (ox, oy) = self.origin;
        let side = g as i32 * s;
        self.source.counts.iter_mut().for_each(|c| *c = 0.0);
        for e in events {
            let (dx, dy) = (i32::from(e.x) - ox, i32::from(e.y) - oy);
            if dx >= 0 && dy >= 0 && dx < side && dy < side {
                self.source.counts[(dy / s) as usize * g + (dx / s) as usize] += 1.0;
            }
        }
        let Ids { input, field, inh, readout } = self.ids;
        let steps = self.cfg.substeps.max(4);
        self.net.step(&mut [(input, &mut self.source)]);
        for _ in 1..steps - 1 {
            self.net.step(&mut [(field, &mut self.field), (inh, &mut Relay)]);
        }
        self.net.step(&mut [(readout, &mut self.readout)]);
        let r = self.net.readout(readout);
        let (xc, yc, a) = (r[0], r[1], r[2]);
        let sf = f64::from(self.stride);
        (f64::from(ox) + xc * sf, f64::from(oy) + yc * sf, a)
    }
}

impl Tracker for NetTracker {
    fn name(&self) -> &'static str {
        self.cfg.name()
    }

    fn process(&mut self, events: &[Event], t_end_ns: u64) -> Option<Estimate> {
        let (x, y, a) = self.run_network(events);
        self.last_ops = self.net.counts.since(&self.prev_counts);
        self.prev_counts = self.net.counts;
        let active = a >= self.cfg.min_activity && x.is_finite() && y.is_finite();
        self.last_net = active.then_some((x, y));
        if !active {
            self.silent = self.silent.saturating_add(1);
            if !self.fine {
                return None;
            }
            if self.silent >= self.cfg.lost_after_ms {
                self.acquire();
                self.est = None;
                return None;
            }
            // Coasting: the last estimate moved with its velocity to this packet's end (the
            // crop follows it, so the ball is in view when the events come back).
            let e = self.est?;
            let dt = t_end_ns.saturating_sub(e.t_ns) as f64 * 1e-9;
            let c = Estimate { t_ns: t_end_ns, x: e.x + e.vx * dt, y: e.y + e.vy * dt, ..e };
            self.est = Some(c);
            let (cx, cy) = self.crop_centre();
            if (c.x - cx).hypot(c.y - cy) > self.cfg.recentre_px {
                self.centre(c.x, c.y);
            }
            return Some(c);
        }
        self.silent = 0;
        if !self.fine {
            // Acquisition: the coarse readout places the fine crop; positions come from it.
            self.centre(x, y);
            self.est = None;
            return None;
        }
        let prev = self.est.filter(|p| t_end_ns > p.t_ns && t_end_ns - p.t_ns <= 3 * self.cfg.packet_ns);
        let est = if self.cfg.refine {
            refine(events, x, y, self.cfg.refine_radius_px, t_end_ns, prev)
        } else {
            let (vx, vy) = match prev {
                Some(p) => {
                    let dt = (t_end_ns - p.t_ns) as f64 * 1e-9;
                    let k = 0.3;
                    (p.vx + k * ((x - p.x) / dt - p.vx), p.vy + k * ((y - p.y) / dt - p.vy))
                }
                None => (0.0, 0.0),
            };
            Estimate { t_ns: t_end_ns, x, y, vx, vy, radius_px: 0.0 }
        };
        self.est = Some(est);
        let (cx, cy) = self.crop_centre();
        if (x - cx).hypot(y - cy) > self.cfg.recentre_px {
            self.centre(x, y);
        }
        Some(est)
    }

    fn reset(&mut self) {
        *self = Self::new(self.cfg);
    }

    fn ops(&self) -> Option<&OpCounts> {
        Some(&self.net.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of events of radius `r` px around (`cx`, `cy`) in the packet ending at `t_end`,
    /// `n` events spread over the packet.
    fn ring(cx: f64, cy: f64, r: f64, n: usize, t_end: u64) -> Vec<Event> {
        (0..n)
            .map(|k| {
                let a = std::f64::consts::TAU * k as f64 / n as f64;
                // Pixel k covers [k, k + 1): the event's pixel is the floor of its position.
                let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
                Event::new(
                    t_end - 1_000_000 + (k as u64 * 1_000_000 / n as u64),
                    x.floor() as u16,
                    y.floor() as u16,
                    k % 2 == 0,
                )
            })
            .collect()
    }

    fn arith_modes() -> [NetConfig; 2] {
        let c = NetConfig::new(640, 480);
        [c, c.loihi2()]
    }

    /// A still ring: the first packet places the fine crop (acquisition), the following ones
    /// are read out by the network at the ring's centre, float and fixed point.
    #[test]
    fn readout_finds_a_ring_after_acquisition() {
        for cfg in arith_modes() {
            let mut t = NetTracker::new(cfg);
            let (cx, cy) = (200.3, 150.8);
            let ev = |k: u64| ring(cx, cy, 4.0, 80, (k + 1) * 1_000_000);
            assert!(t.process(&ev(0), 1_000_000).is_none(), "acquisition packet");
            assert!(t.locked());
            let mut last = None;
            for k in 1..6 {
                last = t.process(&ev(k), (k + 1) * 1_000_000);
            }
            let e = last.expect("tracking");
            let err = (e.x - cx).hypot(e.y - cy);
            assert!(err < 0.6, "{:?}: ({}, {}) vs ({cx}, {cy})", cfg.arith, e.x, e.y);
            assert_eq!(t.last_network_position(), Some((e.x, e.y)));
            let ops = t.last_ops();
            assert_eq!(ops.timesteps, u64::from(cfg.substeps));
            assert!(ops.synops > 0 && ops.messages > 0 && ops.readouts == 3, "{ops:?}");
            assert_eq!(ops.overflows, 0);
        }
    }

    /// The readout neurons compute Σ f·x / Σ f over the field's outputs (checked against the
    /// field population's outputs read from the network).
    #[test]
    fn readout_is_the_population_centroid_of_the_field() {
        for cfg in arith_modes() {
            let mut t = NetTracker::new(cfg);
            t.centre(100.0, 100.0);
            let ev = ring(97.0, 103.0, 3.0, 60, 1_000_000);
            let (x, y, a) = t.run_network(&ev);
            let g = usize::from(cfg.grid);
            let f = &t.net.pops[t.ids.field].out;
            let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
            for (i, v) in f.iter().enumerate() {
                sx += v * ((i % g) as f64 + 0.5);
                sy += v * ((i / g) as f64 + 0.5);
                sw += v;
            }
            // The readout reads the field outputs of the step before its own (the field
            // does not update in the readout's step).
            let tol_a = if cfg.arith.is_fixed() { 1e-3 * sw } else { 1e-9 * sw };
            assert!(sw > 0.0 && (a - sw).abs() <= tol_a, "{:?}: {a} vs {sw}", cfg.arith);
            let s = f64::from(cfg.fine_stride_px);
            let (ox, oy) = (f64::from(t.origin.0), f64::from(t.origin.1));
            let tol = if cfg.arith.is_fixed() { 0.1 } else { 1e-9 };
            assert!((x - (ox + s * sx / sw)).abs() < tol && (y - (oy + s * sy / sw)).abs() < tol, "{x} {y}");
        }
    }

    /// Sparse background activity alone gives no position; events outside the sensor and
    /// empty packets are harmless.
    #[test]
    fn background_and_odd_input_give_no_position() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for cfg in arith_modes() {
            let mut t = NetTracker::new(cfg);
            let mut reported = 0;
            for k in 0..100u64 {
                // 5 Hz per pixel over 640×480: ≈ 1540 events per ms.
                let mut ev: Vec<Event> = (0..1540)
                    .map(|_| {
                        Event::new(
                            k * 1_000_000 + rng.gen_range(0..1_000_000),
                            rng.gen_range(0..640),
                            rng.gen_range(0..480),
                            true,
                        )
                    })
                    .collect();
                ev.sort_by_key(|e| e.t_ns);
                reported += usize::from(t.process(&ev, (k + 1) * 1_000_000).is_some());
            }
            assert!(reported <= 5, "{:?}: {reported} positions in pure noise", cfg.arith);
            let odd = [Event::new(0, 5000, 5000, true), Event::new(0, 639, 479, false), Event::new(0, 0, 0, true)];
            assert!(t.process(&odd, 200_000_000).is_none());
            assert!(t.process(&[], 201_000_000).is_none());
        }
    }

    /// A ring moving 1 px per packet, then silence: the tracker coasts along the ring's path
    /// for `lost_after_ms − 1` packets, then reports the track lost and returns to acquisition.
    #[test]
    fn silence_coasts_then_loses_the_track() {
        for cfg in arith_modes() {
            let mut t = NetTracker::new(cfg);
            let cx = |k: u64| 150.0 + k as f64;
            let mut last = None;
            for k in 0..30u64 {
                last = t.process(&ring(cx(k), 200.2, 4.0, 80, (k + 1) * 1_000_000), (k + 1) * 1_000_000);
            }
            let e = last.expect("tracking");
            assert!((e.vx - 1000.0).abs() < 150.0 && e.vy.abs() < 150.0, "{:?}: velocity {e:?}", cfg.arith);
            let lost = cfg.lost_after_ms as u64;
            for k in 30..30 + lost - 1 {
                let c = t.process(&[], (k + 1) * 1_000_000).expect("coasting");
                // The ring would be at cx(k) had it kept moving.
                assert!((c.x - cx(k)).abs() < 1.5 && (c.y - 200.2).abs() < 1.0, "{:?}: coast {k}: {c:?}", cfg.arith);
                assert_eq!(t.silent_packets() as u64, k - 29);
                assert!(t.locked());
            }
            assert!(t.process(&[], (30 + lost) * 1_000_000).is_none(), "lost after {lost} silent packets");
            assert!(!t.locked(), "back to acquisition");
            // The ring back in view: acquisition, then tracking again.
            let k0 = 40 + lost;
            assert!(t.process(&ring(300.0, 100.0, 4.0, 80, k0 * 1_000_000), k0 * 1_000_000).is_none());
            let e = t.process(&ring(300.0, 100.0, 4.0, 80, (k0 + 1) * 1_000_000), (k0 + 1) * 1_000_000).expect("again");
            assert!((e.x - 300.0).hypot(e.y - 100.0) < 1.0, "{e:?}");
        }
    }

    #[test]
    fn network_shape_and_fan_in() {
        let t = NetTracker::new(NetConfig::new(640, 480));
        let n = 32 * 32;
        assert_eq!(t.neurons(), 2 * n + 1 + 3);
        let fan = t.fan_in();
        assert_eq!(fan.len(), t.neurons());
        // Field neuron in the middle: 25 feed-forward + 1 inhibitory synapse.
        assert_eq!(fan[n + 16 * 32 + 16], 26);
        // The inhibitory neuron sums every field neuron; each readout neuron gets 2 per field
        // neuron (x: position and count), the activity neuron 1.
        assert_eq!(fan[2 * n], n as u64);
        assert_eq!(fan[2 * n + 1], 2 * n as u64);
        assert_eq!(fan[2 * n + 3], n as u64);
    }
}
