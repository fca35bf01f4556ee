//! One connection's pipeline: statements queued, one sync, results matched to what was sent.

use std::collections::{HashSet, VecDeque};
use std::ffi::{c_char, c_int, CStr};
use std::ptr;

use super::libpq::{self, Conn, Libpq, Res};
use super::planned::planned_rows;

/// The connection failed under a call (or answered out of protocol): it must not be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost(pub String);

/// The client-visible fields of a PostgreSQL error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    pub sqlstate: String,
    pub message: String,
    pub details: Option<String>,
    pub hint: Option<String>,
}

/// What a queued statement's result is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// It only matters when it fails (BEGIN, settings, pre-request, COMMIT).
    Check,
    /// The planner's estimate for `Prefer: count=planned|estimated`.
    Count,
    /// The request's statement: its single row is the outcome.
    Main,
}

/// What a result answers.
enum Step {
    /// The `Parse` of a statement name this connection has not prepared yet.
    Prepare(Vec<u8>),
    Queued(Purpose),
}

/// An owned `PGresult`, cleared when dropped.
pub struct PqResult {
    pq: &'static Libpq,
    res: Res,
}

impl PqResult {
    /// # Safety
    /// `res` is a result of `pq` that nothing else owns (it is cleared when the value is dropped).
    pub(super) unsafe fn own(pq: &'static Libpq, res: Res) -> Self {
        PqResult { pq, res }
    }

    pub fn ntuples(&self) -> i32 {
        // SAFETY: `res` is a live result of this libpq until `drop`.
        unsafe { (self.pq.ntuples)(self.res) }
    }

    pub fn nfields(&self) -> i32 {
        // SAFETY: as above.
        unsafe { (self.pq.nfields)(self.res) }
    }

    /// A text value, None for NULL (or out of range); the slice lives as long as the result.
    pub fn value(&self, row: i32, col: i32) -> Option<&[u8]> {
        if row >= self.ntuples() || col >= self.nfields() {
            return None;
        }
        // SAFETY: row and col are in range; libpq keeps the value until PQclear.
        unsafe {
            if (self.pq.get_is_null)(self.res, row, col) != 0 {
                return None;
            }
            let data = (self.pq.get_value)(self.res, row, col).cast::<u8>();
            let len = (self.pq.get_length)(self.res, row, col);
            Some(std::slice::from_raw_parts(data, len.max(0) as usize))
        }
    }

    pub(super) fn status(&self) -> c_int {
        // SAFETY: as above.
        unsafe { (self.pq.result_status)(self.res) }
    }

    pub(super) fn error(&self) -> PgError {
        let field = |code| {
            // SAFETY: as above; the field is a NUL-terminated string owned by the result, or NULL.
            let value = unsafe { (self.pq.result_error_field)(self.res, code) };
            text(value)
        };
        PgError {
            sqlstate: field(libpq::DIAG_SQLSTATE).unwrap_or_else(|| "XX000".into()),
            message: field(libpq::DIAG_MESSAGE_PRIMARY).unwrap_or_default(),
            details: field(libpq::DIAG_MESSAGE_DETAIL),
            hint: field(libpq::DIAG_MESSAGE_HINT),
        }
    }
}

impl Drop for PqResult {
    fn drop(&mut self) {
        // SAFETY: the result is owned here and cleared once.
        unsafe { (self.pq.clear)(self.res) }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.close();
    }
}

pub(super) fn text(value: *const c_char) -> Option<String> {
    if value.is_null() {
        return None;
    }
    // SAFETY: libpq hands out NUL-terminated strings.
    Some(unsafe { CStr::from_ptr(value) }.to_string_lossy().into_owned())
}

/// A statement's text parameters, NUL-terminated as libpq reads text values (it ignores their lengths, so a
/// value with a NUL byte ends there, as with any libpq client).
pub struct Params {
    buffer: Vec<u8>,
    starts: Vec<Option<usize>>,
}

impl Params {
    pub fn with_capacity(count: usize) -> Self {
        Params {
            buffer: Vec::with_capacity(count * 16),
            starts: Vec::with_capacity(count),
        }
    }

    pub fn push(&mut self, value: Option<&[u8]>) {
        match value {
            Some(bytes) => {
                self.starts.push(Some(self.buffer.len()));
                self.buffer.extend_from_slice(bytes);
                self.buffer.push(0);
            }
            None => self.starts.push(None),
        }
    }

    pub(super) fn pointers(&self) -> Vec<*const c_char> {
        let base = self.buffer.as_ptr().cast::<c_char>();
        self.starts
            .iter()
            // SAFETY: every start is an offset inside `buffer`.
            .map(|start| start.map_or(ptr::null(), |offset| unsafe { base.add(offset) }))
            .collect()
    }
}

