"""Spiking MPC controller + monitor for a real Go1-class quadruped.

    ros2 launch spikectl quadruped_robot.launch.py solver:=spiking \
        joint_states:=/go1/joint_states imu:=/go1/imu odom:=/go1/odom effort_cmd:=/go1/effort_cmd

The robot driver must publish sensor_msgs/JointState (the 12 joints named FR_hip_joint ...
RL_calf_joint, position + velocity), sensor_msgs/Imu (orientation + angular velocity) and a
state estimate as nav_msgs/Odometry (position in the world frame, linear velocity in the body
frame), and apply sensor_msgs/JointState `effort` commands [N·m]. Wall-clock time.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

TOPICS = ["joint_states", "imu", "odom", "cmd_vel", "gait", "effort_cmd"]


def generate_launch_description():
    params = os.path.join(get_package_share_directory("spikectl"), "launch", "quadruped.yaml")
    args = [DeclareLaunchArgument("solver", default_value="spiking", description="MPC QP solver: osqp | clarabel | pipg | hpdhg | spiking (float network) | loihi2 (Loihi 2 fixed point), options as loihi2:planes=2")]
    args += [DeclareLaunchArgument(t, default_value=t, description=f"topic for {t}") for t in TOPICS]
    return LaunchDescription(
        args
        + [
            Node(
                package="spikectl",
                executable="spikectl-quadruped",
                name="spikectl_quadruped",
                output="screen",
                # A required node: when it exits (error or end), the whole launch shuts down.
                on_exit=Shutdown(reason="spikectl-quadruped exited"),
                parameters=[params, {"solver": LaunchConfiguration("solver"), "use_sim_time": False}],
                remappings=[(t, LaunchConfiguration(t)) for t in TOPICS],
            ),
            Node(
                package="spikectl",
                executable="spikectl-monitor",
                name="spikectl_monitor",
                output="screen",
                parameters=[params],
            ),
        ]
    )
