//! `spikectl bench tracking`: generated table-tennis throws (2–15 m/s, clean and noisy v2e
//! presets) → pixel error against ground truth, CPU time per 1 ms packet, EVT 3.0 decode
//! throughput and estimated energy per inference, for the tracker network on the substrate
//! (`net-*`: float and Loihi 2 fixed point, network-only and with the host refinement) and
//! the event-cluster baseline, all measured in one run; then the burst table: 1 ms packets of
//! 25 k events (a 25 M events/s burst) through each stage, to see which paths keep up in real
//! time — among them the ROS tracker node's own path (`StreamTracker`: decode, windows, the
//! network, the hand-over of each window to the baseline's thread).
use clap::Parser;
use spikectl::neuro::OpCounts;
use spikectl::neuro::energy::{CoreMap, CpuCost, DEFAULT_CPU_WATTS, HardwareProfile, estimate, mean_hops};
use spikectl::tracking::cluster::{ClusterConfig, ClusterTracker};
use spikectl::tracking::eval::{
    ErrorStats, PacketResult, SimThrow, error_stats, errors, percentile, run_tracker, thread_cpu_ns,
};
use spikectl::tracking::evt3::{Evt3Decoder, encode_all};
use spikectl::tracking::net::{NetConfig, NetTracker};
use spikectl_sim::events::DvsParams;
use std::time::Instant;

/// Arguments of `spikectl bench tracking`.
#[derive(Parser, Debug)]
pub struct Args {
    /// Throws per preset (speeds spread evenly over 2–15 m/s).
    #[arg(long, default_value_t = 12)]
    pub throws: usize,
    /// Fewer throws (4) and a shorter decode run.
    #[arg(long)]
    pub quick: bool,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Image width [px].
    #[arg(long, default_value_t = 640)]
    pub width: u16,
    /// Image height [px].
    #[arg(long, default_value_t = 480)]
    pub height: u16,
    /// Base seed.
    #[arg(long, default_value_t = 100)]
    pub seed: u64,
    /// CPU power used for the baseline energy estimate [W].
    #[arg(long, default_value_t = DEFAULT_CPU_WATTS)]
    pub cpu_watts: f64,
    /// Events per 1 ms packet in the burst table.
    #[arg(long, default_value_t = 25_000)]
    pub burst_events: usize,
    /// Warm-up packets of the burst recording; 3 times as many are timed after them.
    #[arg(long, default_value_t = 40)]
    pub burst_packets: usize,
    /// Only the burst table (skips the simulated throws).
    #[arg(long)]
    pub burst_only: bool,
}

/// One row of the burst table: a processing path on 1 ms packets of a dense burst.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BurstRow {
    /// What runs (stages joined by `+`).
    pub path: String,
    /// Mean events per packet.
    pub events_per_packet: f64,
    /// Wall time per packet: mean, median, p99, max [µs].
    pub wall_us: [f64; 4],
    /// Thread CPU time per packet, mean [µs] (excludes preemption; wall time if unavailable).
    pub cpu_us: f64,
    /// Throughput from the mean thread CPU time [M events/s].
    pub mev_per_s: f64,
    /// Whether the mean thread CPU time per 1 ms packet is below 1 ms.
    pub real_time: bool,
    /// What else the path reported (e.g. the baseline thread's counts).
    pub note: String,
}

/// A dense burst on a 1280×720 sensor: `n_packets` packets of 1 ms with `per_packet` events
/// each — 80 % uniform over the sensor (scene-wide motion), 20 % on a ball of 12 px radius
/// crossing the image — in time order, starting at t = 20 s of sensor time.
fn burst(per_packet: usize, n_packets: usize, seed: u64) -> Vec<Vec<spikectl::tracking::Event>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (w, h) = (1280u16, 720u16);
    (0..n_packets)
        .map(|k| {
            let t0 = 20_000_000_000 + k as u64 * 1_000_000;
            let (cx, cy) = (200.0 + 20.0 * k as f64, 360.0);
            let mut ev: Vec<_> = (0..per_packet)
                .map(|i| {
                    let t_ns = t0 + rng.gen_range(0..1_000_000u64) / 1000 * 1000;
                    let (x, y) = if i % 5 == 0 {
                        let a = rng.gen_range(0.0..std::f64::consts::TAU);
                        let r = 12.0 + rng.gen_range(-1.0..1.0);
                        ((cx + r * a.cos()) as u16, (cy + r * a.sin()) as u16)
                    } else {
                        (rng.gen_range(0..w), rng.gen_range(0..h))
                    };
                    spikectl::tracking::Event::new(t_ns, x.min(w - 1), y.min(h - 1), rng.gen_bool(0.5))
                })
                .collect();
            ev.sort_by_key(|e| e.t_ns);
            ev
        })
        .collect()
}

