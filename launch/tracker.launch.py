"""Event-camera ball tracking with the tracker network (float or Loihi 2 fixed point), fed by simulated throws or a camera driver.

    ros2 launch spikectl tracker.launch.py                     # simulated throws (spikectl-events)
    ros2 launch spikectl tracker.launch.py source:=none        # a real driver publishes the events

Nodes (package `spikectl`, built with `--features ros`):
- spikectl-events (source:=sim): EventPacket (evt3) on events_topic, ball truth [px] on /event_camera/ball_truth
- spikectl-tracker: EventPacket  ->  TrackEstimate, PointStamped [px], SolveStats, EnergyEstimate, /diagnostics
- spikectl-monitor: SolveStats  ->  /diagnostics (the tracker's per-window latency and synaptic operations)
Parameters from tracker.yaml. With a Prophesee camera: metavision_driver publishes
event_camera_msgs/EventPacket (evt3) on /event_camera/events, the tracker's default input.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, Shutdown
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node


def generate_launch_description():
    params = os.path.join(get_package_share_directory("spikectl"), "launch", "tracker.yaml")
    source = LaunchConfiguration("source")
    events_topic = LaunchConfiguration("events_topic")
    return LaunchDescription(
        [
            DeclareLaunchArgument("source", default_value="sim", description="sim | none (a driver publishes)"),
            DeclareLaunchArgument("events_topic", default_value="/event_camera/events", description="EventPacket topic"),
            DeclareLaunchArgument("speed_mps", default_value="8.0", description="Simulated throw speed [m/s]"),
            DeclareLaunchArgument("noise", default_value="noisy", description="Simulated sensor: clean | noisy"),
            Node(
                package="spikectl",
                executable="spikectl-events",
                name="spikectl_events",
                output="screen",
                condition=IfCondition(PythonExpression(["'", source, "' == 'sim'"])),
                parameters=[
                    params,
                    {
                        "topic": events_topic,
                        "speed_mps": LaunchConfiguration("speed_mps"),
                        "noise": LaunchConfiguration("noise"),
                    },
                ],
            ),
            Node(
                package="spikectl",
                executable="spikectl-tracker",
                name="spikectl_tracker",
                output="screen",
                # A required node: when it exits (error or end), the whole launch shuts down.
                on_exit=Shutdown(reason="spikectl-tracker exited"),
                parameters=[params, {"events_topic": events_topic}],
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
