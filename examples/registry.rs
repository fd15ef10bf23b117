//! Every QP backend by name through the solver registry: the README's quick start.
//!
//! `cargo run --release --example registry`

use spikectl::qp::registry;
use spikectl::qp::spiking::SpikingSettings;
use spikectl::qp::{CscMatrix, Problem, Settings};

fn main() -> anyhow::Result<()> {
    // minimise ½‖x − c‖², c = (0.9, 0.5), subject to x₁ + x₂ = 1 and 0 ≤ x ≤ 0.8
    let p = CscMatrix::from_dense(2, 2, &[1.0, 0.0, 0.0, 1.0]); // upper triangle of P
    let a = CscMatrix::from_dense(3, 2, &[1.0, 1.0, 1.0, 0.0, 0.0, 1.0]); // row-major
    let pb = Problem::new(p, vec![-0.9, -0.5], a, vec![1.0, 0.0, 0.0], vec![1.0, 0.8, 0.8])?;
    for spec in ["osqp", "spiking", "loihi2:planes=3"] {
        let mut solver = registry::build(spec, &SpikingSettings::default())?;
        solver.setup(&pb, &Settings::default())?;
        let sol = solver.solve()?;
        println!("{spec}: {:?} in {} iterations, x = {:?}", sol.status, sol.iterations, sol.x);
    }
    Ok(())
}
