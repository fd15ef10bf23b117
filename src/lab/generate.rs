//! Seeded QP problem families for tests and benchmarks (same seed → bit-identical problem).
//!
//! - [`Family::Mpc`]: OSQP's MPC benchmark class (osqp_benchmarks `control.py`): n states,
//!   n/2 inputs, horizon T = 10, stable random dynamics, diagonal state cost with ≈30%
//!   zeros, R = 0.1·I, terminal cost from the discrete algebraic Riccati equation, box limits
//!   on states and inputs. See [`MpcModel`].
//! - [`Family::RandomMixed`]: sparse random convex QPs with equality, two-sided and
//!   one-sided rows (m = 2n), always feasible.
//! - [`Family::Box`]: sparse random convex QP with only variable bounds (A = I).
//! - [`Family::Equality`]: sparse random convex QP with only equality rows (m = n/2).
//! - [`Family::Infeasible`]: like `RandomMixed` plus a pair of contradictory rows.
//!
//! [`mpc_sequence`] gives a warm-start benchmark: 100 consecutive MPC problems of one
//! model, where the initial state follows the closed loop (LQR input clipped to the input
//! box, plus process noise) and a moving state reference changes q every step.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::families::RoboticsFamily;
use crate::qp::{CscMatrix, INFTY, Problem};

/// A problem family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Family {
    /// OSQP's MPC benchmark class (size parameter = number of states).
    Mpc,
    /// Random sparse QP with mixed equality / inequality rows (size = variables).
    RandomMixed,
    /// Random sparse QP with bounds on the variables only (size = variables).
    Box,
    /// Random sparse QP with equality rows only (size = variables).
    Equality,
    /// Primal-infeasible random QP (size = variables).
    Infeasible,
    /// A robotics MPC family of [`super::families`] (size = horizon steps).
    Robotics(RoboticsFamily),
}

impl Family {
    /// All families.
    pub const ALL: [Family; 11] = [
        Family::Mpc,
        Family::RandomMixed,
        Family::Box,
        Family::Equality,
        Family::Infeasible,
        Family::Robotics(RoboticsFamily::ALL[0]),
        Family::Robotics(RoboticsFamily::ALL[1]),
        Family::Robotics(RoboticsFamily::ALL[2]),
        Family::Robotics(RoboticsFamily::ALL[3]),
        Family::Robotics(RoboticsFamily::ALL[4]),
        Family::Robotics(RoboticsFamily::ALL[5]),
    ];

    /// Short lowercase name ("mpc", "random", "box", "equality", "infeasible", or a robotics
    /// family's, e.g. "lipm-condensed").
    pub fn name(self) -> &'static str {
        match self {
            Family::Mpc => "mpc",
            Family::RandomMixed => "random",
            Family::Box => "box",
            Family::Equality => "equality",
            Family::Infeasible => "infeasible",
            Family::Robotics(f) => f.name(),
        }
    }

    /// True when the family's problems are feasible with a finite optimum.
    pub(crate) fn is_feasible(self) -> bool {
        self != Family::Infeasible
    }

    /// Builds the problem of size parameter `n` from `seed`.
    pub fn generate(self, n: usize, seed: u64) -> Problem {
        match self {
            Family::Mpc => {
                let m = MpcModel::random(n, seed);
                m.problem(&m.feasible_x0(seed), None)
            }
            Family::RandomMixed => random_mixed(n, seed, false),
            Family::Box => random_box(n, seed),
            Family::Equality => random_equality(n, seed),
            Family::Infeasible => random_mixed(n, seed, true),
            Family::Robotics(f) => f.generate(n, seed),
        }
    }
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn randn(r: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(r)
}

/// Sparse random matrix (rows × cols) with each entry present with probability `density`,
/// values standard normal.
fn sprandn(r: &mut ChaCha8Rng, rows: usize, cols: usize, density: f64) -> Vec<(usize, usize, f64)> {
    let mut t = Vec::new();
    for j in 0..cols {
        for i in 0..rows {
            if r.r#gen::<f64>() < density {
                t.push((i, j, randn(r)));
            }
        }
    }
    t
}

