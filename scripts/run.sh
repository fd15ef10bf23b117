#!/usr/bin/env bash
# The main job: set up (no ROS needed), build in release, and run a closed-loop MuJoCo
# simulation of the quadruped with the spiking QP solver and with OSQP, side by side.
# Extra arguments are passed to `spikectl run quadruped` (e.g. --scenario push --duration 5).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --no-ros
# shellcheck disable=SC1091
source "$ROOT/scripts/env.sh"
cd "$ROOT"
cargo build --release --bin spikectl
exec ./target/release/spikectl run quadruped --scenario trot --solver both "$@"
