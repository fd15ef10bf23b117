//! Link settings for spikectl's binaries and tests:
//! - with feature `sim` (default): an rpath to MuJoCo's library folder (from
//!   scripts/setup.sh), so `cargo run` needs no LD_LIBRARY_PATH; builds without it (the robot
//!   controller and monitor nodes) neither link MuJoCo nor point at it;
//! - with feature `ros`: rpaths to the ROS 2 wheel prefix and libpython linked in, because
//!   librcl pulls in rosidl Python typesupport that needs libpython's symbols. The libpython
//!   is the one of the Python the ROS install uses: `SPIKECTL_PYTHON_LIB` (e.g. `python3.12`)
//!   when set, else the version of the project venv's Python (`$SPIKECTL_DEPS_DIR/venv`), of
//!   `SPIKECTL_PYTHON`, or of `python3` on PATH (3.11 with the PyPI wheels, 3.12 on Ubuntu
//!   24.04's apt Jazzy).
fn main() {
    println!("cargo:rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    println!("cargo:rerun-if-env-changed=SPIKECTL_DEPS_DIR");
    println!("cargo:rerun-if-changed=build.rs");
    let canon = |p: &str| std::fs::canonicalize(p).map(|p| p.display().to_string()).unwrap_or_else(|_| p.to_string());
    // Only builds with the simulator (feature `sim`) link MuJoCo.
    if std::env::var_os("CARGO_FEATURE_SIM").is_some()
        && let Ok(dir) = std::env::var("MUJOCO_DYNAMIC_LINK_DIR")
    {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", canon(&dir));
    }
    if std::env::var_os("CARGO_FEATURE_ROS").is_some() {
        if let Ok(deps) = std::env::var("SPIKECTL_DEPS_DIR") {
            let deps = canon(&deps);
            for sub in ["install/lib", "venv/lib", "ros-libs"] {
                println!("cargo:rustc-link-arg=-Wl,-rpath,{deps}/{sub}");
            }
        }
        let lib = python_lib();
        println!("cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed,-l{lib},--pop-state");
    }
}

/// `pythonX.Y` of the Python the ROS install uses (see the file docs).
fn python_lib() -> String {
    println!("cargo:rerun-if-env-changed=SPIKECTL_PYTHON_LIB");
    println!("cargo:rerun-if-env-changed=SPIKECTL_PYTHON");
    if let Ok(lib) = std::env::var("SPIKECTL_PYTHON_LIB") {
        return lib;
    }
    let mut candidates = Vec::new();
    if let Ok(deps) = std::env::var("SPIKECTL_DEPS_DIR") {
        candidates.push(format!("{deps}/venv/bin/python3"));
    }
    if let Ok(py) = std::env::var("SPIKECTL_PYTHON") {
        candidates.push(py);
    }
    candidates.push("python3".into());
    for py in candidates {
        let out = std::process::Command::new(&py)
            .args(["-c", "import sys; print(f'python{sys.version_info[0]}.{sys.version_info[1]}')"])
            .output();
        if let Ok(o) = out
            && o.status.success()
        {
            let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if v.starts_with("python3.") {
                return v;
            }
        }
    }
    println!("cargo:warning=no Python found to pick libpython; linking python3.11 (set SPIKECTL_PYTHON_LIB)");
    "python3.11".into()
}