/// P = M Mᵀ + αI (upper triangle), M sparse n×n with density `density`.
fn random_psd(r: &mut ChaCha8Rng, n: usize, density: f64, alpha: f64) -> CscMatrix {
    let m = CscMatrix::from_triplets(n, n, &sprandn(r, n, n, density)).expect("in range");
    // (MMᵀ)_{ik} = Σ_j M_ij M_kj: sum of outer products of the columns of M.
    let mut trip = Vec::new();
    // Accumulate by column j of M: outer products of column j.
    for j in 0..n {
        let col: Vec<(usize, f64)> = (m.colptr[j]..m.colptr[j + 1]).map(|k| (m.rowval[k], m.nzval[k])).collect();
        for &(i, a) in &col {
            for &(k, b) in &col {
                if i <= k {
                    trip.push((i, k, a * b));
                }
            }
        }
    }
    for i in 0..n {
        trip.push((i, i, alpha));
    }
    CscMatrix::from_triplets(n, n, &trip).expect("in range")
}

fn random_mixed(n: usize, seed: u64, infeasible: bool) -> Problem {
    let n = n.max(2);
    let mut r = rng(seed ^ 0x5EED_0001);
    let p = random_psd(&mut r, n, 0.15, 1e-2);
    let q: Vec<f64> = (0..n).map(|_| randn(&mut r)).collect();
    let m = 2 * n;
    let mut trip = sprandn(&mut r, m, n, 0.15);
    // Make sure every row has at least one entry.
    for i in 0..m {
        trip.push((i, r.gen_range(0..n), randn(&mut r)));
    }
    let a = CscMatrix::from_triplets(m, n, &trip).expect("in range");
    let xf: Vec<f64> = (0..n).map(|_| randn(&mut r)).collect();
    let mut ax = vec![0.0; m];
    a.mul_add(&xf, &mut ax);
    let mut l = vec![0.0; m];
    let mut u = vec![0.0; m];
    for i in 0..m {
        let kind = r.gen_range(0..4);
        let (lo, hi) = (r.r#gen::<f64>(), r.r#gen::<f64>());
        match kind {
            0 => {
                l[i] = ax[i];
                u[i] = ax[i];
            }
            1 => {
                l[i] = ax[i] - lo;
                u[i] = ax[i] + hi;
            }
            2 => {
                l[i] = -INFTY;
                u[i] = ax[i] + hi;
            }
            _ => {
                l[i] = ax[i] - lo;
                u[i] = INFTY;
            }
        }
    }
    let (a, l, u) = if infeasible {
        // Append rows r₀ᵀx ≤ c and r₀ᵀx ≥ c + 1 (with r₀ = row 0 of A): contradictory.
        let row0: Vec<(usize, f64)> = (0..n)
            .flat_map(|j| (a.colptr[j]..a.colptr[j + 1]).filter(|&k| a.rowval[k] == 0).map(move |k| (j, k)))
            .map(|(j, k)| (j, a.nzval[k]))
            .collect();
        let mut t2 = trip.clone();
        for &(j, v) in &row0 {
            t2.push((m, j, v));
            t2.push((m + 1, j, v));
        }
        let a2 = CscMatrix::from_triplets(m + 2, n, &t2).expect("in range");
        let mut l2 = l.clone();
        let mut u2 = u.clone();
        l2.push(-INFTY);
        u2.push(ax[0]);
        l2.push(ax[0] + 1.0);
        u2.push(INFTY);
        (a2, l2, u2)
    } else {
        (a, l, u)
    };
    Problem::new(p, q, a, l, u).expect("generated problem is valid")
}

fn random_box(n: usize, seed: u64) -> Problem {
    let n = n.max(1);
    let mut r = rng(seed ^ 0x5EED_0002);
    let p = random_psd(&mut r, n, 0.15, 1e-2);
    let q: Vec<f64> = (0..n).map(|_| 5.0 * randn(&mut r)).collect();
    let l: Vec<f64> = (0..n).map(|_| -r.r#gen::<f64>()).collect();
    let u: Vec<f64> = (0..n).map(|_| r.r#gen::<f64>()).collect();
    Problem::new(p, q, CscMatrix::identity(n, 1.0), l, u).expect("generated problem is valid")
}

fn random_equality(n: usize, seed: u64) -> Problem {
    let n = n.max(2);
    let mut r = rng(seed ^ 0x5EED_0003);
    let p = random_psd(&mut r, n, 0.15, 1e-2);
    let q: Vec<f64> = (0..n).map(|_| randn(&mut r)).collect();
    let m = n / 2;
    // Rows with a guaranteed diagonal entry (full row rank).
    let mut trip = sprandn(&mut r, m, n, 0.15);
    for i in 0..m {
        trip.push((i, i, 1.0 + r.r#gen::<f64>()));
    }
    let a = CscMatrix::from_triplets(m, n, &trip).expect("in range");
    let xf: Vec<f64> = (0..n).map(|_| randn(&mut r)).collect();
    let mut b = vec![0.0; m];
    a.mul_add(&xf, &mut b);
    Problem::new(p, q, a, b.clone(), b).expect("generated problem is valid")
}

/// The linear system and costs of one instance of OSQP's MPC benchmark class.
///
/// Decision vector z = (x₀, …, x_T, u₀, …, u_{T−1}) (states first, then inputs), cost
/// ½ Σ_{k<T} (x_k − r)ᵀQ(x_k − r) + ½(x_T − r)ᵀQ_N(x_T − r) + ½ Σ u_kᵀRu_k (constant
/// dropped), constraints x₀ = x_init, x_{k+1} = A x_k + B u_k, |x_k| ≤ x̄, |u_k| ≤ ū.
/// Row order: n rows x₀ = x_init, then T·n dynamics rows, then (T+1)·n state boxes, then
/// T·n_u input boxes.
#[derive(Debug, Clone)]
pub(crate) struct MpcModel {
    /// State dimension n.
    pub nx: usize,
    /// Input dimension n/2.
    pub nu: usize,
    /// Horizon T (steps).
    pub horizon: usize,
    /// Dynamics A (nx×nx), spectral radius < 1.
    pub a: DMatrix<f64>,
    /// Input matrix B (nx×nu).
    pub b: DMatrix<f64>,
    /// Diagonal of the stage state cost Q (≈30% zeros).
    pub q_diag: Vec<f64>,
    /// Input cost R = r·I (r = 0.1).
    pub r: f64,
    /// Terminal cost Q_N (DARE solution).
    pub qn: DMatrix<f64>,
    /// LQR gain K (nu×nx) with u = −Kx, from the same Riccati recursion.
    pub k: DMatrix<f64>,
    /// State bounds x̄ (|x| ≤ x̄), 1 + U(0,1).
    pub x_bar: Vec<f64>,
    /// Input bounds ū (|u| ≤ ū), U(0,1) (at least 0.05).
    pub u_bar: Vec<f64>,
}

impl MpcModel {
    /// A random instance with `n` states (n ≥ 2), seeded.
    pub fn random(n: usize, seed: u64) -> Self {
        let nx = n.max(2);
        let nu = (nx / 2).max(1);
        let mut r = rng(seed ^ 0x5EED_0004);
        let mut a = DMatrix::<f64>::identity(nx, nx);
        for v in a.iter_mut() {
            *v += 0.1 * randn(&mut r);
        }
        let rho = a.complex_eigenvalues().iter().fold(0.0f64, |m, e| m.max(e.norm()));
        if rho >= 0.99 {
            a *= 0.99 / rho;
        }
        let b = DMatrix::<f64>::from_fn(nx, nu, |_, _| randn(&mut r));
        let q_diag: Vec<f64> =
            (0..nx).map(|_| if r.r#gen::<f64>() < 0.3 { 0.0 } else { 10.0 * r.r#gen::<f64>() }).collect();
        let rr = 0.1;
        let x_bar: Vec<f64> = (0..nx).map(|_| 1.0 + r.r#gen::<f64>()).collect();
        let u_bar: Vec<f64> = (0..nu).map(|_| r.r#gen::<f64>().max(0.05)).collect();
        let (qn, k) = dare(&a, &b, &q_diag, rr);
        Self { nx, nu, horizon: 10, a, b, q_diag, r: rr, qn, k, x_bar, u_bar }
    }

    /// Number of QP variables (T+1)·nx + T·nu.
    pub(crate) fn n_var(&self) -> usize {
        (self.horizon + 1) * self.nx + self.horizon * self.nu
    }

    /// Number of QP rows 2(T+1)·nx + T·nu.
    pub(crate) fn n_con(&self) -> usize {
        2 * (self.horizon + 1) * self.nx + self.horizon * self.nu
    }

    /// A random initial state for which u ≡ 0 keeps every predicted state within 0.9·x̄
    /// (so the QP is feasible).
    pub(crate) fn feasible_x0(&self, seed: u64) -> Vec<f64> {
        let mut r = rng(seed ^ 0x5EED_0005);
        let x0: Vec<f64> = (0..self.nx).map(|i| (2.0 * r.r#gen::<f64>() - 1.0) * 0.5 * self.x_bar[i]).collect();
        self.make_feasible(&x0)
    }

    /// Shrinks `x0` towards 0 until the free (u ≡ 0) response stays within 0.9·x̄ over the
    /// horizon; a state already satisfying that is returned unchanged.
    pub(crate) fn make_feasible(&self, x0: &[f64]) -> Vec<f64> {
        let mut x = DVector::from_column_slice(x0);
        let mut worst = 0.0f64;
        for _ in 0..=self.horizon {
            for i in 0..self.nx {
                worst = worst.max(x[i].abs() / (0.9 * self.x_bar[i]));
            }
            x = &self.a * x;
        }
        let s = if worst > 1.0 { 1.0 / worst } else { 1.0 };
        x0.iter().map(|v| v * s).collect()
    }

    /// The QP for initial state `x0` and constant state reference `xref` (zero if `None`).
    pub fn problem(&self, x0: &[f64], xref: Option<&[f64]>) -> Problem {
        let (nx, nu, t) = (self.nx, self.nu, self.horizon);
        let nv = self.n_var();
        let mut pt = Vec::new();
        for k in 0..t {
            for i in 0..nx {
                // Keep explicit zeros so the pattern does not depend on Q's zeros.
                pt.push((k * nx + i, k * nx + i, self.q_diag[i]));
            }
        }
        for i in 0..nx {
            for j in i..nx {
                pt.push((t * nx + i, t * nx + j, self.qn[(i, j)]));
            }
        }
        let ub = (t + 1) * nx;
        for k in 0..t * nu {
            pt.push((ub + k, ub + k, self.r));
        }
        let p = CscMatrix::from_triplets(nv, nv, &pt).expect("in range");
        let mut at = Vec::new();
        for i in 0..nx {
            at.push((i, i, 1.0));
        }
        for k in 0..t {
            let row0 = nx + k * nx;
            for i in 0..nx {
                at.push((row0 + i, (k + 1) * nx + i, -1.0));
                for j in 0..nx {
                    at.push((row0 + i, k * nx + j, self.a[(i, j)]));
                }
                for j in 0..nu {
                    at.push((row0 + i, ub + k * nu + j, self.b[(i, j)]));
                }
            }
        }
        let rb = nx + t * nx;
        for v in 0..nv {
            at.push((rb + v, v, 1.0));
        }
        let a = CscMatrix::from_triplets(self.n_con(), nv, &at).expect("in range");
        let (l, u) = self.bounds(x0);
        Problem::new(p, self.linear_cost(xref), a, l, u).expect("MPC problem is valid")
    }

    /// q for a constant state reference (zero vector when `None`).
    pub(crate) fn linear_cost(&self, xref: Option<&[f64]>) -> Vec<f64> {
        let (nx, t) = (self.nx, self.horizon);
        let mut q = vec![0.0; self.n_var()];
        if let Some(r) = xref {
            for k in 0..t {
                for i in 0..nx {
                    q[k * nx + i] = -self.q_diag[i] * r[i];
                }
            }
            for i in 0..nx {
                q[t * nx + i] = -(0..nx).map(|j| self.qn[(i, j)] * r[j]).sum::<f64>();
            }
        }
        q
    }

    /// (l, u) for initial state `x0`.
    pub fn bounds(&self, x0: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (nx, nu, t) = (self.nx, self.nu, self.horizon);
        let mut l = Vec::with_capacity(self.n_con());
        l.extend_from_slice(x0);
        l.extend(std::iter::repeat_n(0.0, t * nx));
        let mut u = l.clone();
        for _ in 0..=t {
            l.extend(self.x_bar.iter().map(|v| -v));
            u.extend_from_slice(&self.x_bar);
        }
        for _ in 0..t {
            l.extend(self.u_bar[..nu].iter().map(|v| -v));
            u.extend_from_slice(&self.u_bar[..nu]);
        }
        (l, u)
    }
}

/// Iterates the Riccati recursion P ← Q + AᵀPA − AᵀPB(R + BᵀPB)⁻¹BᵀPA from P = Q until the
/// relative change is below 1e-10 (at most 10 000 steps); returns (P, K) with
/// K = (R + BᵀPB)⁻¹BᵀPA.
pub(crate) fn dare(a: &DMatrix<f64>, b: &DMatrix<f64>, q_diag: &[f64], r: f64) -> (DMatrix<f64>, DMatrix<f64>) {
    let nx = a.nrows();
    let nu = b.ncols();
    let q = DMatrix::from_diagonal(&DVector::from_column_slice(q_diag));
    let rm = DMatrix::<f64>::identity(nu, nu) * r;
    let mut p = q.clone();
    let mut k = DMatrix::<f64>::zeros(nu, nx);
    for _ in 0..10_000 {
        let bp = b.transpose() * &p;
        let s = &rm + &bp * b;
        let kk = match s.clone().cholesky() {
            Some(c) => c.solve(&(&bp * a)),
            None => break,
        };
        let pn = &q + a.transpose() * &p * a - a.transpose() * &p * b * &kk;
        let pn = (&pn + pn.transpose()) * 0.5;
        let diff = (&pn - &p).amax();
        let scale = pn.amax().max(1e-12);
        p = pn;
        k = kk;
        if diff <= 1e-10 * scale {
            break;
        }
    }
    (p, k)
}

/// A sequence of problems with a fixed pattern: `base` plus per-step data.
#[derive(Debug, Clone)]
pub struct ParametricSequence {
    /// The first problem (its pattern and P, A hold for every step).
    pub base: Problem,
    /// Per step: (q, l, u).
    pub steps: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)>,
}

impl ParametricSequence {
    /// The full problem of step `k`.
    pub fn problem(&self, k: usize) -> Problem {
        let (q, l, u) = &self.steps[k];
        Problem { q: q.clone(), l: l.clone(), u: u.clone(), ..self.base.clone() }
    }
}

/// A closed-loop MPC sequence of `steps` problems for one [`MpcModel`] with `n` states.
///
/// x_{t+1} = A x_t + B clip(−K(x_t − r_t)) + w_t with w_t ~ N(0, (0.02·x̄)²), the state
/// shrunk with [`MpcModel::make_feasible`] when needed; reference
/// r_t,i = 0.3·x̄_i·sin(0.05·t + φ_i). Step t's problem has x_init = x_t and reference r_t,
/// so both q and the bounds change every step.
pub fn mpc_sequence(n: usize, steps: usize, seed: u64) -> ParametricSequence {
    let model = MpcModel::random(n, seed);
    let mut r = rng(seed ^ 0x5EED_0006);
    let nx = model.nx;
    let phase: Vec<f64> = (0..nx).map(|_| r.r#gen::<f64>() * std::f64::consts::TAU).collect();
    let mut x = model.feasible_x0(seed);
    let mut out = Vec::with_capacity(steps);
    for t in 0..steps {
        let xref: Vec<f64> = (0..nx).map(|i| 0.3 * model.x_bar[i] * (0.05 * t as f64 + phase[i]).sin()).collect();
        x = model.make_feasible(&x);
        let q = model.linear_cost(Some(&xref));
        let (l, u) = model.bounds(&x);
        out.push((q, l, u));
        let e = DVector::from_iterator(nx, x.iter().zip(&xref).map(|(a, b)| a - b));
        let uin = -(&model.k * e);
        let uin = DVector::from_iterator(
            model.nu,
            uin.iter().enumerate().map(|(j, v)| v.clamp(-model.u_bar[j], model.u_bar[j])),
        );
        let xn = &model.a * DVector::from_column_slice(&x) + &model.b * uin;
        x = (0..nx).map(|i| xn[i] + 0.02 * model.x_bar[i] * randn(&mut r)).collect();
    }
    let base = {
        let (q, l, u) = &out[0];
        let mut p = model.problem(&l[..nx], None);
        p.q = q.clone();
        p.u = u.clone();
        p.l = l.clone();
        p
    };
    ParametricSequence { base, steps: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_valid_and_deterministic() {
        for f in Family::ALL {
            let a = f.generate(10, 7);
            let b = f.generate(10, 7);
            assert!(a.validate().is_ok());
            assert_eq!(a, b, "{}", f.name());
            assert_ne!(a, f.generate(10, 8), "{}", f.name());
        }
    }

    #[test]
    fn mpc_sizes_and_dare_fixed_point() {
        let m = MpcModel::random(10, 1);
        let pb = m.problem(&m.feasible_x0(1), None);
        assert_eq!(pb.n(), 11 * 10 + 10 * 5);
        assert_eq!(pb.m(), 2 * 11 * 10 + 10 * 5);
        // P_N satisfies the DARE.
        let (a, b, p) = (&m.a, &m.b, &m.qn);
        let q = DMatrix::from_diagonal(&DVector::from_column_slice(&m.q_diag));
        let s = DMatrix::<f64>::identity(m.nu, m.nu) * m.r + b.transpose() * p * b;
        let rhs =
            &q + a.transpose() * p * a - a.transpose() * p * b * s.cholesky().unwrap().solve(&(b.transpose() * p * a));
        assert!((&rhs - p).amax() < 1e-8 * p.amax());
        let rho = m.a.complex_eigenvalues().iter().fold(0.0f64, |mx, e| mx.max(e.norm()));
        assert!(rho < 1.0);
    }

    #[test]
    fn sequence_changes_q_and_bounds() {
        let s = mpc_sequence(6, 5, 3);
        assert_eq!(s.steps.len(), 5);
        assert_ne!(s.steps[0].0, s.steps[1].0);
        assert_ne!(s.steps[0].1, s.steps[1].1);
        assert!(s.problem(4).validate().is_ok());
    }

    #[test]
    fn clarabel_confirms_feasibility_of_each_family() {
        use crate::qp::{ClarabelSolver, QpSolver, Settings, Status};
        for f in Family::ALL {
            for n in [4, 12] {
                let pb = f.generate(n, 11);
                let mut s = ClarabelSolver::new();
                s.setup(&pb, &Settings::default()).unwrap();
                let st = s.solve().unwrap().status;
                let want = if f.is_feasible() { Status::Solved } else { Status::PrimalInfeasible };
                assert_eq!(st, want, "{} n={n}", f.name());
            }
        }
        let seq = mpc_sequence(8, 30, 2);
        for k in (0..30).step_by(7) {
            let mut s = ClarabelSolver::new();
            s.setup(&seq.problem(k), &Settings::default()).unwrap();
            assert_eq!(s.solve().unwrap().status, Status::Solved, "step {k}");
        }
    }
}
