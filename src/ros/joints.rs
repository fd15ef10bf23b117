//! `sensor_msgs/JointState` ↔ joint arrays for a robot with `N` named joints: readings
//! (position, velocity) and effort commands, by name in any order or unnamed in the
//! expected order. Shared by every robot's ROS interface and the simulator node.

use r2r::builtin_interfaces::msg::Time;
use r2r::sensor_msgs::msg::JointState;
use r2r::std_msgs::msg::Header;

use super::inputs::{InputError, check, stamp_s};

/// Largest accepted |effort| in a command [N·m].
#[cfg(feature = "sim")]
pub(crate) const MAX_EFFORT: f64 = 1e4;

/// Joint positions [rad] and velocities [rad/s] of one `JointState`, in joint order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JointReading<const N: usize> {
    /// Stamp [s].
    pub t: f64,
    /// Positions [rad].
    pub q: [f64; N],
    /// Velocities [rad/s].
    pub qd: [f64; N],
}

/// Index in `expected` of each entry of `names`; an empty `names` means the order of
/// `expected`, and then `len` values must be given.
pub(crate) fn joint_order<const N: usize, S: AsRef<str>>(
    expected: &[S; N],
    names: &[String],
    len: usize,
) -> Result<[usize; N], InputError> {
    if names.is_empty() {
        if len != N {
            return Err(InputError::Length { field: "position", len, expected: N });
        }
        return Ok(std::array::from_fn(|i| i));
    }
    if names.len() != N {
        return Err(InputError::Length { field: "name", len: names.len(), expected: N });
    }
    let mut order = [0usize; N];
    let mut seen = [false; N];
    for (k, n) in names.iter().enumerate() {
        let j = expected
            .iter()
            .position(|e| e.as_ref() == n)
            .ok_or_else(|| InputError::UnknownJoint(n.chars().take(64).collect()))?;
        if seen[j] {
            return Err(InputError::DuplicateJoint(n.clone()));
        }
        seen[j] = true;
        order[k] = j;
    }
    Ok(order)
}

/// Checks and converts a `JointState` with the `N` joints `names`: positions within
/// ±`max_pos` [rad], velocities within ±`max_vel` [rad/s].
pub(crate) fn joints_from_msg<const N: usize, S: AsRef<str>>(
    m: &JointState,
    names: &[S; N],
    max_pos: f64,
    max_vel: f64,
) -> Result<JointReading<N>, InputError> {
    let order = joint_order(names, &m.name, m.position.len())?;
    for (field, v) in [("position", &m.position), ("velocity", &m.velocity)] {
        if v.len() != N {
            return Err(InputError::Length { field, len: v.len(), expected: N });
        }
    }
    check("position", &m.position, max_pos)?;
    check("velocity", &m.velocity, max_vel)?;
    let mut r = JointReading { t: stamp_s(&m.header.stamp), q: [0.0; N], qd: [0.0; N] };
    for (k, &j) in order.iter().enumerate() {
        r.q[j] = m.position[k];
        r.qd[j] = m.velocity[k];
    }
    Ok(r)
}

/// The effort command message: `names` and torques [N·m] (non-finite values become 0),
/// stamped `stamp`.
pub(crate) fn effort_msg<const N: usize, S: AsRef<str>>(stamp: Time, names: &[S; N], tau: &[f64; N]) -> JointState {
    JointState {
        header: Header { stamp, frame_id: String::new() },
        name: names.iter().map(|s| s.as_ref().to_string()).collect(),
        position: Vec::new(),
        velocity: Vec::new(),
        effort: tau.iter().map(|t| if t.is_finite() { *t } else { 0.0 }).collect(),
    }
}

/// Checks an effort command against `names` (any order, or unnamed in that order); the
/// torques in joint order [N·m].
#[cfg(feature = "sim")]
pub(crate) fn effort_from_msg<const N: usize, S: AsRef<str>>(
    m: &JointState,
    names: &[S; N],
) -> Result<[f64; N], InputError> {
    let order = joint_order(names, &m.name, m.effort.len())?;
    if m.effort.len() != N {
        return Err(InputError::Length { field: "effort", len: m.effort.len(), expected: N });
    }
    check("effort", &m.effort, MAX_EFFORT)?;
    let mut tau = [0.0; N];
    for (k, &j) in order.iter().enumerate() {
        tau[j] = m.effort[k];
    }
    Ok(tau)
}
