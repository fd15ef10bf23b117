//! Robot state and command types exchanged between the simulator (or a ROS driver) and
//! spikectl's controllers. SI units; world frame is z-up; quaternions are (w, x, y, z).

/// Measured state of the quadruped (what a real robot's estimator would provide).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QuadrupedState {
    /// Simulation or robot time [s].
    pub t: f64,
    /// Base (trunk CoM) position in the world frame [m].
    pub base_pos: [f64; 3],
    /// Base orientation, body→world, unit quaternion (w, x, y, z).
    pub base_quat: [f64; 4],
    /// Base linear velocity in the world frame [m/s].
    pub base_linvel: [f64; 3],
    /// Base angular velocity in the body frame [rad/s] (what an IMU gyro reads).
    pub base_angvel_body: [f64; 3],
    /// Joint positions [rad], legs FR, FL, RR, RL × (hip, thigh, calf).
    pub q: [f64; 12],
    /// Joint velocities [rad/s], same order.
    pub qd: [f64; 12],
    /// Foot contact flags (FR, FL, RR, RL) from contact forces.
    pub foot_contact: [bool; 4],
}

/// Measured state of the 7-DoF arm.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArmState {
    /// Simulation or robot time [s].
    pub t: f64,
    /// Joint positions [rad].
    pub q: [f64; 7],
    /// Joint velocities [rad/s].
    pub qd: [f64; 7],
    /// Contact force that the environment exerts on the tool, world frame [N]
    /// (from the flange force/torque sensor; pressing down on a table reads +z).
    pub wrench_force: [f64; 3],
    /// Contact torque about the sensor site, world frame [N·m].
    pub wrench_torque: [f64; 3],
}

/// Rotation matrix (row-major, body→world) of a unit quaternion (w, x, y, z).
pub fn quat_to_mat(q: &[f64; 4]) -> [[f64; 3]; 3] {
    let [w, x, y, z] = *q;
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
    ]
}
