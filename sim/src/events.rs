//! Event-camera simulator: a 40 mm table-tennis ball in flight (gravity, quadratic air drag,
//! table bounce) seen by a pinhole camera and rendered as log-intensity change events the
//! ESIM/v2e way.
//!
//! Rendering model (per pixel, Rebecq et al. 2018 "ESIM"; Hu et al. 2021 "v2e"):
//! - linear intensity `I ∈ (0, 1]`: background `I_bg`, ball `I_ball`, anti-aliased disc
//!   edge (coverage ramps linearly over one pixel around the projected radius);
//! - log intensity `L = ln(I)`, optionally low-pass filtered with v2e's intensity-dependent
//!   first-order photoreceptor filter (`cutoff_hz`, time constant `1/(2π f_c · I)`);
//! - an ON (OFF) event each time `L` rises (falls) by the pixel's threshold `C⁺` (`C⁻`)
//!   from its reference; the reference then moves by that threshold; thresholds are drawn
//!   per pixel from `N(C, σ)` (clamped ≥ 0.01) — the mismatch;
//! - event times interpolated linearly between the two render instants of a step;
//! - a refractory period per pixel (events inside it are dropped, the reference still moves);
//! - shot noise (random polarity) and leak noise (ON) as Poisson processes per pixel,
//!   sampled statistically for the whole array (count per step, then uniform pixel/time),
//!   and not moving the reference (a simplification of v2e).
//!
//! Only pixels near the ball's footprint (plus those still settling behind it) are
//! updated in a step; all other pixels see a constant image. Render steps are adaptive: the
//! ball moves at most `max_px_per_step` pixels per step.
//!
//! World frame: x along the table's length, y across it, z up; the table top is the plane
//! z = 0 centred at the origin. Units: SI (m, s), pixels, ns for event times.
use nalgebra::Vector3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};

/// One change-detection event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Event {
    /// Time in ns since the start of the simulation.
    pub t_ns: u64,
    /// Column, in pixels.
    pub x: u16,
    /// Row, in pixels.
    pub y: u16,
    /// Polarity (`true` = ON).
    pub p: bool,
}

/// Table-tennis ball and table physics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BallParams {
    /// Ball radius [m] (ITTF: 40 mm diameter).
    pub radius: f64,
    /// Ball mass [kg] (ITTF: 2.7 g).
    pub mass: f64,
    /// Drag coefficient of a sphere (≈ 0.4–0.5).
    pub drag_coeff: f64,
    /// Air density [kg/m³].
    pub air_density: f64,
    /// Gravity [m/s²].
    pub gravity: f64,
    /// Normal coefficient of restitution on the table (ITTF: ≈ 0.89–0.92).
    pub restitution: f64,
    /// Fraction of tangential velocity kept in a bounce.
    pub tangential_keep: f64,
    /// Table half-length (x) and half-width (y) [m] (2.74 m × 1.525 m).
    pub table_half: [f64; 2],
}

impl Default for BallParams {
    fn default() -> Self {
        Self {
            radius: 0.02,
            mass: 0.0027,
            drag_coeff: 0.47,
            air_density: 1.2,
            gravity: 9.81,
            restitution: 0.9,
            tangential_keep: 0.8,
            table_half: [1.37, 0.7625],
        }
    }
}

impl BallParams {
    /// Quadratic drag constant k [1/m] in `a = −k |v| v`.
    pub fn drag_k(&self) -> f64 {
        0.5 * self.air_density * self.drag_coeff * std::f64::consts::PI * self.radius * self.radius / self.mass
    }
}

/// A sampled ball trajectory (positions every `dt` seconds from t = 0).
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Sample interval [s].
    pub dt: f64,
    /// Ball centre positions [m].
    pub pos: Vec<Vector3<f64>>,
    /// Number of table bounces.
    pub bounces: usize,
}

