//! Energy and latency model: hardware profiles with cited per-operation constants, a
//! mapping of neurons and synapses onto cores with capacity limits, and the CPU baseline.
//!
//! Model (per solve, from exact [`OpCounts`]):
//! - **time** = timesteps × (slowest core's work per timestep + barrier(cores)) plus
//!   readout checks × host round trip plus values read × per-value transfer time.
//!   A core's work per timestep = its share of the active neuron updates × t_neuron_active,
//!   plus idle updates × t_neuron_idle, plus its share of the synaptic operations × t_synop. Synapses
//!   live on the postsynaptic core (fan-in), so a core's synop share is its share of the
//!   stored synapses; activity is assumed spread over synapses in proportion (the counts are
//!   exact in total, the per-core split is this assumption).
//! - **energy** = synops × e_synop + active updates × e_neuron_active + idle updates ×
//!   e_neuron_idle + messages × (e_spike_local + mean hops × e_hop) + readouts × e_readout,
//!   plus static power per used core × cores × time.
//! - **EDP** = energy × time (J·s).
//!
//! CPU baseline: measured wall time × a stated CPU power (configurable), and RAPL energy
//! counters from `/sys/class/powercap` when the machine exposes them readably.

use super::OpCounts;
use super::network::Network;

/// Per-operation constants of a neuromorphic chip. Energies in joules, times in seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HardwareProfile {
    /// Profile name.
    pub name: String,
    /// Where the constants come from; says "ESTIMATE" when not a published table.
    pub source: String,
    /// True when the profile is an estimate rather than published per-op figures.
    pub estimate: bool,
    /// Energy per synaptic operation (J).
    pub e_synop: f64,
    /// Energy per active neuron update (J).
    pub e_neuron_active: f64,
    /// Energy per inactive (idle) neuron update (J).
    pub e_neuron_idle: f64,
    /// Energy per spike delivered within a tile (J).
    pub e_spike_local: f64,
    /// Energy per tile hop of a spike (J), mean of the E-W and N-S figures.
    pub e_hop: f64,
    /// Time per synaptic operation on one core (s).
    pub t_synop: f64,
    /// Time per active neuron update on one core (s).
    pub t_neuron_active: f64,
    /// Time per idle neuron update on one core (s).
    pub t_neuron_idle: f64,
    /// Barrier synchronisation time with 1 core (s).
    pub barrier_1: f64,
    /// Barrier synchronisation time with 32 cores (s); linear in between and beyond.
    pub barrier_32: f64,
    /// Neurons per core (capacity).
    pub neurons_per_core: usize,
    /// Stored synapses per core (capacity).
    pub synapses_per_core: usize,
    /// Cores on a chip.
    pub cores_per_chip: usize,
    /// Static (leakage) power per used core (W). ASSUMPTION unless stated in `source`.
    pub static_w_per_core: f64,
    /// Host round trip of one termination check (s). ASSUMPTION.
    pub t_readout_check: f64,
    /// Transfer time per value read out (s). ASSUMPTION.
    pub t_readout_value: f64,
    /// Energy per value read out (J). ASSUMPTION.
    pub e_readout_value: f64,
}

/// Lava-optimization's ANYmal tutorial workload (Mangalore et al. 2024 / lava-optimization QP tutorial), used to calibrate Loihi 2
/// time: 264 primal + 144 dual neurons, Q with 1154 and A with 762 non-zeros (A and Aᵀ both
/// stored), every neuron updated and sending every iteration, 2 timesteps per iteration,
/// on 2 cores, measured at 8.14 µs per timestep.
pub mod lava_anymal {
    /// Neurons (primal + dual).
    pub const NEURONS: u64 = 264 + 144;
    /// Synaptic operations per iteration: Q + A + Aᵀ.
    pub const SYNOPS_PER_ITER: u64 = 1154 + 2 * 762;
    /// Timesteps per iteration.
    pub const TIMESTEPS_PER_ITER: u64 = 2;
    /// Cores used.
    pub const CORES: usize = 2;
    /// Measured time per timestep (s).
    pub const SECONDS_PER_TIMESTEP: f64 = 8.14e-6;
}

