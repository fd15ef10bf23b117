//! Robot descriptions: the single source of truth that spikectl's MPC models, controllers,
//! ROS nodes and the MuJoCo scenes (`spikectl-sim`) all read. A new robot of a supported kind
//! is one new constant of [`QuadrupedParams`] or [`ArmParams`].
//!
//! Numbers come from published specifications (Unitree Go1 public URDF/spec sheet; Franka
//! Panda's public Craig-convention DH table and identified link masses). SI units throughout.

/// A 12-DoF quadruped with Go1-like dimensions. Legs are ordered FR, FL, RR, RL; joints per
/// leg are hip abduction (about x), thigh (about y), calf (about y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadrupedParams {
    /// Trunk mass [kg].
    pub trunk_mass: f64,
    /// Trunk principal inertia about its CoM (Ixx, Iyy, Izz) [kg·m²].
    pub trunk_inertia: [f64; 3],
    /// Trunk box half-sizes (x, y, z) [m] for collision/visuals.
    pub trunk_half_size: [f64; 3],
    /// Hip joint positions in the trunk frame, (x, y) magnitudes [m]; signs by leg.
    pub hip_offset: [f64; 2],
    /// Lateral offset from hip-abduction axis to the thigh plane [m].
    pub thigh_offset: f64,
    /// Thigh length, knee to hip pitch axis [m].
    pub thigh_length: f64,
    /// Calf length, knee to foot centre [m].
    pub calf_length: f64,
    /// Foot sphere radius [m].
    pub foot_radius: f64,
    /// Masses of hip, thigh, calf (incl. foot) links [kg].
    pub link_masses: [f64; 3],
    /// Torque limits of hip, thigh, calf motors [N·m].
    pub torque_limits: [f64; 3],
    /// Joint speed limits of hip, thigh, calf [rad/s].
    pub velocity_limits: [f64; 3],
    /// Nominal standing height of the trunk CoM above flat ground [m].
    pub stand_height: f64,
    /// Nominal standing joint angles (hip, thigh, calf) [rad].
    pub stand_q: [f64; 3],
    /// Joint position limits (lower, upper) of hip, thigh, calf [rad].
    pub joint_limits: [(f64, f64); 3],
    /// CoM of the thigh link along the thigh, as a fraction of its length from the hip-pitch
    /// axis.
    pub thigh_com_fraction: f64,
    /// CoM of the calf link along the calf, as a fraction of its length from the knee.
    pub calf_com_fraction: f64,
    /// Leg names, in state order (FR, FL, RR, RL).
    pub leg_names: [&'static str; 4],
    /// Joint names per leg (hip, thigh, calf); a joint is named `<leg>_<joint>_joint`.
    pub joint_kinds: [&'static str; 3],
    /// Joint damping of the safe stop [N·m·s/rad] (torque −d·q̇, within the torque limits).
    pub safe_damping: f64,
}

impl QuadrupedParams {
    /// Total mass [kg].
    pub fn total_mass(&self) -> f64 {
        self.trunk_mass + 4.0 * self.link_masses.iter().sum::<f64>()
    }
    /// The 12 joint names in state order (`FR_hip_joint`, `FR_thigh_joint`, …).
    pub fn joint_names(&self) -> [String; 12] {
        std::array::from_fn(|j| format!("{}_{}_joint", self.leg_names[j / 3], self.joint_kinds[j % 3]))
    }
    /// Sign of (x, y) hip position for leg `i` (FR, FL, RR, RL).
    pub fn leg_signs(i: usize) -> (f64, f64) {
        match i {
            0 => (1.0, -1.0),
            1 => (1.0, 1.0),
            2 => (-1.0, -1.0),
            _ => (-1.0, 1.0),
        }
    }
}

/// Go1-like quadruped (≈12 kg, 0.213 m thigh and calf).
pub const GO1: QuadrupedParams = QuadrupedParams {
    trunk_mass: 5.204,
    trunk_inertia: [0.0168, 0.0565, 0.0647],
    trunk_half_size: [0.1881, 0.047, 0.057],
    hip_offset: [0.1881, 0.04675],
    thigh_offset: 0.08,
    thigh_length: 0.213,
    calf_length: 0.213,
    foot_radius: 0.02,
    link_masses: [0.680, 1.009, 0.196],
    torque_limits: [23.7, 23.7, 35.55],
    // Go1's public URDF joint velocity limits.
    velocity_limits: [30.1, 30.1, 20.06],
    stand_height: 0.30,
    stand_q: [0.0, 0.67, -1.3],
    joint_limits: [(-0.86, 0.86), (-1.5, 3.4), (-2.82, -0.7)],
    // Go1's public URDF puts the thigh CoM ≈ 27 mm below the hip-pitch axis: most of the
    // thigh mass is the knee motor and housing near the hip.
    thigh_com_fraction: 0.13,
    calf_com_fraction: 0.5,
    leg_names: ["FR", "FL", "RR", "RL"],
    joint_kinds: ["hip", "thigh", "calf"],
    safe_damping: 1.0,
};

/// A 7-DoF arm with Panda-like kinematics (Craig-convention DH) and masses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmParams {
    /// DH link lengths a_{i-1} [m] (Craig convention).
    pub dh_a: [f64; 7],
    /// DH offsets d_i [m].
    pub dh_d: [f64; 7],
    /// DH twists α_{i-1} [rad].
    pub dh_alpha: [f64; 7],
    /// Flange offset along the last z axis [m].
    pub flange_d: f64,
    /// Tool length beyond the flange (force sensor + probe tip) [m].
    pub tool_length: f64,
    /// Link masses [kg].
    pub link_masses: [f64; 7],
    /// Joint position limits (lower, upper) [rad].
    pub q_limits: [(f64, f64); 7],
    /// Joint torque limits [N·m].
    pub torque_limits: [f64; 7],
    /// Joint speed limits [rad/s].
    pub velocity_limits: [f64; 7],
    /// Nominal posture [rad] (null-space target).
    pub q_nominal: [f64; 7],
    /// Link centres of mass, each in its own Craig-DH link frame [m].
    pub link_coms: [[f64; 3]; 7],
    /// Mass of the tool (sensor body + probe) on the flange [kg].
    pub tool_mass: f64,
    /// Radius of the tool's spherical tip [m].
    pub tool_tip_radius: f64,
    /// Joint names, in state order.
    pub joint_names: [&'static str; 7],
    /// Joint damping of the safe stop [N·m·s/rad] (torque g(q) − d·q̇, within the limits).
    pub safe_damping: f64,
}

const FRAC_PI_2: f64 = std::f64::consts::FRAC_PI_2;

/// Panda-like arm.
pub const PANDA: ArmParams = ArmParams {
    dh_a: [0.0, 0.0, 0.0, 0.0825, -0.0825, 0.0, 0.088],
    dh_d: [0.333, 0.0, 0.316, 0.0, 0.384, 0.0, 0.0],
    dh_alpha: [0.0, -FRAC_PI_2, FRAC_PI_2, FRAC_PI_2, -FRAC_PI_2, FRAC_PI_2, FRAC_PI_2],
    flange_d: 0.107,
    tool_length: 0.10,
    link_masses: [4.970, 0.646, 3.228, 3.587, 1.226, 1.666, 0.735],
    q_limits: [
        (-2.8973, 2.8973),
        (-1.7628, 1.7628),
        (-2.8973, 2.8973),
        (-3.0718, -0.0698),
        (-2.8973, 2.8973),
        (-0.0175, 3.7525),
        (-2.8973, 2.8973),
    ],
    torque_limits: [87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0],
    // Franka's published joint speed limits.
    velocity_limits: [2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61],
    q_nominal: [0.0, -0.3, 0.0, -2.2, 0.0, 1.9, 0.785],
    link_coms: PANDA_LINK_COMS,
    tool_mass: 0.10,
    tool_tip_radius: 0.01,
    joint_names: ["joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "joint7"],
    safe_damping: 2.0,
};

/// The arm's contact scene: a rigid table in front of the arm (arm base at the origin).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmScene {
    /// Height of the table top above the floor (the arm base stands on the floor) [m].
    pub table_top_z: f64,
    /// Table centre (x, y) [m].
    pub table_center: [f64; 2],
    /// Table top half-sizes (x, y) [m].
    pub table_half_size: [f64; 2],
}

/// Default arm scene.
pub const ARM_SCENE: ArmScene =
    ArmScene { table_top_z: 0.20, table_center: [0.55, 0.0], table_half_size: [0.30, 0.40] };

/// Approximate link centres of mass of the Panda-like arm, each in its own Craig-DH link
/// frame [m] (values after Gaz et al., "Dynamic identification of the Franka Emika Panda
/// robot", RA-L 2019, rounded); [`PANDA`]'s `link_coms`.
pub const PANDA_LINK_COMS: [[f64; 3]; 7] = [
    [0.003875, 0.002081, -0.04762],
    [-0.003141, -0.02872, 0.003495],
    [0.027518, 0.039252, -0.066502],
    [-0.05317, 0.104419, 0.027454],
    [-0.011953, 0.041065, -0.038437],
    [0.060149, -0.014117, -0.010517],
    [0.010517, -0.004252, 0.061597],
];
