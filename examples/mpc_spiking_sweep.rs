//! Diagnostic: spiking-solver variants on the quadruped MPC sequence of `spikectl bench mpc`.
//!
//! `cargo run --release --example mpc_spiking_sweep -- [STEPS]` prints, per variant,
//! iterations p50/p99, solve time p50/p99, the largest first-step force error against
//! Clarabel at 1e-8, the solves not accepted by the MPC and the mean update time [µs].
//! `VARIANTS=ω:check_every:gap(0|1):warm_duals(0|1)[:ρ[:adaptive ω (0 off, 1 bounded, 2 pipg)]],…`
//! picks the spiking variants,
//! `MAXIT=n` caps the iterations, `REFRESH=k` continues k Ruiz passes from the previous
//! scaling on a matrix update (`PipgOptions::warm_ruiz_passes`; `REFRESH=cold` scales afresh), `DUMP=path` writes each variant's iteration counts to
//! `path.<variant>`.
use std::time::Instant;

use spikectl::lab::mpc_sim::quadruped_closed_loop;
use spikectl::monitor::latency::percentile;
use spikectl::mpc::quadruped::{QuadrupedMpc, QuadrupedMpcConfig};
use spikectl::qp::pipg::PipgOptions;
use spikectl::qp::spiking::{OmegaRule, SpikingSettings, SpikingSolver, StepRule};
use spikectl::qp::{ClarabelSolver, OsqpSolver, QpSolver, Settings};

/// Builds a fresh solver.
type MakeSolver = Box<dyn Fn() -> Box<dyn QpSolver>>;

fn cfg(s: Settings) -> QuadrupedMpcConfig {
    QuadrupedMpcConfig { settings: s, ..QuadrupedMpcConfig::go1() }
}

fn main() {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let tight = Settings { eps_abs: 1e-8, eps_rel: 1e-8, max_iter: 100_000, ..Settings::default() };
    let mut gen_mpc = QuadrupedMpc::new(cfg(tight.clone()), Box::new(ClarabelSolver::new())).unwrap();
    let (samples, _) = quadruped_closed_loop(&mut gen_mpc, steps, 0.4).unwrap();
    let mut refm = QuadrupedMpc::new(cfg(tight), Box::new(ClarabelSolver::new())).unwrap();
    let off = refm.u_offset(0);
    let refs: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| {
            refm.update(&s.state, &s.reference, &s.plan).unwrap();
            refm.solve().unwrap().x[off..off + 12].to_vec()
        })
        .collect();
    let mg = refm.config().weight();
    let max_iter = std::env::var("MAXIT").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    let base = Settings { eps_abs: 1e-3, eps_rel: 1e-3, max_iter, ..Settings::default() };
    let mut variants: Vec<(String, MakeSolver, bool)> =
        vec![("osqp".into(), Box::new(|| Box::new(OsqpSolver::new()) as Box<dyn QpSolver>), false)];
    let spec = std::env::var("VARIANTS")
        .unwrap_or_else(|_| "1:25:1:0,1:25:1:1,10:25:1:1,30:25:1:1,10:25:0:1,30:25:0:1,10:5:0:1,30:5:0:1".into());
    let warm_ruiz_passes: Option<usize> = match std::env::var("REFRESH") {
        Ok(v) => v.parse().ok(),
        Err(_) => spikectl::mpc::tuning::quadruped_spiking().pipg.warm_ruiz_passes,
    };
    for v in spec.split(',') {
        let f: Vec<f64> = v.split(':').map(|x| x.parse().unwrap()).collect();
        let (omega, every, gap, duals) = (f[0], f[1] as usize, f[2] != 0.0, f[3] != 0.0);
        let rho = f.get(4).copied().unwrap_or(SpikingSettings::default().rho);
        let adapt = f.get(5).copied().unwrap_or(0.0) as u8;
        variants.push((
            format!("spk w{omega} ce{every} gap{} wd{} rho{rho} ad{adapt}", gap as u8, duals as u8),
            Box::new(move || {
                let ss = SpikingSettings {
                    steps: StepRule::Constant { omega },
                    check_every: every,
                    check_gap: gap,
                    rho,
                    adaptive_omega: adapt > 0,
                    omega_rule: if adapt == 2 { OmegaRule::Pipg } else { OmegaRule::Bounded },
                    pipg: PipgOptions { warm_ruiz_passes, ..SpikingSettings::default().pipg },
                    ..spikectl::mpc::tuning::quadruped_spiking()
                };
                Box::new(SpikingSolver::new(ss)) as Box<dyn QpSolver>
            }),
            duals,
        ));
    }
    println!(
        "{:<36} {:>7} {:>7} {:>9} {:>9} {:>9} {:>6} {:>9}",
        "variant", "it50", "it99", "us50", "us99", "maxdu N", "fail", "upd mean"
    );
    for (name, mk, duals) in &variants {
        let mut m = QuadrupedMpc::new(cfg(base.clone()), mk()).unwrap();
        m.set_warm_start_duals(*duals || name == "osqp");
        m.set_warm_start_rollout(std::env::var("ROLL").map(|v| v != "0").unwrap_or(true));
        let (mut it, mut us, mut err, mut fail, mut upd) = (vec![], vec![], 0.0f64, 0, vec![]);
        for (s, r) in samples.iter().zip(&refs) {
            let tu = Instant::now();
            m.update(&s.state, &s.reference, &s.plan).unwrap();
            upd.push(tu.elapsed().as_secs_f64() * 1e6);
            let t0 = Instant::now();
            let sol = m.solve().unwrap();
            let dt = t0.elapsed().as_secs_f64() * 1e6;
            if std::env::var("SHOW").is_ok() && sol.iterations > 150 {
                eprintln!("{name}: step {} iterations {}", it.len(), sol.iterations);
            }
            it.push(sol.iterations as f64);
            us.push(dt);
            let e = sol.x[off..off + 12].iter().zip(r).map(|(a, b)| (a - b).abs() * mg).fold(0.0, f64::max);
            if m.accept(2e-2).is_ok() {
                err = err.max(e);
            } else {
                fail += 1;
            }
        }
        if let Ok(path) = std::env::var("DUMP") {
            let text: Vec<String> = it.iter().map(|v| v.to_string()).collect();
            std::fs::write(format!("{path}.{}", name.replace(' ', "_")), text.join("\n")).expect("DUMP file");
        }
        it.sort_by(f64::total_cmp);
        us.sort_by(f64::total_cmp);
        println!(
            "{:<36} {:>7.0} {:>7.0} {:>9.1} {:>9.1} {:>9.3} {:>6} {:>9.1}",
            name,
            percentile(&it, 50.0),
            percentile(&it, 99.0),
            percentile(&us, 50.0),
            percentile(&us, 99.0),
            err,
            fail,
            upd.iter().sum::<f64>() / upd.len().max(1) as f64
        );
    }
}
