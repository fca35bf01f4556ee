//! The libpq functions the core calls, resolved with `dlsym` from one loaded copy of libpq.
//!
//! The core opens its own connections with them (no psycopg on the serving path). It binds one library for
//! the life of the process, the one the Python side names: psycopg's binary wheel's copy when it is
//! installed (the same file psycopg maps, so both share one copy), else the system's.

#[cfg(unix)]
use std::ffi::CString;
use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;

/// libpq's opaque `PGconn *`, `PGresult *` and `PGcancelConn *`.
pub type Conn = *mut c_void;
pub type Res = *mut c_void;
pub type CancelConn = *mut c_void;

/// `PQconninfoOption` (libpq-fe.h): what `PQconninfoParse` returns an array of.
#[repr(C)]
pub struct ConninfoOption {
    pub keyword: *mut c_char,
    pub envvar: *mut c_char,
    pub compiled: *mut c_char,
    pub val: *mut c_char,
    pub label: *mut c_char,
    pub dispchar: *mut c_char,
    pub dispsize: c_int,
}

/// `PQnoticeReceiver` (libpq-fe.h): called with each notice or warning the server sends.
pub type NoticeReceiver = unsafe extern "C" fn(*mut c_void, Res);

/// `PGnotify` (libpq-fe.h).
#[repr(C)]
pub struct Notify {
    pub relname: *mut c_char,
    pub be_pid: c_int,
    pub extra: *mut c_char,
    next: *mut c_void,
}

// ExecStatusType values (libpq-fe.h).
pub const COMMAND_OK: c_int = 1;
pub const TUPLES_OK: c_int = 2;
pub const FATAL_ERROR: c_int = 7;
pub const PIPELINE_SYNC: c_int = 10;
pub const PIPELINE_ABORTED: c_int = 11;
// PGTransactionStatusType: PQTRANS_IDLE.
pub const TRANSACTION_IDLE: c_int = 0;
// ConnStatusType: CONNECTION_OK.
pub const CONNECTION_OK: c_int = 0;
// PostgresPollingStatusType.
pub const POLLING_FAILED: c_int = 0;
pub const POLLING_WRITING: c_int = 2;
pub const POLLING_OK: c_int = 3;
// PG_DIAG_* field codes.
pub const DIAG_SQLSTATE: c_int = b'C' as c_int;
pub const DIAG_MESSAGE_PRIMARY: c_int = b'M' as c_int;
pub const DIAG_MESSAGE_DETAIL: c_int = b'D' as c_int;
pub const DIAG_MESSAGE_HINT: c_int = b'H' as c_int;

