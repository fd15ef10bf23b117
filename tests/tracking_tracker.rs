//! Trackers on simulated throws: accuracy on a fixed-seed noisy throw, robustness to pure
//! noise, ROI mode and operation counts.
use spikectl::neuro::energy::{CoreMap, HardwareProfile, estimate, mean_hops};
use spikectl::tracking::cluster::{ClusterConfig, ClusterTracker};
use spikectl::tracking::eval::{SimThrow, error_stats, errors, run_tracker};
use spikectl::tracking::snn::{DnfConfig, DnfTracker};
use spikectl::tracking::{Event, Tracker};
use spikectl_sim::events::DvsParams;

#[test]
fn snn_and_baseline_track_a_noisy_throw() {
    let th = SimThrow::new(640, 480, DvsParams::noisy(), 10.0, 42);
    let mut snn = DnfTracker::new(DnfConfig::new(640, 480));
    let r = run_tracker(&mut snn, &th.events, 1_000_000, |t| th.truth_in_view(t));
    let (e, n) = errors(&r);
    let s = error_stats(e, n);
    assert!(n > 100, "ball in view for {n} packets");
    assert!(s.coverage > 0.95, "snn coverage {}", s.coverage);
    assert!(s.mean < 1.5, "snn mean error {} px", s.mean);
    assert!(s.p95 < 3.0, "snn p95 error {} px", s.p95);
    // Velocity readout: the ball moves left to right across the image.
    let vx: Vec<f64> = r.iter().filter_map(|p| p.est).map(|e| e.vx).collect();
    let mid = vx[vx.len() / 2];
    assert!(mid > 500.0, "vx {mid} px/s");

    let mut cl = ClusterTracker::new(ClusterConfig::new(640, 480));
    let r = run_tracker(&mut cl, &th.events, 1_000_000, |t| th.truth_in_view(t));
    let (e, n) = errors(&r);
    let s = error_stats(e, n);
    assert!(s.coverage > 0.95 && s.mean < 1.5, "cluster {s:?}");
}

#[test]
fn snn_stays_quiet_on_pure_noise() {
    // 100 ms of v2e "noisy" background activity (5.1 Hz/pixel) without a ball.
    let th = SimThrow::new(640, 480, DvsParams::noisy(), 10.0, 7);
    let noise: Vec<Event> = {
        // Keep only events far from the ball's path (the lower image half is below it).
        th.events.iter().filter(|e| e.y > 400 && e.t_ns < 100_000_000).copied().collect()
    };
    assert!(noise.len() > 10_000);
    let mut snn = DnfTracker::new(DnfConfig::new(640, 480));
    let r = run_tracker(&mut snn, &noise, 1_000_000, |_| None);
    let false_pos = r.iter().filter(|p| p.est.is_some()).count();
    assert!(false_pos * 20 < r.len(), "{false_pos} of {} packets report a ball in pure noise", r.len());
}

#[test]
fn roi_mode_clocks_only_the_crop_and_ops_give_energy() {
    let th = SimThrow::new(640, 480, DvsParams::clean(), 6.0, 3);
    let cfg = DnfConfig::new(640, 480);
    let mut snn = DnfTracker::new(cfg);
    let full = 2 * (640 / 4) * (480 / 4) as u64 + 1;
    let r = run_tracker(&mut snn, &th.events, 1_000_000, |t| th.truth_in_view(t));
    let first = r[0].ops.unwrap();
    assert_eq!(first.neuron_updates + first.idle_neuron_updates, u64::from(cfg.substeps) * full);
    let locked = r[50].ops.unwrap();
    let roi_cells = (64 / 4 + 1) * (64 / 4 + 1) as u64;
    let clocked = locked.neuron_updates + locked.idle_neuron_updates;
    assert!(clocked <= u64::from(cfg.substeps) * (2 * roi_cells + 1), "clocked {clocked}");
    assert!(locked.synops > 0 && locked.messages > 0 && locked.timesteps == u64::from(cfg.substeps));
    let hw = HardwareProfile::loihi();
    let map = CoreMap::balanced(&snn.fan_in(), &hw, 1).unwrap();
    let e = estimate(&locked, &map, &hw, mean_hops(map.cores()));
    assert!(e.energy_j > 0.0 && e.energy_j < 1e-4 && e.time_s > 0.0, "{e:?}");
    // Reset forgets the lock.
    snn.reset();
    assert!(!snn.locked());
}

#[test]
fn trackers_handle_empty_and_odd_packets() {
    let mut snn = DnfTracker::new(DnfConfig::new(64, 64));
    let mut cl = ClusterTracker::new(ClusterConfig::new(64, 64));
    for t in [tracker_step(&mut snn), tracker_step(&mut cl)] {
        assert!(t.is_none());
    }
    // Events outside the sensor, at time 0 and at the same pixel must not panic.
    let ev = vec![Event::new(0, 63, 63, true), Event::new(0, 500, 500, false), Event::new(5, 63, 63, true)];
    let _ = snn.process(&ev, 1_000_000);
    let _ = cl.process(&ev, 1_000_000);
}

fn tracker_step(t: &mut dyn Tracker) -> Option<spikectl::tracking::Estimate> {
    t.process(&[], 1_000_000)
}