/// Runs `f` on packets `0..warm` untimed, then times it on each of `warm..total`: wall
/// times per packet [µs] and the mean thread CPU time per packet [µs].
fn time_packets(warm: usize, total: usize, mut f: impl FnMut(usize)) -> (Vec<f64>, f64) {
    for k in 0..warm {
        f(k);
    }
    let mut wall = Vec::with_capacity(total - warm);
    let c0 = thread_cpu_ns();
    let t_all = Instant::now();
    for k in warm..total {
        let t0 = Instant::now();
        f(k);
        wall.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let total_wall = t_all.elapsed().as_secs_f64();
    let cpu_s = thread_cpu_ns().zip(c0).map_or(total_wall, |(b, a)| (b - a) as f64 * 1e-9);
    (wall, cpu_s * 1e6 / (total - warm).max(1) as f64)
}

/// The burst table (see [`BurstRow`]).
pub fn burst_rows(per_packet: usize, n_packets: usize, seed: u64) -> anyhow::Result<Vec<BurstRow>> {
    use spikectl::tracking::Tracker;
    use spikectl::tracking::eval::Windower;
    use spikectl::tracking::evt3::Evt3Encoder;
    use spikectl::tracking::packet::EventPacket;
    use spikectl::tracking::stream::{StreamConfig, StreamTracker};
    let (w, h) = (1280u16, 720u16);
    // One stream in time order: a warm-up part (the first `warm` packets), then the timed part.
    let warm = n_packets.max(2);
    let packets = burst(per_packet, 4 * warm, seed);
    let n = packets.len();
    let mut enc = Evt3Encoder::new();
    let msgs: Vec<EventPacket> = packets
        .iter()
        .enumerate()
        .map(|(k, ev)| EventPacket::evt3(ev, u32::from(w), u32::from(h), k as u64, "camera", &mut enc))
        .collect::<Result<_, _>>()?;
    let events_total: usize = packets.iter().map(Vec::len).sum();
    let mean_events = events_total as f64 / n as f64;
    let mut rows = Vec::new();
    let mut row = |path: &str, (mut wall, cpu_us): (Vec<f64>, f64)| {
        wall.sort_by(f64::total_cmp);
        rows.push(BurstRow {
            path: path.into(),
            events_per_packet: mean_events,
            wall_us: [mean(&wall), percentile(&wall, 50.0), percentile(&wall, 99.0), *wall.last().unwrap_or(&0.0)],
            cpu_us,
            mev_per_s: mean_events / cpu_us.max(1e-9),
            real_time: cpu_us < 1000.0,
            note: String::new(),
        });
    };
    // Decoding alone (state carried from packet to packet, like a driver's stream).
    let mut out = Vec::with_capacity(per_packet + 16);
    let mut aux = Vec::new();
    let mut dec = Evt3Decoder::new(w, h);
    row(
        "evt3 decode",
        time_packets(warm, n, |k| {
            out.clear();
            let _ = dec.decode_bytes(&msgs[k].events, &mut out, &mut aux);
        }),
    );
    // The ROS node's own path (`StreamTracker`, what `spikectl-tracker` runs per packet):
    // decode + windows + the tracker network, each window copied to the cluster baseline's
    // thread (priced there, off this thread's time; dropped and counted when it falls behind).
    let mut notes = Vec::new();
    for (name, fixed_point) in [
        ("node path: decode + window + net (float) + baseline hand-over", false),
        ("node path: decode + window + net (Loihi 2 fixed) + baseline hand-over", true),
    ] {
        let mut st = StreamTracker::new(StreamConfig { fixed_point, ..StreamConfig::default() });
        let mut windows = Vec::new();
        let mut prices = Vec::new();
        row(
            name,
            time_packets(warm, n, |k| {
                windows.clear();
                let _ = st.ingest(&msgs[k], &mut windows);
                st.poll_baseline(&mut prices);
            }),
        );
        st.wait_baseline(&mut prices, std::time::Duration::from_secs(30));
        let b = st.baseline_stats();
        let mean_us = b.cpu_ns as f64 * 1e-3 / b.priced.max(1) as f64;
        notes.push(format!(
            "baseline thread: {} windows offered, {} priced (mean {mean_us:.0} µs host wall time each), {} warm-up, {} dropped",
            b.offered, b.priced, b.warmup, b.dropped
        ));
    }
    // The node's former path, for comparison: the cluster baseline run and timed on the
    // node's thread on every window.
    let mut dec = Evt3Decoder::new(w, h);
    let mut win = Windower::new(1_000_000);
    let mut net = NetTracker::new(NetConfig::new(w, h));
    let mut cl = ClusterTracker::new(ClusterConfig::new(w, h));
    row(
        "decode + window + net (float) + cluster on the same thread",
        time_packets(warm, n, |k| {
            out.clear();
            let _ = dec.decode_bytes(&msgs[k].events, &mut out, &mut aux);
            aux.clear();
            win.push(&out, |t_end, ev| {
                let _ = net.process(ev, t_end);
                let _ = cl.process(ev, t_end);
            });
        }),
    );
    // The trackers alone on decoded packets.
    for (name, cfg) in [
        ("net tracker (float)", NetConfig::new(w, h)),
        ("net tracker (Loihi 2 fixed)", NetConfig::new(w, h).loihi2()),
        ("net tracker (float) + refine", NetConfig::new(w, h).with_refine(true)),
    ] {
        let mut net = NetTracker::new(cfg);
        row(
            name,
            time_packets(warm, n, |k| {
                let _ = net.process(&packets[k], packets[k][0].t_ns / 1_000_000 * 1_000_000 + 1_000_000);
            }),
        );
    }
    let mut cl = ClusterTracker::new(ClusterConfig::new(w, h));
    row(
        "cluster tracker",
        time_packets(warm, n, |k| {
            let _ = cl.process(&packets[k], packets[k][0].t_ns / 1_000_000 * 1_000_000 + 1_000_000);
        }),
    );
    // Decode + windows without a tracker: the cost of the file path's windowing.
    let mut dec = Evt3Decoder::new(w, h);
    let mut win = Windower::new(1_000_000);
    let mut n_windowed = 0usize;
    row(
        "decode + window",
        time_packets(warm, n, |k| {
            out.clear();
            let _ = dec.decode_bytes(&msgs[k].events, &mut out, &mut aux);
            aux.clear();
            win.push(&out, |_, ev| n_windowed += ev.len());
        }),
    );
    std::hint::black_box(n_windowed);
    // Decode + windows + network tracker (the file path of `spikectl track --tracker net`).
    let mut dec = Evt3Decoder::new(w, h);
    let mut win = Windower::new(1_000_000);
    let mut net = NetTracker::new(NetConfig::new(w, h));
    row(
        "decode + window + net (float)",
        time_packets(warm, n, |k| {
            out.clear();
            let _ = dec.decode_bytes(&msgs[k].events, &mut out, &mut aux);
            aux.clear();
            win.push(&out, |t_end, ev| {
                let _ = net.process(ev, t_end);
            });
        }),
    );
    // Decode + windows + cluster tracker (the file path of `spikectl track --tracker cluster`).
    let mut dec = Evt3Decoder::new(w, h);
    let mut win = Windower::new(1_000_000);
    let mut cl = ClusterTracker::new(ClusterConfig::new(w, h));
    row(
        "decode + window + cluster",
        time_packets(warm, n, |k| {
            out.clear();
            let _ = dec.decode_bytes(&msgs[k].events, &mut out, &mut aux);
            aux.clear();
            win.push(&out, |t_end, ev| {
                let _ = cl.process(ev, t_end);
            });
        }),
    );
    for (r, note) in rows.iter_mut().filter(|r| r.path.starts_with("node path")).zip(notes) {
        r.note = note;
    }
    Ok(rows)
}

fn print_burst(rows: &[BurstRow]) {
    println!(
        "burst: 1 ms packets of {:.0} events (1280x720, {:.0} M events/s), per packet:",
        rows.first().map_or(0.0, |r| r.events_per_packet),
        rows.first().map_or(0.0, |r| r.events_per_packet * 1e-3)
    );
    println!(
        "{:<56} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "path", "cpu_us", "wall_mean", "wall_p50", "wall_p99", "wall_max", "Mev/s", "realtime"
    );
    for r in rows {
        println!(
            "{:<56} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9}",
            r.path,
            r.cpu_us,
            r.wall_us[0],
            r.wall_us[1],
            r.wall_us[2],
            r.wall_us[3],
            r.mev_per_s,
            if r.real_time { "yes" } else { "NO" }
        );
    }
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        println!("{}: {}", r.path, r.note);
    }
    println!("cpu_us = thread CPU time per packet (mean, one core); realtime = cpu_us < 1000");
}