impl Trajectory {
    /// Integrates a flight from `p0`, `v0` [m, m/s] for `duration` s (semi-implicit Euler with
    /// 20 µs steps; samples kept every 100 µs). The flight ends early below the floor.
    pub fn simulate(params: &BallParams, p0: Vector3<f64>, v0: Vector3<f64>, duration: f64) -> Self {
        let h = 20e-6;
        let keep = 5;
        let k = params.drag_k();
        let (mut p, mut v) = (p0, v0);
        let mut pos = vec![p];
        let mut bounces = 0;
        let n = (duration / h).ceil() as usize;
        for i in 1..=n {
            let a = Vector3::new(0.0, 0.0, -params.gravity) - k * v.norm() * v;
            v += h * a;
            p += h * v;
            let on_table = p.x.abs() <= params.table_half[0] && p.y.abs() <= params.table_half[1];
            if on_table && p.z < params.radius && v.z < 0.0 && p.z > -params.radius {
                p.z = 2.0 * params.radius - p.z;
                v.z *= -params.restitution;
                v.x *= params.tangential_keep;
                v.y *= params.tangential_keep;
                bounces += 1;
            }
            if i % keep == 0 {
                pos.push(p);
            }
            if p.z < -0.76 {
                break;
            }
        }
        Self { dt: h * keep as f64, pos, bounces }
    }

    /// Duration covered by the samples [s].
    pub fn duration(&self) -> f64 {
        self.dt * (self.pos.len().saturating_sub(1)) as f64
    }

    /// Ball centre at time `t` [s] (linear interpolation, clamped to the sampled span).
    pub fn at(&self, t: f64) -> Vector3<f64> {
        let s = (t / self.dt).max(0.0);
        let i = (s.floor() as usize).min(self.pos.len() - 1);
        let j = (i + 1).min(self.pos.len() - 1);
        let f = (s - i as f64).clamp(0.0, 1.0);
        self.pos[i] * (1.0 - f) + self.pos[j] * f
    }
}

/// A pinhole camera (no distortion) with square pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// Image width, in pixels.
    pub width: u16,
    /// Image height, in pixels.
    pub height: u16,
    /// Focal length, in pixels.
    pub f: f64,
    /// Principal point (cx, cy), in pixels.
    pub c: [f64; 2],
    /// Camera centre in the world [m].
    pub eye: Vector3<f64>,
    /// World→camera rotation rows: right, down, forward.
    pub rot: [Vector3<f64>; 3],
}

impl Camera {
    /// A camera at `eye` looking at `target` (world z up) with horizontal field of view
    /// `hfov_deg` degrees.
    pub fn look_at(width: u16, height: u16, hfov_deg: f64, eye: Vector3<f64>, target: Vector3<f64>) -> Self {
        let fwd = (target - eye).normalize();
        let right = fwd.cross(&Vector3::z()).normalize();
        let down = fwd.cross(&right);
        let f = f64::from(width) / 2.0 / (hfov_deg.to_radians() / 2.0).tan();
        Self { width, height, f, c: [f64::from(width) / 2.0, f64::from(height) / 2.0], eye, rot: [right, down, fwd] }
    }

    /// The default side view of the table: 3.2 m from its centre line, 0.5 m high, 55°
    /// horizontal field of view, at `width`×`height` pixels.
    pub fn side_view(width: u16, height: u16) -> Self {
        Self::look_at(width, height, 55.0, Vector3::new(0.0, -3.2, 0.5), Vector3::new(0.0, 0.0, 0.35))
    }

    /// Projects a world point: (u, v) in pixels and depth in m, or `None` behind the camera.
    pub fn project(&self, p: &Vector3<f64>) -> Option<(f64, f64, f64)> {
        let d = p - self.eye;
        let z = self.rot[2].dot(&d);
        if z <= 1e-3 {
            return None;
        }
        Some((self.c[0] + self.f * self.rot[0].dot(&d) / z, self.c[1] + self.f * self.rot[1].dot(&d) / z, z))
    }
}