impl HardwareProfile {
    /// Loihi (1), constants from Davies et al., "Loihi: a neuromorphic manycore processor
    /// with on-chip learning", IEEE Micro 2018, Table 2 (pre-silicon, consistent with early
    /// silicon): synaptic spike op 23.6 pJ / 3.5 ns; neuron update 81 pJ / 8.4 ns active,
    /// 52 pJ / 5.3 ns inactive; spike within a tile 1.7 pJ; tile hop 3.0 (E-W) / 4.0 (N-S) pJ;
    /// barrier 113–465 ns for 1–32 tiles. 128 cores, 1024 neurons per core (paper). Synapses
    /// per core: 128 KB of synaptic memory at ≈16 bits per stored synapse → 65 536
    /// (ASSUMPTION). Static power 1 mW per used core, readout 10 µs per check, 10 ns and
    /// 1 nJ per value: ASSUMPTIONS (no published figures), configurable.
    pub fn loihi() -> Self {
        Self {
            name: "loihi".into(),
            source: "Davies et al. IEEE Micro 2018 Table 2; static power, readout and synapse capacity ASSUMED".into(),
            estimate: false,
            e_synop: 23.6e-12,
            e_neuron_active: 81e-12,
            e_neuron_idle: 52e-12,
            e_spike_local: 1.7e-12,
            e_hop: 3.5e-12,
            t_synop: 3.5e-9,
            t_neuron_active: 8.4e-9,
            t_neuron_idle: 5.3e-9,
            barrier_1: 113e-9,
            barrier_32: 465e-9,
            neurons_per_core: 1024,
            synapses_per_core: 65_536,
            cores_per_chip: 128,
            static_w_per_core: 1e-3,
            t_readout_check: 10e-6,
            t_readout_value: 10e-9,
            e_readout_value: 1e-9,
        }
    }

    /// Loihi 2 — an ESTIMATE. There is no public per-op table for Loihi 2. Energies per op
    /// are carried over from Loihi (Table 2 above). Times per op are Loihi's scaled by one
    /// factor κ chosen so that the model reproduces the published 8.14 µs per timestep of
    /// lava-optimization's ANYmal QP on 2 cores ([`lava_anymal`]); κ ≈ 1.9. Capacity from
    /// Intel's brief: 128 cores, 1M neurons, 120M synapses → 8192 neurons and 937 500
    /// synapses per core. Static power and readout as for [`HardwareProfile::loihi`]
    /// (ASSUMPTIONS).
    pub fn loihi2_estimate() -> Self {
        let base = Self::loihi();
        let kappa = Self::loihi2_time_scale();
        Self {
            name: "loihi2-est".into(),
            source: format!(
                "ESTIMATE: Loihi Table 2 energies; times = Loihi x {kappa:.3} calibrated to lava's 8.14 us/timestep \
                 (ANYmal QP, 2 cores); capacity from Intel's Loihi 2 brief; static power/readout ASSUMED"
            ),
            estimate: true,
            t_synop: base.t_synop * kappa,
            t_neuron_active: base.t_neuron_active * kappa,
            t_neuron_idle: base.t_neuron_idle * kappa,
            neurons_per_core: 8192,
            synapses_per_core: 937_500,
            ..base
        }
    }

    /// The calibration factor κ of [`HardwareProfile::loihi2_estimate`]: measured time per
    /// timestep over the Loihi-constant model's time for lava's ANYmal workload (2 cores,
    /// balanced, every neuron active every timestep, barrier not scaled).
    pub fn loihi2_time_scale() -> f64 {
        use lava_anymal::*;
        let b = Self::loihi();
        let per_core_ops = (SYNOPS_PER_ITER as f64 / TIMESTEPS_PER_ITER as f64) / CORES as f64 * b.t_synop
            + NEURONS as f64 / CORES as f64 * b.t_neuron_active;
        (SECONDS_PER_TIMESTEP - b.barrier(CORES)) / per_core_ops
    }

