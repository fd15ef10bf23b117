//! Shared helpers of the ROS integration tests (feature `ros`).
//!
//! Every ROS test binary joins a ROS domain of its own and names its topics after its
//! process id, so test binaries never hear each other even outside a network namespace
//! (scripts/test.sh runs them inside one: `unshare -n` with only loopback up).
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::Stream;
use futures::StreamExt;

/// Creates (once per process) the ROS context, after moving this process onto `domain_id`.
pub fn context(domain_id: u32) -> r2r::Context {
    static CTX: OnceLock<r2r::Context> = OnceLock::new();
    CTX.get_or_init(|| {
        // SAFETY: this runs inside the OnceLock initialiser before the ROS context (and so any
        // DDS thread) exists; every other test thread that wants ROS blocks on this OnceLock,
        // and the tests start no other C code that reads the environment.
        unsafe { std::env::set_var("ROS_DOMAIN_ID", domain_id.to_string()) };
        r2r::Context::create().expect("ROS context: are scripts/setup.sh and scripts/env.sh in place?")
    })
    .clone()
}

/// A topic name unique to this process: `/spikectl_test_<pid>/<name>`.
pub fn topic(name: &str) -> String {
    format!("/spikectl_test_{}/{name}", std::process::id())
}

/// Takes every message that is ready on `stream` without blocking.
pub fn drain<T, S: Stream<Item = T> + Unpin>(stream: &mut S) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(Some(msg)) = stream.next().now_or_never() {
        out.push(msg);
    }
    out
}

/// Spins `node` in 10 ms slices, calling `step` after each slice until it returns `Some`, or
/// `timeout` passes (then `None`).
pub fn spin_until<R>(node: &mut r2r::Node, timeout: Duration, mut step: impl FnMut() -> Option<R>) -> Option<R> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        node.spin_once(Duration::from_millis(10));
        if let Some(r) = step() {
            return Some(r);
        }
    }
    None
}

/// The project's Python (the venv from scripts/setup.sh, with rclpy).
pub fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".deps/venv/bin/python")
}

/// Starts `python -c script args…` with stdout piped. The environment (PYTHONPATH,
/// LD_LIBRARY_PATH, ROS_DOMAIN_ID) is inherited from scripts/env.sh and [`context`].
pub fn spawn_python(script: &str, args: &[&str]) -> Child {
    Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the venv's python: run scripts/setup.sh")
}

/// Kills a child process if it is still running (used on test failure paths).
pub struct KillOnDrop(pub Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `exe` with `param` and expects a clean refusal (exit code 1) naming the parameter.
pub fn refuses(exe: &str, param: &str) {
    let mut child: Child = Command::new(exe)
        .args(["--ros-args", "-p", param])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
    let end = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("{exe} kept running with {param}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{exe} {param}: a clean error exit: {status}\n{err}");
    let name = param.split(":=").next().unwrap();
    assert!(err.contains(name), "{exe}: the error names the parameter `{name}`: {err}");
}
