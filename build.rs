//! Link settings for spikectl's binaries and tests:
//! - an rpath to MuJoCo's library folder (from scripts/setup.sh), so `cargo run` needs no
//!   LD_LIBRARY_PATH;
//! - with feature `ros`: rpaths to the ROS 2 wheel prefix and libpython linked in, because
//!   librcl pulls in rosidl Python typesupport that needs libpython's symbols.
fn main() {
    println!("cargo:rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    println!("cargo:rerun-if-env-changed=SPIKECTL_DEPS_DIR");
    println!("cargo:rerun-if-changed=build.rs");
    let canon = |p: &str| std::fs::canonicalize(p).map(|p| p.display().to_string()).unwrap_or_else(|_| p.to_string());
    if let Ok(dir) = std::env::var("MUJOCO_DYNAMIC_LINK_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", canon(&dir));
    }
    if std::env::var_os("CARGO_FEATURE_ROS").is_some() {
        if let Ok(deps) = std::env::var("SPIKECTL_DEPS_DIR") {
            let deps = canon(&deps);
            for sub in ["install/lib", "venv/lib", "ros-libs"] {
                println!("cargo:rustc-link-arg=-Wl,-rpath,{deps}/{sub}");
            }
        }
        println!("cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed,-lpython3.11,--pop-state");
    }
}