    /// Barrier time for `cores` cores (s): linear between the 1- and 32-core figures of
    /// Davies et al. (113–465 ns), extrapolated on the same line above
    /// [`BARRIER_PUBLISHED_CORES`] (≈ 11.4 ns per added core; not a published figure).
    pub fn barrier(&self, cores: usize) -> f64 {
        let c = cores.max(1) as f64;
        self.barrier_1 + (self.barrier_32 - self.barrier_1) * (c - 1.0) / 31.0
    }
}

/// Largest core count the barrier figures of [`HardwareProfile::loihi`] were published for;
/// estimates on more cores extrapolate the barrier linearly.
pub const BARRIER_PUBLISHED_CORES: usize = 32;

/// Placement of a network's neurons (and their fan-in synapses) onto cores.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CoreMap {
    /// Neurons on each core.
    pub neurons: Vec<u64>,
    /// Stored (fan-in) synapses on each core.
    pub synapses: Vec<u64>,
}

/// Errors of the mapping.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapError {
    /// One neuron's fan-in exceeds a core's synapse capacity.
    #[error("a neuron has fan-in {fan_in}, above the {cap} synapses a core holds")]
    FanInTooLarge {
        /// Fan-in of the neuron.
        fan_in: u64,
        /// Core capacity.
        cap: usize,
    },
    /// The network needs more cores than the profile's chip has.
    #[error("needs {need} cores, the chip has {have}")]
    TooManyCores {
        /// Cores needed.
        need: usize,
        /// Cores available.
        have: usize,
    },
    /// A requested core count above the number of neurons.
    #[error("cannot spread {neurons} neurons over {cores} cores (at most one core per neuron)")]
    BadCoreCount {
        /// Cores requested.
        cores: usize,
        /// Neurons to place.
        neurons: usize,
    },
    /// A mapping onto no cores was requested.
    #[error("the number of cores must be at least 1")]
    NoCores,
    /// The neurons or synapses do not fit into the requested cores.
    #[error("the network does not fit into {cores} cores (neuron or synapse capacity)")]
    OverCapacity {
        /// Cores requested.
        cores: usize,
    },
}

