//! Convex MPC for a quadruped on single-rigid-body (SRB) dynamics linearised about the
//! reference yaw (Di Carlo et al., IROS 2018), as a **sparse** QP with a fixed pattern.
//!
//! State (13): `x = [roll, pitch, yaw, p (3, world) [m], ω (3, world) [rad/s],
//! v (3, world) [m/s], g̃]` where `g̃ ≡ 1` carries gravity. Input (12): ground-reaction
//! forces on the four feet (FR, FL, RR, RL), world frame, **in units of body weight**
//! (`f = u · m g`), which keeps the QP well scaled.
//!
//! Continuous model: `Θ̇ = Rz(ψ)ᵀ ω`, `ṗ = v`, `ω̇ = I_w⁻¹ Σ r_i × f_i`, `v̇ = Σ f_i/m − g e_z g̃`
//! with `I_w = Rz I_b Rzᵀ`. Its zero-order-hold discretisation is exact here because
//! `A_c³ = 0` and `A_c² B_c = 0`: `A_d = I + A_c dt + A_c² dt²/2`, `B_d = B_c dt + A_c B_c dt²/2`.
//!
//! QP variables `z = [x_1 … x_N, u_0 … u_{N−1}]` (n = 25 N). Rows (m = 33 N):
//! dynamics `x_{k+1} − A_k x_k − B_k u_k = 0` (first step: `x_1 − B_0 u_0 = A_0 x_0`; the
//! gravity state's row is written `g̃_{k+1} = 1`, a single-entry row that first-order solvers
//! turn into a bound and project exactly — the chained form `g̃_{k+1} − g̃_k = 0` is a
//! zero-cost integrator chain that cost PIPG ≈ 1.6× the iterations), then per
//! step and foot five force rows: `0 ≤ u_z ≤ u_max` (`[0, 0]` for a swing foot, which with
//! the pyramid forces the whole force to zero), `u_x − μu_z ≤ 0`, `u_x + μu_z ≥ 0`, same for y.
//! Cost `Σ ½(x_k − x_ref,k)ᵀ Q (x_k − x_ref,k) + ½ u_kᵀ R u_k`.
//!
//! The sparsity pattern of A lists every entry that can become nonzero for any yaw and any
//! foot position (explicit zeros are kept as placeholders), so each step only calls
//! `update_matrices` (A values), `update_q` and `update_bounds`, then warm-starts from the
//! previous solution shifted by one step (primal; the solver keeps its own duals, which
//! converged faster for the first-order solvers than shifted ones).

use nalgebra::{Matrix3, SMatrix, UnitQuaternion, Vector3};
use spikectl_robot::robots::{GO1, QuadrupedParams};
use spikectl_robot::state::QuadrupedState;

use super::MpcError;
use crate::model::leg::Leg;
use crate::qp::{CscMatrix, INFTY, Problem, QpSolver, Settings, Solution};

/// Number of SRB states.
pub const NX: usize = 13;
/// Number of inputs (3 force components × 4 feet).
pub const NU: usize = 12;
/// Force rows per foot per step.
const NF: usize = 5;
/// Gravity [m/s²].
pub const GRAVITY: f64 = 9.81;

/// Discrete SRB state-transition matrix.
pub(crate) type MatA = SMatrix<f64, NX, NX>;
/// Discrete SRB input matrix (inputs in body weights).
pub(crate) type MatB = SMatrix<f64, NX, NU>;
/// A 13-vector state.
pub(crate) type StateVec = SMatrix<f64, NX, 1>;

/// Rigid-body parameters and MPC tuning.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrupedMpcConfig {
    /// Horizon length N (steps).
    pub horizon: usize,
    /// Step length [s].
    pub dt: f64,
    /// Total mass m [kg].
    pub mass: f64,
    /// Body-frame inertia (diagonal) about the CoM [kg·m²].
    pub inertia: [f64; 3],
    /// Friction coefficient μ of the pyramid.
    pub mu: f64,
    /// Maximum normal force per foot [N].
    pub f_max: f64,
    /// State weights on (roll, pitch, yaw, x, y, z, ωx, ωy, ωz, vx, vy, vz).
    pub q_weights: [f64; 12],
    /// Input weight (per component, forces in body weights).
    pub r_weight: f64,
    /// Solver settings used at setup.
    pub settings: Settings,
}

