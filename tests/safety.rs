//! The safety layer (`spikectl::control::safety`) in the closed loop with MuJoCo: e-stop
//! mid-trot, stale sensors, a fall, joint limits on the arm. Each test drives the same
//! `SafetyGuard::step` the scenario runner and the ROS nodes' real-time step call.

use spikectl::control::Controller;
use spikectl::control::arm::{ArmCommand, ArmController, ArmControllerConfig};
use spikectl::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use spikectl::control::safety::{Fault, SafetyConfig, SafetyGuard, SafetyMode};
use spikectl::qp::OsqpSolver;
use spikectl_sim::arm::ArmSim;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::{Push, QuadrupedSim, tilt_angle};
use spikectl_sim::robots::{ARM_SCENE, GO1, PANDA};

const TROT: QuadrupedCommand =
    QuadrupedCommand { vx: 0.4, vy: 0.0, yaw_rate: 0.0, body_height: 0.0, gait: GaitKind::Trot };

fn quadruped() -> QuadrupedController {
    QuadrupedController::new(Box::new(OsqpSolver::new()), QuadrupedControllerConfig::default()).expect("controller")
}

/// Runs the quadruped for `duration` [s] with `guard`; `before_tick(t, guard)` can act on
/// the guard before each control tick, `observe(sim, last)` picks the state the controller
/// sees. Returns per control tick: (time, mode, torques, state seen).
type Tick = (f64, SafetyMode, [f64; 12], spikectl_sim::state::QuadrupedState);

fn run_quadruped(
    sim: &mut QuadrupedSim,
    ctrl: &mut QuadrupedController,
    guard: &mut SafetyGuard<12>,
    duration: f64,
    mut before_tick: impl FnMut(f64, &mut SafetyGuard<12>),
    mut observe: impl FnMut(&mut QuadrupedSim) -> spikectl_sim::state::QuadrupedState,
) -> Vec<Tick> {
    let dt = sim.timestep();
    let every = ((ctrl.control_period() / dt).round() as usize).max(1);
    let steps = (duration / dt).round() as usize;
    let mut out = Vec::new();
    for k in 0..steps {
        if k % every == 0 {
            let t = sim.time();
            before_tick(t, guard);
            let s = observe(sim);
            let tau = guard.step(ctrl, &s, &TROT, t - s.t);
            sim.set_torques(&tau);
            out.push((t, guard.mode(), tau, s));
        }
        sim.step();
    }
    out
}