/// Sensor (DVS pixel) parameters, as in v2e.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DvsParams {
    /// Nominal ON threshold (log units).
    pub pos_thres: f64,
    /// Nominal OFF threshold (log units).
    pub neg_thres: f64,
    /// Standard deviation of per-pixel thresholds (log units).
    pub sigma_thres: f64,
    /// Photoreceptor cutoff frequency at full intensity [Hz]; 0 = infinite bandwidth.
    pub cutoff_hz: f64,
    /// Leak noise rate per pixel [Hz] (ON events).
    pub leak_rate_hz: f64,
    /// Shot noise rate per pixel [Hz] (either polarity).
    pub shot_noise_rate_hz: f64,
    /// Refractory period [s].
    pub refractory_s: f64,
}

impl DvsParams {
    /// v2e `--dvs_params clean`: C = 0.2, σ = 0.02, no low-pass, no noise, no refractory.
    pub fn clean() -> Self {
        Self {
            pos_thres: 0.2,
            neg_thres: 0.2,
            sigma_thres: 0.02,
            cutoff_hz: 0.0,
            leak_rate_hz: 0.0,
            shot_noise_rate_hz: 0.0,
            refractory_s: 0.0,
        }
    }
    /// v2e `--dvs_params noisy`: C = 0.2, σ = 0.05, 30 Hz photoreceptor cutoff, leak 0.1 Hz,
    /// shot noise 5 Hz per pixel, no refractory period.
    pub fn noisy() -> Self {
        Self { sigma_thres: 0.05, cutoff_hz: 30.0, leak_rate_hz: 0.1, shot_noise_rate_hz: 5.0, ..Self::clean() }
    }
    /// A preset by name (`clean` or `noisy`).
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "clean" => Some(Self::clean()),
            "noisy" => Some(Self::noisy()),
            _ => None,
        }
    }
}

/// Scene appearance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneParams {
    /// Background linear intensity (0–1].
    pub background: f64,
    /// Ball linear intensity (0–1].
    pub ball: f64,
    /// Largest ball motion per render step, in pixels.
    pub max_px_per_step: f64,
}

impl Default for SceneParams {
    fn default() -> Self {
        Self { background: 0.2, ball: 0.9, max_px_per_step: 0.25 }
    }
}

/// A throw: initial ball state and the flight duration to simulate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throw {
    /// Initial ball centre [m].
    pub p0: Vector3<f64>,
    /// Initial velocity [m/s].
    pub v0: Vector3<f64>,
    /// Simulated duration [s].
    pub duration: f64,
}

impl Throw {
    /// A throw along the table from near one end at `speed` m/s, with a random elevation
    /// suited to the speed and a small lateral component (deterministic in `seed`).
    pub fn along_table(speed: f64, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let speed = speed.max(0.1);
        // Elevation: slower balls are lobbed higher so they stay in flight over the table.
        let max_elev = (35.0 - 2.0 * speed).max(2.0);
        let elev = rng.gen_range(-3.0..max_elev).to_radians();
        let az = rng.gen_range(-4.0f64..4.0).to_radians();
        let v0 = speed * Vector3::new(elev.cos() * az.cos(), elev.cos() * az.sin(), elev.sin());
        let p0 = Vector3::new(-1.3, rng.gen_range(-0.2..0.2), rng.gen_range(0.2..0.4));
        // Long enough to cross the table, at most 0.6 s.
        let duration = (2.9 / (speed * elev.cos())).min(0.6);
        Self { p0, v0, duration }
    }
}

/// Ground truth of the ball in the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruthSample {
    /// Time [ns].
    pub t_ns: u64,
    /// Projected centre, column [px].
    pub u: f64,
    /// Projected centre, row [px].
    pub v: f64,
    /// Projected radius [px].
    pub radius_px: f64,
    /// World position [m].
    pub world: [f64; 3],
}

