//! `spikectl-quadruped`: the quadruped MPC controller as a ROS 2 node.
//!
//! Subscribes `joint_states` (sensor_msgs/JointState), `imu` (sensor_msgs/Imu), `odom`
//! (nav_msgs/Odometry, twist in the body frame), `cmd_vel` (geometry_msgs/Twist) and `gait`
//! (std_msgs/String: "stand" | "trot"); publishes `effort_cmd` (sensor_msgs/JointState with
//! `effort` [N·m]), SolveStats on `stats_topic` and `/diagnostics`. Topic names are relative:
//! put the node in a namespace or remap them (`--ros-args -r __ns:=/go1 -r odom:=/state_estimator/odom`).
//!
//! The node is the generic controller node ([`spikectl::ros::controller_node`]) with the
//! quadruped's interface ([`spikectl::ros::quadruped::QuadrupedNode`]): the controller runs on
//! its own fixed-period thread on each new synchronised state, the MPC on a worker thread
//! (`mpc_thread:=true`, default), malformed messages are dropped and counted, a stale state
//! gets the safe command every tick, SIGINT/SIGTERM stop it cleanly.
//!
//! Run: `spikectl-quadruped --ros-args -p solver:=loihi2 -p use_sim_time:=true` (parameters: `--help`).

use spikectl::ros::controller_node;
use spikectl::ros::quadruped::QuadrupedNode;

fn main() -> anyhow::Result<()> {
    controller_node::run::<QuadrupedNode, 12>()
}