impl QuadrupedMpcConfig {
    /// Defaults for [`GO1`]: N = 12 × 25 ms, μ = 0.5, f_max = 150 N, weights after the MIT
    /// Cheetah's (attitude and velocity weights raised for the Go1's heavy legs, tuned in
    /// MuJoCo; small nonzero weights on roll/pitch rates keep the QP strongly convex).
    pub fn go1() -> Self {
        Self::for_robot(&GO1)
    }

    /// The [`Self::go1`] horizon and weights with the mass and lumped inertia of robot `p`.
    pub(crate) fn for_robot(p: &QuadrupedParams) -> Self {
        Self {
            horizon: 12,
            dt: 0.025,
            mass: p.total_mass(),
            inertia: lumped_inertia(p),
            mu: 0.5,
            f_max: 150.0,
            q_weights: [5.0, 5.0, 10.0, 2.0, 2.0, 50.0, 0.05, 0.05, 0.3, 4.0, 4.0, 0.2],
            r_weight: 0.5,
            settings: Settings::default(),
        }
    }

    /// Body weight m g [N].
    pub fn weight(&self) -> f64 {
        self.mass * GRAVITY
    }

    fn validate(&self) -> Result<(), MpcError> {
        let ok = self.horizon >= 2
            && self.horizon <= 100
            && self.dt.is_finite()
            && self.dt > 0.0
            && self.mass > 0.0
            && self.inertia.iter().all(|v| v.is_finite() && *v > 0.0)
            && self.mu > 0.0
            && self.f_max > 0.0
            && self.q_weights.iter().all(|w| w.is_finite() && *w >= 0.0)
            && self.r_weight > 0.0;
        if ok { Ok(()) } else { Err(MpcError::Config("quadruped MPC configuration out of range".into())) }
    }
}

impl Default for QuadrupedMpcConfig {
    fn default() -> Self {
        Self::go1()
    }
}

/// Trunk inertia plus the legs as point masses at the standing posture (hip link at the hip
/// joint, thigh and calf at their midpoints), each moved to the trunk's plane (z = 0)
/// [kg·m²], diagonal approximation.
///
/// The legs' vertical lever arm is left out on purpose: with the feet planted, thigh and
/// calf pivot about the feet rather than turning rigidly with the trunk, so they add far
/// less roll and pitch inertia than a rigid lump would. Counting them rigidly (≈ 1.8× the
/// roll inertia used here) made the four-foot stand diverge in a two-sample roll
/// oscillation in MuJoCo (regression test `stand_is_stable_without_noise`).
pub(crate) fn lumped_inertia(p: &QuadrupedParams) -> [f64; 3] {
    let mut i = p.trunk_inertia;
    for leg_i in 0..4 {
        let leg = Leg::new(p, leg_i);
        let q = p.stand_q;
        let hip = leg.hip;
        let knee = leg.knee_position(&q);
        let foot = leg.foot_position(&q);
        let thigh_top = leg.hip + leg.rx(q[0]) * Vector3::new(0.0, leg.offset_y, 0.0);
        let thigh_c = (thigh_top + knee) * 0.5;
        let calf_c = (knee + foot) * 0.5;
        for (m, c) in [(p.link_masses[0], hip), (p.link_masses[1], thigh_c), (p.link_masses[2], calf_c)] {
            let c = Vector3::new(c.x, c.y, 0.0);
            i[0] += m * (c.y * c.y + c.z * c.z);
            i[1] += m * (c.x * c.x + c.z * c.z);
            i[2] += m * (c.x * c.x + c.y * c.y);
        }
    }
    i
}

