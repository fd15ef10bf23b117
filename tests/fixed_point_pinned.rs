//! The Loihi 2 fixed-point network is pinned bit for bit: the iterates (x, y after every
//! solve), iteration counts, statuses and every operation counter (timesteps, messages,
//! synaptic operations, saturations, …) of a set of fixed-point solves hash to the values
//! captured from the simulator before its integer kernels were written (commit 1aae4de),
//! captured again when the attempts discarded after a saturation came to count in the
//! reported iterations and in the one `max_iter` budget (a retry gets what is left of it).
//! Any change of the simulator that changes one result bit fails here.
//!
//! Cases: small generated QPs (PIPG and HPDHG methods, 1–3 weight planes, θ > 0 so that
//! sparse delivery and held-back messages run, a narrow profile that saturates and retries),
//! lava-optimization's ANYmal QP, and two closed-loop MPC sequences recorded from the
//! quadruped and arm MPCs into `tests/data/pinned_*_mpc.npz` (setup, then per step new
//! matrices, q and bounds, and a warm-started solve, as the controllers run).
//!
//! `cargo test --test fixed_point_pinned -- --ignored record_mpc_sequences` rewrites the two
//! data files from the current MPCs (then the pinned hashes must be captured again from a
//! simulator known to be right).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use spikectl::lab::generate::Family;
use spikectl::neuro::{Arith, FixedProfile, OpCounts, ThetaSchedule};
use spikectl::qp::npz::{NpyArray, NpyData, load_problem, read_npz, write_npz};
use spikectl::qp::pipg::PipgOptions;
use spikectl::qp::spiking::{NetMethod, SpikingSettings, SpikingSolver};
use spikectl::qp::{CscMatrix, Problem, QpSolver, Settings, Solution};

/// FNV-1a over 64-bit words.
struct Hash(u64);

thread_local! {
    /// Every hashed solve's counts, summed: what the cases exercised.
    static EXERCISED: std::cell::RefCell<(OpCounts, usize)> = std::cell::RefCell::new((OpCounts::default(), 0));
}

