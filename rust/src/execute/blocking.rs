//! Connections that block in each call, for a cold start's catalog read in the supervisor.
//!
//! The supervisor reads the catalog in a thread while its main thread imports the app and Granian. Driven
//! from Python, every step of that read (each connect, each statement, on each of the connections side by
//! side) waited for the GIL the imports hold, up to a switch interval each time: measured with the main
//! thread busy, the read took twice as long as with it idle. Here a whole read runs in native threads and
//! the binding holds no GIL for any of it.

use std::ffi::CString;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// What one connection of [`side_by_side`] read: (index in the queue, value) of each statement it took.
type Taken = Result<Vec<(usize, Option<Vec<u8>>)>, Failure>;

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

    /// Run one statement: the first value of its first row (None without one).
    pub fn value(&mut self, (sql, params): &Statement) -> Result<Option<Vec<u8>>, Failure> {
        Ok(self.run(sql, params)?.value(0, 0).map(<[u8]>::to_vec))
    }

    /// Run `script`, one statement after the other: each one's [`Session::value`], in order.
    pub fn script(&mut self, script: &[Statement]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        script.iter().map(|statement| self.value(statement)).collect()
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

/// Read on several connections at once, one thread each: the first runs on `session`, each other opening
/// on a connection of its own (opened with `params`). Each connection runs its opening, then takes the next
/// statement of `queue` whenever it is done with its last, so that the read ends when its last statement
/// does whatever their sizes (put the largest first): a fixed share per connection left one of two
/// connections idle for a fifth of a cold start's read at 10,000 tables.
///
/// Each statement's [`Session::value`], in `queue` order; else the failure of the first connection (in
/// `openings` order) that failed, once all have stopped: a failure stops the others from taking more.
pub fn side_by_side(
    library: &'static Library,
    params: &[(&str, &str)],
    session: &mut Session,
    openings: &[Vec<Statement>],
    queue: &[Statement],
) -> Result<Vec<Option<Vec<u8>>>, Failure> {
    let Some((first, others)) = openings.split_first() else {
        return Err(Failure::Connection("a read needs a connection".into()));
    };
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let take = |session: &mut Session, opening: &[Statement]| -> Taken {
        session.script(opening)?;
        let mut values = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(statement) = queue.get(index) else { break };
            values.push((index, session.value(statement)?));
        }
        Ok(values)
    };
    let stopping = |outcome: Taken| {
        if outcome.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        outcome
    };
    let outcomes = std::thread::scope(|scope| {
        let running: Vec<_> = others
            .iter()
            .map(|opening| {
                scope.spawn(|| {
                    stopping(Session::connect(library, params).and_then(|mut own| take(&mut own, opening)))
                })
            })
            .collect();
        let mut outcomes = vec![stopping(take(session, first))];
        outcomes.extend(running.into_iter().map(|thread| {
            thread
                .join()
                .unwrap_or_else(|_| Err(Failure::Connection("a reading thread panicked".into())))
        }));
        outcomes
    });
    let mut values: Vec<Option<Option<Vec<u8>>>> = vec![None; queue.len()];
    for outcome in outcomes {
        for (index, value) in outcome? {
            values[index] = Some(value);
        }
    }
    // Without a failure every statement was taken.
    values
        .into_iter()
        .map(|value| value.ok_or_else(|| Failure::Connection("a statement of the read was not run".into())))
        .collect()
}
