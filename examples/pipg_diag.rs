//! Diagnostic: PIPG vs OSQP iterations and times on one family, three seeds.
//!
//! `cargo run --release --example pipg_diag -- N RHO OMEGA ADAPT(0|1) RESTARTS(0|1) [mpc|random|eq|box]`
//! (EPS=1e-6 in the environment sets eps_abs; eps_rel is 0). Prints the final ω, the norm
//! estimates λ ≥ ‖P̄‖ and σ ≥ ‖H̄‖², and the residuals.
use spikectl::lab::generate::Family;
use spikectl::qp::{OsqpSolver, PipgOptions, PipgSolver, QpSolver, Settings};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let rho: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1.6);
    let omega: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let adapt: bool = args.get(4).map(|s| s == "1").unwrap_or(true);
    let restart: bool = args.get(5).map(|s| s == "1").unwrap_or(true);
    let fam = match args.get(6).map(String::as_str) {
        Some("random") => Family::RandomMixed,
        Some("eq") => Family::Equality,
        Some("box") => Family::Box,
        _ => Family::Mpc,
    };
    for seed in 0..3 {
        let pb = fam.generate(n, seed);
        let eps: f64 = std::env::var("EPS").ok().and_then(|s| s.parse().ok()).unwrap_or(1e-3);
        let st = Settings { eps_abs: eps, eps_rel: 0.0, max_iter: 100_000, ..Settings::default() };
        let mut o = OsqpSolver::new();
        o.setup(&pb, &st).unwrap();
        let so = o.solve().unwrap();
        let opts =
            PipgOptions { relaxation: rho, omega, adaptive_omega: adapt, restarts: restart, ..PipgOptions::default() };
        let mut p = PipgSolver::with_options(opts);
        let t0 = std::time::Instant::now();
        p.setup(&pb, &st).unwrap();
        let sp = p.solve().unwrap();
        let d = p.data().unwrap();
        println!(
            "n={n} seed={seed}: osqp {:?} it={} t={:?} | pipg {:?} it={} t={:?} omega={:.3} lam={:.3} sig={:.3} res={:?}",
            so.status,
            so.iterations,
            so.solve_time,
            sp.status,
            sp.iterations,
            t0.elapsed(),
            p.omega(),
            d.lambda,
            d.sigma,
            sp.residuals
        );
    }
}
