//! `spikectl-arm`: the force-controlled 7-DoF arm (admittance MPC) as a ROS 2 node.
//!
//! Subscribes `joint_states` (sensor_msgs/JointState, 7 joints), `wrench`
//! (geometry_msgs/WrenchStamped: flange F/T as the contact wrench on the tool, world frame),
//! `force_setpoint` (std_msgs/Float64 [N]), `cmd_vel` (geometry_msgs/Twist: tangential tip
//! velocity) and `target_xy` (geometry_msgs/Point); publishes `effort_cmd` (JointState effort
//! [N·m]), SolveStats on `stats_topic` and `/diagnostics`.
//!
//! The node is the generic controller node ([`spikectl::ros::controller_node`]) with the arm's
//! interface ([`spikectl::ros::arm::ArmNode`]): the controller runs on its own 1 kHz thread on
//! each new state, malformed messages are dropped and counted, a stale state gets the safe
//! command every tick, SIGINT/SIGTERM stop it cleanly.
//!
//! Run: `spikectl-arm --ros-args -p solver:=osqp -p use_sim_time:=true` (parameters: `--help`).

use spikectl::ros::arm::{ARM_DOF, ArmNode};
use spikectl::ros::controller_node;

fn main() -> anyhow::Result<()> {
    controller_node::run::<ArmNode, ARM_DOF>()
}