/// Output of one simulated recording.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Camera used.
    pub camera: Camera,
    /// Events in time order.
    pub events: Vec<Event>,
    /// Ground truth every 100 µs.
    pub truth: Vec<TruthSample>,
    /// Number of events caused by the ball (signal), shot noise and leak noise.
    pub counts: EventCounts,
    trajectory: Trajectory,
}

/// Event counts by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Events from the rendered ball (ON, OFF).
    pub signal: [u64; 2],
    /// Shot-noise events.
    pub shot: u64,
    /// Leak-noise events.
    pub leak: u64,
    /// Events dropped by the refractory period.
    pub refractory_dropped: u64,
}

impl Recording {
    /// Ball centre in the image (u, v) [px] at time `t_ns` (interpolated ground truth).
    pub fn truth_at(&self, t_ns: u64) -> Option<(f64, f64)> {
        let p = self.trajectory.at(t_ns as f64 * 1e-9);
        self.camera.project(&p).map(|(u, v, _)| (u, v))
    }
    /// The ball trajectory in the world.
    pub fn trajectory(&self) -> &Trajectory {
        &self.trajectory
    }
}

/// Per-pixel sensor state.
struct Pixels {
    w: usize,
    refl: Vec<f32>,
    lp: Vec<f32>,
    cpos: Vec<f32>,
    cneg: Vec<f32>,
    last_ev: Vec<f32>,
    active: Vec<bool>,
}

/// The ESIM-style simulator.
#[derive(Debug, Clone)]
pub struct Simulator {
    /// Camera.
    pub camera: Camera,
    /// Sensor parameters.
    pub dvs: DvsParams,
    /// Scene appearance.
    pub scene: SceneParams,
    /// Ball physics.
    pub ball: BallParams,
    /// RNG seed (thresholds, noise).
    pub seed: u64,
}

impl Simulator {
    /// A simulator with default scene and ball physics.
    pub fn new(camera: Camera, dvs: DvsParams, seed: u64) -> Self {
        Self { camera, dvs, scene: SceneParams::default(), ball: BallParams::default(), seed }
    }

    fn intensity(&self, u: f64, v: f64, r: f64, px: usize, py: usize) -> f64 {
        let dx = px as f64 + 0.5 - u;
        let dy = py as f64 + 0.5 - v;
        let d = (dx * dx + dy * dy).sqrt();
        let cov = (r - d + 0.5).clamp(0.0, 1.0);
        self.scene.background + (self.scene.ball - self.scene.background) * cov
    }

    /// Simulates a throw and returns its events and ground truth.
    pub fn run(&self, throw: &Throw) -> Recording {
        let traj = Trajectory::simulate(&self.ball, throw.p0, throw.v0, throw.duration);
        self.render(traj)
    }