/// SRB state in the MPC's coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SrbState {
    /// Roll, pitch, yaw (ZYX Euler) [rad].
    pub rpy: [f64; 3],
    /// CoM position, world [m].
    pub pos: [f64; 3],
    /// Angular velocity, world [rad/s].
    pub omega: [f64; 3],
    /// Linear velocity, world [m/s].
    pub vel: [f64; 3],
}

impl SrbState {
    /// From the measured robot state; `None` if anything is non-finite or the quaternion is
    /// degenerate.
    pub fn from_robot(s: &QuadrupedState) -> Option<Self> {
        let all = s.base_pos.iter().chain(&s.base_quat).chain(&s.base_linvel).chain(&s.base_angvel_body);
        if !all.clone().all(|v| v.is_finite()) {
            return None;
        }
        let qn = s.base_quat.iter().map(|v| v * v).sum::<f64>().sqrt();
        if qn < 1e-6 {
            return None;
        }
        let q = base_rotation(&s.base_quat);
        let (roll, pitch, yaw) = q.euler_angles();
        let w = q * Vector3::from(s.base_angvel_body);
        Some(Self { rpy: [roll, pitch, yaw], pos: s.base_pos, omega: [w.x, w.y, w.z], vel: s.base_linvel })
    }

    /// As the 13-vector (with g̃ = 1).
    pub fn to_vec(&self) -> StateVec {
        let mut x = StateVec::zeros();
        for k in 0..3 {
            x[k] = self.rpy[k];
            x[3 + k] = self.pos[k];
            x[6 + k] = self.omega[k];
            x[9 + k] = self.vel[k];
        }
        x[12] = 1.0;
        x
    }
}

/// Body→world rotation of a (w, x, y, z) quaternion (normalised).
pub(crate) fn base_rotation(q: &[f64; 4]) -> UnitQuaternion<f64> {
    UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(q[0], q[1], q[2], q[3]))
}

/// Desired motion over the horizon.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SrbReference {
    /// Commanded forward and lateral velocity in the heading frame [m/s].
    pub v_body: [f64; 2],
    /// Commanded yaw rate [rad/s].
    pub yaw_rate: f64,
    /// Commanded CoM height above the ground [m].
    pub height: f64,
    /// Ground height under the robot [m].
    pub ground_z: f64,
}

/// Per-step contact schedule and foot positions over the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct HorizonPlan {
    /// `contact[k][i]`: foot i may carry force during step k.
    pub contact: Vec<[bool; 4]>,
    /// `feet[k][i]`: foot i position relative to the CoM during step k, world axes [m].
    pub feet: Vec<[[f64; 3]; 4]>,
}

impl HorizonPlan {
    /// All feet in stance at fixed positions relative to the CoM, for `n` steps.
    pub fn constant(n: usize, contact: [bool; 4], feet: [[f64; 3]; 4]) -> Self {
        Self { contact: vec![contact; n], feet: vec![feet; n] }
    }
}

/// The first-step result of one MPC solve.
#[derive(Debug, Clone, PartialEq)]
pub struct MpcOutput {
    /// Ground-reaction force on each foot for the next step, world frame [N].
    pub forces: [[f64; 3]; 4],
    /// Predicted state after one step.
    pub next_state: [f64; NX],
}

/// The quadruped MPC: owns its QP data and a solver set up on the fixed pattern.
pub struct QuadrupedMpc {
    cfg: QuadrupedMpcConfig,
    solver: Box<dyn QpSolver>,
    problem: Problem,
    /// nzval index of each emitted A entry, in emission order.
    slots: Vec<usize>,
    ap: Vec<(usize, usize)>,
    bp: Vec<(usize, usize)>,
    ad: Vec<MatA>,
    bd: Vec<MatB>,
    x_ref: Vec<StateVec>,
    warm_x: Vec<f64>,
    warm_y: Vec<f64>,
    have_warm: bool,
    warm_duals: bool,
    warm_rollout: bool,
    /// Initial state of the current QP.
    x0: StateVec,
    last: Option<Solution>,
}

