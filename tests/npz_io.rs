//! Reading and writing QPs as .npz (qpsolvers layout): files written by numpy, round trips,
//! and clear errors for malformed input.
use std::path::PathBuf;

use spikectl::lab::generate::Family;
use spikectl::qp::npz::{self, NpyArray};
use spikectl::qp::{ClarabelSolver, Problem, QpError, QpSolver, Settings, Status};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn solve(pb: &Problem) -> spikectl::qp::Solution {
    let mut s = ClarabelSolver::new();
    s.setup(pb, &Settings::default()).unwrap();
    s.solve().unwrap()
}

/// The demo QP (P = [[4,1],[1,2]], q = 1, x₁ + x₂ = 1, 0 ≤ x ≤ 0.7) has x* = (0.3, 0.7),
/// f* = 1.88, whichever way numpy stored it.
#[test]
fn numpy_written_files_load_and_solve() {
    for f in ["osqp_demo_dense.npz", "osqp_demo_mixed.npz", "osqp_demo_sparse.npz"] {
        let pb = npz::load_problem(&data(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(pb.n(), 2, "{f}");
        let sol = solve(&pb);
        assert_eq!(sol.status, Status::Solved, "{f}");
        assert!((sol.x[0] - 0.3).abs() < 1e-7 && (sol.x[1] - 0.7).abs() < 1e-7, "{f}: {:?}", sol.x);
        assert!((sol.objective - 1.88).abs() < 1e-7, "{f}: {}", sol.objective);
    }
    // The mixed file's G row has h = +inf: it becomes a free row.
    let pb = npz::load_problem(&data("osqp_demo_mixed.npz")).unwrap();
    assert_eq!(pb.m(), 1 + 1 + 2);
}

#[test]
fn round_trip_dense_and_sparse_keeps_the_optimum() {
    let dir = std::env::temp_dir().join(format!("spikectl-npz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for fam in [Family::Mpc, Family::RandomMixed, Family::Box, Family::Equality] {
        let pb = fam.generate(6, 9);
        let want = solve(&pb).objective;
        for sparse in [false, true] {
            let path = dir.join(format!("{}-{sparse}.npz", fam.name()));
            npz::save_problem(&path, &pb, sparse).unwrap();
            let back = npz::load_problem(&path).unwrap();
            assert_eq!(back.n(), pb.n());
            // Same P and q exactly; constraints are re-expressed (G/A/b) but equivalent.
            assert_eq!(back.p.to_dense(), pb.p.to_dense(), "{}", fam.name());
            assert_eq!(back.q, pb.q);
            let got = solve(&back).objective;
            assert!(
                (got - want).abs() <= 1e-7 * want.abs().max(1.0),
                "{} sparse={sparse}: {got} vs {want}",
                fam.name()
            );
            // Writing what was read gives the same arrays again.
            let a1 = npz::QpsolversProblem::from_problem(&back).to_arrays(sparse);
            let path2 = dir.join("again.npz");
            npz::write_npz(&path2, &a1).unwrap();
            assert_eq!(npz::read_npz(&path2).unwrap(), a1);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn malformed_files_give_clear_errors() {
    let e = npz::load_problem(&data("bad_object.npz")).unwrap_err();
    assert!(format!("{e}").contains("dtype"), "{e}");
    let e = npz::load_problem(&data("does_not_exist.npz")).unwrap_err();
    assert!(matches!(e, QpError::Io(_)), "{e}");
    let dir = std::env::temp_dir().join(format!("spikectl-npz-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Not a zip at all.
    let p = dir.join("text.npz");
    std::fs::write(&p, b"P,q\n1,2\n").unwrap();
    assert!(format!("{}", npz::load_problem(&p).unwrap_err()).contains("zip"));
    // Missing q.
    let mut m = std::collections::BTreeMap::new();
    m.insert("P".to_string(), NpyArray::f64(vec![1, 1], vec![1.0]));
    let p = dir.join("noq.npz");
    npz::write_npz(&p, &m).unwrap();
    assert!(format!("{}", npz::load_problem(&p).unwrap_err()).contains("'q'"));
    // Dimension mismatch between P and q.
    m.insert("q".to_string(), NpyArray::f64(vec![2], vec![1.0, 2.0]));
    npz::write_npz(&p, &m).unwrap();
    assert!(format!("{}", npz::load_problem(&p).unwrap_err()).contains("dimension"));
    // NaN in P.
    m.insert("P".to_string(), NpyArray::f64(vec![2, 2], vec![1.0, f64::NAN, 0.0, 1.0]));
    npz::write_npz(&p, &m).unwrap();
    assert!(format!("{}", npz::load_problem(&p).unwrap_err()).contains("non-finite"));
    // Sparse group with a missing part.
    m.remove("P");
    m.insert("P_data".to_string(), NpyArray::f64(vec![1], vec![1.0]));
    npz::write_npz(&p, &m).unwrap();
    assert!(format!("{}", npz::load_problem(&p).unwrap_err()).contains("P_indices"));
    // Truncated archive.
    let good = std::fs::read(data("osqp_demo_dense.npz")).unwrap();
    let p2 = dir.join("trunc.npz");
    std::fs::write(&p2, &good[..good.len() / 2]).unwrap();
    assert!(npz::load_problem(&p2).is_err());
    std::fs::remove_dir_all(&dir).ok();
}
