//! Freeing a replaced schema cache without holding up the event loop.
//!
//! A reload swaps in a new cache; the last Python reference to the old one usually goes on the worker's
//! event loop thread, with the GIL held (see `python`), and freeing its many small allocations took 1-4 ms
//! at 1,000 tables and 28-76 ms at 10,000 (measured in the workers during reloads): every request of that
//! worker waited for it. The last owner hands the value to a short-lived thread instead, which needs no
//! GIL.

use std::ops::Deref;
use std::sync::Arc;

/// An `Arc<T>` whose last owner frees `T` on a thread of its own.
pub struct FreedOffThread<T: Send + Sync + 'static>(Option<Arc<T>>);

impl<T: Send + Sync + 'static> FreedOffThread<T> {
    pub fn new(value: Arc<T>) -> Self {
        FreedOffThread(Some(value))
    }

    pub fn arc(&self) -> &Arc<T> {
        self.0.as_ref().expect("only taken in drop")
    }
}

impl<T: Send + Sync + 'static> Deref for FreedOffThread<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.arc()
    }
}

impl<T: Send + Sync + 'static> Drop for FreedOffThread<T> {
    fn drop(&mut self) {
        let Some(value) = self.0.take() else { return };
        // Two owners dropped at once on two threads may both see the other and leave the freeing to the
        // `Arc` here, as without this type; the Python binding drops its owners with the GIL held, so they
        // never do.
        if Arc::strong_count(&value) > 1 {
            return;
        }
        // A reload is rare: a thread per freed cache costs tens of microseconds. If no thread can be
        // started, the closure, and the value with it, is freed here.
        let _ = std::thread::Builder::new()
            .name("restpg-free".into())
            .spawn(move || {
                // Freeing takes its core from the requests: let them go first.
                crate::low_priority::lower_this_thread();
                drop(value)
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Reports the thread it is freed on.
    struct Reporter(mpsc::Sender<Option<String>>);

    impl Drop for Reporter {
        fn drop(&mut self) {
            let _ = self.0.send(std::thread::current().name().map(str::to_owned));
        }
    }

    #[test]
    fn the_last_owner_frees_the_value_on_another_thread() {
        let (sender, freed) = mpsc::channel();
        let value = Arc::new(Reporter(sender));
        let first = FreedOffThread::new(Arc::clone(&value));
        let second = FreedOffThread::new(value);
        drop(first);
        assert!(freed.try_recv().is_err(), "freed while still owned");
        drop(second);
        let thread = freed.recv_timeout(Duration::from_secs(5)).expect("never freed");
        assert_eq!(thread.as_deref(), Some("restpg-free"));
    }
}