/// Structural pattern of A_d (all entries that can be nonzero).
fn a_pattern() -> Vec<(usize, usize)> {
    // The gravity state's own row (g̃_{k+1} = g̃_k) is left out: it is written as the
    // single-entry row g̃_{k+1} = 1 instead (see `fill_vectors`).
    let mut v: Vec<(usize, usize)> = (0..NX - 1).map(|i| (i, i)).collect();
    v.extend_from_slice(&[(0, 6), (0, 7), (1, 6), (1, 7), (2, 8)]);
    v.extend_from_slice(&[(3, 9), (4, 10), (5, 11), (5, 12), (11, 12)]);
    v
}

/// Structural pattern of B_d (all entries that can be nonzero).
fn b_pattern() -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for j in 0..4 {
        for r in [0, 1, 2, 6, 7, 8] {
            for c in 0..3 {
                v.push((r, 3 * j + c));
            }
        }
        for c in 0..3 {
            v.push((3 + c, 3 * j + c));
            v.push((9 + c, 3 * j + c));
        }
    }
    v
}

fn skew(r: &Vector3<f64>) -> Matrix3<f64> {
    Matrix3::new(0.0, -r.z, r.y, r.z, 0.0, -r.x, -r.y, r.x, 0.0)
}

fn rz(yaw: f64) -> Matrix3<f64> {
    let (s, c) = yaw.sin_cos();
    Matrix3::new(c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)
}

impl QuadrupedMpc {
    /// Builds the QP for the configuration (standing nominal data) and sets the solver up.
    pub fn new(cfg: QuadrupedMpcConfig, solver: Box<dyn QpSolver>) -> Result<Self, MpcError> {
        cfg.validate()?;
        let n_steps = cfg.horizon;
        let mut me = Self {
            solver,
            ap: a_pattern(),
            bp: b_pattern(),
            problem: Problem { p: CscMatrix::zeros(0, 0), q: vec![], a: CscMatrix::zeros(0, 0), l: vec![], u: vec![] },
            slots: Vec::new(),
            ad: vec![MatA::identity(); n_steps],
            bd: vec![MatB::zeros(); n_steps],
            x_ref: vec![StateVec::zeros(); n_steps + 1],
            warm_x: Vec::new(),
            warm_y: Vec::new(),
            have_warm: false,
            warm_duals: false,
            warm_rollout: true,
            x0: StateVec::zeros(),
            last: None,
            cfg,
        };
        // Nominal data: standing at the nominal height, feet under the hips.
        let legs = Leg::go1_legs();
        let mut feet = [[0.0; 3]; 4];
        for i in 0..4 {
            let p = legs[i].foot_position(&GO1.stand_q);
            feet[i] = [p.x, p.y, -GO1.stand_height];
        }
        let plan = HorizonPlan::constant(n_steps, [true; 4], feet);
        let x0 = SrbState { pos: [0.0, 0.0, GO1.stand_height], ..Default::default() };
        let r = SrbReference { height: GO1.stand_height, ..Default::default() };
        me.fill_models(&x0, &r, &plan)?;
        // Build the pattern once.
        let (n, m) = (me.n(), me.m());
        let mut trip: Vec<(usize, usize, f64)> = Vec::new();
        me.emit_a(&mut |r, c, v| trip.push((r, c, v)));
        let a = CscMatrix::from_triplets(m, n, &trip).map_err(|e| MpcError::Qp(e.into()))?;
        if a.nnz() != trip.len() {
            return Err(MpcError::Config("duplicate entries in the MPC pattern".into()));
        }
        let mut slots = Vec::with_capacity(trip.len());
        for &(r, c, _) in &trip {
            let range = a.colptr[c]..a.colptr[c + 1];
            let k = a.rowval[range.clone()].binary_search(&r).map_err(|_| MpcError::Config("pattern lookup".into()))?;
            slots.push(range.start + k);
        }
        let mut pd = Vec::with_capacity(n);
        for _ in 0..n_steps {
            for i in 0..NX {
                pd.push(if i < 12 { me.cfg.q_weights[i] } else { 0.0 });
            }
        }
        pd.extend(std::iter::repeat_n(me.cfg.r_weight, n_steps * NU));
        let p = CscMatrix { nrows: n, ncols: n, colptr: (0..=n).collect(), rowval: (0..n).collect(), nzval: pd };
        me.problem = Problem::new(p, vec![0.0; n], a, vec![0.0; m], vec![0.0; m]).map_err(MpcError::Qp)?;
        me.slots = slots;
        me.fill_vectors(&x0, &plan);
        me.problem.validate().map_err(MpcError::Qp)?;
        me.solver.setup(&me.problem, &me.cfg.settings).map_err(MpcError::Qp)?;
        me.warm_x = vec![0.0; n];
        me.warm_y = vec![0.0; m];
        Ok(me)
    }

