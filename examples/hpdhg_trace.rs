//! Residual trace of the HPDHG backend on one robotics family instance (verbose checks):
//! `cargo run --release --example hpdhg_trace -- FAMILY HORIZON SEED MAX_ITER [OPTIONS]`,
//! FAMILY as printed by `qp_methods` (e.g. `quadruped-sparse`), OPTIONS a JSON object of
//! `HpdhgOptions` fields (e.g. `'{"whiten":true}'`) on top of the defaults.

use spikectl::lab::families::RoboticsFamily;
use spikectl::qp::hpdhg::{HpdhgOptions, HpdhgSolver};
use spikectl::qp::{QpSolver, Settings};

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let fam = a.get(1).map(String::as_str).unwrap_or("quadruped-sparse");
    let f =
        RoboticsFamily::ALL.into_iter().find(|f| f.name() == fam).ok_or_else(|| anyhow::anyhow!("unknown family"))?;
    let nn: usize = a.get(2).and_then(|v| v.parse().ok()).unwrap_or(f.horizons()[0]);
    let seed: u64 = a.get(3).and_then(|v| v.parse().ok()).unwrap_or(0);
    let max_iter: usize = a.get(4).and_then(|v| v.parse().ok()).unwrap_or(4000);
    let pb = f.generate(nn, seed);
    let st =
        Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter, warm_start: false, verbose: true, ..Settings::default() };
    let opts: HpdhgOptions = match a.get(5) {
        Some(j) => serde_json::from_str(j)?,
        None => HpdhgOptions::default(),
    };
    let mut s = HpdhgSolver::with_options(opts);
    s.setup(&pb, &st)?;
    let sol = s.solve()?;
    println!("{fam} N={nn} seed {seed}: {:?} after {} iterations, {:?}", sol.status, sol.iterations, sol.residuals);
    Ok(())
}
