//! A worker's last resort after its supervisor is gone: end the process if its graceful stop has not.
//!
//! The worker asks the kernel for a SIGTERM when its supervisor dies (`restpg.server.end_with_supervisor`)
//! and Granian stops it gracefully. That stop can deadlock: Granian's Python signal handler calls into its
//! native stop while holding the GIL, and the runtime threads it waits for need the GIL to log. A Python
//! thread could not break that (it needs the same GIL), so the watch is a native thread that never takes it.

use std::sync::Once;
use std::thread;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// How often the parent is checked: the grace that follows is seconds, this adds at most one poll.
const POLL: Duration = Duration::from_millis(100);

static WATCH: Once = Once::new();

/// Watch `supervisor` (the worker's parent, by pid) from a native thread; once the worker's parent is
/// another process, wait `grace_seconds` for the graceful stop and then end the process with exit code 1.
/// Only the first call of a process starts a watch; without `getppid` (not Unix) there is none.
#[pyfunction]
pub fn watch_supervisor(supervisor: u32, grace_seconds: f64) -> PyResult<()> {
    let grace = Duration::try_from_secs_f64(grace_seconds)
        .map_err(|_| PyValueError::new_err(format!("invalid grace: {grace_seconds} seconds")))?;
    if cfg!(not(unix)) {
        return Ok(());
    }
    let mut started = Ok(());
    WATCH.call_once(|| {
        started = thread::Builder::new()
            .name("restpg-supervisor-watch".into())
            .spawn(move || watch(supervisor, grace))
            .map(drop);
    });
    started.map_err(PyErr::from)
}

fn watch(supervisor: u32, grace: Duration) {
    while parent() == Some(supervisor) {
        thread::sleep(POLL);
    }
    thread::sleep(grace);
    // Written with one call, without Rust's stderr lock: a stuck thread of this process may hold it.
    let pid = std::process::id();
    let line = format!(
        "restpg: worker {pid} did not stop within {:.1} s of its supervisor's end; ending it\n",
        grace.as_secs_f64()
    );
    end(&line);
}

#[cfg(unix)]
fn parent() -> Option<u32> {
    // SAFETY: getppid has no preconditions and cannot fail.
    u32::try_from(unsafe { libc::getppid() }).ok()
}

#[cfg(unix)]
fn end(line: &str) {
    // SAFETY: `write` reads `line`'s bytes, alive for the call; `_exit` ends the process at once, without
    // running handlers that could wait on the stuck thread (the database rolls back what was in flight).
    unsafe {
        libc::write(libc::STDERR_FILENO, line.as_ptr().cast(), line.len());
        libc::_exit(1);
    }
}

#[cfg(not(unix))]
fn parent() -> Option<u32> {
    None // never called: no watch starts
}

#[cfg(not(unix))]
fn end(_: &str) {}
