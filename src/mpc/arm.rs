//! Force/admittance MPC for the arm's tool in contact with a flat surface (normal = world z),
//! with a contact model estimated online.
//!
//! The MPC plans the motion of a **virtual command point** `c` that an impedance law makes
//! the tool follow. Along the normal, its height relative to the estimated surface is
//! `e = c_z − z_s`; the contact force is modelled as `F = −k e − d ċ_z + b`, where `k` and
//! `d` are the effective stiffness and damping seen from the command point (environment in
//! series with the impedance) and `b` an offset (disturbance) estimate — all three come
//! from the wrench sensor ([`ContactEstimator`]). Tangential motion (x, y) is a double
//! integrator tracking a commanded velocity or a target point.
//!
//! Per step k = 1..N: state `s_k = [e, ċ_z, c_x, ċ_x, c_y, ċ_y]`, force `F_k`; inputs
//! `a_{k−1}` (command-point acceleration, 3). Variables `[s_1..s_N, F_1..F_N, a_0..a_{N−1}]`
//! (n = 10 N). Rows: dynamics (6N), force model `F_k + k e_k + d ċ_{z,k} = b` (N, values of
//! k and d change), then per step boxes on e, velocities, workspace, force and
//! acceleration (10N). The pattern never changes; velocity and force limits of the first
//! steps are widened to what the current state can reach, so the QP stays feasible.

use spikectl_robot::robots::ARM_SCENE;

use super::MpcError;
use crate::qp::{CscMatrix, INFTY, Problem, QpSolver, Settings, Solution, Status};

const NS: usize = 6;
const NA: usize = 3;
const NB: usize = 10;

/// Arm MPC tuning and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmMpcConfig {
    /// Horizon N (steps).
    pub horizon: usize,
    /// Step [s].
    pub dt: f64,
    /// Largest contact force [N].
    pub f_max: f64,
    /// Largest tangential command speed per axis [m/s].
    pub v_max_tangent: f64,
    /// Largest normal command speed [m/s].
    pub v_max_normal: f64,
    /// Largest command acceleration per axis [m/s²].
    pub a_max: f64,
    /// Workspace box for the command point (x_min, x_max, y_min, y_max) [m].
    pub workspace_xy: [f64; 4],
    /// How far the command point may go below / above the estimated surface [m].
    pub e_range: [f64; 2],
    /// Weight on force error [1/N²].
    pub w_force: f64,
    /// Weight on tangential velocity error [s²/m²].
    pub w_vel: f64,
    /// Weight on tangential position error [1/m²].
    pub w_pos: f64,
    /// Weight on normal velocity [s²/m²].
    pub w_vz: f64,
    /// Weight on e [1/m²] (keeps the command point near the surface when the force term is flat).
    pub w_e: f64,
    /// Weight on acceleration [s⁴/m²].
    pub w_acc: f64,
    /// Solver settings at setup.
    pub settings: Settings,
}

impl Default for ArmMpcConfig {
    fn default() -> Self {
        let s = ARM_SCENE;
        let m = 0.05;
        Self {
            horizon: 15,
            dt: 0.01,
            f_max: 40.0,
            v_max_tangent: 0.15,
            v_max_normal: 0.05,
            a_max: 3.0,
            workspace_xy: [
                (s.table_center[0] - s.table_half_size[0] + m).max(0.3),
                (s.table_center[0] + s.table_half_size[0] - m).min(0.75),
                (s.table_center[1] - s.table_half_size[1] + m).max(-0.35),
                (s.table_center[1] + s.table_half_size[1] - m).min(0.35),
            ],
            e_range: [-0.05, 0.02],
            w_force: 1.0,
            w_vel: 20.0,
            w_pos: 200.0,
            w_vz: 5.0,
            w_e: 10.0,
            w_acc: 0.1,
            settings: Settings::default(),
        }
    }
}

/// Contact model parameters used by the MPC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContactModel {
    /// Effective stiffness k [N/m].
    pub stiffness: f64,
    /// Effective damping d [N·s/m].
    pub damping: f64,
    /// Force offset b [N].
    pub offset: f64,
}

