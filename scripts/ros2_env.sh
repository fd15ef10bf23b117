# Source this file (bash) to run the ROS 2 nodes with `ros2 launch` / `ros2 run` / `ros2 param`:
# it sources scripts/env.sh, then puts the `ros2` CLI and launch packages that scripts/setup.sh
# installed (.deps/ros2-launch) and the spikectl ament prefix (default target/ament-prefix, made
# by scripts/ament_prefix.sh; or SPIKECTL_AMENT_PREFIX) on the paths.
# For running only: r2r's build reads AMENT_PREFIX_PATH, so build in a shell without it
# (a changed value rebuilds r2r).
_SPK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$_SPK_ROOT/scripts/env.sh"
_SPK_L="$_SPK_ROOT/.deps/ros2-launch"
_SPK_PREFIX="${SPIKECTL_AMENT_PREFIX:-$_SPK_ROOT/target/ament-prefix}"
if [ ! -x "$_SPK_L/site/bin/ros2" ] && ! command -v ros2 >/dev/null; then
  echo "scripts/ros2_env.sh: no ros2 CLI: run scripts/setup.sh with the vendor folder (../shared/vendor)" >&2
fi
if [ ! -f "$_SPK_PREFIX/share/ament_index/resource_index/packages/spikectl" ]; then
  echo "scripts/ros2_env.sh: $_SPK_PREFIX is not an ament prefix yet: scripts/ament_prefix.sh target/release $_SPK_PREFIX" >&2
fi
export AMENT_PREFIX_PATH="$_SPK_PREFIX:$_SPK_L/install:$_SPK_L/site:$AMENT_PREFIX_PATH"
export PYTHONPATH="$_SPK_L/install/lib/python3.11/site-packages:$_SPK_L/site:$PYTHONPATH"
export LD_LIBRARY_PATH="$_SPK_L/install/lib:$LD_LIBRARY_PATH"
export PATH="$_SPK_L/site/bin:$PATH"
export PYTHONUNBUFFERED=1
unset _SPK_ROOT _SPK_L _SPK_PREFIX
