//! Side-by-side measurement of QP methods on the robotics MPC families
//! ([`spikectl::lab::families`]) and on the lava ANYmal QP (`../shared/data/qp/lava_anymal`):
//! success rate, median / p90 iterations (over successes), host readouts per solve, median
//! wall time, for PIPG (current default), HPDHG variants (`h:` specs, see `make`), the
//! HPDHG default (`hpdhg`), OSQP, and the network backends by registry spec (e.g.
//! `spiking:method=hpdhg` the float network, `loihi2:method=hpdhg` Loihi 2 fixed point with
//! 3 weight planes, `loihi2:planes=4+method=hpdhg` with `+` between options; their readouts
//! column counts the host checks). Cold starts,
//! eps_abs = 1e-3, eps_rel = 0; success = status Solved and primal, dual residual and
//! duality gap ≤ 1e-3 on the original problem.
//!
//! `cargo run --release --example qp_methods -- [SEEDS] [MAX_ITER] [SOLVER,...]`
//! (defaults 4 seeds per horizon, 4000 iterations, every solver).

use std::time::Duration;

use spikectl::lab::families::RoboticsFamily;
use spikectl::qp::hpdhg::{FistaRestart, HpdhgOptions, HpdhgSolver, Mode, OmegaRule, Precond, RestartMetric};
use spikectl::qp::npz::load_problem;
use spikectl::qp::{OsqpSolver, PipgSolver, Problem, QpSolver, Settings, Solution, Status};

const EPS: f64 = 1e-3;

/// HPDHG options for "hpdhg" (the default) or an `h:` spec
/// `h:MODE:PRECOND:RULE[:RESTARTS[:THETA[:OMEGA0[:RHO[:AVG]]]]]` with MODE halpern|relaxed,
/// PRECOND cost|ruiz, RULE fixed|pw|gpw|bal|abs, RESTARTS on|off, THETA the cost column
/// ratio, OMEGA0 the initial primal weight, RHO the relaxation, AVG avg|noavg; fields left
/// out keep the defaults; then `:kkt` (restart metric) and `:grad` (FISTA gradient restart test).
/// `hp:field=value:…` sets any [`HpdhgOptions`] fields by name on top of the default.
fn hpdhg_options(name: &str) -> Option<HpdhgOptions> {
    let d = HpdhgOptions::default();
    if name == "hpdhg" {
        return Some(d);
    }
    if let Some(kv) = name.strip_prefix("hp:") {
        // `hp:field=value:field=value`: any `HpdhgOptions` fields by their serde names
        // (numbers and booleans as written, anything else as a string).
        let mut obj = serde_json::Map::new();
        for pair in kv.split(':').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=')?;
            let val = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
            obj.insert(k.to_string(), val);
        }
        return match serde_json::from_value(serde_json::Value::Object(obj)) {
            Ok(o) => Some(o),
            Err(e) => panic!("bad options '{name}': {e}"),
        };
    }
    let f: Vec<&str> = name.strip_prefix("h:")?.split(':').collect();
    Some(HpdhgOptions {
        mode: if f.first() == Some(&"halpern") { Mode::Halpern } else { Mode::Relaxed },
        precond: if f.get(1) == Some(&"ruiz") { Precond::KktRuiz } else { Precond::CostAware },
        omega_rule: match f.get(2).copied() {
            Some("fixed") => OmegaRule::Fixed,
            Some("pw") => OmegaRule::PrimalWeight,
            Some("bal") => OmegaRule::Balance,
            Some("abs") => OmegaRule::BalanceAbs,
            _ => OmegaRule::GuardedPrimalWeight,
        },
        restarts: f.get(3) != Some(&"off"),
        cost_column_ratio: f.get(4).and_then(|v| v.parse().ok()).unwrap_or(d.cost_column_ratio),
        omega: f.get(5).and_then(|v| v.parse().ok()).unwrap_or(d.omega),
        relaxation: f.get(6).and_then(|v| v.parse().ok()).unwrap_or(d.relaxation),
        average: f.get(7).map_or(d.average, |v| *v != "noavg"),
        restart_metric: if f.get(8) == Some(&"kkt") { RestartMetric::Kkt } else { d.restart_metric },
        fista_restart: if f.get(9) == Some(&"grad") { FistaRestart::Gradient } else { d.fista_restart },
        diagonal_prox: f.get(10).map_or(d.diagonal_prox, |v| *v == "prox"),
        pw_smoothing: f.get(11).and_then(|v| v.parse().ok()).unwrap_or(d.pw_smoothing),
        restart_sufficient: f.get(12).and_then(|v| v.parse().ok()).unwrap_or(d.restart_sufficient),
        restart_necessary: f.get(13).and_then(|v| v.parse().ok()).unwrap_or(d.restart_necessary),
        restart_artificial: f.get(14).and_then(|v| v.parse().ok()).unwrap_or(d.restart_artificial),
        ..d
    })
}

fn make(name: &str) -> Option<Box<dyn QpSolver>> {
    Some(match name {
        "pipg" => Box::new(PipgSolver::new()),
        "osqp" => Box::new(OsqpSolver::new()),
        // Registry specs; `+` separates options inside one spec (`,` separates solvers).
        _ => return spikectl::qp::registry::by_name(&name.replace('+', ",")),
    })
}

/// Readouts of a PIPG solve: at each check (every 25 iterations) it reads the iterate and
/// its running average. OSQP runs on the host (0).
fn readouts(name: &str, sol: &Solution) -> usize {
    if name == "osqp" { 0 } else { 2 * sol.iterations.div_ceil(25) }
}

