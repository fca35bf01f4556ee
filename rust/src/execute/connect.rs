//! A connection's life outside its requests: opening it without blocking, reading what the server sends
//! unasked (notices, notifications, the end of the connection) and cancelling what it runs.
//!
//! Every call returns at once: the event loop waits for the socket between them.

use std::ffi::{c_char, c_void, CString};
use std::ptr;

use super::libpq::{self, CancelApi, CancelConn, Library};
use super::pipeline::{text, Lost, Pipeline};

/// `PQconnectPoll`'s answer, for the caller's wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    Reading,
    Writing,
    Ok,
    Failed,
}

impl Poll {
    fn of(status: i32) -> Self {
        match status {
            libpq::POLLING_OK => Poll::Ok,
            libpq::POLLING_FAILED => Poll::Failed,
            libpq::POLLING_WRITING => Poll::Writing,
            _ => Poll::Reading, // PGRES_POLLING_READING (1); ACTIVE (4) is no longer returned
        }
    }
}

impl Pipeline {
    /// Start connecting with libpq's keywords and values (the first `dbname` may be a whole connection
    /// string, which earlier pairs yield to and later ones override). Poll with [`Pipeline::poll`].
    pub fn start(library: &'static Library, params: &[(&str, &str)]) -> Result<Self, Lost> {
        let pq = &library.pq;
        // SAFETY: both arrays are NULL-terminated and their strings live until the call returns.
        let conn = with_params(params, |keywords, values| unsafe {
            (pq.connect_start_params)(keywords, values, 1)
        })
        .map_err(Lost)?;
        if conn.is_null() {
            return Err(Lost("out of memory".into()));
        }
        // SAFETY: a new connection.
        unsafe { ignore_notices(pq, conn) };
        // SAFETY: a new connection that only this value uses.
        Ok(unsafe { Pipeline::new(pq, conn) })
    }

    /// One step of connecting; the socket may change between steps (several hosts, an SSL retry).
    pub fn poll(&mut self) -> Result<Poll, Lost> {
        let conn = self.conn()?;
        // SAFETY: a live connection.
        Ok(Poll::of(unsafe { (self.pq.connect_poll)(conn) }))
    }

    /// The connection is open and has not failed.
    pub fn ok(&self) -> bool {
        // SAFETY: a live connection.
        self.conn()
            .is_ok_and(|conn| unsafe { (self.pq.status)(conn) } == libpq::CONNECTION_OK)
    }

    /// Once connected: non-blocking sends and pipeline mode, as the request path expects.
    pub fn enter_pipeline_mode(&mut self) -> Result<(), Lost> {
        let conn = self.conn()?;
        // SAFETY: a live connection, idle (just connected).
        unsafe {
            if (self.pq.set_nonblocking)(conn, 1) != 0 || (self.pq.enter_pipeline_mode)(conn) != 1 {
                return Err(self.lost());
            }
        }
        Ok(())
    }

    /// Read what the server sent unasked; `Lost` when the connection ended.
    pub fn consume(&mut self) -> Result<(), Lost> {
        let conn = self.conn()?;
        // SAFETY: a live connection.
        if unsafe { (self.pq.consume_input)(conn) } == 0 || !self.ok() {
            return Err(self.lost());
        }
        Ok(())
    }

    /// The notifications read so far, as `(channel, payload)`.
    pub fn notifies(&mut self) -> Vec<(String, String)> {
        let mut received = Vec::new();
        let Ok(conn) = self.conn() else {
            return received;
        };
        loop {
            // SAFETY: a live connection; each notification is read, then freed once with PQfreemem.
            unsafe {
                let notify = (self.pq.notifies)(conn);
                if notify.is_null() {
                    return received;
                }
                let channel = text((*notify).relname).unwrap_or_default();
                let payload = text((*notify).extra).unwrap_or_default();
                (self.pq.freemem)(notify.cast());
                received.push((channel, payload));
            }
        }
    }