#[test]
fn estop_mid_trot_lies_the_robot_down_without_torque_spikes() {
    let mut sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 3).expect("scene");
    let mut ctrl = quadruped();
    let mut guard = SafetyGuard::for_controller(SafetyConfig::default(), &ctrl).expect("guard");
    let t_stop = 2.0;
    let ticks = run_quadruped(
        &mut sim,
        &mut ctrl,
        &mut guard,
        4.0,
        |t, g| {
            if t >= t_stop {
                g.engage_estop();
            }
        },
        |s| s.true_state(),
    );
    // Trotting until the e-stop (no fall, no stop).
    let before: Vec<_> = ticks.iter().filter(|k| k.0 < t_stop).collect();
    assert!(before.iter().all(|k| k.1 == SafetyMode::Control));
    let trot_peak = before.iter().flat_map(|k| k.2.iter()).fold(0.0f64, |m, t| m.max(t.abs()));
    let stop: Vec<_> = ticks.iter().filter(|k| k.0 >= t_stop).collect();
    assert!(stop.iter().all(|k| k.1 == SafetyMode::EStop), "latched until reset");
    // Damping only: τ = −d·q̇ within half the torque limit, joint by joint.
    let d = ctrl.stop_damping();
    let mut peak = 0.0f64;
    let mut max_jump = 0.0f64;
    for (i, k) in stop.iter().enumerate() {
        for j in 0..12 {
            let lim = 0.5 * GO1.torque_limits[j % 3];
            let want = (-d * k.3.qd[j]).clamp(-lim, lim);
            assert!((k.2[j] - want).abs() < 1e-9, "joint {j} at {}: {} vs {want}", k.0, k.2[j]);
            peak = peak.max(k.2[j].abs());
            if i > 0 {
                max_jump = max_jump.max((k.2[j] - stop[i - 1].2[j]).abs());
            }
        }
    }
    let end = sim.true_state();
    let speed = end.base_linvel.iter().map(|v| v * v).sum::<f64>().sqrt();
    let tilt = tilt_angle(&end.base_quat);
    eprintln!(
        "e-stop: trot peak |τ| {trot_peak:.2} N·m; stop peak |τ| {peak:.2} N·m, largest tick-to-tick change \
         {max_jump:.2} N·m; trunk at {:.3} m, {speed:.3} m/s, tilt {tilt:.3} rad after {:.1} s",
        end.base_pos[2],
        4.0 - t_stop
    );
    // No torque spikes: the stop's torques stay far below the trot's and change smoothly.
    assert!(peak < 0.5 * trot_peak && peak < 10.0, "stop peak {peak} N·m (trot {trot_peak})");
    assert!(max_jump < 2.0, "tick-to-tick change {max_jump} N·m");
    // Lies down: below the standing height, at rest, upright.
    assert!(end.base_pos[2] < GO1.stand_height - 0.08, "trunk at {} m", end.base_pos[2]);
    assert!(speed < 0.05, "still moving at {speed} m/s");
    assert!(tilt < 0.35, "tilt {tilt} rad");
    // A reset hands back to the controller.
    guard.reset();
    let s = sim.true_state();
    guard.step(&mut ctrl, &s, &TROT, 0.0);
    assert_eq!(guard.mode(), SafetyMode::Control);
    assert_eq!((guard.counters().estops, guard.counters().resets), (1, 1));
}

#[test]
fn stale_sensors_switch_to_damping_within_one_tick() {
    let mut sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 4).expect("scene");
    let mut ctrl = quadruped();
    let cfg = SafetyConfig { stale_timeout: 0.01, stale_fade: 0.1, ..Default::default() };
    let mut guard = SafetyGuard::for_controller(cfg, &ctrl).expect("guard");
    let t_freeze = 1.5;
    let mut frozen = None;
    let ticks = run_quadruped(
        &mut sim,
        &mut ctrl,
        &mut guard,
        1.8,
        |_, _| {},
        |s| {
            if s.time() < t_freeze { s.true_state() } else { *frozen.get_or_insert_with(|| s.true_state()) }
        },
    );
    let last = ticks.iter().rev().find(|k| k.0 < t_freeze + 1e-9).unwrap().3;
    let d = ctrl.stop_damping();
    let mut first_stale = None;
    for k in ticks.iter().filter(|k| k.0 >= t_freeze) {
        let age = k.0 - k.3.t;
        if age <= cfg.stale_timeout {
            assert_eq!(k.1, SafetyMode::Control, "at {}", k.0);
            continue;
        }
        // The first tick past the timeout, and every one after: the damping stop on the
        // last state, faded, never a PD.
        first_stale.get_or_insert(k.0);
        assert_eq!(k.1, SafetyMode::Stale, "at {} (age {age})", k.0);
        let fade = (1.0 - (age - cfg.stale_timeout) / cfg.stale_fade).clamp(0.0, 1.0);
        for j in 0..12 {
            let lim = 0.5 * GO1.torque_limits[j % 3];
            let want = (-fade * d * last.qd[j]).clamp(-lim, lim);
            assert!((k.2[j] - want).abs() < 1e-9, "joint {j} at {}: {} vs {want}", k.0, k.2[j]);
        }
    }
    let first = first_stale.expect("went stale");
    let period = ctrl.control_period();
    assert!(first - t_freeze <= cfg.stale_timeout + period + 1e-9, "stale from {first} s (frozen at {t_freeze} s)");
    assert!(ticks.last().unwrap().2.iter().all(|t| *t == 0.0), "after the fade: no torque");
    assert!(guard.counters().stale_ticks > 0);
}

