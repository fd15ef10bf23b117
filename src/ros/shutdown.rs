//! Clean stop on SIGINT (Ctrl-C) and SIGTERM (what `ros2 launch` and process managers send).
//!
//! [`install`] replaces the two signals' default action (kill the process) with a handler
//! that only sets a flag; the node's main loop polls [`requested`] and, when set, stops its
//! real-time loop (which drops the controller and so joins its MPC thread) and returns.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM. Errors if the OS refuses.
pub fn install() -> std::io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let handler: extern "C" fn(libc::c_int) = on_signal;
        // SAFETY: `on_signal` has the signature the OS expects and only stores to an atomic,
        // which is async-signal-safe; no other code of this process installs handlers for
        // these signals.
        let prev = unsafe { libc::signal(sig, handler as libc::sighandler_t) };
        if prev == libc::SIG_ERR {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// True once SIGINT or SIGTERM arrived (after [`install`]).
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// How long a node's teardown may take once its loop has ended [s]: under the 5 s that
/// `ros2 launch` waits after SIGINT before it escalates to SIGTERM and SIGKILL.
pub const TEARDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Bounds the rest of the process's life to `limit`: called when the node's loop has ended
/// and its summary is printed. Dropping the ROS entities (rcl node, DDS participant) can
/// block in the middleware's destructors; if the process is still alive after `limit`, a
/// watchdog thread says so and ends it with exit status 0, since the node's own work (its
/// loop, its summary, its files) is complete. When teardown finishes first, the process exits
/// normally and the watchdog with it.
pub fn bound_teardown(node: &str, limit: std::time::Duration) {
    let name = node.to_string();
    let spawned = std::thread::Builder::new().name("teardown-watchdog".into()).spawn(move || {
        std::thread::sleep(limit);
        eprintln!(
            "[{name}] ROS teardown still running after {:.1} s (blocked in the middleware): exiting",
            limit.as_secs_f64()
        );
        use std::io::Write;
        let _ = std::io::stderr().flush();
        let _ = std::io::stdout().flush();
        // SAFETY: _exit(2) ends the process without running destructors or atexit handlers,
        // which is the point: one of them is what blocks.
        unsafe { libc::_exit(0) }
    });
    if let Err(e) = spawned {
        eprintln!("[{node}] cannot start the teardown watchdog: {e}");
    }
}
