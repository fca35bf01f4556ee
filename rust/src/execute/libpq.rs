//! The libpq functions the pipeline calls, resolved with `dlsym` from the copy psycopg already loaded.
//!
//! A `PGconn *` belongs to one libpq: calling another copy's functions on it (the system's while psycopg
//! uses its wheel's, say) would read a struct of another layout. So [`load`] opens its path with
//! `RTLD_NOLOAD`, which only succeeds for a library the process has loaded, and the caller checks the
//! result against the connection (socket, backend pid) before trusting it.

#[cfg(unix)]
use std::ffi::CString;
use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;

/// libpq's opaque `PGconn *` and `PGresult *`.
pub type Conn = *mut c_void;
pub type Res = *mut c_void;

// ExecStatusType values (libpq-fe.h).
pub const FATAL_ERROR: c_int = 7;
pub const PIPELINE_SYNC: c_int = 10;
pub const PIPELINE_ABORTED: c_int = 11;
// PGTransactionStatusType: PQTRANS_IDLE.
pub const TRANSACTION_IDLE: c_int = 0;
// PG_DIAG_* field codes.
pub const DIAG_SQLSTATE: c_int = b'C' as c_int;
pub const DIAG_MESSAGE_PRIMARY: c_int = b'M' as c_int;
pub const DIAG_MESSAGE_DETAIL: c_int = b'D' as c_int;
pub const DIAG_MESSAGE_HINT: c_int = b'H' as c_int;

macro_rules! functions {
    ($($field:ident = $symbol:literal: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// Function pointers into one loaded libpq.
        pub struct Libpq {
            $(pub $field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
        }

        impl Libpq {
            /// # Safety
            /// `handle` is a live `dlopen` handle of a libpq.
            #[cfg(unix)]
            unsafe fn resolve(handle: *mut c_void) -> Result<Self, String> {
                Ok(Libpq {
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
    send_prepare = "PQsendPrepare": fn(Conn, *const c_char, *const c_char, c_int, *const u32) -> c_int;
    send_query_prepared = "PQsendQueryPrepared":
        fn(Conn, *const c_char, c_int, *const *const c_char, *const c_int, *const c_int, c_int) -> c_int;
    send_query_params = "PQsendQueryParams":
        fn(Conn, *const c_char, c_int, *const u32, *const *const c_char, *const c_int, *const c_int, c_int)
            -> c_int;
    pipeline_sync = "PQpipelineSync": fn(Conn) -> c_int;
    flush = "PQflush": fn(Conn) -> c_int;
    consume_input = "PQconsumeInput": fn(Conn) -> c_int;
    is_busy = "PQisBusy": fn(Conn) -> c_int;
    get_result = "PQgetResult": fn(Conn) -> Res;
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
}

static LOADED: OnceLock<(String, Libpq)> = OnceLock::new();

/// Bind the libpq at `path`, which the process must already have loaded, once `accept` approved it (the
/// caller checks it against a connection). The first bound library stays for the life of the process.
pub fn load(path: &str, accept: impl FnOnce(&Libpq) -> bool) -> Result<&'static Libpq, String> {
    if let Some((loaded, libpq)) = LOADED.get() {
        return if loaded == path {
            Ok(libpq)
        } else {
            Err(format!("libpq is already bound to {loaded}"))
        };
    }
    let libpq = open(path)?;
    if !accept(&libpq) {
        return Err(format!("{path} is not the libpq of this connection"));
    }
    let (_, libpq) = LOADED.get_or_init(|| (path.to_string(), libpq));
    Ok(libpq)
}

/// The libpq bound by [`load`], if any.
pub fn loaded() -> Option<&'static Libpq> {
    LOADED.get().map(|(_, libpq)| libpq)
}

#[cfg(unix)]
fn open(path: &str) -> Result<Libpq, String> {
    let c_path = CString::new(path).map_err(|_| "a libpq path with a NUL byte".to_string())?;
    // SAFETY: dlopen with RTLD_NOLOAD maps nothing new. The handle is never closed (the library is
    // psycopg's and stays loaded anyway), so resolved pointers never dangle.
    unsafe {
        let handle = libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        if handle.is_null() {
            return Err(format!("{path} is not a library this process has loaded"));
        }
        Libpq::resolve(handle)
    }
}

#[cfg(not(unix))]
fn open(path: &str) -> Result<Libpq, String> {
    Err(format!("binding {path}: only Unix-like systems are supported"))
}