impl CoreMap {
    /// Maps neurons with the given fan-ins onto the fewest cores that respect both
    /// capacities (at least `min_cores`), balancing synapses greedily (largest fan-in first
    /// to the least-loaded core with room).
    pub fn balanced(fan_in: &[u64], hw: &HardwareProfile, min_cores: usize) -> Result<Self, MapError> {
        if let Some(&f) = fan_in.iter().find(|&&f| f > hw.synapses_per_core as u64) {
            return Err(MapError::FanInTooLarge { fan_in: f, cap: hw.synapses_per_core });
        }
        let total_syn: u64 = fan_in.iter().sum();
        let n = fan_in.len();
        let mut cores = min_cores
            .max(n.div_ceil(hw.neurons_per_core.max(1)))
            .max((total_syn as usize).div_ceil(hw.synapses_per_core.max(1)))
            .max(1);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(fan_in[i]));
        loop {
            if cores > hw.cores_per_chip {
                return Err(MapError::TooManyCores { need: cores, have: hw.cores_per_chip });
            }
            let mut map = CoreMap { neurons: vec![0; cores], synapses: vec![0; cores] };
            let mut ok = true;
            for &i in &order {
                let best = (0..cores)
                    .filter(|&c| {
                        map.neurons[c] < hw.neurons_per_core as u64
                            && map.synapses[c] + fan_in[i] <= hw.synapses_per_core as u64
                    })
                    .min_by_key(|&c| (map.synapses[c], map.neurons[c]));
                match best {
                    Some(c) => {
                        map.neurons[c] += 1;
                        map.synapses[c] += fan_in[i];
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                return Ok(map);
            }
            cores += 1;
        }
    }

    /// Maps neurons with the given fan-ins onto exactly `cores` cores (a stated mapping
    /// choice rather than the fewest that fit): largest fan-in first, each neuron to the core
    /// with the least work so far, work = fan-in × t_synop + t_neuron_active of `hw` (the
    /// per-timestep cost of a neuron that is updated and receives on every synapse).
    /// Errors when `cores` is 0, exceeds the neurons or the chip, or the capacities do not
    /// fit.
    pub fn split(fan_in: &[u64], hw: &HardwareProfile, cores: usize) -> Result<Self, MapError> {
        if cores == 0 {
            return Err(MapError::NoCores);
        }
        if cores > fan_in.len() {
            return Err(MapError::BadCoreCount { cores, neurons: fan_in.len() });
        }
        if cores > hw.cores_per_chip {
            return Err(MapError::TooManyCores { need: cores, have: hw.cores_per_chip });
        }
        if let Some(&f) = fan_in.iter().find(|&&f| f > hw.synapses_per_core as u64) {
            return Err(MapError::FanInTooLarge { fan_in: f, cap: hw.synapses_per_core });
        }
        let mut order: Vec<usize> = (0..fan_in.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(fan_in[i]));
        let mut map = CoreMap { neurons: vec![0; cores], synapses: vec![0; cores] };
        let work = |syn: u64, neu: u64| syn as f64 * hw.t_synop + neu as f64 * hw.t_neuron_active;
        for &i in &order {
            let best = (0..cores)
                .filter(|&c| {
                    map.neurons[c] < hw.neurons_per_core as u64
                        && map.synapses[c] + fan_in[i] <= hw.synapses_per_core as u64
                })
                .min_by(|&a, &b| {
                    work(map.synapses[a], map.neurons[a]).total_cmp(&work(map.synapses[b], map.neurons[b]))
                });
            let Some(c) = best else {
                return Err(MapError::OverCapacity { cores });
            };
            map.neurons[c] += 1;
            map.synapses[c] += fan_in[i];
        }
        Ok(map)
    }

    /// Maps every population of `net` (fan-in = stored synapses per neuron over all planes).
    pub fn for_network(net: &Network, hw: &HardwareProfile, min_cores: usize) -> Result<Self, MapError> {
        Self::balanced(&net.fan_in(), hw, min_cores)
    }

    /// Cores used.
    pub fn cores(&self) -> usize {
        self.neurons.len()
    }
    /// Largest share of the neurons on one core (0..1).
    pub fn max_neuron_share(&self) -> f64 {
        share(&self.neurons)
    }
    /// Largest share of the synapses on one core (0..1).
    pub fn max_synapse_share(&self) -> f64 {
        share(&self.synapses)
    }
}

fn share(v: &[u64]) -> f64 {
    let t: u64 = v.iter().sum();
    if t == 0 { 1.0 / v.len().max(1) as f64 } else { *v.iter().max().unwrap_or(&0) as f64 / t as f64 }
}

/// Estimated cost of one run on a neuromorphic profile.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// Latency (s).
    pub time_s: f64,
    /// Energy (J), dynamic + static.
    pub energy_j: f64,
    /// Dynamic part of the energy (J).
    pub dynamic_j: f64,
    /// Static part of the energy (J).
    pub static_j: f64,
    /// Energy-delay product (J·s).
    pub edp: f64,
    /// Cores used.
    pub cores: usize,
}