#[test]
fn a_fall_latches_a_fault_and_stops_the_controller() {
    let mut sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 5).expect("scene");
    // A lateral shove far beyond what the trot recovers from.
    sim.add_push(Push { start: 1.0, duration: 0.3, force: [0.0, 300.0, 0.0] });
    let mut ctrl = quadruped();
    let mut guard = SafetyGuard::for_controller(SafetyConfig::default(), &ctrl).expect("guard");
    let ticks = run_quadruped(&mut sim, &mut ctrl, &mut guard, 3.0, |_, _| {}, |s| s.true_state());
    let first = ticks.iter().position(|k| k.1 != SafetyMode::Control).expect("a fault latched");
    assert!(matches!(ticks[first].1, SafetyMode::Fault(Fault::Fall | Fault::ContactLoss)), "{:?}", ticks[first].1);
    let tilt = tilt_angle(&ticks[first].3.base_quat);
    eprintln!("fall detected at {:.3} s, tilt {tilt:.3} rad", ticks[first].0);
    assert!(ticks[first..].iter().all(|k| matches!(k.1, SafetyMode::Fault(_))), "latched");
    assert_eq!(guard.counters().faults, 1);
    assert!(ticks[first].0 > 1.0, "not before the push");
}

#[test]
fn arm_joint_position_and_speed_limits_are_enforced_and_counted() {
    let mut sim = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 6).expect("arm scene");
    sim.inverse_kinematics([0.5, 0.0, ARM_SCENE.table_top_z + 0.08]);
    let mut ctrl = ArmController::new(Box::new(OsqpSolver::new()), ArmControllerConfig::default()).expect("arm");
    // The target asks joint 1 (base yaw) to turn ≈ 0.3 rad; its limits are tightened to
    // 0.1 rad and 0.1 rad/s.
    let mut limits = ctrl.joint_limits();
    let q1_start = sim.true_state().q[0];
    limits.position[0] = (-0.1, 0.1);
    limits.velocity[0] = 0.1;
    limits.torque[4] = 5.0;
    assert!(q1_start.abs() < 0.05, "joint 1 starts at {q1_start}");
    let mut guard = SafetyGuard::new(SafetyConfig::default(), limits).expect("guard");
    let cmd = ArmCommand { normal_force: 5.0, tangent_velocity: [0.0; 2], target_xy: Some([0.45, 0.16]) };
    let (mut q1_max, mut v1_max, mut tau_ok) = (f64::NEG_INFINITY, 0.0f64, true);
    let steps = (3.0 / sim.timestep()) as usize;
    for _ in 0..steps {
        let s = sim.true_state();
        let tau = guard.step(&mut ctrl, &s, &cmd, 0.0);
        tau_ok &= tau.iter().zip(&limits.torque).all(|(t, l)| t.abs() <= *l);
        sim.set_torques(&tau);
        sim.step();
        let s = sim.true_state();
        q1_max = q1_max.max(s.q[0]);
        v1_max = v1_max.max(s.qd[0].abs());
    }
    let c = guard.counters().limits;
    eprintln!("joint 1: max q {q1_max:.4} rad (limit 0.1), max |q̇| {v1_max:.3} rad/s (limit 0.1); {c:?}");
    assert!(tau_ok, "a torque beyond its limit went out");
    // Position violations are counted; the speed now stays below its limit (the brake acts
    // from 80 % of it), so no speed violation need be counted (unit tests count them).
    assert!(c.position > 0, "{c:?}");
    assert!(q1_max < 0.1 + 0.02, "joint 1 reached {q1_max} rad");
    // The speed rule damps joint 1 from 80 % of its limit and brakes any excess with a gain
    // of its inertia / 10 ms: the other joints' swing can carry it only a little past.
    assert!(v1_max < 0.1 * 1.10, "joint 1 reached {v1_max} rad/s (limit 0.1)");
}
