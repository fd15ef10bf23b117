//! Using the solvers from another crate: one small QP with inequality rows, solved by the
//! spiking solver (float and Loihi 2 fixed point) and by OSQP, with the spiking solver's
//! operation counts turned into an estimate of its time and energy on neuromorphic hardware.
//!
//! `cargo run --release --example solve_qp`
//!
//! The QP: minimise ½‖x − c‖² over x ∈ ℝ³ subject to x₁ + x₂ + x₃ = 1 and 0 ≤ x ≤ 0.6
//! (the projection of c onto a capped simplex). In OSQP form: P = I, q = −c, and the rows
//! of A are [1 1 1] (l = u = 1) and the identity (l = 0, u = 0.6).
use spikectl::monitor::energy::NeuroCost;
use spikectl::qp::spiking::{SpikingSettings, SpikingSolver};
use spikectl::qp::{CscMatrix, OsqpSolver, Problem, QpSolver, Settings};

fn main() -> anyhow::Result<()> {
    let c = [0.9, 0.5, -0.2];
    let p = CscMatrix::from_dense(3, 3, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    #[rustfmt::skip]
    let a = CscMatrix::from_dense(4, 3, &[
        1.0, 1.0, 1.0,
        1.0, 0.0, 0.0,
        0.0, 1.0, 0.0,
        0.0, 0.0, 1.0,
    ]);
    let pb = Problem::new(p, c.iter().map(|v| -v).collect(), a, vec![1.0, 0.0, 0.0, 0.0], vec![1.0, 0.6, 0.6, 0.6])?;
    let settings = Settings { eps_abs: 1e-6, eps_rel: 1e-6, max_iter: 20_000, ..Settings::default() };
    let solvers: Vec<(&str, Box<dyn QpSolver>)> = vec![
        ("osqp", Box::new(OsqpSolver::new())),
        ("spiking (float)", Box::new(SpikingSolver::new(SpikingSettings::default()))),
        ("spiking (Loihi 2 fixed point, 3 weight planes)", Box::new(SpikingSolver::new(SpikingSettings::loihi2(3)))),
    ];
    let cost = NeuroCost::loihi2_default();
    for (name, mut s) in solvers {
        s.setup(&pb, &settings)?;
        let sol = s.solve()?;
        println!(
            "{name}: {:?} after {} iterations, x = [{:.4}, {:.4}, {:.4}], primal residual {:.1e}, CPU {:?}",
            sol.status, sol.iterations, sol.x[0], sol.x[1], sol.x[2], sol.residuals.prim, sol.solve_time
        );
        if let Some(ops) = &sol.ops {
            let e = cost.estimate(ops);
            println!(
                "    {} timesteps, {} synaptic ops → estimated {:.1} µs and {:.2} µJ on chip ({})",
                ops.timesteps,
                ops.synops,
                e.time_s * 1e6,
                e.energy_j * 1e6,
                cost.hw.name
            );
        }
    }
    Ok(())
}
