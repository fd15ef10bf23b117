#!/usr/bin/env bash
# spikectl's test command (README; CI runs it through .ci/run):
#   1. scripts/setup.sh: every real dependency, including ROS 2 (idempotent, fast when done);
#   2. builds every target of the workspace with the `ros` feature (test profile), then the
#      library and binaries with default features (no ROS), with network access;
#   3. runs the whole workspace test suite with `--features ros` inside a network namespace of
#      its own (`unshare -n`, only loopback up), so ROS/DDS traffic never leaves the process
#      group and never meets other ROS graphs on the machine;
#      (tests/ros_launch.rs runs the launch files with the real `ros2 launch`, from an ament
#      prefix of the test build made by scripts/ament_prefix.sh);
#   4. builds the controller, monitor and tracker nodes without the `sim` feature and checks (readelf)
#      that they do not link libmujoco (the robot build);
#   5. prints cargo's per-binary summary lines and exits non-zero if anything failed.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test ros_smoke`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\033[1;34m[test]\033[0m %s\n' "$*"; }
t0=$SECONDS

step "setup"
"$ROOT/scripts/setup.sh"
# One environment for build and test: r2r's build script fingerprints AMENT_PREFIX_PATH,
# CMAKE_PREFIX_PATH, IDL_PACKAGE_FILTER, ROS_DISTRO, so it must see the same values each time.
# shellcheck disable=SC1091
source "$ROOT/scripts/env.sh"
t_setup=$((SECONDS - t0))

CARGO_FLAGS=(--locked --workspace)
step "build: all targets with --features ros (test profile)"
cargo test "${CARGO_FLAGS[@]}" --features ros --all-targets --no-run
# The default (no-ROS) library and binaries must build too. As a test build it resolves the
# same dependency features as above, so only the workspace crates compile again.
step "build: library and binaries with default features (no ROS)"
cargo test "${CARGO_FLAGS[@]}" --lib --bins --no-run
# An ament prefix of the test build (symlinks + copies, instant) for `ros2 launch spikectl …`
# in tests/ros_launch.rs, which takes `ros2` itself from .deps/ros2-launch (scripts/setup.sh).
# Passed by a variable of our own: changing AMENT_PREFIX_PATH here would rebuild r2r.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SPIKECTL_AMENT_PREFIX="$("$ROOT/scripts/ament_prefix.sh" "$TARGET_DIR/debug" "$TARGET_DIR/ament-prefix")"
export SPIKECTL_AMENT_PREFIX
t_build=$((SECONDS - t0 - t_setup))

# A network namespace of our own: as root `unshare -n`; otherwise through a user namespace.
NETNS=()
for cand in "unshare -n" "unshare -rn"; do
  # shellcheck disable=SC2086
  if $cand sh -c 'ip link set lo up' >/dev/null 2>&1; then read -ra NETNS <<< "$cand"; break; fi
done
if ((${#NETNS[@]} == 0)); then
  echo "[test] cannot create a network namespace (need root or unprivileged user namespaces);" >&2
  echo "[test] the ROS tests must not run on the host network. Aborting." >&2
  exit 1
fi

step "test: cargo test --workspace --features ros, inside '${NETNS[*]}' (loopback only)"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
set +e
"${NETNS[@]}" bash -c 'ip link set lo up && exec "$@"' netns \
  cargo test "${CARGO_FLAGS[@]}" --offline --features ros --no-fail-fast "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
t_test=$((SECONDS - t0 - t_setup - t_build))

# The robot build: the controller, monitor and tracker nodes without the `sim` feature must
# build and must not link MuJoCo. After the tests, because these binaries replace the test
# build's ones in the same folder. The test profile plus one integration test (`layers`, which
# uses no library item) make cargo resolve the dependencies' features with the
# dev-dependencies, exactly as in the test build above, so every dependency is reused and only
# the spikectl library (without `sim`/`lab`) and the node binaries compile again.
step "build: controller, monitor and tracker nodes without MuJoCo (--no-default-features --features ros)"
t_robot0=$SECONDS
robot_rc=0
ROBOT_NODES=(spikectl-quadruped spikectl-arm spikectl-monitor spikectl-tracker)
if cargo build --locked --offline -p spikectl --profile test --no-default-features --features ros \
    "${ROBOT_NODES[@]/#/--bin=}" --test layers; then
  for b in "${ROBOT_NODES[@]}"; do
    needed="$(readelf -d "$TARGET_DIR/debug/$b" | grep NEEDED || true)"
    if [ -z "$needed" ] || grep -qi mujoco <<<"$needed"; then
      echo "[test] $b: links MuJoCo (or readelf failed): $needed" >&2
      robot_rc=1
    fi
  done
else
  robot_rc=1
fi
t_robot=$((SECONDS - t_robot0))

echo
step "summary (cargo test, --features ros)"
grep -E '^\s+Running |^\s+Doc-tests |^test result:|^error(\[|:)|FAILED|panicked' "$LOG" || true
passed=$(grep -Eo '^test result: .*' "$LOG" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .*' "$LOG" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
binaries=$(grep -c '^test result:' "$LOG" || true)
step "$binaries test binaries: $passed passed, $failed failed; times [s]: setup $t_setup, build $t_build, test $t_test, robot build $t_robot"
if [ "$robot_rc" -ne 0 ]; then
  step "FAILED: the nodes without the sim feature did not build, or they link MuJoCo"
else
  step "robot build: ${ROBOT_NODES[*]} built without sim; none links libmujoco"
fi
if [ "$rc" -ne 0 ]; then
  step "FAILED (cargo test exit code $rc)"
  exit "$rc"
fi
if [ "$robot_rc" -ne 0 ]; then
  exit 1
fi
step "ok"
