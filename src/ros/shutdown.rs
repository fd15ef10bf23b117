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