/// Estimates time, energy and EDP of the counted run `c` mapped as `map` on `hw`.
/// `mean_hops` is the mean number of tile hops per message (0 when all on one core).
pub fn estimate(c: &OpCounts, map: &CoreMap, hw: &HardwareProfile, mean_hops: f64) -> Estimate {
    let ts = c.timesteps.max(1) as f64;
    let (fs, fnr) = (map.max_synapse_share(), map.max_neuron_share());
    let per_step = (c.synops as f64 / ts) * fs * hw.t_synop
        + (c.neuron_updates as f64 / ts) * fnr * hw.t_neuron_active
        + (c.idle_neuron_updates as f64 / ts) * fnr * hw.t_neuron_idle;
    let time_s = c.timesteps as f64 * (per_step + hw.barrier(map.cores()))
        + c.readout_checks as f64 * hw.t_readout_check
        + c.readouts as f64 * hw.t_readout_value;
    let dynamic_j = c.synops as f64 * hw.e_synop
        + c.neuron_updates as f64 * hw.e_neuron_active
        + c.idle_neuron_updates as f64 * hw.e_neuron_idle
        + c.messages as f64 * (hw.e_spike_local + mean_hops * hw.e_hop)
        + c.readouts as f64 * hw.e_readout_value;
    let static_j = hw.static_w_per_core * map.cores() as f64 * time_s;
    let energy_j = dynamic_j + static_j;
    Estimate { time_s, energy_j, dynamic_j, static_j, edp: energy_j * time_s, cores: map.cores() }
}

/// Mean tile hops between two cores of a `cores`-core block laid out as a near-square 2-D
/// mesh (Manhattan distance averaged over ordered pairs, including same-core pairs).
pub fn mean_hops(cores: usize) -> f64 {
    let c = cores.max(1);
    let w = (c as f64).sqrt().ceil() as usize;
    let pos: Vec<(i64, i64)> = (0..c).map(|i| ((i % w) as i64, (i / w) as i64)).collect();
    let mut s = 0i64;
    for a in &pos {
        for b in &pos {
            s += (a.0 - b.0).abs() + (a.1 - b.1).abs();
        }
    }
    s as f64 / (c * c) as f64
}

/// CPU time the calling thread has run so far (`CLOCK_THREAD_CPUTIME_ID`, exact to the
/// scheduler's accounting at the call), or `None` where the clock is unavailable. Differences
/// of two readings measure work on a shared machine without the time the thread waited
/// while other processes ran.
pub fn thread_cpu_time() -> Option<std::time::Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes into it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0 && ts.tv_sec >= 0 && ts.tv_nsec >= 0)
        .then(|| std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// CPU baseline: measured wall time and the energy it implies.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct CpuCost {
    /// Measured wall time (s).
    pub time_s: f64,
    /// Stated CPU power (W) used for the estimate.
    pub watts: f64,
    /// time × watts (J).
    pub energy_j: f64,
    /// energy × time (J·s).
    pub edp: f64,
    /// Package energy from RAPL over the measured interval (J), when readable.
    pub rapl_j: Option<f64>,
}

impl CpuCost {
    /// Cost of `time_s` seconds at `watts`, with an optional RAPL measurement.
    pub fn new(time_s: f64, watts: f64, rapl_j: Option<f64>) -> Self {
        let energy_j = time_s * watts;
        Self { time_s, watts, energy_j, edp: energy_j * time_s, rapl_j }
    }
}

/// Default stated CPU power for the baseline (W): one busy core of a laptop/edge-class CPU
/// package. An ASSUMPTION; pass your own.
pub const DEFAULT_CPU_WATTS: f64 = 15.0;

/// A RAPL package energy counter (`/sys/class/powercap/intel-rapl:N/energy_uj`).
#[derive(Debug, Clone)]
pub struct Rapl {
    paths: Vec<std::path::PathBuf>,
    max_uj: Vec<u64>,
}