struct Run {
    ok: bool,
    iters: usize,
    readouts: usize,
    time: Duration,
}

fn run(name: &str, pb: &Problem, max_iter: usize, label: &str) -> Run {
    let verbose = std::env::var_os("QPM_VERBOSE").is_some();
    let st = Settings { eps_abs: EPS, eps_rel: 0.0, max_iter, warm_start: false, verbose, ..Settings::default() };
    let t0 = std::time::Instant::now();
    let network = name.starts_with("spiking") || name.starts_with("loihi2");
    let (sol, counted) = if let Some(o) = hpdhg_options(name) {
        let mut s = HpdhgSolver::with_options(o);
        let sol = s.setup(pb, &st).and_then(|()| s.solve());
        (sol, Some(s.readouts()))
    } else {
        let mut s = make(name).expect("known solver");
        (s.setup(pb, &st).and_then(|()| s.solve()), None)
    };
    let time = t0.elapsed();
    match sol {
        Ok(sol) => {
            let r = sol.residuals;
            let ok = sol.status == Status::Solved && r.prim <= EPS && r.dual <= EPS && r.gap <= EPS;
            if std::env::var_os("QPM_DETAIL").is_some() {
                eprintln!(
                    "{label} {name}: {:?} {} it, prim {:.1e} dual {:.1e} gap {:.1e}",
                    sol.status, sol.iterations, r.prim, r.dual, r.gap
                );
            }
            let readouts = match (&sol.ops, network) {
                (Some(ops), true) => ops.readout_checks as usize,
                _ => counted.unwrap_or_else(|| readouts(name, &sol)),
            };
            Run { ok, iters: sol.iterations, readouts, time }
        }
        Err(_) => Run { ok: false, iters: max_iter, readouts: 0, time },
    }
}

fn pct(v: &mut [usize], p: f64) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize].to_string()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seeds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4);
    let max_iter: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4000);
    let solvers: Vec<String> = args.get(3).map(|s| s.split(',').map(String::from).collect()).unwrap_or_else(|| {
        ["pipg", "h:relaxed:ruiz:pw", "h:halpern:ruiz:pw", "h:relaxed:cost:pw", "h:halpern:cost:gpw", "hpdhg", "osqp"]
            .map(String::from)
            .to_vec()
    });
    let mut groups: Vec<(String, Vec<Problem>)> = Vec::new();
    // QPM_GROUPS=a,b keeps only those groups (family names, "lava-anymal").
    let only: Option<Vec<String>> = std::env::var("QPM_GROUPS").ok().map(|v| v.split(',').map(String::from).collect());
    let keep = |g: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == g));
    let mut labels: Vec<Vec<String>> = Vec::new();
    for f in RoboticsFamily::ALL {
        if !keep(f.name()) {
            continue;
        }
        let pbs = f.horizons().iter().flat_map(|&nn| (0..seeds).map(move |s| f.generate(nn, s))).collect();
        groups.push((f.name().to_string(), pbs));
        labels.push(
            f.horizons().iter().flat_map(|&nn| (0..seeds).map(move |s| format!("{} N={nn} s={s}", f.name()))).collect(),
        );
    }
    let lava = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/qp/lava_anymal/problem.npz");
    match load_problem(std::path::Path::new(lava)) {
        Ok(pb) if keep("lava-anymal") => {
            groups.push(("lava-anymal".into(), vec![pb]));
            labels.push(vec!["lava-anymal".into()]);
        }
        Ok(_) => {}
        Err(e) => eprintln!("lava ANYmal QP not loaded: {e}"),
    }
    println!("eps_abs {EPS}, eps_rel 0, cold start, max_iter {max_iter}, {seeds} seeds per horizon");
    println!("| group | solver | solved | median it | p90 it | readouts/solve | median time |");
    println!("|---|---|---|---|---|---|---|");
    let mut all: Vec<(String, usize, usize, Vec<usize>)> =
        solvers.iter().map(|s| (s.clone(), 0, 0, Vec::new())).collect();
    for ((g, pbs), labels) in groups.iter().zip(&labels) {
        for (si, name) in solvers.iter().enumerate() {
            let runs: Vec<Run> = pbs.iter().zip(labels).map(|(pb, l)| run(name, pb, max_iter, l)).collect();
            let solved = runs.iter().filter(|r| r.ok).count();
            let mut its: Vec<usize> = runs.iter().filter(|r| r.ok).map(|r| r.iters).collect();
            let ro = runs.iter().map(|r| r.readouts).sum::<usize>() as f64 / runs.len() as f64;
            let mut times: Vec<Duration> = runs.iter().map(|r| r.time).collect();
            times.sort_unstable();
            if g != "lava-anymal" {
                all[si].1 += solved;
                all[si].2 += runs.len();
                all[si].3.extend(its.iter().copied());
            }
            println!(
                "| {g} | {name} | {solved}/{} | {} | {} | {ro:.1} | {:.2?} |",
                runs.len(),
                pct(&mut its.clone(), 0.5),
                pct(&mut its, 0.9),
                times[times.len() / 2]
            );
        }
    }
    for (name, solved, total, mut its) in all {
        println!(
            "| all families | {name} | {solved}/{total} ({:.0}%) | {} | {} | | |",
            100.0 * solved as f64 / total.max(1) as f64,
            pct(&mut its.clone(), 0.5),
            pct(&mut its, 0.9)
        );
    }
    Ok(())
}
