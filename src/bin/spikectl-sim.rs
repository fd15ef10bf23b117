//! `spikectl-sim`: the headless MuJoCo robots as a ROS 2 node (see
//! [`spikectl::ros::sim_node`]).
//!
//! Run: `spikectl-sim --ros-args -p robot:=quadruped -p real_time_factor:=1.0 -p lockstep:=true`
//! (parameters: `--help`).

fn main() -> anyhow::Result<()> {
    spikectl::ros::sim_node::run()
}
