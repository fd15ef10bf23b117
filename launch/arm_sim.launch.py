"""Simulated Panda-like arm with a flange F/T sensor over a table (headless MuJoCo) + force MPC
controller + monitor.

    ros2 launch spikectl arm_sim.launch.py solver:=osqp

Nodes (package `spikectl`, built with `--features ros`):
- spikectl-sim (robot:=arm): /clock, joint_states, wrench  <-  effort_cmd
- spikectl-arm:  joint_states, wrench, force_setpoint, cmd_vel, target_xy  ->  effort_cmd, SolveStats, /diagnostics
- spikectl-monitor: SolveStats  ->  /diagnostics
All on simulated time; parameters from arm.yaml. Drive it:
    ros2 topic pub --once /arm/force_setpoint std_msgs/msg/Float64 "{data: 15.0}"
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    params = os.path.join(get_package_share_directory("spikectl"), "launch", "arm.yaml")
    ns = LaunchConfiguration("namespace")
    return LaunchDescription(
        [
            DeclareLaunchArgument("namespace", default_value="arm", description="Namespace of sim + controller"),
            DeclareLaunchArgument("solver", default_value="spiking", description="MPC QP solver: osqp | clarabel | pipg | hpdhg | spiking (float network) | loihi2 (Loihi 2 fixed point), options as loihi2:planes=2"),
            DeclareLaunchArgument("real_time_factor", default_value="1.0", description="0 = as fast as possible"),
            DeclareLaunchArgument("lockstep", default_value="false", description="Sim waits for each command"),
            Node(
                package="spikectl",
                executable="spikectl-sim",
                name="spikectl_sim",
                namespace=ns,
                output="screen",
                # A required node: when it exits (error or end), the whole launch shuts down.
                on_exit=Shutdown(reason="spikectl-sim exited"),
                parameters=[
                    params,
                    {
                        "robot": "arm",
                        "real_time_factor": LaunchConfiguration("real_time_factor"),
                        "lockstep": LaunchConfiguration("lockstep"),
                    },
                ],
            ),
            Node(
                package="spikectl",
                executable="spikectl-arm",
                name="spikectl_arm",
                namespace=ns,
                output="screen",
                # A required node: when it exits (error or end), the whole launch shuts down.
                on_exit=Shutdown(reason="spikectl-arm exited"),
                parameters=[params, {"solver": LaunchConfiguration("solver"), "use_sim_time": True}],
            ),
            Node(
                package="spikectl",
                executable="spikectl-monitor",
                name="spikectl_monitor",
                output="screen",
                parameters=[params, {"use_sim_time": True}],
            ),
        ]
    )