impl Rapl {
    /// Opens every readable top-level RAPL package domain; `None` when unavailable (no
    /// powercap, or counters not readable by this user).
    pub fn open() -> Option<Self> {
        let dir = std::fs::read_dir("/sys/class/powercap").ok()?;
        let mut paths = Vec::new();
        let mut max_uj = Vec::new();
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            // top-level package domains: intel-rapl:N (not intel-rapl:N:M sub-domains)
            if name.starts_with("intel-rapl:") && name.matches(':').count() == 1 {
                let p = e.path().join("energy_uj");
                if std::fs::read_to_string(&p).ok().and_then(|s| s.trim().parse::<u64>().ok()).is_some() {
                    let m = std::fs::read_to_string(e.path().join("max_energy_range_uj"))
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(u64::MAX);
                    paths.push(p);
                    max_uj.push(m);
                }
            }
        }
        if paths.is_empty() { None } else { Some(Self { paths, max_uj }) }
    }

    /// Current counters (µJ), one per domain.
    pub fn read(&self) -> Vec<u64> {
        self.paths
            .iter()
            .map(|p| std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0))
            .collect()
    }

    /// Joules between two readings (handles one wrap-around per domain).
    pub fn joules(&self, before: &[u64], after: &[u64]) -> f64 {
        let mut uj = 0u64;
        for i in 0..before.len().min(after.len()) {
            uj += if after[i] >= before[i] {
                after[i] - before[i]
            } else {
                self.max_uj[i].saturating_sub(before[i]) + after[i]
            };
        }
        uj as f64 * 1e-6
    }
}

