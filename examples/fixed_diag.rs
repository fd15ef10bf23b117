//! Diagnosis of one robotics-family QP (or the lava ANYmal QP) under a registry solver:
//! status, residuals and the rows / variables that carry the largest primal and dual
//! residuals on the original problem, next to a float reference (`spiking:method=hpdhg`).
//!
//! `cargo run --release --example fixed_diag -- FAMILY N SEED [SPEC] [MAX_ITER]`
//! (FAMILY a `lab::families` name or `lava-anymal`; SPEC default `loihi2:method=hpdhg`;
//! `QPM_VERBOSE=1` prints the solver's readouts).

use spikectl::lab::families::RoboticsFamily;
use spikectl::qp::npz::load_problem;
use spikectl::qp::{Problem, Settings, Solution};

fn solve(spec: &str, pb: &Problem, max_iter: usize, verbose: bool) -> Solution {
    let mut s = spikectl::qp::registry::by_name(spec).expect("known solver spec");
    let st = Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter, warm_start: false, verbose, ..Settings::default() };
    s.setup(pb, &st).expect("setup");
    s.solve().expect("solve")
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let fam = a.get(1).map(String::as_str).unwrap_or("quadruped-sparse");
    let nn: usize = a.get(2).and_then(|v| v.parse().ok()).unwrap_or(5);
    let seed: u64 = a.get(3).and_then(|v| v.parse().ok()).unwrap_or(1);
    let spec = a.get(4).cloned().unwrap_or_else(|| "loihi2:method=hpdhg".into());
    let max_iter: usize = a.get(5).and_then(|v| v.parse().ok()).unwrap_or(4000);
    let pb = if fam == "lava-anymal" {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/qp/lava_anymal/problem.npz");
        load_problem(std::path::Path::new(p)).expect("lava QP")
    } else {
        let f = RoboticsFamily::ALL.into_iter().find(|f| f.name() == fam).expect("family name");
        f.generate(nn, seed)
    };
    let verbose = std::env::var_os("QPM_VERBOSE").is_some();
    let sol = solve(&spec.replace('+', ","), &pb, max_iter, verbose);
    let reference = solve("spiking:method=hpdhg", &pb, 20_000, false);
    println!(
        "{fam} N={nn} seed={seed} n={} m={}: {spec}: {:?} {} it {:?}; float {:?} {} it",
        pb.n(),
        pb.m(),
        sol.status,
        sol.iterations,
        sol.residuals,
        reference.status,
        reference.iterations
    );
    if let Some(o) = sol.ops {
        println!("overflows {} readouts {} checks {}", o.overflows, o.readouts, o.readout_checks);
    }
    let mut ax = vec![0.0; pb.m()];
    pb.a.mul_add(&sol.x, &mut ax);
    let mut rows: Vec<(f64, usize)> = (0..pb.m()).map(|i| ((ax[i] - ax[i].clamp(pb.l[i], pb.u[i])).abs(), i)).collect();
    rows.sort_by(|p, q| q.0.total_cmp(&p.0));
    let at = pb.a.transpose();
    for &(v, i) in rows.iter().take(8) {
        let nz: Vec<String> = (at.colptr[i]..at.colptr[i + 1])
            .map(|k| {
                format!(
                    "{}:{:.3e}(x={:.4e},x*={:.4e})",
                    at.rowval[k], at.nzval[k], sol.x[at.rowval[k]], reference.x[at.rowval[k]]
                )
            })
            .collect();
        println!(
            "prim row {i}: viol {v:.3e} Ax {:.6e} l {:.3e} u {:.3e} y {:.3e} y* {:.3e} [{}]",
            ax[i],
            pb.l[i],
            pb.u[i],
            sol.y[i],
            reference.y[i],
            nz.join(" ")
        );
    }
    let mut rd = pb.q.clone();
    for j in 0..pb.n() {
        for k in pb.p.colptr[j]..pb.p.colptr[j + 1] {
            let (i, v) = (pb.p.rowval[k], pb.p.nzval[k]);
            rd[i] += v * sol.x[j];
            if i != j {
                rd[j] += v * sol.x[i];
            }
        }
    }
    at.mul_add(&sol.y, &mut rd);
    let mut cols: Vec<(f64, usize)> = rd.iter().enumerate().map(|(j, v)| (v.abs(), j)).collect();
    cols.sort_by(|p, q| q.0.total_cmp(&p.0));
    for &(v, j) in cols.iter().take(5) {
        println!("dual col {j}: {v:.3e} x {:.4e} x* {:.4e} q {:.3e}", sol.x[j], reference.x[j], pb.q[j]);
    }
    let xmax = reference.x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let ymax = reference.y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    println!("|x*|∞ {xmax:.3e} |y*|∞ {ymax:.3e} objective {:.6e} vs {:.6e}", sol.objective, reference.objective);
}
