//! Connections that block in each call, for a cold start's catalog read in the supervisor.
//!
//! The supervisor reads the catalog in a thread while its main thread imports the app and Granian. Driven
//! from Python, every step of that read (each connect, each statement, on each of the connections side by
//! side) waited for the GIL the imports hold, up to a switch interval each time: measured with the main
//! thread busy, the read took twice as long as with it idle. Here a whole read runs in native threads and
//! the binding holds no GIL for any of it.

use std::ffi::CString;
use std::ptr;

use super::connect::{ignore_notices, with_params};
use super::libpq::{self, Conn, Libpq, Library};
use super::pipeline::{text, Params, PgError, PqResult};

/// Why a blocking call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// libpq could not connect, or the connection broke: its message.
    Connection(String),
    /// PostgreSQL refused the statement.
    Statement(PgError),
}

/// One statement of a script: its text and its text parameters (None for NULL).
pub type Statement = (Vec<u8>, Vec<Option<Vec<u8>>>);

/// An open connection; finished when dropped.
pub struct Session {
    pq: &'static Libpq,
    conn: Conn,
}

// SAFETY: a libpq connection may move between threads as long as two threads never use it at once; every
// call takes `&mut self`.
unsafe impl Send for Session {}

impl Session {
    /// Connect with libpq's keywords and values (as [`super::Pipeline::start`] takes them).
    pub fn connect(library: &'static Library, params: &[(&str, &str)]) -> Result<Self, Failure> {
        let pq = &library.pq;
        // SAFETY: both arrays are NULL-terminated and their strings live until the call returns.
        let conn = with_params(params, |keywords, values| unsafe {
            (pq.connectdb_params)(keywords, values, 1)
        })
        .map_err(Failure::Connection)?;
        if conn.is_null() {
            return Err(Failure::Connection("out of memory".into()));
        }
        let session = Session { pq, conn };
        // SAFETY: a connection of `pq` (failed or not) owned by `session`.
        if unsafe { (pq.status)(conn) } != libpq::CONNECTION_OK {
            return Err(session.broken());
        }
        // SAFETY: as above, open.
        unsafe { ignore_notices(pq, conn) };
        Ok(session)
    }

    /// Run one statement and return its result (rows or not); its error, or the connection's.
    pub fn run(&mut self, sql: &[u8], params: &[Option<Vec<u8>>]) -> Result<PqResult, Failure> {
        let sql = CString::new(sql).map_err(|_| Failure::Connection("a statement with a NUL byte".into()))?;
        let mut values = Params::with_capacity(params.len());
        for value in params {
            values.push(value.as_deref());
        }
        let pointers = values.pointers();
        // SAFETY: a live connection; the statement and the values outlive the call (NULL types, lengths
        // and formats: text parameters, text results).
        let res = unsafe {
            (self.pq.exec_params)(
                self.conn,
                sql.as_ptr(),
                pointers.len() as i32,
                ptr::null(),
                pointers.as_ptr(),
                ptr::null(),
                ptr::null(),
                0,
            )
        };
        if res.is_null() {
            return Err(self.broken());
        }
        // SAFETY: a new result of this libpq, owned from here on.
        let result = unsafe { PqResult::own(self.pq, res) };
        match result.status() {
            libpq::COMMAND_OK | libpq::TUPLES_OK => Ok(result),
            libpq::FATAL_ERROR => Err(Failure::Statement(result.error())),
            _ => Err(self.broken()),
        }
    }

    /// Run `script`, one statement after the other: each one's first value of its first row (None
    /// without one), in order.
    pub fn script(&mut self, script: &[Statement]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        script
            .iter()
            .map(|(sql, params)| Ok(self.run(sql, params)?.value(0, 0).map(<[u8]>::to_vec)))
            .collect()
    }

    fn broken(&self) -> Failure {
        // SAFETY: a connection of this libpq; its message is a NUL-terminated string it owns.
        let message = text(unsafe { (self.pq.error_message)(self.conn) }).unwrap_or_default();
        let message = message.trim();
        Failure::Connection(if message.is_empty() {
            "connection lost".into()
        } else {
            message.lines().next().unwrap_or(message).to_string()
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: the connection is owned here and finished once.
        unsafe { (self.pq.finish)(self.conn) }
    }
}

/// Run the first script on `session` and each other one on a connection of its own (opened with
/// `params`), all at once, one thread each: each script's [`Session::script`] values, in order.
pub fn side_by_side(
    library: &'static Library,
    params: &[(&str, &str)],
    session: &mut Session,
    scripts: &[Vec<Statement>],
) -> Vec<Result<Vec<Option<Vec<u8>>>, Failure>> {
    let Some((first, others)) = scripts.split_first() else {
        return Vec::new();
    };
    std::thread::scope(|scope| {
        let running: Vec<_> = others
            .iter()
            .map(|script| scope.spawn(move || Session::connect(library, params)?.script(script)))
            .collect();
        let mut values = vec![session.script(first)];
        values.extend(running.into_iter().map(|thread| {
            thread
                .join()
                .unwrap_or_else(|_| Err(Failure::Connection("a reading thread panicked".into())))
        }));
        values
    })
}