/// Human-readable RAPL availability ("available (N domains)" or "unavailable").
pub fn rapl_status() -> String {
    match Rapl::open() {
        Some(r) => format!("available ({} domains)", r.paths.len()),
        None => "unavailable".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loihi2_calibration_reproduces_published_timestep() {
        let hw = HardwareProfile::loihi2_estimate();
        let k = HardwareProfile::loihi2_time_scale();
        assert!(k > 1.0 && k < 3.0, "κ = {k}");
        // lava's workload: 1000 iterations, every neuron active and sending each timestep.
        use lava_anymal::*;
        let iters = 1000u64;
        let c = OpCounts {
            timesteps: iters * TIMESTEPS_PER_ITER,
            neuron_updates: iters * TIMESTEPS_PER_ITER * NEURONS,
            synops: iters * SYNOPS_PER_ITER,
            ..Default::default()
        };
        let map = CoreMap { neurons: vec![204, 204], synapses: vec![1339, 1339] };
        let e = estimate(&c, &map, &hw, 0.0);
        let per_step = e.time_s / c.timesteps as f64;
        assert!((per_step - 8.14e-6).abs() < 1e-12, "{per_step}");
    }

    #[test]
    fn hand_computed_energy() {
        let hw = HardwareProfile::loihi();
        let c = OpCounts {
            timesteps: 10,
            neuron_updates: 100,
            idle_neuron_updates: 50,
            messages: 40,
            synops: 200,
            readouts: 5,
            readout_checks: 1,
            ..Default::default()
        };
        let map = CoreMap { neurons: vec![10], synapses: vec![20] };
        let e = estimate(&c, &map, &hw, 0.0);
        let dyn_j = 200.0 * 23.6e-12 + 100.0 * 81e-12 + 50.0 * 52e-12 + 40.0 * 1.7e-12 + 5.0 * 1e-9;
        assert!((e.dynamic_j - dyn_j).abs() < 1e-18);
        let t = 10.0 * (20.0 * 3.5e-9 + 10.0 * 8.4e-9 + 5.0 * 5.3e-9 + 113e-9) + 10e-6 + 5.0 * 10e-9;
        assert!((e.time_s - t).abs() < 1e-15, "{} vs {t}", e.time_s);
        assert!((e.static_j - 1e-3 * t).abs() < 1e-18);
        assert!((e.edp - e.energy_j * e.time_s).abs() < 1e-30);
    }

    #[test]
    fn mapping_respects_capacity_and_balances() {
        let hw = HardwareProfile { neurons_per_core: 3, synapses_per_core: 10, ..HardwareProfile::loihi() };
        let map = CoreMap::balanced(&[5, 5, 4, 3, 2, 1], &hw, 1).unwrap();
        assert!(map.neurons.iter().all(|&n| n <= 3));
        assert!(map.synapses.iter().all(|&s| s <= 10));
        assert_eq!(map.neurons.iter().sum::<u64>(), 6);
        assert_eq!(map.synapses.iter().sum::<u64>(), 20);
        assert_eq!(map.cores(), 2);
        assert!(matches!(CoreMap::balanced(&[11], &hw, 1), Err(MapError::FanInTooLarge { .. })));
        assert_eq!(mean_hops(1), 0.0);
        assert_eq!(mean_hops(2), 0.5);
        let cpu = CpuCost::new(2e-3, 15.0, None);
        assert!((cpu.energy_j - 0.03).abs() < 1e-15 && (cpu.edp - 6e-5).abs() < 1e-15);
        let _ = rapl_status();
    }

    #[test]
    fn split_uses_exactly_the_requested_cores() {
        let hw = HardwareProfile::loihi2_estimate();
        // 100 neurons: fan-ins 1..=100 (5050 synapses).
        let fan_in: Vec<u64> = (1..=100).collect();
        for cores in [1, 2, 4, 8, 16, 32] {
            let map = CoreMap::split(&fan_in, &hw, cores).unwrap();
            assert_eq!(map.cores(), cores);
            assert_eq!(map.neurons.iter().sum::<u64>(), 100);
            assert_eq!(map.synapses.iter().sum::<u64>(), 5050);
            // Greedy largest-first: the busiest core is within one largest neuron's work of
            // the mean.
            let worst = map.max_synapse_share() * 5050.0;
            assert!(worst <= 5050.0 / cores as f64 + 100.0 + 1.0, "{cores}: {worst}");
        }
        assert!(matches!(CoreMap::split(&fan_in, &hw, 0), Err(MapError::NoCores)));
        assert!(matches!(CoreMap::split(&fan_in, &hw, 101), Err(MapError::BadCoreCount { .. })));
        let many = vec![1u64; 1000];
        assert!(matches!(CoreMap::split(&many, &hw, 129), Err(MapError::TooManyCores { .. })));
        let small = HardwareProfile { neurons_per_core: 10, ..hw.clone() };
        assert!(matches!(CoreMap::split(&fan_in, &small, 5), Err(MapError::OverCapacity { .. })));
    }

    #[test]
    fn more_cores_shorten_timesteps_and_add_static_energy() {
        let hw = HardwareProfile::loihi2_estimate();
        let fan_in: Vec<u64> = (0..600).map(|i| 4 + (i % 13) as u64).collect();
        let c = OpCounts {
            timesteps: 200,
            neuron_updates: 200 * 600,
            synops: 100 * fan_in.iter().sum::<u64>(),
            messages: 100 * 600,
            ..Default::default()
        };
        let at = |cores| {
            let map = CoreMap::split(&fan_in, &hw, cores).unwrap();
            estimate(&c, &map, &hw, mean_hops(cores))
        };
        let (e2, e16) = (at(2), at(16));
        assert!(e16.time_s < e2.time_s / 4.0, "{} vs {}", e16.time_s, e2.time_s);
        // Same operations: dynamic energy differs only by the hops of the messages.
        let hops = c.messages as f64 * (mean_hops(16) - mean_hops(2)) * hw.e_hop;
        assert!((e16.dynamic_j - e2.dynamic_j - hops).abs() < 1e-15);
        // Static energy: 1 mW per used core over the (shorter) run.
        assert!((e16.static_j - hw.static_w_per_core * 16.0 * e16.time_s).abs() < 1e-18);
        // The barrier grows with the cores (published 1–32, extrapolated beyond).
        assert!(hw.barrier(64) > hw.barrier(BARRIER_PUBLISHED_CORES));
    }
}
