//! Writes every robotics family instance (3 horizons × `SEEDS` seeds) as qpsolvers `.npz`
//! files into the directory given as the first argument (default `/tmp/families`), for
//! inspection with numpy. Run: `cargo run --release --example dump_families -- DIR`.

use spikectl::lab::families::RoboticsFamily;
use spikectl::qp::npz::save_problem;

const SEEDS: u64 = 4;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/tmp/families".into());
    std::fs::create_dir_all(&dir)?;
    for f in RoboticsFamily::ALL {
        for &nn in f.horizons() {
            for seed in 0..SEEDS {
                let pb = f.generate(nn, seed);
                let path = format!("{dir}/{}_N{nn}_s{seed}.npz", f.name());
                save_problem(std::path::Path::new(&path), &pb, false)?;
                println!("{path}: n = {}, m = {}", pb.n(), pb.m());
            }
        }
    }
    Ok(())
}