macro_rules! functions {
    ($(#[$doc:meta])* $name:ident { $($field:ident = $symbol:literal: fn($($arg:ty),*) $(-> $ret:ty)?;)* }) => {
        $(#[$doc])*
        pub struct $name {
            $(pub $field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
        }

        impl $name {
            /// # Safety
            /// `handle` is a live `dlopen` handle of a libpq.
            #[cfg(unix)]
            unsafe fn resolve(handle: *mut c_void) -> Result<Self, String> {
                Ok($name {
                    $($field: {
                        let symbol = libc::dlsym(handle, concat!($symbol, "\0").as_ptr().cast());
                        if symbol.is_null() {
                            return Err(format!("the loaded libpq has no {}", $symbol));
                        }
                        std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($arg),*) $(-> $ret)?>(symbol)
                    },)*
                })
            }
        }
    };
}

functions! {
    /// Function pointers into one loaded libpq.
    Libpq {
    connect_start_params = "PQconnectStartParams":
        fn(*const *const c_char, *const *const c_char, c_int) -> Conn;
    connect_poll = "PQconnectPoll": fn(Conn) -> c_int;
    connectdb_params = "PQconnectdbParams":
        fn(*const *const c_char, *const *const c_char, c_int) -> Conn;
    status = "PQstatus": fn(Conn) -> c_int;
    finish = "PQfinish": fn(Conn);
    set_nonblocking = "PQsetnonblocking": fn(Conn, c_int) -> c_int;
    set_notice_receiver = "PQsetNoticeReceiver":
        fn(Conn, Option<NoticeReceiver>, *mut c_void) -> Option<NoticeReceiver>;
    enter_pipeline_mode = "PQenterPipelineMode": fn(Conn) -> c_int;
    send_prepare = "PQsendPrepare": fn(Conn, *const c_char, *const c_char, c_int, *const u32) -> c_int;
    send_query_prepared = "PQsendQueryPrepared":
        fn(Conn, *const c_char, c_int, *const *const c_char, *const c_int, *const c_int, c_int) -> c_int;
    send_query_params = "PQsendQueryParams":
        fn(Conn, *const c_char, c_int, *const u32, *const *const c_char, *const c_int, *const c_int, c_int)
            -> c_int;
    exec_params = "PQexecParams":
        fn(Conn, *const c_char, c_int, *const u32, *const *const c_char, *const c_int, *const c_int, c_int)
            -> Res;
    pipeline_sync = "PQpipelineSync": fn(Conn) -> c_int;
    flush = "PQflush": fn(Conn) -> c_int;
    consume_input = "PQconsumeInput": fn(Conn) -> c_int;
    is_busy = "PQisBusy": fn(Conn) -> c_int;
    get_result = "PQgetResult": fn(Conn) -> Res;
    notifies = "PQnotifies": fn(Conn) -> *mut Notify;
    transaction_status = "PQtransactionStatus": fn(Conn) -> c_int;
    error_message = "PQerrorMessage": fn(Conn) -> *const c_char;
    socket = "PQsocket": fn(Conn) -> c_int;
    backend_pid = "PQbackendPID": fn(Conn) -> c_int;
    result_status = "PQresultStatus": fn(Res) -> c_int;
    result_error_field = "PQresultErrorField": fn(Res, c_int) -> *const c_char;
    ntuples = "PQntuples": fn(Res) -> c_int;
    nfields = "PQnfields": fn(Res) -> c_int;
    get_value = "PQgetvalue": fn(Res, c_int, c_int) -> *const c_char;
    get_length = "PQgetlength": fn(Res, c_int, c_int) -> c_int;
    get_is_null = "PQgetisnull": fn(Res, c_int, c_int) -> c_int;
    clear = "PQclear": fn(Res);
    freemem = "PQfreemem": fn(*mut c_void);
    conninfo_parse = "PQconninfoParse": fn(*const c_char, *mut *mut c_char) -> *mut ConninfoOption;
    conninfo_free = "PQconninfoFree": fn(*mut ConninfoOption);
    }
}

functions! {
    /// libpq 17's cancel API, which does not block (absent from older libraries: no cancel then).
    CancelApi {
    create = "PQcancelCreate": fn(Conn) -> CancelConn;
    start = "PQcancelStart": fn(CancelConn) -> c_int;
    poll = "PQcancelPoll": fn(CancelConn) -> c_int;
    socket = "PQcancelSocket": fn(CancelConn) -> c_int;
    finish = "PQcancelFinish": fn(CancelConn);
    }
}

/// A bound libpq: its functions, and its cancel API when it has one.
pub struct Library {
    pub pq: Libpq,
    pub cancel: Option<CancelApi>,
}

static LOADED: OnceLock<(String, Library)> = OnceLock::new();

/// Load and bind the libpq at `path` (a path or a name the dynamic linker resolves). The first bound
/// library stays for the life of the process; binding another path later is an error.
pub fn load(path: &str) -> Result<&'static Library, String> {
    if let Some((loaded, library)) = LOADED.get() {
        return if loaded == path {
            Ok(library)
        } else {
            Err(format!("libpq is already bound to {loaded}"))
        };
    }
    let library = open(path)?;
    let (_, library) = LOADED.get_or_init(|| (path.to_string(), library));
    Ok(library)
}

/// The libpq bound by [`load`], if any.
pub fn loaded() -> Option<&'static Library> {
    LOADED.get().map(|(_, library)| library)
}

#[cfg(unix)]
fn open(path: &str) -> Result<Library, String> {
    let c_path = CString::new(path).map_err(|_| "a libpq path with a NUL byte".to_string())?;
    // SAFETY: the handle is never closed, so resolved pointers never dangle.
    unsafe {
        let handle = libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW);
        if handle.is_null() {
            let reason = libc::dlerror();
            let reason = if reason.is_null() {
                "not found".into()
            } else {
                std::ffi::CStr::from_ptr(reason).to_string_lossy().into_owned()
            };
            return Err(format!("cannot load {path}: {reason}"));
        }
        Ok(Library {
            pq: Libpq::resolve(handle)?,
            cancel: CancelApi::resolve(handle).ok(),
        })
    }
}

#[cfg(not(unix))]
fn open(path: &str) -> Result<Library, String> {
    Err(format!("binding {path}: only Unix-like systems are supported"))
}
