#!/usr/bin/env bash
# Real-time tick measurement of spikectl-quadruped with the MPC inside the tick
# (mpc_thread:=false) and on its own thread (mpc_thread:=true, the default).
#
#   scripts/measure_mpc_thread.sh [seconds per run (20)] [solvers ("spiking osqp")]
#   RT_PRIORITY=50 scripts/measure_mpc_thread.sh ...   # tick thread under SCHED_FIFO 50
#
# For each solver and mode: spikectl-sim (real time, not lockstep, trotting robot) and
# spikectl-quadruped (gait:=trot, sim time) run for the given wall time inside a network
# namespace of their own (loopback only); then the controller gets SIGTERM and prints its
# totals (steps, deadline misses = tick overruns, longest step, tick p99, MPC solves, stale
# solutions, fallbacks) on a clean stop, which this script tabulates. Uses the binaries
# cargo built last (target/debug, the test profile: `cargo test --features ros --no-run`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-20}"
SOLVERS="${2:-spiking osqp}"
RT_PRIORITY="${RT_PRIORITY:-0}"
# shellcheck disable=SC1091
source "$ROOT/scripts/env.sh"
BIN="$ROOT/target/debug"
for b in spikectl-sim spikectl-quadruped; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b: run cargo test --features ros --no-run" >&2; exit 1; }
done
if [ "${SPK_IN_NETNS:-}" != 1 ]; then
  exec unshare -n env SPK_IN_NETNS=1 RT_PRIORITY="$RT_PRIORITY" bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$SECS" "$SOLVERS"
fi
export ROS_DOMAIN_ID=77
LOG="$(mktemp -d)"
trap 'rm -rf "$LOG"' EXIT
printf '%-8s %-11s %8s %10s %10s %9s %9s %10s %8s %6s %9s\n' solver mpc_thread steps overruns "p99[µs]" "max[ms]" started finished stale fallb "min_h[m]"
for solver in $SOLVERS; do
  for thread in false true; do
    ns="/measure_${solver}_${thread}"
    "$BIN/spikectl-quadruped" --ros-args -r "__ns:=$ns" -p solver:="$solver" -p gait:=trot -p use_sim_time:=true \
      -p mpc_thread:="$thread" -p rt_priority:="$RT_PRIORITY" \
      -p diagnostics_topic:="$ns/diagnostics" -p stats_topic:="$ns/solve_stats" \
      2> "$LOG/ctl" &
    ctl=$!
    "$BIN/spikectl-sim" --ros-args -r "__ns:=$ns" -p real_time_factor:=1.0 -p lockstep:=false -p noise:=typical \
      -p seed:=1 -p diagnostics_topic:="$ns/diagnostics" -p diagnostics_period_s:=0.5 2> "$LOG/sim" &
    sim=$!
    # Lowest trunk height seen (odometry), from rclpy in the same namespace.
    python - "$ns" "$SECS" > "$LOG/height" 2>/dev/null <<'EOF' &
import sys, time, rclpy
from nav_msgs.msg import Odometry
from rclpy.qos import qos_profile_sensor_data
ns, secs = sys.argv[1], float(sys.argv[2])
rclpy.init()
node = rclpy.create_node("measure_height")
low = [float("inf")]
node.create_subscription(Odometry, ns + "/odom", lambda m: low.__setitem__(0, min(low[0], m.pose.pose.position.z)), qos_profile_sensor_data)
end = time.time() + secs
while time.time() < end:
    rclpy.spin_once(node, timeout_sec=0.1)
print(f"{low[0]:.3f}")
EOF
    py=$!
    sleep "$SECS"
    if ! kill -TERM "$ctl" 2>/dev/null; then
      echo "the controller ($solver, mpc_thread $thread) exited early:" >&2
      tail -20 "$LOG/ctl" >&2
    fi
    wait "$ctl" || echo "controller exit code $?" >&2
    kill -TERM "$sim" 2>/dev/null || true
    wait "$sim" 2>/dev/null || true
    wait "$py" 2>/dev/null || true
    line="$(grep 'stopped:' "$LOG/ctl" || true)"
    if [ -z "$line" ]; then
      echo "no summary from the controller:" >&2
      tail -5 "$LOG/ctl" >&2
      continue
    fi
    # "... stopped: S steps, D deadline misses, longest step M ms, tick p99 P µs, A MPC solves started / F finished, T stale-solution ticks, B fallbacks"
    read -r steps misses maxms p99 started finished stale fallb < <(echo "$line" | sed -E \
      's/.*stopped: ([0-9]+) steps, ([0-9]+) deadline misses, longest step ([0-9.]+) ms, tick p99 ([0-9]+) µs, ([0-9]+) MPC solves started \/ ([0-9]+) finished, ([0-9]+) stale-solution ticks, ([0-9]+) fallbacks.*/\1 \2 \3 \4 \5 \6 \7 \8/')
    printf '%-8s %-11s %8s %10s %10s %9s %9s %10s %8s %6s %9s\n' "$solver" "$thread" "$steps" "$misses" "$p99" "$maxms" \
      "$started" "$finished" "$stale" "$fallb" "$(cat "$LOG/height")"
  done
done