    /// Configuration.
    pub fn config(&self) -> &QuadrupedMpcConfig {
        &self.cfg
    }
    /// Number of QP variables.
    pub fn n(&self) -> usize {
        self.cfg.horizon * (NX + NU)
    }
    /// Number of QP constraint rows.
    pub fn m(&self) -> usize {
        self.cfg.horizon * (NX + 4 * NF)
    }
    /// The current QP (after the last [`Self::update`]).
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
    /// Solver backend name.
    pub(crate) fn solver_name(&self) -> &'static str {
        self.solver.name()
    }
    /// The last solution returned by the solver (accepted or not).
    pub fn last_solution(&self) -> Option<&Solution> {
        self.last.as_ref()
    }
    /// Discrete model of step k (after [`Self::update`]).
    pub fn model(&self, k: usize) -> (&MatA, &MatB) {
        (&self.ad[k], &self.bd[k])
    }
    /// Column of u_k's first entry in the QP.
    pub fn u_offset(&self, k: usize) -> usize {
        self.cfg.horizon * NX + k * NU
    }
    /// Column of x_{k+1}'s first entry in the QP.
    pub(crate) fn x_offset(&self, k: usize) -> usize {
        k * NX
    }
    /// Row of foot `i`'s first force row at step k.
    pub(crate) fn force_row(&self, k: usize, i: usize) -> usize {
        self.cfg.horizon * NX + k * 4 * NF + i * NF
    }

    fn fill_models(&mut self, x0: &SrbState, r: &SrbReference, plan: &HorizonPlan) -> Result<(), MpcError> {
        let nk = self.cfg.horizon;
        if plan.contact.len() < nk || plan.feet.len() < nk {
            return Err(MpcError::Input(format!("plan covers {} steps, horizon is {nk}", plan.contact.len())));
        }
        let dt = self.cfg.dt;
        let mg = self.cfg.weight();
        let ib_inv = Matrix3::from_diagonal(&Vector3::new(
            1.0 / self.cfg.inertia[0],
            1.0 / self.cfg.inertia[1],
            1.0 / self.cfg.inertia[2],
        ));
        let yaw0 = x0.rpy[2];
        let (sy, cy) = yaw0.sin_cos();
        let v_world = [cy * r.v_body[0] - sy * r.v_body[1], sy * r.v_body[0] + cy * r.v_body[1]];
        for k in 0..=nk {
            let t = k as f64 * dt;
            let mut x = StateVec::zeros();
            x[2] = yaw0 + r.yaw_rate * t;
            x[3] = x0.pos[0] + v_world[0] * t;
            x[4] = x0.pos[1] + v_world[1] * t;
            x[5] = r.ground_z + r.height;
            x[8] = r.yaw_rate;
            x[9] = v_world[0];
            x[10] = v_world[1];
            x[12] = 1.0;
            self.x_ref[k] = x;
        }
        for k in 0..nk {
            let yaw = self.x_ref[k][2];
            let rzm = rz(yaw);
            let rzt = rzm.transpose();
            let iw_inv = rzm * ib_inv * rzt;
            let a = &mut self.ad[k];
            *a = MatA::identity();
            a.fixed_view_mut::<3, 3>(0, 6).copy_from(&(rzt * dt));
            for c in 0..3 {
                a[(3 + c, 9 + c)] = dt;
            }
            a[(5, 12)] = -GRAVITY * dt * dt / 2.0;
            a[(11, 12)] = -GRAVITY * dt;
            let b = &mut self.bd[k];
            *b = MatB::zeros();
            for j in 0..4 {
                let rf = Vector3::from(plan.feet[k][j]);
                if !rf.iter().all(|v| v.is_finite()) {
                    return Err(MpcError::Input(format!("foot {j} position at step {k} is not finite")));
                }
                let m_j = iw_inv * skew(&rf) * mg;
                b.fixed_view_mut::<3, 3>(6, 3 * j).copy_from(&(m_j * dt));
                b.fixed_view_mut::<3, 3>(0, 3 * j).copy_from(&(rzt * m_j * (dt * dt / 2.0)));
                for c in 0..3 {
                    b[(3 + c, 3 * j + c)] = GRAVITY * dt * dt / 2.0;
                    b[(9 + c, 3 * j + c)] = GRAVITY * dt;
                }
            }
        }
        Ok(())
    }

    /// Emits every A entry (row, col, value) in a fixed order.
    fn emit_a(&self, sink: &mut impl FnMut(usize, usize, f64)) {
        let nk = self.cfg.horizon;
        let mu = self.cfg.mu;
        let (ap, bp) = (&self.ap, &self.bp);
        for k in 0..nk {
            let row0 = k * NX;
            for i in 0..NX {
                sink(row0 + i, self.x_offset(k) + i, 1.0);
            }
            if k > 0 {
                for &(r, c) in ap.iter() {
                    sink(row0 + r, self.x_offset(k - 1) + c, -self.ad[k][(r, c)]);
                }
            }
            for &(r, c) in bp.iter() {
                sink(row0 + r, self.u_offset(k) + c, -self.bd[k][(r, c)]);
            }
        }
        for k in 0..nk {
            for i in 0..4 {
                let r = self.force_row(k, i);
                let c = self.u_offset(k) + 3 * i;
                sink(r, c + 2, 1.0);
                sink(r + 1, c, 1.0);
                sink(r + 1, c + 2, -mu);
                sink(r + 2, c, 1.0);
                sink(r + 2, c + 2, mu);
                sink(r + 3, c + 1, 1.0);
                sink(r + 3, c + 2, -mu);
                sink(r + 4, c + 1, 1.0);
                sink(r + 4, c + 2, mu);
            }
        }
    }

    fn fill_vectors(&mut self, x0: &SrbState, plan: &HorizonPlan) {
        let nk = self.cfg.horizon;
        let x0v = x0.to_vec();
        let ax0 = self.ad[0] * x0v;
        let u_max = self.cfg.f_max / self.cfg.weight();
        let pr = &mut self.problem;
        for k in 0..nk {
            for i in 0..NX {
                let w = if i < 12 { self.cfg.q_weights[i] } else { 0.0 };
                pr.q[k * NX + i] = -w * self.x_ref[k + 1][i];
                let b = if k == 0 {
                    ax0[i]
                } else if i == NX - 1 {
                    1.0
                } else {
                    0.0
                };
                pr.l[k * NX + i] = b;
                pr.u[k * NX + i] = b;
            }
        }
        for v in pr.q[nk * NX..].iter_mut() {
            *v = 0.0;
        }
        for k in 0..nk {
            for i in 0..4 {
                let r = nk * NX + k * 4 * NF + i * NF;
                pr.l[r] = 0.0;
                pr.u[r] = if plan.contact[k][i] { u_max } else { 0.0 };
                pr.l[r + 1] = -INFTY;
                pr.u[r + 1] = 0.0;
                pr.l[r + 2] = 0.0;
                pr.u[r + 2] = INFTY;
                pr.l[r + 3] = -INFTY;
                pr.u[r + 3] = 0.0;
                pr.l[r + 4] = 0.0;
                pr.u[r + 4] = INFTY;
            }
        }
    }

    /// Rewrites the QP's values for a new state, reference and plan and pushes them to the
    /// solver (same pattern). No allocation.
    pub fn update(&mut self, x0: &SrbState, r: &SrbReference, plan: &HorizonPlan) -> Result<(), MpcError> {
        let x0v = x0.to_vec();
        let ref_ok = r.v_body.iter().all(|v| v.is_finite())
            && r.yaw_rate.is_finite()
            && r.height.is_finite()
            && r.ground_z.is_finite();
        if !ref_ok || !x0v.iter().all(|v| v.is_finite()) {
            return Err(MpcError::Input("non-finite state or reference".into()));
        }
        self.fill_models(x0, r, plan)?;
        self.x0 = x0v;
        let mut nz = std::mem::take(&mut self.problem.a.nzval);
        let mut idx = 0;
        let slots = &self.slots;
        self.emit_a(&mut |_, _, v| {
            nz[slots[idx]] = v;
            idx += 1;
        });
        self.problem.a.nzval = nz;
        self.fill_vectors(x0, plan);
        self.solver.update_matrices(None, Some(&self.problem.a.nzval)).map_err(MpcError::Qp)?;
        self.solver.update_q(&self.problem.q).map_err(MpcError::Qp)?;
        self.solver.update_bounds(&self.problem.l, &self.problem.u).map_err(MpcError::Qp)?;
        Ok(())
    }

    /// Solves the current QP, warm-started from the previous accepted solution shifted by
    /// one step (primal; see [`Self::set_warm_start_duals`] for the duals). Returns the raw solution; use [`Self::accept`] to turn it into forces.
    pub fn solve(&mut self) -> Result<&Solution, MpcError> {
        if self.have_warm {
            if self.warm_rollout {
                self.roll_out_warm_start();
            }
            let y = if self.warm_duals { Some(&self.warm_y[..]) } else { None };
            self.solver.warm_start(Some(&self.warm_x), y).map_err(MpcError::Qp)?;
        }
        let sol = self.solver.solve().map_err(MpcError::Qp)?;
        self.last = Some(sol);
        Ok(self.last.as_ref().expect("just set"))
    }

    /// Checks the last solution (finite, solved or nearly so with primal residual ≤
    /// `max_prim`), stores its shifted copy as the next warm start and returns the first-step
    /// forces, projected onto the friction pyramid and force bounds to remove solver
    /// tolerance (at most `max_prim` body weights).
    pub fn accept(&mut self, max_prim: f64) -> Result<MpcOutput, MpcError> {
        let nk = self.cfg.horizon;
        let sol = self.last.as_ref().ok_or(MpcError::Input("no solution yet".into()))?;
        let good_status = sol.status.is_solved()
            || (matches!(sol.status, crate::qp::Status::MaxIterations | crate::qp::Status::TimeLimit)
                && sol.residuals.prim <= max_prim);
        if !good_status || sol.x.len() != self.n() || !sol.x.iter().all(|v| v.is_finite()) {
            self.have_warm = false;
            return Err(MpcError::NotSolved(sol.status));
        }
        let (n, m) = (self.n(), self.m());
        // Shift by one step: x_{k+1} <- x_{k+2}, u_k <- u_{k+1}; last kept.
        for k in 0..nk {
            let src = (k + 1).min(nk - 1);
            for i in 0..NX {
                self.warm_x[k * NX + i] = sol.x[src * NX + i];
            }
            for i in 0..NU {
                self.warm_x[nk * NX + k * NU + i] = sol.x[nk * NX + src * NU + i];
            }
        }
        if sol.y.len() == m && sol.y.iter().all(|v| v.is_finite()) {
            for k in 0..nk {
                let src = (k + 1).min(nk - 1);
                for i in 0..NX {
                    self.warm_y[k * NX + i] = sol.y[src * NX + i];
                }
                for i in 0..4 * NF {
                    self.warm_y[nk * NX + k * 4 * NF + i] = sol.y[nk * NX + src * 4 * NF + i];
                }
            }
        } else {
            self.warm_y.iter_mut().for_each(|v| *v = 0.0);
        }
        debug_assert_eq!(self.warm_x.len(), n);
        self.have_warm = true;
        let mg = self.cfg.weight();
        let u_max_row = |i: usize| self.problem.u[self.force_row(0, i)];
        let mut forces = [[0.0; 3]; 4];
        for i in 0..4 {
            let c = self.u_offset(0) + 3 * i;
            let fz = sol.x[c + 2].clamp(0.0, u_max_row(i).max(0.0));
            let lim = self.cfg.mu * fz;
            forces[i] = [sol.x[c].clamp(-lim, lim) * mg, sol.x[c + 1].clamp(-lim, lim) * mg, fz * mg];
        }
        let mut next_state = [0.0; NX];
        next_state.copy_from_slice(&sol.x[0..NX]);
        Ok(MpcOutput { forces, next_state })
    }

    /// Whether the shifted duals are passed with the warm start. Default false: only the
    /// shifted primal goes to the solver, which keeps its own (unshifted) duals — on the
    /// recorded trot sequence this took PIPG from 289 to 278 mean iterations and the spiking
    /// solver (float, constant ω) from 219 to 184 (p99 450 → 375); OSQP is unaffected.
    pub fn set_warm_start_duals(&mut self, on: bool) {
        self.warm_duals = on;
    }

    /// Whether the warm start's states are rolled out from the new initial state (default
    /// true): the shifted inputs are projected onto this QP's force bounds and friction
    /// pyramid and the states recomputed with this QP's models, so the warm start satisfies
    /// every dynamics and force row exactly and only optimality is left to the solver. The
    /// shifted states alone miss the new measured state and the new models; with them the
    /// spiking solver's primal residual starts at ≈ 4e-2 and dominates its iterations.
    pub fn set_warm_start_rollout(&mut self, on: bool) {
        self.warm_rollout = on;
    }

    /// Projects the warm start's inputs onto the current force rows and recomputes its states
    /// from `x0` through the current models (see [`Self::set_warm_start_rollout`]).
    fn roll_out_warm_start(&mut self) {
        let nk = self.cfg.horizon;
        let mu = self.cfg.mu;
        let mut x = self.x0;
        for k in 0..nk {
            let off = self.u_offset(k);
            for i in 0..4 {
                let r = self.force_row(k, i);
                let c = off + 3 * i;
                let fz = self.warm_x[c + 2].clamp(self.problem.l[r].max(0.0), self.problem.u[r].max(0.0));
                let lim = mu * fz;
                self.warm_x[c] = self.warm_x[c].clamp(-lim, lim);
                self.warm_x[c + 1] = self.warm_x[c + 1].clamp(-lim, lim);
                self.warm_x[c + 2] = fz;
            }
            let u = nalgebra::SVector::<f64, NU>::from_column_slice(&self.warm_x[off..off + NU]);
            x = self.ad[k] * x + self.bd[k] * u;
            let xo = self.x_offset(k);
            self.warm_x[xo..xo + NX].copy_from_slice(x.as_slice());
        }
    }

    /// Drops the warm start (e.g. after a fallback).
    pub(crate) fn reset_warm_start(&mut self) {
        self.have_warm = false;
    }

    /// Reference state at step k (0..=N).
    pub fn reference(&self, k: usize) -> &StateVec {
        &self.x_ref[k]
    }
}
