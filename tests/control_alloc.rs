//! The control loops do not allocate after start-up: ticks without an MPC solve make no heap
//! allocation at all (counted by a global allocator wrapper). Ticks with a solve allocate
//! only inside the QP backend's `solve` (its `Solution`) and for the solve record.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use spikectl::control::arm::{ArmCommand, ArmController, ArmControllerConfig};
use spikectl::control::quadruped::{GaitKind, QuadrupedCommand, QuadrupedController, QuadrupedControllerConfig};
use spikectl::qp::OsqpSolver;
use spikectl_sim::arm::ArmSim;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::quadruped::QuadrupedSim;
use spikectl_sim::robots::{ARM_SCENE, GO1, PANDA};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One test only, so no other test thread allocates while counting.
#[test]
fn control_ticks_without_a_solve_do_not_allocate() {
    // Quadruped in MuJoCo, standing then trotting.
    let mut sim = QuadrupedSim::new(&GO1, SensorNoise::NONE, 5).expect("scene");
    let mut ctl =
        QuadrupedController::new(Box::new(OsqpSolver::new()), QuadrupedControllerConfig::default()).expect("ctl");
    let (mut quiet_allocs, mut quiet_ticks, mut solve_ticks) = (0u64, 0u64, 0u64);
    for s in 0..1000 {
        let t = s as f64 * sim.timestep();
        let cmd = QuadrupedCommand {
            vx: 0.2,
            gait: if t > 0.3 { GaitKind::Trot } else { GaitKind::Stand },
            body_height: GO1.stand_height,
            ..Default::default()
        };
        let st = sim.true_state();
        let solves = ctl.counters().solves;
        let a0 = ALLOCS.load(Ordering::Relaxed);
        let tau = ctl.update(&st, &cmd);
        let da = ALLOCS.load(Ordering::Relaxed) - a0;
        if ctl.counters().solves == solves {
            quiet_allocs += da;
            quiet_ticks += 1;
        } else {
            solve_ticks += 1;
        }
        if s % 100 == 99 {
            drop(ctl.take_solve_records());
        }
        sim.set_torques(&tau);
        sim.step();
    }
    assert!(quiet_ticks > 800 && solve_ticks > 30, "{quiet_ticks} {solve_ticks}");
    assert_eq!(quiet_allocs, 0, "quadruped: allocations on ticks without a solve");

    // Arm in MuJoCo: approach and contact.
    let mut sim = ArmSim::new(&PANDA, &ARM_SCENE, SensorNoise::NONE, 6).expect("scene");
    let mut ctl = ArmController::new(Box::new(OsqpSolver::new()), ArmControllerConfig::default()).expect("ctl");
    let cmd = ArmCommand { normal_force: 8.0, tangent_velocity: [0.02, 0.0], target_xy: None };
    let (mut quiet_allocs, mut quiet_ticks) = (0u64, 0u64);
    for _ in 0..5000 {
        let st = sim.true_state();
        let solves = ctl.counters().solves;
        let a0 = ALLOCS.load(Ordering::Relaxed);
        let tau = ctl.update(&st, &cmd);
        let da = ALLOCS.load(Ordering::Relaxed) - a0;
        if ctl.counters().solves == solves {
            quiet_allocs += da;
            quiet_ticks += 1;
        }
        sim.set_torques(&tau);
        sim.step();
    }
    assert!(ctl.counters().solves > 0, "arm reached contact and ran the MPC");
    assert!(quiet_ticks > 4000);
    assert_eq!(quiet_allocs, 0, "arm: allocations on ticks without a solve");
}
