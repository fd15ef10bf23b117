# Source this file (bash) to get the environment every spikectl build and test uses.
# It only sets variables; scripts/setup.sh installs what they point at.
_SPK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_SPK_DEPS="$_SPK_ROOT/.deps"
_SPK_VENV="$_SPK_DEPS/venv"
_SPK_SITE="$_SPK_VENV/lib/python3.11/site-packages"
export SPIKECTL_ROOT="$_SPK_ROOT"
# MuJoCo (mujoco-rs links the PyPI wheel's libmujoco)
export MUJOCO_DYNAMIC_LINK_DIR="$_SPK_DEPS/mujoco"
# OSQP's CMake build takes qdldl from local sources
export CMAKE_TOOLCHAIN_FILE="$_SPK_DEPS/osqp-toolchain.cmake"
# ROS 2 Jazzy from the venv prefix, plus the install prefix of msg/ (spikectl_msgs, event_camera_msgs,
# and tf2_msgs where the ROS prefix lacks it)
export ROS_DISTRO=jazzy
export RMW_IMPLEMENTATION=rmw_fastrtps_cpp
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
export AMENT_PREFIX_PATH="$_SPK_DEPS/install:$_SPK_VENV"
export CMAKE_PREFIX_PATH="$_SPK_DEPS/install:$_SPK_VENV"
export IDL_PACKAGE_FILTER="std_msgs;builtin_interfaces;geometry_msgs;sensor_msgs;diagnostic_msgs;nav_msgs;rosgraph_msgs;rcl_interfaces;action_msgs;unique_identifier_msgs;spikectl_msgs;event_camera_msgs;tf2_msgs;std_srvs"
export LD_LIBRARY_PATH="$_SPK_DEPS/install/lib:$_SPK_VENV/lib:$_SPK_DEPS/ros-libs:$_SPK_DEPS/mujoco${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$_SPK_DEPS/install/lib/python3.11/site-packages${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$_SPK_VENV/bin:$PATH"
unset _SPK_ROOT _SPK_DEPS _SPK_VENV _SPK_SITE
