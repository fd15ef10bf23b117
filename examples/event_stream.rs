//! Tracking a live event-camera stream from another crate, without ROS: simulated throws are
//! cut into 1 ms EVT 3.0 `EventPacket`s as a camera driver sends them, one packet is truncated
//! on the way, and a `StreamTracker` (what the `spikectl-tracker` node runs) turns them into
//! one estimate of the tracker network per window, with the network's operation counts and
//! their estimated energy on Loihi.
//!
//! `cargo run --release --example event_stream [-- SPEED_MPS]` (default 8 m/s, noisy sensor)
use spikectl::tracking::eval::SimThrow;
use spikectl::tracking::evt3::Evt3Encoder;
use spikectl::tracking::packet::{EventPacket, Time};
use spikectl::tracking::stream::{StreamConfig, StreamTracker};
use spikectl_sim::events::DvsParams;

fn main() -> anyhow::Result<()> {
    let speed: f64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(8.0);
    let (w, h) = (640u16, 480u16);
    let th = SimThrow::new(w, h, DvsParams::noisy(), speed, 1);
    println!("throw at {speed} m/s: {} events over {:.3} s", th.events.len(), th.rec.trajectory().duration());

    let mut enc = Evt3Encoder::new();
    let mut tracker = StreamTracker::new(StreamConfig::default());
    let mut windows = Vec::new();
    let (mut start, mut seq) = (0, 0u64);
    let t_last = th.events.last().map_or(0, |e| e.t_ns);
    let mut t_end = 1_000_000;
    while t_end <= t_last + 1_000_000 {
        let n = th.events[start..].partition_point(|e| e.t_ns < t_end);
        let chunk = &th.events[start..start + n];
        start += n;
        t_end += 1_000_000;
        if chunk.is_empty() {
            continue;
        }
        let mut pkt = EventPacket::evt3(chunk, u32::from(w), u32::from(h), seq, "event_camera", &mut enc)?;
        // Stamp as a driver would: the ROS time of the first event (here: 100 s + sensor time).
        pkt.header.stamp = Time::from_ns(100_000_000_000 + chunk[0].t_ns);
        if seq == 200 {
            pkt.events.pop(); // a packet cut short on the way: reported, its whole words still used
        }
        if let Err(e) = tracker.ingest(&pkt, &mut windows) {
            println!("packet {seq}: {e}");
        }
        seq += 1;
    }
    tracker.flush_idle(tracker.lost_after_windows(), &mut windows);

    println!(
        "{:>8} {:>7} {:>8} {:>8} {:>6} {:>7} {:>9}",
        "t_ms", "events", "x_px", "y_px", "err_px", "conf", "energy_nJ"
    );
    let mut errors = Vec::new();
    for r in &windows {
        let truth = th.truth_in_view(r.t_end_ns);
        let err = r.estimate.zip(truth).map(|(e, (u, v))| (e.x - u).hypot(e.y - v));
        errors.extend(err);
        if (r.t_end_ns / 1_000_000).is_multiple_of(25) {
            let (x, y) = r.estimate.map_or((f64::NAN, f64::NAN), |e| (e.x, e.y));
            let err = err.map_or("-".into(), |e| format!("{e:.2}"));
            println!(
                "{:>8.0} {:>7} {:>8.2} {:>8.2} {:>6} {:>7.2} {:>9.1}",
                r.t_end_ns as f64 * 1e-6,
                r.events,
                x,
                y,
                err,
                r.confidence,
                r.chip.energy_j * 1e9
            );
        }
    }
    errors.sort_by(f64::total_cmp);
    let s = tracker.stats();
    println!(
        "{} windows, {} with the ball in view and tracked; error mean {:.2} px, median {:.2} px, max {:.2} px",
        s.windows,
        errors.len(),
        errors.iter().sum::<f64>() / errors.len().max(1) as f64,
        errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN),
        errors.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "network: {} neurons on {} Loihi cores; {} synaptic ops in all; estimated {:.2} µJ per window on chip, \
         host {:.1} µs per window",
        tracker.neurons(),
        tracker.cores(),
        s.ops.synops,
        s.chip_energy_j / s.windows.max(1) as f64 * 1e6,
        s.cpu_ns as f64 / s.windows.max(1) as f64 * 1e-3
    );
    Ok(())
}