/// What came back for the request's statements so far.
#[derive(Default)]
struct Received {
    error: Option<PgError>,
    planned: Option<i64>,
    main: Option<PqResult>,
}

/// A libpq connection the core owns (finished when dropped), and the statements of its round trip.
pub struct Pipeline {
    pub(super) pq: &'static Libpq,
    pub(super) conn: Conn,
    prepared: HashSet<Vec<u8>>,
    steps: VecDeque<Step>,
    received: Received,
    /// A sync was sent and its result has not come back yet.
    syncing: bool,
}

// SAFETY: a libpq connection (and its results) may move between threads as long as two threads never
// use it at once. Everything that sends, reads or frees takes `&mut self`, which excludes any other
// borrow (the Python binding checks that at run time); what takes `&self` only reads (PQsocket,
// PQtransactionStatus, PQgetvalue on a finished result), which libpq allows from several threads.
unsafe impl Send for Pipeline {}
unsafe impl Sync for Pipeline {}

impl Pipeline {
    /// # Safety
    /// `conn` is a connection of `pq` (possibly still connecting) that nothing else uses; it is finished
    /// by [`Pipeline::close`] or when the value is dropped.
    pub(super) unsafe fn new(pq: &'static Libpq, conn: Conn) -> Self {
        Pipeline {
            pq,
            conn,
            prepared: HashSet::new(),
            steps: VecDeque::new(),
            received: Received::default(),
            syncing: false,
        }
    }

    /// Close the connection: any later call reports it lost.
    pub fn close(&mut self) {
        self.steps.clear();
        self.received = Received::default();
        if !self.conn.is_null() {
            // SAFETY: the connection is owned here and finished once.
            unsafe { (self.pq.finish)(self.conn) };
            self.conn = ptr::null_mut();
        }
    }

    pub(super) fn conn(&self) -> Result<Conn, Lost> {
        if self.conn.is_null() {
            Err(Lost("connection closed".into()))
        } else {
            Ok(self.conn)
        }
    }

    pub(super) fn lost(&self) -> Lost {
        let message = self.error_message();
        Lost(if message.is_empty() {
            "connection lost".into()
        } else {
            message
        })
    }

    /// libpq's last message about the connection, trimmed (empty when there is none, or it is closed).
    pub fn error_message(&self) -> String {
        // SAFETY: a live connection (its message is a NUL-terminated string it owns).
        let message = self
            .conn()
            .ok()
            .and_then(|conn| text(unsafe { (self.pq.error_message)(conn) }));
        message.unwrap_or_default().trim().to_string()
    }

    pub fn socket(&self) -> i32 {
        // SAFETY: as above, or -1 for a closed one.
        self.conn().map_or(-1, |conn| unsafe { (self.pq.socket)(conn) })
    }

    pub fn backend_pid(&self) -> i32 {
        // SAFETY: as above.
        self.conn()
            .map_or(0, |conn| unsafe { (self.pq.backend_pid)(conn) })
    }

    pub fn prepared_count(&self) -> usize {
        self.prepared.len()
    }

    pub fn prepared_names(&self) -> impl Iterator<Item = &[u8]> {
        self.prepared.iter().map(Vec::as_slice)
    }

    /// Whether a transaction is open (or the connection's state unknown): it must be ended before reuse.
    pub fn in_transaction(&self) -> bool {
        // SAFETY: as above.
        self.conn().map_or(
            true,
            |conn| unsafe { (self.pq.transaction_status)(conn) } != libpq::TRANSACTION_IDLE,
        )
    }

    /// Queue a statement for what its result is for; prepared under `name` the first time this
    /// connection sees it (`prepare`), else sent unnamed.
    pub fn queue(
        &mut self,
        purpose: Purpose,
        name: &[u8],
        sql: &[u8],
        params: &Params,
        prepare: bool,
    ) -> Result<(), Lost> {
        self.send(Step::Queued(purpose), name, sql, params, prepare)
    }