/// One row of the result table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// Sensor preset.
    pub preset: String,
    /// Tracker name.
    pub tracker: String,
    /// Error statistics over all throws.
    pub error: ErrorStats,
    /// Mean error per speed bin [2,6), [6,10), [10,15] m/s.
    pub mean_by_speed: [f64; 3],
    /// Wall time per packet: mean, median, p99, max [µs] (includes preemption).
    pub cpu_us: [f64; 4],
    /// Thread CPU time per packet, mean over all packets [µs] (excludes preemption).
    pub thread_cpu_us: f64,
    /// Estimated energy per inference (1 ms packet) [J].
    pub energy_per_inference_j: f64,
    /// What the energy estimate is based on.
    pub energy_basis: String,
    /// Estimated on-chip time per inference [s] (spiking tracker; CPU time otherwise).
    pub time_per_inference_s: f64,
    /// Mean neuromorphic op counts per packet (spiking tracker).
    pub ops_per_packet: Option<[f64; 4]>,
}

/// Decode throughput measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DecodeBench {
    /// Events in the stream.
    pub events: usize,
    /// Bytes in the stream.
    pub bytes: usize,
    /// Repetitions timed.
    pub reps: usize,
    /// Million events per second (one core).
    pub mev_per_s: f64,
    /// Megabytes per second.
    pub mb_per_s: f64,
}

