#!/usr/bin/env bash
# Builds the committed HEAD of this repository the ROS way, with colcon, and checks the result:
#   1. a venv of its own (.deps/colcon-venv) with colcon-core, colcon-ros, colcon-cargo,
#      colcon-ros-cargo (which brings cargo-ament-build) and their helpers, pinned;
#   2. a colcon workspace (default /tmp/spikectl-colcon-ws, or $1) whose src/ holds a clone
#      of HEAD: colcon finds spikectl (ament_cargo) and, through Cargo.toml's
#      [workspace.metadata.colcon], the interface packages under msg/;
#   3. `colcon build --packages-up-to spikectl --cargo-args --release --features ros`;
#   4. from `install/setup.bash`: `ros2 pkg executables spikectl` lists the six nodes and
#      `ros2 launch spikectl quadruped_sim.launch.py --show-args` reads the launch file.
# Needs scripts/setup.sh first (the ROS wheels, the vendored `ros2 launch`). Takes a release
# build of every dependency in the workspace's own target folder (minutes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WS="${1:-/tmp/spikectl-colcon-ws}"
# shellcheck disable=SC1091
source "$ROOT/scripts/env.sh"
step() { printf '\033[1;34m[colcon]\033[0m %s\n' "$*"; }

CVENV="$ROOT/.deps/colcon-venv"
if [ ! -x "$CVENV/bin/colcon" ]; then
  step "colcon venv: $CVENV"
  python3 -m venv "$CVENV"
  "$CVENV/bin/pip" install --quiet \
    colcon-core==0.21.3 colcon-ros==0.5.0 colcon-cargo==0.2.0 colcon-ros-cargo==0.2.0 \
    colcon-cmake==0.2.30 colcon-python-setup-py==0.2.9 colcon-bash==0.5.0 \
    colcon-library-path==0.2.1 colcon-package-selection==0.2.10 colcon-parallel-executor==0.4.0 \
    colcon-output==0.2.15 colcon-recursive-crawl==0.2.3 colcon-defaults==0.2.9 \
    colcon-metadata==0.3.1 colcon-package-information==0.4.1 catkin-pkg==1.1.1
fi

step "workspace $WS (src/spikectl = HEAD $(git -C "$ROOT" rev-parse --short HEAD))"
mkdir -p "$WS/src"
rm -rf "$WS/src/spikectl"
git clone --quiet --depth 1 "file://$ROOT" "$WS/src/spikectl"
# The clone shares this checkout's installed dependencies (MuJoCo, the OSQP toolchain file).
ln -sfn "$ROOT/.deps" "$WS/src/spikectl/.deps"

cd "$WS"
step "colcon list"
# colcon after the ROS venv on PATH: it runs the ament/rosidl tools of the wheels.
PATH="$PATH:$CVENV/bin" colcon list
step "colcon build --packages-up-to spikectl --cargo-args --release --features ros"
PATH="$PATH:$CVENV/bin" colcon build --packages-up-to spikectl --cargo-args --release --features ros

step "check the install"
# The vendored ros2 CLI (scripts/setup.sh), as scripts/test.sh puts it on the paths.
V="$ROOT/.deps/ros2-launch"
export PATH="$V/site/bin:$PATH" PYTHONPATH="$V/install/lib/python3.11/site-packages:$V/site:${PYTHONPATH:-}"
export AMENT_PREFIX_PATH="$V/install:$V/site:$AMENT_PREFIX_PATH" LD_LIBRARY_PATH="$V/install/lib:$LD_LIBRARY_PATH"
# shellcheck disable=SC1091
set +u && source "$WS/install/setup.bash" && set -u
exes="$(ros2 pkg executables spikectl)"
echo "$exes"
for n in spikectl-sim spikectl-quadruped spikectl-arm spikectl-monitor spikectl-tracker spikectl-events; do
  grep -q "spikectl $n" <<<"$exes" || { echo "[colcon] missing executable $n" >&2; exit 1; }
done
ros2 launch spikectl quadruped_sim.launch.py --show-args >/dev/null
step "ok: colcon built spikectl, spikectl_msgs and event_camera_msgs into $WS/install"