/// Recursive least squares for `F = k·(−e) + d·(−ċ_z)` with exponential forgetting,
/// bounded parameters and a bounded covariance, plus a low-pass offset estimate `b` of the
/// remaining residual (offset-free tracking). Parameters are normalised by the priors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContactEstimator {
    k0: f64,
    d0: f64,
    theta: [f64; 2],
    p: [[f64; 2]; 2],
    /// Forgetting factor λ ∈ (0, 1].
    pub forgetting: f64,
    /// Bounds on k [N/m].
    pub k_bounds: [f64; 2],
    /// Bounds on d [N·s/m].
    pub d_bounds: [f64; 2],
    /// Offset estimate b [N].
    pub offset: f64,
    /// Offset low-pass gain per update, in (0, 1].
    pub offset_gain: f64,
}

impl ContactEstimator {
    /// Starts from priors k0 [N/m] and d0 [N·s/m] (normalised covariance 0.1: the prior is
    /// trusted, data refine it); bounds are [k0/5, 5 k0] and [d0/5, 5 d0].
    pub fn new(k0: f64, d0: f64) -> Self {
        let d0 = d0.max(1e-3);
        Self {
            k0,
            d0,
            theta: [1.0, 1.0],
            p: [[0.1, 0.0], [0.0, 0.1]],
            forgetting: 0.998,
            k_bounds: [k0 / 5.0, k0 * 5.0],
            d_bounds: [d0 / 5.0, 5.0 * d0],
            offset: 0.0,
            offset_gain: 0.02,
        }
    }

    /// Current model.
    pub fn model(&self) -> ContactModel {
        ContactModel { stiffness: self.theta[0] * self.k0, damping: self.theta[1] * self.d0, offset: self.offset }
    }

    /// Model force for command-point height `e` [m] and normal velocity `vz` [m/s].
    pub(crate) fn predict(&self, e: f64, vz: f64) -> f64 {
        let m = self.model();
        -m.stiffness * e - m.damping * vz + m.offset
    }

    /// One update with a measured normal force `f` [N]. Non-finite input is ignored.
    pub fn update(&mut self, e: f64, vz: f64, f: f64) {
        if !(e.is_finite() && vz.is_finite() && f.is_finite()) {
            return;
        }
        let phi = [-e * self.k0, -vz * self.d0];
        let y = f - self.offset;
        let pphi = [self.p[0][0] * phi[0] + self.p[0][1] * phi[1], self.p[1][0] * phi[0] + self.p[1][1] * phi[1]];
        let denom = self.forgetting + phi[0] * pphi[0] + phi[1] * pphi[1];
        if denom > 1e-12 && (phi[0].abs() + phi[1].abs()) > 1e-6 {
            let gain = [pphi[0] / denom, pphi[1] / denom];
            let err = y - (phi[0] * self.theta[0] + phi[1] * self.theta[1]);
            for i in 0..2 {
                self.theta[i] += gain[i] * err;
            }
            for i in 0..2 {
                for j in 0..2 {
                    self.p[i][j] = (self.p[i][j] - gain[i] * pphi[j]) / self.forgetting;
                }
            }
            // Bounded covariance (no wind-up without excitation).
            let tr = self.p[0][0] + self.p[1][1];
            if tr > 1.0 || !tr.is_finite() {
                let s = if tr.is_finite() { 1.0 / tr } else { 0.0 };
                for row in self.p.iter_mut() {
                    for v in row.iter_mut() {
                        *v *= s;
                    }
                }
                if s == 0.0 {
                    self.p = [[0.1, 0.0], [0.0, 0.1]];
                }
            }
        }
        self.theta[0] = self.theta[0].clamp(self.k_bounds[0] / self.k0, self.k_bounds[1] / self.k0);
        self.theta[1] = self.theta[1].clamp(self.d_bounds[0] / self.d0, self.d_bounds[1] / self.d0);
        let resid = f - self.predict(e, vz);
        self.offset += self.offset_gain * resid;
        self.offset = self.offset.clamp(-50.0, 50.0);
    }
}

/// Desired behaviour in contact.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArmReference {
    /// Normal force to hold [N].
    pub force: f64,
    /// Tangential velocity (x, y) [m/s] (used when `target_xy` is `None`).
    pub tangent_velocity: [f64; 2],
    /// Tangential target point [m].
    pub target_xy: Option<[f64; 2]>,
}

/// Initial state of the command point for the MPC.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArmMpcState {
    /// Height above the estimated surface [m].
    pub e: f64,
    /// Velocity (x, y, z) [m/s].
    pub vel: [f64; 3],
    /// Position (x, y) [m].
    pub xy: [f64; 2],
}