struct Acc {
    errs: Vec<f64>,
    in_view: usize,
    by_speed: [Vec<f64>; 3],
    cpu: Vec<f64>,
    ops: Vec<OpCounts>,
    thread_cpu_ns: u64,
    packets: usize,
}

impl Acc {
    fn new() -> Self {
        Self {
            errs: vec![],
            in_view: 0,
            by_speed: [vec![], vec![], vec![]],
            cpu: vec![],
            ops: vec![],
            thread_cpu_ns: 0,
            packets: 0,
        }
    }
    fn add(&mut self, res: &[PacketResult], speed: f64, cpu_ns: Option<u64>) {
        self.thread_cpu_ns += cpu_ns.unwrap_or_else(|| res.iter().map(|r| r.cpu_ns).sum());
        self.packets += res.len();
        let (e, n) = errors(res);
        let bin = if speed < 6.0 {
            0
        } else if speed < 10.0 {
            1
        } else {
            2
        };
        self.by_speed[bin].extend_from_slice(&e);
        self.errs.extend(e);
        self.in_view += n;
        self.cpu.extend(res.iter().map(|r| r.cpu_ns as f64 * 1e-3));
        self.ops.extend(res.iter().filter_map(|r| r.ops));
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    use spikectl::tracking::Tracker;
    let burst_packets = if args.quick { args.burst_packets.min(10) } else { args.burst_packets };
    if args.burst_only {
        let rows = burst_rows(args.burst_events, burst_packets, args.seed)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "burst": rows }))?);
        } else {
            print_burst(&rows);
        }
        return Ok(());
    }
    let n = if args.quick { 4 } else { args.throws.max(1) };
    let (w, h) = (args.width, args.height);
    let hw = HardwareProfile::loihi();
    // The trackers compared, each with its core map for the energy estimate (spiking ones).
    type Make = Box<dyn Fn() -> Box<dyn Tracker>>;
    let net_cfg = NetConfig::new(w, h);
    let trackers: Vec<(&str, Make)> = vec![
        ("net-float", Box::new(move || Box::new(NetTracker::new(net_cfg)))),
        ("net-fixed", Box::new(move || Box::new(NetTracker::new(net_cfg.loihi2())))),
        ("net-float+refine", Box::new(move || Box::new(NetTracker::new(net_cfg.with_refine(true))))),
        ("net-fixed+refine", Box::new(move || Box::new(NetTracker::new(net_cfg.loihi2().with_refine(true))))),
        ("cluster", Box::new(move || Box::new(ClusterTracker::new(ClusterConfig::new(w, h))))),
    ];
    let mut maps = Vec::new();
    for (name, _) in &trackers {
        // The cluster tracker has no network: its map is unused (energy from CPU time).
        let fan_in = if name.starts_with("net-fixed") {
            NetTracker::new(net_cfg.loihi2()).fan_in()
        } else {
            NetTracker::new(net_cfg).fan_in()
        };
        let map = CoreMap::balanced(&fan_in, &hw, 1)?;
        let hops = mean_hops(map.cores());
        maps.push((map, hops));
    }
    let mut rows = Vec::new();
    let mut decode_stream: Vec<spikectl::tracking::Event> = Vec::new();
    let mut sim_time = 0.0;
    for preset in ["clean", "noisy"] {
        let dvs = DvsParams::preset(preset).expect("known preset");
        let mut accs: Vec<Acc> = trackers.iter().map(|_| Acc::new()).collect();
        for i in 0..n {
            let speed = if n == 1 { 8.0 } else { 2.0 + 13.0 * i as f64 / (n - 1) as f64 };
            let t0 = Instant::now();
            let th = SimThrow::new(w, h, dvs, speed, args.seed + i as u64);
            sim_time += t0.elapsed().as_secs_f64();
            for ((_, make), acc) in trackers.iter().zip(accs.iter_mut()) {
                let mut t = make();
                let c0 = thread_cpu_ns();
                let r = run_tracker(t.as_mut(), &th.events, 1_000_000, |t| th.truth_in_view(t));
                let c1 = thread_cpu_ns();
                acc.add(&r, speed, c0.zip(c1).map(|(a, b)| b - a));
            }
            if preset == "noisy" && decode_stream.len() < 2_000_000 {
                let off = decode_stream.last().map_or(0, |e| e.t_ns + 1_000_000);
                decode_stream.extend(th.events.iter().map(|e| spikectl::tracking::Event { t_ns: e.t_ns + off, ..*e }));
            }
        }
        for ((acc, (name, _)), (map, hops)) in accs.into_iter().zip(&trackers).zip(&maps) {
            let mut cpu = acc.cpu.clone();
            cpu.sort_by(f64::total_cmp);
            let cpu_us = [mean(&cpu), percentile(&cpu, 50.0), percentile(&cpu, 99.0), *cpu.last().unwrap_or(&0.0)];
            let thread_cpu_us = acc.thread_cpu_ns as f64 * 1e-3 / acc.packets.max(1) as f64;
            let (energy, basis, time, ops) = if acc.ops.is_empty() {
                let c = CpuCost::new(thread_cpu_us * 1e-6, args.cpu_watts, None);
                (c.energy_j, format!("CPU time x {} W (assumed)", args.cpu_watts), c.time_s, None)
            } else {
                let est: Vec<_> = acc.ops.iter().map(|o| estimate(o, map, &hw, *hops)).collect();
                let e = mean(&est.iter().map(|e| e.energy_j).collect::<Vec<_>>());
                let t = mean(&est.iter().map(|e| e.time_s).collect::<Vec<_>>());
                let m = |f: fn(&OpCounts) -> u64| mean(&acc.ops.iter().map(|o| f(o) as f64).collect::<Vec<_>>());
                let ops = [m(|o| o.synops), m(|o| o.neuron_updates), m(|o| o.idle_neuron_updates), m(|o| o.messages)];
                (e, format!("op counts x {} ({} cores)", hw.name, map.cores()), t, Some(ops))
            };
            rows.push(Row {
                preset: preset.into(),
                tracker: (*name).into(),
                error: error_stats(acc.errs.clone(), acc.in_view),
                mean_by_speed: [mean(&acc.by_speed[0]), mean(&acc.by_speed[1]), mean(&acc.by_speed[2])],
                cpu_us,
                thread_cpu_us,
                energy_per_inference_j: energy,
                energy_basis: basis,
                time_per_inference_s: time,
                ops_per_packet: ops,
            });
        }
    }
    // EVT 3.0 decode throughput on the noisy recordings.
    let bytes = encode_all(&decode_stream)?;
    let target = if args.quick { 0.2 } else { 1.0 };
    let mut reps = 0;
    let mut out = Vec::with_capacity(decode_stream.len() + 16);
    let mut aux = Vec::new();
    let t0 = Instant::now();
    let c0 = thread_cpu_ns();
    while t0.elapsed().as_secs_f64() < target || reps < 3 {
        out.clear();
        let mut d = Evt3Decoder::new(w, h);
        d.decode_bytes(&bytes, &mut out, &mut aux)?;
        anyhow::ensure!(out.len() == decode_stream.len(), "decode mismatch");
        reps += 1;
    }
    let wall = t0.elapsed().as_secs_f64();
    let dt = thread_cpu_ns().zip(c0).map_or(wall, |(b, a)| (b - a) as f64 * 1e-9).max(1e-9);
    let dec = DecodeBench {
        events: decode_stream.len(),
        bytes: bytes.len(),
        reps,
        mev_per_s: (decode_stream.len() * reps) as f64 / dt * 1e-6,
        mb_per_s: (bytes.len() * reps) as f64 / dt * 1e-6,
    };
    let burst = burst_rows(args.burst_events, burst_packets, args.seed)?;
    if args.json {
        let j = serde_json::json!({
            "throws_per_preset": n, "width": w, "height": h, "packet_ms": 1.0,
            "energy_profile": hw.source, "rows": rows, "decode": dec, "simulation_s": sim_time,
            "burst": burst,
        });
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    println!(
        "tracking benchmark: {n} throws per preset (2–15 m/s), {w}x{h} side view, 1 ms packets; error vs ground truth at packet end"
    );
    println!(
        "{:<6} {:<16} {:>7} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>12}",
        "preset",
        "tracker",
        "packets",
        "cov%",
        "mean",
        "median",
        "p95",
        "2-6m/s",
        "6-10",
        "10-15",
        "cpu_us",
        "wall_p50",
        "wall_p99",
        "energy/inf"
    );
    for r in &rows {
        println!(
            "{:<6} {:<16} {:>7} {:>6.1} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>8.1} {:>8.1} {:>8.1} {:>10.3} µJ",
            r.preset,
            r.tracker,
            r.error.packets,
            100.0 * r.error.coverage,
            r.error.mean,
            r.error.median,
            r.error.p95,
            r.mean_by_speed[0],
            r.mean_by_speed[1],
            r.mean_by_speed[2],
            r.thread_cpu_us,
            r.cpu_us[1],
            r.cpu_us[2],
            r.energy_per_inference_j * 1e6
        );
    }
    for p in ["clean", "noisy"] {
        let c = rows.iter().find(|r| r.preset == p && r.tracker == "cluster");
        for s in rows.iter().filter(|r| r.preset == p && r.ops_per_packet.is_some()) {
            if let Some(c) = c {
                println!(
                    "{p}: {:<16} error/cluster = {:.2}, cpu time/cluster = {:.2}, energy cluster(CPU)/{}(chip) = {:.0}x",
                    s.tracker,
                    s.error.mean / c.error.mean,
                    s.thread_cpu_us / c.thread_cpu_us,
                    s.tracker,
                    c.energy_per_inference_j / s.energy_per_inference_j
                );
            }
        }
    }
    for r in rows.iter().filter(|r| r.preset == "noisy") {
        let Some(o) = r.ops_per_packet else { continue };
        println!(
            "{} ops per packet ({}): {:.0} synops, {:.0} active + {:.0} idle neuron updates, {:.0} messages; est. chip time {:.1} µs",
            r.tracker,
            r.preset,
            o[0],
            o[1],
            o[2],
            o[3],
            r.time_per_inference_s * 1e6
        );
    }
    println!(
        "cpu_us = thread CPU time per 1 ms packet (mean); wall_p50/p99 = wall time per packet (includes preemption)"
    );
    println!(
        "net-* = the tracker network on neuro::Network (float or Loihi 2 fixed point); network-only = position read out by the network, +refine = host mean-shift refinement after it"
    );
    println!("energy: spiking trackers = {}; cluster = CPU time x {} W (assumed)", hw.source, args.cpu_watts);
    println!(
        "EVT 3.0 decode: {:.1} M events/s ({:.0} MB/s), {} events x {} reps, one core (thread CPU time)",
        dec.mev_per_s, dec.mb_per_s, dec.events, dec.reps
    );
    println!("(simulation of the throws took {sim_time:.1} s)");
    print_burst(&burst);
    Ok(())
}
