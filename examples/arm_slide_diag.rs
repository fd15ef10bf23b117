//! Diagnostic: the arm scenarios at the physics rate (1 kHz), used to find the slide chatter
//! (CHANGELOG "Fixed") and to tune the arm MPC on the spiking solver.
//!
//! `cargo run --release --example arm_slide_diag -- [T0 T1]` runs the slide scenario with the
//! MPC controller on OSQP and writes every physics step between T0 and T1 [s] (default
//! 1.9–2.6) to `out/arm-slide-diag.csv`: table contact force (normal, tangential), tip
//! position and velocity, command point, tool tilt, the contact estimator's model. It prints
//! the solve statistics, the normal-force RMS after 2 s, contact losses, the tip's x range and
//! velocity RMS, the tip's penetration while holding (1.8–2.0 s) and sliding (3.0–4.5 s), and
//! the friction estimate. Environment knobs:
//! - `NOISE=1` typical arm sensor noise (default none); `SCENARIO=force-ramp|force-sine`;
//! - `SOLVER=spec` any registry solver on the arm's preset (`mpc::tuning::arm_solver`;
//!   default OSQP), e.g. `spiking`, `loihi2`, `spiking:method=pipg`; `OMEGA=x` adds the
//!   `omega=x` option (network solvers: ω₀ of HPDHG, or PIPG's constant ω);
//! - `FF=0` no friction feed-forward, `MU0` its prior; `KXY`, `DXY` tangential impedance
//!   [N/m, N·s/m]; `WVZ`, `WACC` MPC weights; `EPS` QP tolerances (absolute and relative);
//! - `FIRSTQP=1` solves the first contact QP cold on OSQP, PIPG and spiking and prints the
//!   iterations and OSQP's active inequality rows.
use std::io::Write;

use spikectl::control::arm::{ArmCommand, ArmController, ArmControllerConfig};
use spikectl::mpc::tuning::arm_solver;
use spikectl::qp::registry::{Backend, SolverSpec};
use spikectl::scenario::{ARM_CONTACT_XY, ContactLosses, Scenario, ScenarioKind};
use spikectl_sim::arm::ArmSim;
use spikectl_sim::noise::SensorNoise;
use spikectl_sim::robots::{ARM_SCENE, PANDA};