    /// Renders a given trajectory.
    pub fn render(&self, traj: Trajectory) -> Recording {
        let cam = &self.camera;
        let (w, h) = (usize::from(cam.width), usize::from(cam.height));
        let n = w * h;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let l_bg = self.scene.background.ln() as f32;
        let thr = |c: f64, rng: &mut ChaCha8Rng| -> Vec<f32> {
            match Normal::new(c, self.dvs.sigma_thres.max(0.0)) {
                Ok(nd) if self.dvs.sigma_thres > 0.0 => (0..n).map(|_| nd.sample(rng).max(0.01) as f32).collect(),
                _ => vec![c.max(0.01) as f32; n],
            }
        };
        let cpos = thr(self.dvs.pos_thres, &mut rng);
        let cneg = thr(self.dvs.neg_thres, &mut rng);
        let mut px = Pixels {
            w,
            refl: vec![l_bg; n],
            lp: vec![l_bg; n],
            cpos,
            cneg,
            last_ev: vec![f32::NEG_INFINITY; n],
            active: vec![false; n],
        };
        let mut active: Vec<u32> = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        let mut step_ev: Vec<Event> = Vec::new();
        let mut counts = EventCounts::default();
        let proj = |t: f64| -> Option<(f64, f64, f64)> {
            let p = traj.at(t);
            cam.project(&p).map(|(u, v, z)| (u, v, cam.f * self.ball.radius / z))
        };
        let t_end = traj.duration();
        let mut t0 = 0.0f64;
        let mut b0 = proj(0.0);
        let shot_total = self.dvs.shot_noise_rate_hz * n as f64;
        let leak_total = self.dvs.leak_rate_hz * n as f64;
        let refr = self.dvs.refractory_s as f32;
        while t0 < t_end {
            // Adaptive step: ball image speed from a 100 µs look-ahead.
            let mut dt = 1e-3f64;
            if let (Some(a), Some(b)) = (b0, proj(t0 + 1e-4)) {
                let speed = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt() / 1e-4;
                if speed > 0.0 {
                    dt = (self.scene.max_px_per_step / speed).clamp(5e-6, 1e-3);
                }
            }
            if self.dvs.cutoff_hz > 0.0 {
                dt = dt.min(0.1 / (2.0 * std::f64::consts::PI * self.dvs.cutoff_hz));
            }
            let t1 = (t0 + dt).min(t_end);
            let dt = t1 - t0;
            if dt <= 0.0 {
                break;
            }
            let b1 = proj(t1);
            // Footprint of the ball at t0 and t1.
            let mut bbox: Option<(usize, usize, usize, usize)> = None;
            for (u, v, r) in [b0, b1].into_iter().flatten() {
                let m = r + 2.0;
                let x0 = (u - m).floor().max(0.0) as usize;
                let y0 = (v - m).floor().max(0.0) as usize;
                let x1 = ((u + m).ceil().max(0.0) as usize).min(w);
                let y1 = ((v + m).ceil().max(0.0) as usize).min(h);
                if x0 < x1 && y0 < y1 {
                    bbox = Some(match bbox {
                        None => (x0, y0, x1, y1),
                        Some(b) => (b.0.min(x0), b.1.min(y0), b.2.max(x1), b.3.max(y1)),
                    });
                }
            }
            if let Some((x0, y0, x1, y1)) = bbox {
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        let i = yy * w + xx;
                        if !px.active[i] {
                            px.active[i] = true;
                            active.push(i as u32);
                        }
                    }
                }
            }
            // Update active pixels.
            step_ev.clear();
            let mut k = 0;
            while k < active.len() {
                let i = active[k] as usize;
                let (xx, yy) = (i % px.w, i / px.w);
                let target = match b1 {
                    Some((u, v, r)) => self.intensity(u, v, r, xx, yy),
                    None => self.scene.background,
                };
                let lt = target.ln() as f32;
                let l_old = px.lp[i];
                let l_new = if self.dvs.cutoff_hz > 0.0 {
                    let eps = (2.0 * std::f64::consts::PI * self.dvs.cutoff_hz * target * dt).min(1.0) as f32;
                    l_old + eps * (lt - l_old)
                } else {
                    lt
                };
                px.lp[i] = l_new;
                let dl = l_new - l_old;
                if dl != 0.0 {
                    let (cp, cn) = (px.cpos[i], px.cneg[i]);
                    loop {
                        let on = l_new - px.refl[i] >= cp;
                        let off = px.refl[i] - l_new >= cn;
                        if !on && !off {
                            break;
                        }
                        let step = if on { cp } else { -cn };
                        px.refl[i] += step;
                        let frac = ((px.refl[i] - l_old) / dl).clamp(0.0, 1.0);
                        let te = t0 + f64::from(frac) * dt;
                        if (te as f32) - px.last_ev[i] < refr {
                            counts.refractory_dropped += 1;
                            continue;
                        }
                        px.last_ev[i] = te as f32;
                        step_ev.push(Event { t_ns: (te * 1e9) as u64, x: xx as u16, y: yy as u16, p: on });
                        counts.signal[usize::from(!on)] += 1;
                    }
                }
                // Deactivate when outside the footprint and no further crossing can happen.
                let inside = bbox.is_some_and(|(x0, y0, x1, y1)| xx >= x0 && xx < x1 && yy >= y0 && yy < y1);
                // The filtered value converges monotonically to `lt`: once `lt` is within the
                // thresholds of the reference no further event can occur.
                let settled = (lt - px.refl[i]) < px.cpos[i] && (px.refl[i] - lt) < px.cneg[i];
                if !inside && settled {
                    px.lp[i] = lt;
                    px.active[i] = false;
                    active.swap_remove(k);
                } else {
                    k += 1;
                }
            }
            // Noise processes, sampled for the whole array.
            for (rate, is_shot) in [(shot_total, true), (leak_total, false)] {
                if rate <= 0.0 {
                    continue;
                }
                let cnt = Poisson::new(rate * dt).map(|p| p.sample(&mut rng) as u64).unwrap_or(0);
                for _ in 0..cnt {
                    let i = rng.gen_range(0..n);
                    let te = t0 + rng.r#gen::<f64>() * dt;
                    if (te as f32) - px.last_ev[i] < refr {
                        counts.refractory_dropped += 1;
                        continue;
                    }
                    px.last_ev[i] = te as f32;
                    let p = if is_shot { rng.r#gen::<bool>() } else { true };
                    step_ev.push(Event { t_ns: (te * 1e9) as u64, x: (i % w) as u16, y: (i / w) as u16, p });
                    if is_shot {
                        counts.shot += 1;
                    } else {
                        counts.leak += 1;
                    }
                }
            }
            step_ev.sort_unstable_by_key(|e| e.t_ns);
            events.extend_from_slice(&step_ev);
            t0 = t1;
            b0 = b1;
        }
        let mut truth = Vec::with_capacity(traj.pos.len());
        for (k, p) in traj.pos.iter().enumerate() {
            if let Some((u, v, z)) = cam.project(p) {
                truth.push(TruthSample {
                    t_ns: (k as f64 * traj.dt * 1e9).round() as u64,
                    u,
                    v,
                    radius_px: cam.f * self.ball.radius / z,
                    world: [p.x, p.y, p.z],
                });
            }
        }
        Recording { camera: *cam, events, truth, counts, trajectory: traj }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ball_falls_bounces_and_slows() {
        let bp = BallParams::default();
        let tr = Trajectory::simulate(&bp, Vector3::new(-1.0, 0.0, 0.3), Vector3::new(8.0, 0.0, 0.0), 0.5);
        assert!(tr.bounces >= 1, "ball should bounce on the table");
        // Drag: terminal velocity of a table-tennis ball is ≈ 8–9 m/s, so 8 m/s decays visibly.
        let v_end = (tr.pos[tr.pos.len() - 1] - tr.pos[tr.pos.len() - 2]).x / tr.dt;
        assert!(v_end < 8.0 * 0.8 * 0.95, "drag and bounce must slow the ball: {v_end}");
        assert!(tr.pos.iter().all(|p| p.z > bp.radius * 0.5 || p.x.abs() > bp.table_half[0]));
    }

    #[test]
    fn camera_projects_centre_to_principal_point() {
        let cam = Camera::side_view(640, 480);
        let (u, v, _) = cam.project(&Vector3::new(0.0, 0.0, 0.35)).unwrap();
        assert!((u - 320.0).abs() < 1e-9 && (v - 240.0).abs() < 1e-9);
        // +x of the world goes to the right of the image, +z up.
        let (u2, v2, _) = cam.project(&Vector3::new(0.5, 0.0, 0.6)).unwrap();
        assert!(u2 > 320.0 && v2 < 240.0);
    }
}
