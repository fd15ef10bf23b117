//! The tracker network and the cluster baseline on simulated throws: accuracy on a fixed-seed
//! noisy throw, silence on pure noise, coasting and loss, operation counts that price.
use spikectl::neuro::energy::{CoreMap, HardwareProfile, estimate, mean_hops};
use spikectl::tracking::cluster::{ClusterConfig, ClusterTracker};
use spikectl::tracking::eval::{SimThrow, error_stats, errors, run_tracker};
use spikectl::tracking::net::{NetConfig, NetTracker};
use spikectl::tracking::{Event, Tracker};
use spikectl_sim::events::DvsParams;

#[test]
fn network_and_baseline_track_a_noisy_throw() {
    let th = SimThrow::new(640, 480, DvsParams::noisy(), 10.0, 42);
    let base = NetConfig::new(640, 480);
    for cfg in [base, base.loihi2()] {
        let mut net = NetTracker::new(cfg);
        let r = run_tracker(&mut net, &th.events, 1_000_000, |t| th.truth_in_view(t));
        let (e, n) = errors(&r);
        let s = error_stats(e, n);
        eprintln!("{}: {s:?}", net.name());
        assert!(n > 100, "ball in view for {n} packets");
        assert!(s.coverage > 0.95, "{} coverage {}", net.name(), s.coverage);
        assert!(s.mean < 1.5, "{} network-only mean error {} px", net.name(), s.mean);
        assert!(s.p95 < 3.0, "{} p95 error {} px", net.name(), s.p95);
        // Velocity: the ball moves left to right across the image.
        let vx: Vec<f64> = r.iter().filter_map(|p| p.est).map(|e| e.vx).collect();
        let mid = vx[vx.len() / 2];
        assert!(mid > 500.0, "vx {mid} px/s");
    }

    let mut cl = ClusterTracker::new(ClusterConfig::new(640, 480));
    let r = run_tracker(&mut cl, &th.events, 1_000_000, |t| th.truth_in_view(t));
    let (e, n) = errors(&r);
    let s = error_stats(e, n);
    assert!(s.coverage > 0.95 && s.mean < 1.5, "cluster {s:?}");
}

#[test]
fn network_stays_quiet_on_pure_noise() {
    // 100 ms of v2e "noisy" background activity (5.1 Hz/pixel) without a ball.
    let th = SimThrow::new(640, 480, DvsParams::noisy(), 10.0, 7);
    // Keep only events far from the ball's path (the lower image part is below it).
    let noise: Vec<Event> = th.events.iter().filter(|e| e.y > 400 && e.t_ns < 100_000_000).copied().collect();
    assert!(noise.len() > 10_000);
    let mut net = NetTracker::new(NetConfig::new(640, 480));
    let r = run_tracker(&mut net, &noise, 1_000_000, |_| None);
    let false_pos = r.iter().filter(|p| p.est.is_some()).count();
    assert!(false_pos * 20 < r.len(), "{false_pos} of {} packets report a ball in pure noise", r.len());
}

#[test]
fn ops_of_every_window_give_energy_and_reset_forgets_the_lock() {
    let th = SimThrow::new(640, 480, DvsParams::clean(), 6.0, 3);
    let cfg = NetConfig::new(640, 480);
    let mut net = NetTracker::new(cfg);
    let r = run_tracker(&mut net, &th.events, 1_000_000, |t| th.truth_in_view(t));
    let hw = HardwareProfile::loihi();
    let map = CoreMap::balanced(&net.fan_in(), &hw, 1).unwrap();
    let tracked = r.iter().position(|p| p.est.is_some()).expect("the ball is found");
    for p in [&r[0], &r[tracked], &r[tracked + 20]] {
        let ops = p.ops.unwrap();
        assert_eq!(ops.timesteps, u64::from(cfg.substeps));
        // Every neuron of the fixed-size network is clocked each timestep (actively or idle).
        assert!(ops.neuron_updates + ops.idle_neuron_updates >= u64::from(cfg.substeps - 1) * net.neurons() as u64 / 2);
        let e = estimate(&ops, &map, &hw, mean_hops(map.cores()));
        assert!(e.energy_j > 0.0 && e.energy_j < 1e-4 && e.time_s > 0.0, "{e:?}");
    }
    let locked = r[tracked + 20].ops.unwrap();
    assert!(locked.synops > 0 && locked.messages > 0, "{locked:?}");
    assert!(net.locked());
    net.reset();
    assert!(!net.locked());
}

#[test]
fn trackers_handle_empty_and_odd_packets() {
    let mut net = NetTracker::new(NetConfig::new(64, 64));
    let mut cl = ClusterTracker::new(ClusterConfig::new(64, 64));
    for t in [tracker_step(&mut net), tracker_step(&mut cl)] {
        assert!(t.is_none());
    }
    // Events outside the sensor, at time 0 and at the same pixel must not panic.
    let ev = vec![Event::new(0, 63, 63, true), Event::new(0, 500, 500, false), Event::new(5, 63, 63, true)];
    let _ = net.process(&ev, 1_000_000);
    let _ = cl.process(&ev, 1_000_000);
}

fn tracker_step(t: &mut dyn Tracker) -> Option<spikectl::tracking::Estimate> {
    t.process(&[], 1_000_000)
}
