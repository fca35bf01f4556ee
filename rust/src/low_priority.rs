//! CPU work that must not compete with requests: what a worker does for a schema reload while it serves.
//!
//! A reload builds a cache (parse and inference), encodes its snapshot, decodes another worker's, and frees
//! the replaced one: tens of milliseconds of one core at 1,000 tables, hundreds at 10,000, on a host whose
//! cores are serving requests. Run at the default priority that work takes its core from the event loops
//! and the database for its whole length, and the requests of that moment queue behind it. Here it runs on a
//! short-lived thread with a raised nice value: the scheduler gives it whatever CPU the requests leave
//! idle, and little more while they want it all, so it still finishes under full load, only later. The
//! thread never holds the GIL: a low-priority thread holding it would hold up every request of its worker
//! (the priority inversion a niced Python thread caused, see `loadtest/README.md`).
//!
//! Linux only: there `setpriority(PRIO_PROCESS, tid)` sets one thread's nice value. Elsewhere it would
//! renice the whole process, so the work runs at the default priority.

use std::sync::{Mutex, PoisonError};
use std::thread;

/// The nice value of background work: under contention the scheduler gives a thread of nice 10 about a
/// tenth of the share of one at nice 0.
const NICE: i32 = 10;

/// Runs `work` on a thread of its own at a low CPU priority and returns its result (a panic in `work`
/// propagates). If no thread can be started, `work` runs here, at this thread's priority.
pub fn run_at_low_priority<T: Send, F: FnOnce() -> T + Send>(work: F) -> T {
    let slot = Mutex::new(Some(work));
    let run = || {
        let work = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        work.expect("the work runs once")()
    };
    thread::scope(|scope| {
        let spawned = thread::Builder::new()
            .name("restpg-background".into())
            .spawn_scoped(scope, || {
                lower_this_thread();
                run()
            });
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => run(),
        }
    })
}

/// Raises the calling thread's nice value to `NICE`, unless it is already that low (a server started
/// under `nice`). One-way for an unprivileged process: call it only on a thread made for the purpose. A
/// refusal leaves the thread as it was.
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; they touch no memory. getpriority's -1 is
    // either nice -1 or an error: both are below `NICE`, and setpriority then tries.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        if libc::getpriority(libc::PRIO_PROCESS, tid) < NICE {
            libc::setpriority(libc::PRIO_PROCESS, tid, NICE);
        }
    }
}

/// The calling thread's nice value, for tests.
#[cfg(all(test, target_os = "linux"))]
fn this_thread_nice() -> i32 {
    // SAFETY: as in `lower_this_thread`. getpriority may return -1 as a value; errno is not checked
    // because the values compared in the tests are never -1.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_result_of_work_that_borrows() {
        let pieces = [b"ab".as_slice(), b"cd".as_slice()];
        assert_eq!(run_at_low_priority(|| pieces.concat()), b"abcd");
    }

    #[test]
    fn runs_off_the_calling_thread() {
        let caller = thread::current().id();
        let (ran_on, name) = run_at_low_priority(|| {
            (
                thread::current().id(),
                thread::current().name().map(str::to_owned),
            )
        });
        assert_ne!(ran_on, caller);
        assert_eq!(name.as_deref(), Some("restpg-background"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn lowers_only_the_worker_thread() {
        let before = this_thread_nice();
        let inside = run_at_low_priority(this_thread_nice);
        assert_eq!(inside, NICE.max(before));
        assert_eq!(this_thread_nice(), before);
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let outcome = std::panic::catch_unwind(|| run_at_low_priority(|| panic!("inference failed")));
        let panic = outcome.expect_err("the panic propagates");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"inference failed"));
    }
}
