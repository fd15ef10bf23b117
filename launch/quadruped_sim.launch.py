"""Simulated Go1-like quadruped in headless MuJoCo + spiking MPC controller + monitor.

    ros2 launch spikectl quadruped_sim.launch.py solver:=osqp lockstep:=true

Nodes (package `spikectl`, built by colcon-ros-cargo with `--features ros`):
- spikectl-sim:        /clock, joint_states, imu, odom  <-  effort_cmd
- spikectl-quadruped:  joint_states, imu, odom, cmd_vel, gait  ->  effort_cmd, SolveStats, /diagnostics
- spikectl-monitor:    SolveStats  ->  /diagnostics, /spikectl/monitor_summary; on Ctrl-C the
                       report folder out/monitor/ and the recording out/monitor/monitor.mcap
All three run on simulated time (use_sim_time); parameters come from quadruped.yaml.
baseline:=osqp adds a second simulator + controller pair (namespace <namespace>_baseline,
solver osqp): the conventional baseline the monitor prices the main solver's EDP against.
Drive it: ros2 topic pub /quadruped/gait std_msgs/msg/String "{data: trot}" --once
          ros2 topic pub -r 10 /quadruped/cmd_vel geometry_msgs/msg/Twist "{linear: {x: 0.3}}"
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, Shutdown
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, NotEqualsSubstitution, PythonExpression
from launch_ros.actions import Node


def generate_launch_description():
    params = os.path.join(get_package_share_directory("spikectl"), "launch", "quadruped.yaml")
    ns = LaunchConfiguration("namespace")
    solver = LaunchConfiguration("solver")
    rtf = LaunchConfiguration("real_time_factor")
    lockstep = LaunchConfiguration("lockstep")
    seed = LaunchConfiguration("seed")
    baseline = LaunchConfiguration("baseline")
    baseline_ns = PythonExpression(["'", ns, "' + '_baseline'"])
    return LaunchDescription(
        [
            DeclareLaunchArgument("namespace", default_value="quadruped", description="Namespace of sim + controller"),
            DeclareLaunchArgument("solver", default_value="spiking", description="MPC QP solver: osqp | clarabel | pipg | hpdhg | spiking (float network) | loihi2 (Loihi 2 fixed point), options as loihi2:planes=2"),
            DeclareLaunchArgument("real_time_factor", default_value="1.0", description="0 = as fast as possible"),
            DeclareLaunchArgument("lockstep", default_value="false", description="Sim waits for each command"),
            DeclareLaunchArgument("seed", default_value="1", description="Sensor noise seed"),
            DeclareLaunchArgument(
                "baseline",
                default_value="none",
                description="none | a CPU solver (osqp): a second sim + controller on it, the monitor's EDP baseline",
            ),
            Node(
                package="spikectl",
                executable="spikectl-sim",
                name="spikectl_sim",
                namespace=ns,
                output="screen",
                # A required node: when it exits (error or end), the whole launch shuts down.
                on_exit=Shutdown(reason="spikectl-sim exited"),
                # The simulator is the source of /clock: it does not follow it.
                parameters=[params, {"real_time_factor": rtf, "lockstep": lockstep, "seed": seed}],
            ),
            Node(
                package="spikectl",
                executable="spikectl-quadruped",
                name="spikectl_quadruped",
                namespace=ns,
                output="screen",
                # A required node: when it exits (error or end), the whole launch shuts down.
                on_exit=Shutdown(reason="spikectl-quadruped exited"),
                parameters=[params, {"solver": solver, "use_sim_time": True}],
            ),
            # The baseline pair: same scenario, conventional solver, its own namespace; its
            # simulated clock is <namespace>_baseline/clock (one /clock cannot serve two sims).
            GroupAction(
                condition=IfCondition(NotEqualsSubstitution(baseline, "none")),
                actions=[
                    Node(
                        package="spikectl",
                        executable="spikectl-sim",
                        name="spikectl_sim",
                        namespace=baseline_ns,
                        output="screen",
                        parameters=[params, {"real_time_factor": rtf, "lockstep": lockstep, "seed": seed}],
                        remappings=[("/clock", "clock")],
                    ),
                    Node(
                        package="spikectl",
                        executable="spikectl-quadruped",
                        name="spikectl_quadruped",
                        namespace=baseline_ns,
                        output="screen",
                        parameters=[params, {"solver": baseline, "use_sim_time": True}],
                        remappings=[("/clock", "clock")],
                    ),
                ],
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