/// First-step output of the arm MPC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmMpcOutput {
    /// Command-point acceleration (x, y, z) to apply over the next step [m/s²].
    pub acc: [f64; 3],
    /// Predicted force after one step [N].
    pub force_next: f64,
}

/// The arm MPC (see the module docs).
pub struct ArmMpc {
    cfg: ArmMpcConfig,
    solver: Box<dyn QpSolver>,
    problem: Problem,
    slots: Vec<usize>,
    model: ContactModel,
    warm_x: Vec<f64>,
    warm_y: Vec<f64>,
    have_warm: bool,
    last: Option<Solution>,
    /// Initial state of the current QP, in the order of `s`.
    s0: [f64; NS],
}

impl ArmMpc {
    /// Builds the QP (nominal contact model `model`) and sets the solver up.
    pub fn new(cfg: ArmMpcConfig, model: ContactModel, solver: Box<dyn QpSolver>) -> Result<Self, MpcError> {
        let ok = cfg.horizon >= 2
            && cfg.horizon <= 200
            && cfg.dt > 0.0
            && cfg.f_max > 0.0
            && cfg.v_max_tangent > 0.0
            && cfg.v_max_normal > 0.0
            && cfg.a_max > 0.0
            && cfg.workspace_xy[0] < cfg.workspace_xy[1]
            && cfg.workspace_xy[2] < cfg.workspace_xy[3]
            && cfg.e_range[0] < cfg.e_range[1]
            && [cfg.w_force, cfg.w_vel, cfg.w_pos, cfg.w_vz, cfg.w_e, cfg.w_acc].iter().all(|w| *w > 0.0);
        if !ok {
            return Err(MpcError::Config("arm MPC configuration out of range".into()));
        }
        let nk = cfg.horizon;
        let (n, m) = (nk * (NS + 1 + NA), nk * (NS + 1 + NB));
        let mut me = Self {
            solver,
            problem: Problem {
                p: CscMatrix::zeros(n, n),
                q: vec![0.0; n],
                a: CscMatrix::zeros(m, n),
                l: vec![0.0; m],
                u: vec![0.0; m],
            },
            slots: Vec::new(),
            model,
            warm_x: vec![0.0; n],
            warm_y: vec![0.0; m],
            have_warm: false,
            last: None,
            s0: [0.0; NS],
            cfg,
        };
        let mut trip = Vec::new();
        me.emit_a(&mut |r, c, v| trip.push((r, c, v)));
        let a = CscMatrix::from_triplets(m, n, &trip).map_err(crate::qp::QpError::from)?;
        if a.nnz() != trip.len() {
            return Err(MpcError::Config("duplicate entries in the arm MPC pattern".into()));
        }
        for &(r, c, _) in &trip {
            let range = a.colptr[c]..a.colptr[c + 1];
            let k = a.rowval[range.clone()].binary_search(&r).map_err(|_| MpcError::Config("pattern lookup".into()))?;
            me.slots.push(range.start + k);
        }
        let c = &me.cfg;
        let mut pd = Vec::with_capacity(n);
        for _ in 0..nk {
            pd.extend_from_slice(&[c.w_e, c.w_vz, c.w_pos, c.w_vel, c.w_pos, c.w_vel]);
        }
        pd.extend(std::iter::repeat_n(c.w_force, nk));
        pd.extend(std::iter::repeat_n(c.w_acc, nk * NA));
        me.problem.p = CscMatrix { nrows: n, ncols: n, colptr: (0..=n).collect(), rowval: (0..n).collect(), nzval: pd };
        me.problem.a = a;
        me.fill_vectors(&ArmMpcState::default(), &ArmReference::default());
        me.problem.validate()?;
        me.solver.setup(&me.problem, &me.cfg.settings)?;
        Ok(me)
    }

