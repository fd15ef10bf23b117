//! Seeded sensor noise and dropout.
//!
//! Noise is zero-mean Gaussian with the given standard deviations; a dropout means the
//! sensor packet of that tick is lost and the consumer keeps the previous packet (same
//! timestamp), as a real driver would. Everything is drawn from one ChaCha8 stream seeded
//! by the scenario seed, so identical seeds give identical runs.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Standard deviations of sensor noise and the dropout probability.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SensorNoise {
    /// Joint position noise [rad].
    pub joint_pos: f64,
    /// Joint velocity noise [rad/s].
    pub joint_vel: f64,
    /// Gyro (body angular velocity) noise [rad/s].
    pub gyro: f64,
    /// Base linear velocity (estimator) noise [m/s].
    pub base_vel: f64,
    /// Base position (estimator) noise [m].
    pub base_pos: f64,
    /// Force/torque sensor force noise [N] (torque noise is this × 0.1 m).
    pub force: f64,
    /// Probability in [0, 1] that a sensor packet is dropped at a given tick.
    pub dropout: f64,
}

impl SensorNoise {
    /// No noise, no dropout.
    pub const NONE: SensorNoise = SensorNoise {
        joint_pos: 0.0,
        joint_vel: 0.0,
        gyro: 0.0,
        base_vel: 0.0,
        base_pos: 0.0,
        force: 0.0,
        dropout: 0.0,
    };
    /// Realistic small noise: encoders 1 mrad, 0.02 rad/s; gyro 0.01 rad/s; velocity
    /// estimate 0.02 m/s; position 1 mm; F/T 0.2 N; 0.5 % dropout.
    pub const TYPICAL: SensorNoise = SensorNoise {
        joint_pos: 1e-3,
        joint_vel: 0.02,
        gyro: 0.01,
        base_vel: 0.02,
        base_pos: 1e-3,
        force: 0.2,
        dropout: 0.005,
    };
    /// Arm-class sensors: a Panda-like arm's high-resolution joint encoders at 1 kHz
    /// (0.1 mrad, 0.005 rad/s after the drive's filtering) and a small F/T sensor (0.1 N,
    /// ATI Mini45-class resolution); 0.5 % dropout.
    pub const ARM_TYPICAL: SensorNoise = SensorNoise {
        joint_pos: 1e-4,
        joint_vel: 0.005,
        gyro: 0.0,
        base_vel: 0.0,
        base_pos: 0.0,
        force: 0.1,
        dropout: 0.005,
    };
}

/// A seeded noise source.
#[derive(Debug, Clone)]
pub struct NoiseSource {
    cfg: SensorNoise,
    rng: ChaCha8Rng,
    dropouts: u64,
}

impl NoiseSource {
    /// A source with settings `cfg` and `seed`.
    pub fn new(cfg: SensorNoise, seed: u64) -> Self {
        Self { cfg, rng: ChaCha8Rng::seed_from_u64(seed), dropouts: 0 }
    }
    /// The settings.
    pub fn config(&self) -> &SensorNoise {
        &self.cfg
    }
    /// Number of dropped packets so far.
    pub fn dropouts(&self) -> u64 {
        self.dropouts
    }
    /// Draws whether this tick's packet is dropped (counts it).
    pub fn drop_packet(&mut self) -> bool {
        if self.cfg.dropout <= 0.0 {
            return false;
        }
        let d = self.rng.r#gen::<f64>() < self.cfg.dropout;
        if d {
            self.dropouts += 1;
        }
        d
    }
    /// Adds N(0, std²) to every element of `v` (no draw when `std` is 0).
    pub fn perturb(&mut self, v: &mut [f64], std: f64) {
        if std <= 0.0 {
            return;
        }
        for x in v {
            let n: f64 = StandardNormal.sample(&mut self.rng);
            *x += std * n;
        }
    }
}
