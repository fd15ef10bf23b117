//! Criterion benchmarks of the QP backends on the MPC class (cold solve incl. setup) and
//! one warm-started step of the parametric MPC sequence.
use criterion::{Criterion, criterion_group, criterion_main};
use spikectl::lab::generate::{Family, mpc_sequence};
use spikectl::qp::Settings;
use spikectl::qp::registry::by_name as solver_by_name;

fn low() -> Settings {
    Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter: 20_000, ..Settings::default() }
}

fn cold(c: &mut Criterion) {
    let mut g = c.benchmark_group("mpc_cold_low");
    g.sample_size(10);
    for n in [10, 20] {
        let pb = Family::Mpc.generate(n, 1);
        for name in ["pipg", "osqp"] {
            g.bench_function(format!("{name}/n{n}"), |b| {
                b.iter(|| {
                    let mut s = solver_by_name(name).unwrap();
                    s.setup(&pb, &low()).unwrap();
                    s.solve().unwrap()
                })
            });
        }
    }
    g.finish();
}

fn warm(c: &mut Criterion) {
    let mut g = c.benchmark_group("mpc_warm_low");
    g.sample_size(10);
    let seq = mpc_sequence(20, 40, 1);
    for name in ["pipg", "osqp"] {
        let mut s = solver_by_name(name).unwrap();
        s.setup(&seq.base, &low()).unwrap();
        let mut k = 0;
        g.bench_function(format!("{name}/n20_step"), |b| {
            b.iter(|| {
                let (q, l, u) = &seq.steps[k % seq.steps.len()];
                k += 1;
                s.update_q(q).unwrap();
                s.update_bounds(l, u).unwrap();
                s.solve().unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, cold, warm);
criterion_main!(benches);
