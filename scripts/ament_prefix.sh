#!/usr/bin/env bash
# Lays out an ament install prefix for the spikectl package from a cargo build, the way
# colcon-ros-cargo / cargo-ament-build install it, so `ros2 launch spikectl <file>` and
# `ros2 run spikectl <node>` work without colcon:
#   PREFIX/lib/spikectl/<node binaries>          (symlinks to BIN_DIR: cheap, always current)
#   PREFIX/share/spikectl/{package.xml,launch/}  (copies)
#   PREFIX/share/ament_index/resource_index/packages/spikectl
# The interface packages (spikectl_msgs, event_camera_msgs) are the prefix .deps/install from
# scripts/setup.sh: put both on AMENT_PREFIX_PATH (scripts/test.sh and README show how).
# Usage: scripts/ament_prefix.sh BIN_DIR PREFIX
#   BIN_DIR: where cargo put the node binaries (e.g. target/debug after
#            `cargo build --features ros --bins`); PREFIX: created or refreshed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -eq 2 ] || { echo "usage: $0 BIN_DIR PREFIX" >&2; exit 2; }
BIN_DIR="$(cd "$1" && pwd)"
PREFIX="$2"
NODES=(spikectl-sim spikectl-quadruped spikectl-arm spikectl-monitor spikectl-tracker spikectl-events)
for n in "${NODES[@]}"; do
  [ -x "$BIN_DIR/$n" ] || { echo "$0: $BIN_DIR/$n missing: build with --features ros first" >&2; exit 1; }
done
mkdir -p "$PREFIX/lib/spikectl" "$PREFIX/share/spikectl" "$PREFIX/share/ament_index/resource_index/packages"
PREFIX="$(cd "$PREFIX" && pwd)"
for n in "${NODES[@]}"; do ln -sfn "$BIN_DIR/$n" "$PREFIX/lib/spikectl/$n"; done
cp "$ROOT/package.xml" "$PREFIX/share/spikectl/package.xml"
rm -rf "$PREFIX/share/spikectl/launch"
mkdir -p "$PREFIX/share/spikectl/launch"
cp "$ROOT"/launch/*.launch.py "$ROOT"/launch/*.yaml "$PREFIX/share/spikectl/launch/"
: > "$PREFIX/share/ament_index/resource_index/packages/spikectl"
echo "$PREFIX"