impl Hash {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn word(&mut self, w: u64) {
        for b in w.to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn floats(&mut self, v: &[f64]) {
        self.word(v.len() as u64);
        v.iter().for_each(|x| self.word(x.to_bits()));
    }
    fn counts(&mut self, c: &OpCounts) {
        for w in [
            c.timesteps,
            c.neuron_updates,
            c.messages,
            c.synops,
            c.bits_moved,
            c.readouts,
            c.overflows,
            c.idle_neuron_updates,
            c.potential_messages,
            c.msg_saturations,
            c.readout_checks,
        ] {
            self.word(w);
        }
    }
    fn solution(&mut self, s: &Solution) {
        self.floats(&s.x);
        self.floats(&s.y);
        self.word(s.iterations as u64);
        self.word(s.status as u64);
        self.word(s.objective.to_bits());
        let ops = s.ops.expect("network solves count operations");
        self.counts(&ops);
        EXERCISED.with(|e| {
            let mut e = e.borrow_mut();
            e.0.accumulate(&ops);
            e.1 += s.iterations;
        });
    }
}

/// One recorded MPC step: the full problem data.
struct Step {
    p: Vec<f64>,
    a: Vec<f64>,
    q: Vec<f64>,
    l: Vec<f64>,
    u: Vec<f64>,
}

fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn ints(v: &[usize]) -> NpyArray {
    NpyArray { shape: vec![v.len()], data: NpyData::I64(v.iter().map(|&x| x as i64).collect()) }
}

fn usizes(m: &BTreeMap<String, NpyArray>, k: &str) -> Vec<usize> {
    match &m[k].data {
        NpyData::I64(v) => v.iter().map(|&x| x as usize).collect(),
        other => panic!("{k}: {other:?}"),
    }
}

fn floats(m: &BTreeMap<String, NpyArray>, k: &str) -> Vec<f64> {
    m[k].to_f64(k).unwrap()
}

/// Writes the base problem's pattern and every step's values.
fn save_sequence(path: &Path, base: &Problem, steps: &[Step]) {
    let mut m = BTreeMap::new();
    m.insert("dims".into(), ints(&[base.n(), base.m(), steps.len()]));
    m.insert("p_colptr".into(), ints(&base.p.colptr));
    m.insert("p_rowval".into(), ints(&base.p.rowval));
    m.insert("a_colptr".into(), ints(&base.a.colptr));
    m.insert("a_rowval".into(), ints(&base.a.rowval));
    for (k, s) in steps.iter().enumerate() {
        for (name, v) in [("p", &s.p), ("a", &s.a), ("q", &s.q), ("l", &s.l), ("u", &s.u)] {
            m.insert(format!("{name}{k}"), NpyArray::f64(vec![v.len()], v.clone()));
        }
    }
    write_npz(path, &m).unwrap();
}

/// The first problem of a recorded sequence and the data of every step.
fn load_sequence(path: &Path) -> (Problem, Vec<Step>) {
    let m = read_npz(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dims = usizes(&m, "dims");
    let (n, mm, count) = (dims[0], dims[1], dims[2]);
    let steps: Vec<Step> = (0..count)
        .map(|k| Step {
            p: floats(&m, &format!("p{k}")),
            a: floats(&m, &format!("a{k}")),
            q: floats(&m, &format!("q{k}")),
            l: floats(&m, &format!("l{k}")),
            u: floats(&m, &format!("u{k}")),
        })
        .collect();
    let p = CscMatrix {
        nrows: n,
        ncols: n,
        colptr: usizes(&m, "p_colptr"),
        rowval: usizes(&m, "p_rowval"),
        nzval: steps[0].p.clone(),
    };
    let a = CscMatrix {
        nrows: mm,
        ncols: n,
        colptr: usizes(&m, "a_colptr"),
        rowval: usizes(&m, "a_rowval"),
        nzval: steps[0].a.clone(),
    };
    let pb = Problem::new(p, steps[0].q.clone(), a, steps[0].l.clone(), steps[0].u.clone()).unwrap();
    (pb, steps)
}

/// Solves every step of a sequence on one solver (warm-started from the previous step, as an
/// MPC does); returns the hash of every solution.
fn run_sequence(ss: SpikingSettings, pb: &Problem, steps: &[Step], s: &Settings) -> u64 {
    let mut h = Hash::new();
    let mut sp = SpikingSolver::new(ss);
    sp.setup(pb, s).unwrap();
    for (k, st) in steps.iter().enumerate() {
        if k > 0 {
            sp.update_matrices(Some(&st.p), Some(&st.a)).unwrap();
            sp.update_q(&st.q).unwrap();
            sp.update_bounds(&st.l, &st.u).unwrap();
        }
        h.solution(&sp.solve().unwrap());
    }
    h.0
}

/// One cold solve, then a second solve of the same problem (warm from the first).
fn run_cold(ss: SpikingSettings, pb: &Problem, s: &Settings) -> u64 {
    let mut h = Hash::new();
    let mut sp = SpikingSolver::new(ss);
    sp.setup(pb, s).unwrap();
    h.solution(&sp.solve().unwrap());
    h.solution(&sp.solve().unwrap());
    h.0
}

fn mpc_like(arith: Arith, omega: f64) -> SpikingSettings {
    let s = SpikingSettings { arith, ..SpikingSettings::default() }.constant(omega, 1.9);
    SpikingSettings { pipg: PipgOptions { warm_ruiz_passes: Some(2), ..s.pipg.clone() }, ..s }
}

fn loihi2(planes: u32) -> Arith {
    SpikingSettings::loihi2(planes).arith
}

/// (name, hash) of every case.
fn hashes() -> Vec<(&'static str, u64)> {
    let mut out = Vec::new();
    let lo = |max_iter| Settings { eps_abs: 1e-3, eps_rel: 0.0, max_iter, warm_start: true, ..Settings::default() };
    let mixed = Family::RandomMixed.generate(20, 5);
    for planes in [1, 2, 3] {
        let ss = SpikingSettings { arith: loihi2(planes), ..SpikingSettings::default() };
        out.push((
            ["mixed20 pipg p1", "mixed20 pipg p2", "mixed20 pipg p3"][planes as usize - 1],
            run_cold(ss, &mixed, &lo(600)),
        ));
    }
    let plain1 = SpikingSettings { arith: Arith::Fixed(FixedProfile::LOIHI2), ..SpikingSettings::default() };
    out.push(("mixed20 pipg plain-profile", run_cold(plain1, &mixed, &lo(400))));
    let theta = ThetaSchedule { theta0: 0.05, halve_every: 40, min: 0.0 };
    let ss = SpikingSettings { arith: loihi2(2), theta, ..SpikingSettings::default() };
    out.push(("mixed20 pipg p2 theta", run_cold(ss, &mixed, &lo(600))));
    let ss = SpikingSettings { arith: loihi2(3), theta, ..SpikingSettings::default() }.with_method(NetMethod::Hpdhg);
    out.push(("mixed20 hpdhg p3 theta", run_cold(ss, &mixed, &lo(800))));
    let ss = SpikingSettings { arith: loihi2(3), ..SpikingSettings::default() }.with_method(NetMethod::Hpdhg);
    out.push(("box20 hpdhg p3 (fista)", run_cold(ss.clone(), &Family::Box.generate(20, 6), &lo(800))));
    out.push(("mpc6 hpdhg p3", run_cold(ss, &Family::Mpc.generate(6, 2), &lo(800))));
    // A state too narrow for the problem: saturations, range retries.
    let prof = FixedProfile { state_bits: 10, msg_bits: 8, carry_shift_remainder: true, ..FixedProfile::LOIHI2 };
    let ss = SpikingSettings { arith: Arith::Fixed(prof), headroom_bits: -6, ..SpikingSettings::default() };
    out.push(("mixed10 narrow saturating", run_cold(ss, &Family::RandomMixed.generate(10, 1), &lo(300))));
    // lava-optimization's ANYmal QP (as `tests/lava_anymal.rs`), PIPG and HPDHG networks.
    let lava = load_problem(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/qp/lava_anymal/problem.npz"))
        .expect("the lava ANYmal QP loads");
    let ss = SpikingSettings { arith: loihi2(3), ..SpikingSettings::default() };
    out.push(("lava anymal pipg p3", run_cold(ss.clone(), &lava, &lo(300))));
    out.push(("lava anymal hpdhg p3", run_cold(ss.with_method(NetMethod::Hpdhg), &lava, &lo(300))));

    let mpc = Settings { eps_abs: 1e-3, eps_rel: 1e-3, max_iter: 400, ..Settings::default() };
    let (pb, steps) = load_sequence(&data_path("pinned_quadruped_mpc.npz"));
    out.push(("quadruped mpc p3", run_sequence(mpc_like(loihi2(3), 0.4), &pb, &steps, &mpc)));
    out.push(("quadruped mpc p1", run_sequence(mpc_like(loihi2(1), 0.4), &pb, &steps, &mpc)));
    let ss = mpc_like(loihi2(3), 0.4).with_method(NetMethod::Hpdhg);
    out.push(("quadruped mpc hpdhg p3", run_sequence(ss, &pb, &steps, &mpc)));
    let (pb, steps) = load_sequence(&data_path("pinned_arm_mpc.npz"));
    out.push(("arm mpc p3", run_sequence(mpc_like(loihi2(3), 2.0), &pb, &steps, &mpc)));
    out.push(("arm mpc p2", run_sequence(mpc_like(loihi2(2), 2.0), &pb, &steps, &mpc)));
    out
}

/// Captured on commit 1aae4de (f64 emulation of the fixed point), before the integer kernels;
/// the HPDHG cases again on efbe69a (the method's proximal diagonal and restarts, still the f64
/// emulation), which the integer kernels reproduce. The four HPDHG cases that saturate and
/// retry were captured again on branch `solverz` (issue 18): a retry of the HPDHG method now
/// widens the range of the population whose step saturated (solution or constraint neurons),
/// not both; with both widened, as before, every case still gives its previous hash.
const PINNED: &[(&str, u64)] = &[
    ("mixed20 pipg p1", 0x6c09cc5450b9541e),
    ("mixed20 pipg p2", 0xbb8b7facda95cdd7),
    ("mixed20 pipg p3", 0x0d150fe173aa4dd9),
    ("mixed20 pipg plain-profile", 0x89a7961a7dc97507),
    ("mixed20 pipg p2 theta", 0x77ff89eb3ea65446),
    ("mixed20 hpdhg p3 theta", 0x630ff0be97c6a8ac),
    ("box20 hpdhg p3 (fista)", 0x40e96f4862427918),
    ("mpc6 hpdhg p3", 0xed7c606fa03009bd),
    ("mixed10 narrow saturating", 0xf86f04e0caf0daaa),
    ("lava anymal pipg p3", 0x091486c74c2a9850),
    ("lava anymal hpdhg p3", 0x6f73c068b25ff41c),
    ("quadruped mpc p3", 0x20ae9361e0a5b77d),
    ("quadruped mpc p1", 0xba0cbd3b5229160a),
    ("quadruped mpc hpdhg p3", 0x0912c7270e95c064),
    ("arm mpc p3", 0x043acc91e7af4110),
    ("arm mpc p2", 0xe63164707c8e103f),
];

#[test]
fn fixed_point_results_are_bit_identical_to_the_pinned_ones() {
    let got = hashes();
    for (name, h) in &got {
        eprintln!("    (\"{name}\", 0x{h:016x}),");
    }
    // The cases reach every part of the fixed-point simulation: saturated sums and payloads,
    // held-back messages (θ > 0: sparse delivery), many iterations.
    let (ops, iters) = EXERCISED.with(|e| *e.borrow());
    eprintln!("exercised: {iters} iterations, {ops:?}");
    assert!(ops.overflows > 0 && ops.msg_saturations > 0, "{ops:?}");
    assert!(ops.messages < ops.potential_messages && iters > 5000, "{ops:?}");
    assert_eq!(got.len(), PINNED.len(), "case list changed");
    let bad: Vec<_> = got.iter().zip(PINNED).filter(|(g, p)| g != p).map(|(g, _)| g.0).collect();
    assert!(bad.is_empty(), "results differ from the pinned ones in: {bad:?}");
}

/// Records the quadruped (trot) and arm (force ramp) MPC sequences from closed loops run
/// with Clarabel (see the module docs).
#[test]
#[ignore]
fn record_mpc_sequences() {
    use spikectl::control::arm::ArmControllerConfig;
    use spikectl::lab::mpc_sim::{arm_closed_loop, quadruped_closed_loop};
    use spikectl::mpc::arm::{ArmMpc, ArmMpcConfig, ContactEstimator};
    use spikectl::mpc::quadruped::{QuadrupedMpc, QuadrupedMpcConfig};
    use spikectl::qp::ClarabelSolver;
    let tight = Settings { eps_abs: 1e-8, eps_rel: 1e-8, max_iter: 100_000, ..Settings::default() };
    let step = |pb: &Problem| Step {
        p: pb.p.nzval.clone(),
        a: pb.a.nzval.clone(),
        q: pb.q.clone(),
        l: pb.l.clone(),
        u: pb.u.clone(),
    };
    // Quadruped: samples 8..14 (the trot has started at 0.2 s).
    let cfg = QuadrupedMpcConfig { settings: tight.clone(), ..QuadrupedMpcConfig::go1() };
    let mut gen_mpc = QuadrupedMpc::new(cfg.clone(), Box::new(ClarabelSolver::new())).unwrap();
    let (samples, _) = quadruped_closed_loop(&mut gen_mpc, 14, 0.4).unwrap();
    let mut mpc = QuadrupedMpc::new(cfg, Box::new(ClarabelSolver::new())).unwrap();
    let mut steps = Vec::new();
    let mut base = None;
    for s in &samples[8..] {
        mpc.update(&s.state, &s.reference, &s.plan).unwrap();
        base.get_or_insert_with(|| mpc.problem().clone());
        steps.push(step(mpc.problem()));
    }
    save_sequence(&data_path("pinned_quadruped_mpc.npz"), &base.unwrap(), &steps);
    // Arm: the first 6 samples of the force-regulation sequence.
    let ctl = ArmControllerConfig::default();
    let est = ContactEstimator::new(ctl.k_trans[2], ctl.d_trans[2]).model();
    let cfg = ArmMpcConfig { settings: tight, ..ArmMpcConfig::default() };
    let mut gen_mpc = ArmMpc::new(cfg.clone(), est, Box::new(ClarabelSolver::new())).unwrap();
    let samples = arm_closed_loop(&mut gen_mpc, 40, ctl.k_trans, ctl.d_trans).unwrap();
    let mut mpc = ArmMpc::new(cfg, est, Box::new(ClarabelSolver::new())).unwrap();
    let mut steps = Vec::new();
    let mut base = None;
    for s in samples.iter().step_by(6).take(6) {
        mpc.update(&s.state, &s.reference, &s.model).unwrap();
        base.get_or_insert_with(|| mpc.problem().clone());
        steps.push(step(mpc.problem()));
    }
    save_sequence(&data_path("pinned_arm_mpc.npz"), &base.unwrap(), &steps);
}