fn main() {
    let args: Vec<f64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (t0, t1) = (args.first().copied().unwrap_or(1.9), args.get(1).copied().unwrap_or(2.6));
    let noise = if std::env::var("NOISE").is_ok() { SensorNoise::ARM_TYPICAL } else { SensorNoise::NONE };
    let solver: SolverSpec = std::env::var("SOLVER")
        .map(|v| v.parse().unwrap_or_else(|e| panic!("SOLVER={v}: {e}")))
        .unwrap_or_else(|_| SolverSpec::new(Backend::Osqp));
    let mut sim = ArmSim::new(&PANDA, &ARM_SCENE, noise, 1).expect("sim");
    sim.inverse_kinematics([ARM_CONTACT_XY[0], ARM_CONTACT_XY[1], ARM_SCENE.table_top_z + 0.03]);
    let envf = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<f64>().ok());
    let mut cfg = ArmControllerConfig {
        friction_compensation: std::env::var("FF").map_or(true, |v| v != "0"),
        ..Default::default()
    };
    if let Some(d) = envf("DXY") {
        cfg.d_trans[0] = d;
        cfg.d_trans[1] = d;
    }
    if let Some(k) = envf("KXY") {
        cfg.k_trans[0] = k;
        cfg.k_trans[1] = k;
    }
    if let Some(w) = envf("WVZ") {
        cfg.mpc.w_vz = w;
    }
    if let Some(w) = envf("WACC") {
        cfg.mpc.w_acc = w;
    }
    if let Some(e) = envf("EPS") {
        cfg.mpc.settings.eps_abs = e;
        cfg.mpc.settings.eps_rel = e;
    }
    if let Some(mu) = envf("MU0") {
        cfg.friction_prior = mu;
    }
    let mut spec = solver;
    if let Some(omega) = envf("OMEGA") {
        spec.omega = Some(omega);
    }
    let qp = arm_solver(&spec);
    let mut ctrl = ArmController::new(qp, cfg).expect("controller");
    let kind = match std::env::var("SCENARIO").as_deref() {
        Ok("force-ramp") => ScenarioKind::ForceRamp,
        Ok("force-sine") => ScenarioKind::ForceSine,
        _ => ScenarioKind::Slide,
    };
    let sc = Scenario::new(kind);
    std::fs::create_dir_all("out").expect("out/");
    let mut w = std::io::BufWriter::new(std::fs::File::create("out/arm-slide-diag.csv").expect("csv"));
    writeln!(w, "t,fn,ft_x,ft_y,f_sensor,tip_x,tip_z,vx,vz,c_x,c_z,vc_x,vc_z,tilt_x,tilt_y,k,d,b,phase").unwrap();
    let (mut ef, mut losses) = (Vec::new(), ContactLosses::new(5));
    let (mut xmin, mut xmax) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut ev, mut nv) = (0.0, 0.0);
    // Static penetration of the tip into the table and the force, averaged over 1.8–2.0 s
    // (holding 10 N before the slide), and the same while sliding out (3.0–4.5 s).
    let (mut pen_hold, mut f_hold, mut n_hold) = (0.0, 0.0, 0.0);
    let (mut pen_slide, mut f_slide, mut n_slide) = (0.0, 0.0, 0.0);
    let steps = (sc.duration / sim.timestep()).round() as usize;
    let mut first_qp: Option<spikectl::qp::Problem> = None;
    for _ in 0..steps {
        let t = sim.time();
        let s = sim.observe();
        let task = sc.arm_command(t);
        let cmd = ArmCommand {
            normal_force: task.normal_force,
            tangent_velocity: task.tangent_velocity,
            target_xy: task.target_xy,
        };
        let tau = ctrl.update(&s, &cmd);
        if first_qp.is_none() && ctrl.planner().mpc().is_some_and(|m| m.last_solution().is_some()) {
            first_qp = ctrl.planner().mpc().map(|m| m.problem().clone());
        }
        sim.set_torques(&tau);
        sim.step();
        let fc = sim.table_contact_force();
        let contact = fc[2] > spikectl_sim::arm::TIP_CONTACT_THRESHOLD;
        losses.step(contact);
        let t = sim.time();
        let p = sim.tip_pos();
        if (1.8..2.0).contains(&t) {
            pen_hold += ARM_SCENE.table_top_z - p[2];
            f_hold += fc[2];
            n_hold += 1.0;
        }
        if (3.0..4.5).contains(&t) {
            pen_slide += ARM_SCENE.table_top_z - p[2];
            f_slide += fc[2];
            n_slide += 1.0;
        }
        if t >= 2.0 {
            let task = sc.arm_command(t);
            let v = sim.tip_vel();
            ev += (v[0] - task.tangent_velocity[0]).powi(2) + (v[1] - task.tangent_velocity[1]).powi(2);
            nv += 1.0;
            ef.push(fc[2] - task.normal_force);
            xmin = xmin.min(p[0]);
            xmax = xmax.max(p[0]);
        }
        if t >= t0 && t <= t1 {
            let v = sim.tip_vel();
            let (c, vc) = ctrl.planner().command_point();
            let fl = sim.flange_pos();
            let m = ctrl.planner().estimator().model();
            let (fs, _) = sim.sensor_wrench();
            let phase = ctrl.planner().phase() as u8;
            writeln!(
                w,
                "{t:.4},{:.4},{:.4},{:.4},{:.4},{:.6},{:.7},{:.5},{:.5},{:.6},{:.6},{:.5},{:.5},{:.5},{:.5},{:.1},{:.2},{:.3},{phase}",
                fc[2],
                fc[0],
                fc[1],
                fs[2],
                p[0],
                p[2],
                v[0],
                v[2],
                c.x,
                c.z,
                vc.x,
                vc.z,
                p[0] - fl[0],
                p[1] - fl[1],
                m.stiffness,
                m.damping,
                m.offset
            )
            .unwrap();
        }
    }
    let rms = (ef.iter().map(|e| e * e).sum::<f64>() / ef.len().max(1) as f64).sqrt();
    if let (Some(pb), true) = (&first_qp, std::env::var("FIRSTQP").is_ok()) {
        // The first contact QP, cold, on every backend: iterations and the active rows.
        for choice in [Backend::Osqp, Backend::Pipg, Backend::Spiking] {
            let name = choice.name();
            let mut sv = arm_solver(&SolverSpec::new(choice));
            sv.setup(pb, &spikectl::qp::Settings::default()).expect("setup");
            let sol = sv.solve().expect("solve");
            println!("first contact QP, {name}: {:?} after {} iterations", sol.status, sol.iterations);
            if name == "osqp" {
                let act: Vec<usize> = (0..pb.m()).filter(|&i| sol.y[i].abs() > 1e-6 && pb.l[i] != pb.u[i]).collect();
                println!("  active inequality rows {act:?}");
                println!(
                    "  first-step acceleration {:?}",
                    &sol.x[ctrl.planner().mpc().map_or(0, |m| m.acc_col(0))..][..3]
                );
            }
        }
    }
    let recs = ctrl.take_solve_records();
    let iters: Vec<usize> = recs.iter().map(|r| r.iterations).collect();
    let mut sorted = iters.clone();
    sorted.sort_unstable();
    println!(
        "solves {}: iterations mean {:.0}, p50 {}, max {}, first five {:?}, not solved {}, fallbacks {}",
        recs.len(),
        iters.iter().sum::<usize>() as f64 / iters.len().max(1) as f64,
        sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        sorted.last().copied().unwrap_or(0),
        &iters[..iters.len().min(5)],
        recs.iter().filter(|r| !r.status.is_solved()).count(),
        recs.iter().filter(|r| r.fallback).count()
    );
    println!(
        "{}: force RMS after 2 s {rms:.3} N, contact losses {}, tip x range {xmin:.4}..{xmax:.4} m, slide vel RMS {:.4} m/s; \
         hold {:.2} N at {:.1} um penetration, sliding {:.2} N at {:.1} um; mu_hat {:.3}",
        spec.label(),
        losses.losses(),
        (ev / nv).sqrt(),
        f_hold / n_hold,
        1e6 * pen_hold / n_hold,
        f_slide / n_slide,
        1e6 * pen_slide / n_slide,
        ctrl.friction_estimate()
    );
}