    /// Start cancelling what the connection runs (libpq's non-blocking cancel); None when this libpq
    /// has no such API or the request could not start (the connection is gone: nothing runs).
    pub fn cancel(&self, library: &'static Library) -> Option<Cancel> {
        let api = library.cancel.as_ref()?;
        let conn = self.conn().ok()?;
        // SAFETY: a live connection; the cancel connection is owned by `Cancel` from here on.
        let cancel = Cancel {
            api,
            conn: unsafe { (api.create)(conn) },
        };
        // SAFETY: as above (PQcancelStart on a NULL connection returns 0).
        (!cancel.conn.is_null() && unsafe { (api.start)(cancel.conn) } == 1).then_some(cancel)
    }
}

/// libpq's keywords and values as the NULL-terminated arrays its connect functions take, for `connect`;
/// the first `dbname` may be a whole connection string (libpq's `expand_dbname`).
pub(super) fn with_params<T>(
    params: &[(&str, &str)],
    connect: impl FnOnce(*const *const c_char, *const *const c_char) -> T,
) -> Result<T, String> {
    let c_strings = |texts: &mut dyn Iterator<Item = &str>| {
        texts
            .map(|text| CString::new(text).map_err(|_| "a connection parameter with a NUL byte".to_string()))
            .collect::<Result<Vec<_>, _>>()
    };
    let keywords = c_strings(&mut params.iter().map(|pair| pair.0))?;
    let values = c_strings(&mut params.iter().map(|pair| pair.1))?;
    let pointers = |strings: &[CString]| {
        let mut list: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        list.push(ptr::null());
        list
    };
    let (keywords, values) = (pointers(&keywords), pointers(&values));
    Ok(connect(keywords.as_ptr(), values.as_ptr()))
}

/// Notices and warnings are not part of PostgREST's responses (nor of its logs). Without a receiver libpq
/// prints every notice (a function's RAISE NOTICE, say) to stderr, per request.
///
/// # Safety
/// `conn` is a live connection of `pq` that no other thread uses meanwhile.
pub(super) unsafe fn ignore_notices(pq: &libpq::Libpq, conn: libpq::Conn) {
    (pq.set_notice_receiver)(conn, Some(ignore_notice), ptr::null_mut());
}

unsafe extern "C" fn ignore_notice(_: *mut c_void, _: libpq::Res) {}

/// A cancel request in flight; finished when dropped.
pub struct Cancel {
    api: &'static CancelApi,
    conn: CancelConn,
}

// SAFETY: as a `Pipeline`: used by one thread at a time (the binding's borrow checks).
unsafe impl Send for Cancel {}
unsafe impl Sync for Cancel {}

impl Cancel {
    pub fn poll(&mut self) -> Poll {
        // SAFETY: a live cancel connection until drop.
        Poll::of(unsafe { (self.api.poll)(self.conn) })
    }

    pub fn socket(&self) -> i32 {
        // SAFETY: as above.
        unsafe { (self.api.socket)(self.conn) }
    }
}

impl Drop for Cancel {
    fn drop(&mut self) {
        // SAFETY: owned here, finished once.
        unsafe { (self.api.finish)(self.conn) }
    }
}

/// Parse a connection string as libpq would: its keywords and values, or libpq's message.
pub fn parse_conninfo(library: &'static Library, conninfo: &str) -> Result<Vec<(String, String)>, String> {
    let c_info = CString::new(conninfo).map_err(|_| "a NUL byte in the connection string".to_string())?;
    let pq = &library.pq;
    let mut error: *mut c_char = ptr::null_mut();
    // SAFETY: the options array and the message are owned here and freed once with libpq's functions.
    unsafe {
        let options = (pq.conninfo_parse)(c_info.as_ptr(), &mut error);
        if options.is_null() {
            let message = text(error).unwrap_or_else(|| "out of memory".into());
            if !error.is_null() {
                (pq.freemem)(error.cast());
            }
            return Err(message.trim().to_string());
        }
        let mut pairs = Vec::new();
        let mut option = options;
        while !(*option).keyword.is_null() {
            if let Some(value) = text((*option).val) {
                pairs.push((text((*option).keyword).unwrap_or_default(), value));
            }
            option = option.add(1);
        }
        (pq.conninfo_free)(options);
        Ok(pairs)
    }
}