    /// Configuration.
    pub fn config(&self) -> &ArmMpcConfig {
        &self.cfg
    }
    /// The current QP.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
    /// Solver name.
    pub(crate) fn solver_name(&self) -> &'static str {
        self.solver.name()
    }
    /// Last solution.
    pub fn last_solution(&self) -> Option<&Solution> {
        self.last.as_ref()
    }
    /// Column of the force variable F_{k+1}.
    pub(crate) fn force_col(&self, k: usize) -> usize {
        self.cfg.horizon * NS + k
    }
    /// Column of s_{k+1}.
    pub(crate) fn state_col(&self, k: usize) -> usize {
        k * NS
    }
    /// Column of a_k.
    pub fn acc_col(&self, k: usize) -> usize {
        self.cfg.horizon * (NS + 1) + k * NA
    }

    fn emit_a(&self, sink: &mut impl FnMut(usize, usize, f64)) {
        let nk = self.cfg.horizon;
        let dt = self.cfg.dt;
        for k in 0..nk {
            let r0 = k * NS;
            for axis in 0..3 {
                let (rp, rv) = (r0 + 2 * axis, r0 + 2 * axis + 1);
                // axis order in s: (e, vz), (x, vx), (y, vy); in a: (ax, ay, az) → map.
                let acol = self.acc_col(k) + [2, 0, 1][axis];
                sink(rp, self.state_col(k) + 2 * axis, 1.0);
                sink(rv, self.state_col(k) + 2 * axis + 1, 1.0);
                if k > 0 {
                    let pc = self.state_col(k - 1) + 2 * axis;
                    sink(rp, pc, -1.0);
                    sink(rp, pc + 1, -dt);
                    sink(rv, pc + 1, -1.0);
                }
                sink(rp, acol, -dt * dt / 2.0);
                sink(rv, acol, -dt);
            }
        }
        for k in 0..nk {
            let r = nk * NS + k;
            sink(r, self.force_col(k), 1.0);
            sink(r, self.state_col(k), self.model.stiffness);
            sink(r, self.state_col(k) + 1, self.model.damping);
        }
        for k in 0..nk {
            let r = nk * (NS + 1) + k * NB;
            for i in 0..NS {
                sink(r + i, self.state_col(k) + i, 1.0);
            }
            sink(r + NS, self.force_col(k), 1.0);
            for i in 0..NA {
                sink(r + NS + 1 + i, self.acc_col(k) + i, 1.0);
            }
        }
    }

    fn fill_vectors(&mut self, s0: &ArmMpcState, r: &ArmReference) {
        let c = &self.cfg;
        let nk = c.horizon;
        let dt = c.dt;
        let pr = &mut self.problem;
        // First dynamics row block: s_1 − B a_0 = A s_0.
        let s0v = [s0.e, s0.vel[2], s0.xy[0], s0.vel[0], s0.xy[1], s0.vel[1]];
        self.s0 = s0v;
        for axis in 0..3 {
            let (p, v) = (s0v[2 * axis], s0v[2 * axis + 1]);
            pr.l[2 * axis] = p + dt * v;
            pr.u[2 * axis] = p + dt * v;
            pr.l[2 * axis + 1] = v;
            pr.u[2 * axis + 1] = v;
        }
        for i in NS..nk * NS {
            pr.l[i] = 0.0;
            pr.u[i] = 0.0;
        }
        for k in 0..nk {
            pr.l[nk * NS + k] = self.model.offset;
            pr.u[nk * NS + k] = self.model.offset;
        }
        let f_ref = r.force.clamp(0.0, c.f_max);
        let ws = c.workspace_xy;
        for k in 0..nk {
            let t = (k + 1) as f64 * dt;
            let (xr, vxr, yr, vyr) = match r.target_xy {
                Some(tg) => (tg[0].clamp(ws[0], ws[1]), 0.0, tg[1].clamp(ws[2], ws[3]), 0.0),
                None => {
                    let vx = r.tangent_velocity[0].clamp(-c.v_max_tangent, c.v_max_tangent);
                    let vy = r.tangent_velocity[1].clamp(-c.v_max_tangent, c.v_max_tangent);
                    ((s0.xy[0] + vx * t).clamp(ws[0], ws[1]), vx, (s0.xy[1] + vy * t).clamp(ws[2], ws[3]), vy)
                }
            };
            let col = k * NS;
            pr.q[col] = 0.0;
            pr.q[col + 1] = 0.0;
            pr.q[col + 2] = -c.w_pos * xr;
            pr.q[col + 3] = -c.w_vel * vxr;
            pr.q[col + 4] = -c.w_pos * yr;
            pr.q[col + 5] = -c.w_vel * vyr;
            pr.q[nk * NS + k] = -c.w_force * f_ref;
            for i in 0..NA {
                pr.q[nk * (NS + 1) + k * NA + i] = 0.0;
            }
            // Boxes, widened to what the state can reach after k+1 steps at full deceleration.
            let reach = c.a_max * t;
            let row = nk * (NS + 1) + k * NB;
            let widen = |lo: f64, hi: f64, v0: f64| (lo.min(v0 + reach), hi.max(v0 - reach));
            let (vzl, vzu) = widen(-c.v_max_normal, c.v_max_normal, s0.vel[2]);
            let (vxl, vxu) = widen(-c.v_max_tangent, c.v_max_tangent, s0.vel[0]);
            let (vyl, vyu) = widen(-c.v_max_tangent, c.v_max_tangent, s0.vel[1]);
            // Position boxes widened by the distance needed to stop.
            let stop = |v: f64| v * v / (2.0 * c.a_max) + v.abs() * dt;
            let e_lo = c.e_range[0].min(s0.e - stop(s0.vel[2]) - 1e-3);
            let e_hi = c.e_range[1].max(s0.e + stop(s0.vel[2]) + 1e-3);
            let x_lo = ws[0].min(s0.xy[0] - stop(s0.vel[0]) - 1e-3);
            let x_hi = ws[1].max(s0.xy[0] + stop(s0.vel[0]) + 1e-3);
            let y_lo = ws[2].min(s0.xy[1] - stop(s0.vel[1]) - 1e-3);
            let y_hi = ws[3].max(s0.xy[1] + stop(s0.vel[1]) + 1e-3);
            let b = [(e_lo, e_hi), (vzl, vzu), (x_lo, x_hi), (vxl, vxu), (y_lo, y_hi), (vyl, vyu)];
            for i in 0..NS {
                pr.l[row + i] = b[i].0;
                pr.u[row + i] = b[i].1;
            }
            // Force: only an upper limit (the model force may go negative = lift-off), and not
            // on the first two steps, which the current state already determines.
            pr.l[row + NS] = -INFTY;
            pr.u[row + NS] = if k >= 2 { c.f_max } else { INFTY };
            for i in 0..NA {
                pr.l[row + NS + 1 + i] = -c.a_max;
                pr.u[row + NS + 1 + i] = c.a_max;
            }
        }
    }

    /// Loads a new state, reference and contact model into the QP and the solver.
    pub fn update(&mut self, s0: &ArmMpcState, r: &ArmReference, model: &ContactModel) -> Result<(), MpcError> {
        let finite = s0.e.is_finite()
            && s0.vel.iter().chain(&s0.xy).all(|v| v.is_finite())
            && r.force.is_finite()
            && r.tangent_velocity.iter().all(|v| v.is_finite())
            && r.target_xy.is_none_or(|t| t.iter().all(|v| v.is_finite()))
            && model.stiffness.is_finite()
            && model.damping.is_finite()
            && model.offset.is_finite();
        if !finite {
            return Err(MpcError::Input("non-finite arm MPC input".into()));
        }
        self.model = *model;
        let mut nz = std::mem::take(&mut self.problem.a.nzval);
        let mut idx = 0;
        let slots = &self.slots;
        self.emit_a(&mut |_, _, v| {
            nz[slots[idx]] = v;
            idx += 1;
        });
        self.problem.a.nzval = nz;
        self.fill_vectors(s0, r);
        self.solver.update_matrices(None, Some(&self.problem.a.nzval))?;
        self.solver.update_q(&self.problem.q)?;
        self.solver.update_bounds(&self.problem.l, &self.problem.u)?;
        Ok(())
    }

    /// Solves, warm-started from the previous accepted solution shifted by one step, its
    /// accelerations clamped to this QP's limits and its states and forces rolled out from
    /// the new initial state through this QP's dynamics and contact model (so the warm start
    /// satisfies every dynamics and force-model row exactly).
    pub fn solve(&mut self) -> Result<&Solution, MpcError> {
        if self.have_warm {
            self.roll_out_warm_start();
            self.solver.warm_start(Some(&self.warm_x), Some(&self.warm_y))?;
        }
        let sol = self.solver.solve()?;
        self.last = Some(sol);
        Ok(self.last.as_ref().expect("just set"))
    }

    fn roll_out_warm_start(&mut self) {
        let (nk, dt, am) = (self.cfg.horizon, self.cfg.dt, self.cfg.a_max);
        let mut st = self.s0;
        for k in 0..nk {
            let ac = self.acc_col(k);
            for i in 0..NA {
                self.warm_x[ac + i] = self.warm_x[ac + i].clamp(-am, am);
            }
            for axis in 0..3 {
                // s axis order (e, ż), (x, ẋ), (y, ẏ); a order (x, y, z).
                let a = self.warm_x[ac + [2, 0, 1][axis]];
                let (p, v) = (st[2 * axis], st[2 * axis + 1]);
                st[2 * axis] = p + dt * v + 0.5 * dt * dt * a;
                st[2 * axis + 1] = v + dt * a;
            }
            let sc = self.state_col(k);
            self.warm_x[sc..sc + NS].copy_from_slice(&st);
            let fc = self.force_col(k);
            self.warm_x[fc] = self.model.offset - self.model.stiffness * st[0] - self.model.damping * st[1];
        }
    }

    /// Validates the last solution, stores the shifted warm start and returns the first-step
    /// acceleration (clamped to the limits).
    pub fn accept(&mut self, max_prim: f64) -> Result<ArmMpcOutput, MpcError> {
        let nk = self.cfg.horizon;
        let n = self.problem.n();
        let m = self.problem.m();
        let sol = self.last.as_ref().ok_or(MpcError::Input("no solution yet".into()))?;
        let good = sol.status.is_solved()
            || (matches!(sol.status, Status::MaxIterations | Status::TimeLimit) && sol.residuals.prim <= max_prim);
        if !good || sol.x.len() != n || !sol.x.iter().all(|v| v.is_finite()) {
            self.have_warm = false;
            return Err(MpcError::NotSolved(sol.status));
        }
        let shift = |dst: &mut [f64], src: &[f64], base: usize, width: usize| {
            for k in 0..nk {
                let s = (k + 1).min(nk - 1);
                for i in 0..width {
                    dst[base + k * width + i] = src[base + s * width + i];
                }
            }
        };
        shift(&mut self.warm_x, &sol.x, 0, NS);
        shift(&mut self.warm_x, &sol.x, nk * NS, 1);
        shift(&mut self.warm_x, &sol.x, nk * (NS + 1), NA);
        if sol.y.len() == m && sol.y.iter().all(|v| v.is_finite()) {
            shift(&mut self.warm_y, &sol.y, 0, NS);
            shift(&mut self.warm_y, &sol.y, nk * NS, 1);
            shift(&mut self.warm_y, &sol.y, nk * (NS + 1), NB);
        } else {
            self.warm_y.iter_mut().for_each(|v| *v = 0.0);
        }
        self.have_warm = true;
        let a = self.acc_col(0);
        let am = self.cfg.a_max;
        Ok(ArmMpcOutput {
            acc: [sol.x[a].clamp(-am, am), sol.x[a + 1].clamp(-am, am), sol.x[a + 2].clamp(-am, am)],
            force_next: sol.x[self.force_col(0)],
        })
    }

    /// Drops the warm start.
    pub(crate) fn reset_warm_start(&mut self) {
        self.have_warm = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimator_recovers_stiffness_and_damping() {
        let (k, d) = (3000.0, 40.0);
        let mut est = ContactEstimator::new(1000.0, 20.0);
        for i in 0..2000 {
            let t = i as f64 * 0.002;
            let e = -0.005 - 0.002 * (7.0 * t).sin();
            let vz = -0.014 * (7.0 * t).cos() + 0.01 * (23.0 * t).sin();
            est.update(e, vz, -k * e - d * vz);
        }
        let m = est.model();
        assert!((m.stiffness - k).abs() / k < 0.02, "{m:?}");
        assert!((m.damping - d).abs() / d < 0.1, "{m:?}");
        assert!(m.offset.abs() < 0.5, "{m:?}");
    }

    #[test]
    fn estimator_stays_bounded_without_excitation_and_ignores_nan() {
        let mut est = ContactEstimator::new(1000.0, 20.0);
        for _ in 0..5000 {
            est.update(-0.01, 0.0, 1e6);
            est.update(f64::NAN, 0.0, 1.0);
        }
        let m = est.model();
        assert!(m.stiffness <= 20_000.0 + 1e-9 && m.stiffness >= 50.0 - 1e-9);
        assert!(m.offset.abs() <= 50.0 && m.damping.is_finite());
    }
}