    fn send(
        &mut self,
        step: Step,
        name: &[u8],
        sql: &[u8],
        params: &Params,
        prepare: bool,
    ) -> Result<(), Lost> {
        let conn = self.conn()?;
        if !self.syncing && self.steps.is_empty() {
            // The first statement of a new round trip: the last one's results are done with.
            self.received = Received::default();
        }
        let values = params.pointers();
        let count = values.len() as c_int;
        // SAFETY: every pointer is NUL-terminated and lives until the call returns (libpq copies the
        // statement into its output buffer before returning).
        unsafe {
            let pq = self.pq;
            if !prepare {
                let sql = c_string(sql)?;
                if (pq.send_query_params)(
                    conn,
                    sql.as_ptr(),
                    count,
                    ptr::null(),
                    values.as_ptr(),
                    ptr::null(),
                    ptr::null(),
                    0,
                ) == 0
                {
                    return Err(self.lost());
                }
            } else {
                let c_name = c_string(name)?;
                // The statement's text is only copied (to add its NUL) the first time: a prepared name is
                // all a request sends after that.
                if !self.prepared.contains(name) {
                    let sql = c_string(sql)?;
                    if (pq.send_prepare)(conn, c_name.as_ptr(), sql.as_ptr(), 0, ptr::null()) == 0 {
                        return Err(self.lost());
                    }
                    self.steps.push_back(Step::Prepare(name.to_vec()));
                }
                if (pq.send_query_prepared)(
                    conn,
                    c_name.as_ptr(),
                    count,
                    values.as_ptr(),
                    ptr::null(),
                    ptr::null(),
                    0,
                ) == 0
                {
                    return Err(self.lost());
                }
            }
        }
        self.steps.push_back(step);
        Ok(())
    }

    /// End the round trip with a sync and start sending it: true when all of it left, false when the
    /// socket's buffer filled up (wait until writable, then [`Pipeline::flush`]).
    pub fn sync(&mut self) -> Result<bool, Lost> {
        let conn = self.conn()?;
        // SAFETY: a live connection.
        if unsafe { (self.pq.pipeline_sync)(conn) } == 0 {
            return Err(self.lost());
        }
        self.syncing = true;
        self.flush()
    }

    pub fn flush(&mut self) -> Result<bool, Lost> {
        let conn = self.conn()?;
        // SAFETY: a live connection.
        match unsafe { (self.pq.flush)(conn) } {
            0 => Ok(true),
            1 => Ok(false),
            _ => Err(self.lost()),
        }
    }

    /// Read what has arrived (after the socket turned readable, `consume`) and match each result to its
    /// statement: true once the sync's result came back, false while more is to come.
    pub fn receive(&mut self, consume: bool) -> Result<bool, Lost> {
        let conn = self.conn()?;
        let pq = self.pq;
        // SAFETY: a live connection; each result is owned by a `PqResult` as soon as it is taken.
        unsafe {
            if consume && (pq.consume_input)(conn) == 0 {
                return Err(self.lost());
            }
            while self.syncing {
                if (pq.is_busy)(conn) != 0 {
                    return Ok(false);
                }
                let res = (pq.get_result)(conn);
                if res.is_null() {
                    continue; // the end of one statement's results
                }
                let result = PqResult { pq, res };
                if result.status() == libpq::PIPELINE_SYNC {
                    self.syncing = false;
                    if !self.steps.is_empty() {
                        return Err(Lost("the server answered fewer statements than were sent".into()));
                    }
                    break;
                }
                let Some(step) = self.steps.pop_front() else {
                    return Err(Lost("the server answered a statement that was not sent".into()));
                };
                self.take(step, result);
            }
        }
        Ok(true)
    }

    fn take(&mut self, step: Step, result: PqResult) {
        match result.status() {
            libpq::FATAL_ERROR => {
                if self.received.error.is_none() {
                    self.received.error = Some(result.error());
                }
            }
            libpq::PIPELINE_ABORTED => {}
            _ => match step {
                Step::Prepare(name) => {
                    self.prepared.insert(name);
                }
                Step::Queued(Purpose::Main) => self.received.main = Some(result),
                Step::Queued(Purpose::Count) => self.received.planned = planned_rows(result.value(0, 0)),
                Step::Queued(Purpose::Check) => {}
            },
        }
    }

    /// The first error of the last round trip.
    pub fn error(&self) -> Option<&PgError> {
        self.received.error.as_ref()
    }

    /// The last round trip's main result, as rows of text values (a read outside any request).
    pub fn main_result(&self) -> Option<&PqResult> {
        self.received.main.as_ref()
    }

    /// The last round trip's main result and the planner's estimate, once it ended without an error.
    pub fn outcome(&self) -> Option<(&PqResult, Option<i64>)> {
        if self.received.error.is_some() {
            return None;
        }
        self.received
            .main
            .as_ref()
            .map(|main| (main, self.received.planned))
    }
}

fn c_string(bytes: &[u8]) -> Result<std::ffi::CString, Lost> {
    // A statement text or name never holds a NUL (they come from the core and the config).
    std::ffi::CString::new(bytes).map_err(|_| Lost("a statement with a NUL byte".into()))
}
