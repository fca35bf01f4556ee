//! `BlockingSession`: the supervisor's connection for a cold start's catalog read (see
//! `execute/blocking.rs`). Every call connects or runs without the GIL.

use std::sync::Mutex;

use pyo3::exceptions::{PyConnectionError, PyRuntimeError, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::execute::library;
use crate::execute::blocking::{side_by_side, Failure, Session, Statement};

/// PostgreSQL's `query_canceled`: what `statement_timeout` raises (the read's budget).
const QUERY_CANCELED: &str = "57014";

#[pyclass(module = "restpg._core", name = "BlockingSession", frozen)]
pub struct PyBlockingSession {
    /// None once closed.
    session: Mutex<Option<Session>>,
    /// What the connections of a read side by side connect with.
    params: Vec<(String, String)>,
}

/// `ConnectionError` (libpq's first line), `TimeoutError` for a statement past `statement_timeout`,
/// else `RuntimeError` with PostgreSQL's message.
fn failure(failure: Failure) -> PyErr {
    match failure {
        Failure::Connection(message) => PyConnectionError::new_err(message),
        Failure::Statement(error) if error.sqlstate == QUERY_CANCELED => {
            PyTimeoutError::new_err(error.message)
        }
        Failure::Statement(error) => PyRuntimeError::new_err(error.message),
    }
}

fn pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

impl PyBlockingSession {
    fn with_session<T>(&self, work: impl FnOnce(&mut Session) -> Result<T, Failure>) -> PyResult<T> {
        let mut guard = self
            .session
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the session was poisoned"))?;
        let session = guard
            .as_mut()
            .ok_or_else(|| PyConnectionError::new_err("the session is closed"))?;
        work(session).map_err(failure)
    }
}

#[pymethods]
impl PyBlockingSession {
    /// Connect (blocking, without the GIL) with libpq's keywords and values.
    #[new]
    fn new(py: Python<'_>, params: Vec<(String, String)>) -> PyResult<Self> {
        let library = library()?;
        let session = py
            .detach(|| Session::connect(library, &pairs(&params)))
            .map_err(failure)?;
        Ok(PyBlockingSession {
            session: Mutex::new(Some(session)),
            params,
        })
    }

    /// The rows of one statement, as tuples of text values (None for NULL).
    #[pyo3(signature = (sql, params = Vec::new()))]
    fn rows<'py>(
        &self,
        py: Python<'py>,
        sql: &[u8],
        params: Vec<Option<Vec<u8>>>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let rows = py.detach(|| {
            self.with_session(|session| {
                let result = session.run(sql, &params)?;
                Ok((0..result.ntuples())
                    .map(|row| {
                        (0..result.nfields())
                            .map(|col| result.value(row, col).map(<[u8]>::to_vec))
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>())
            })
        })?;
        rows.into_iter()
            .map(|row| {
                PyTuple::new(
                    py,
                    row.iter()
                        .map(|value| value.as_deref().map(|v| PyBytes::new(py, v))),
                )
            })
            .collect()
    }

    /// Read on `len(openings)` connections at once: the first opening (a list of `(sql, params)`) runs on
    /// this session, each other on a connection of its own, closed after; then each connection takes the
    /// next statement of `queue` whenever it is done with its last. Each queued statement's first value,
    /// in `queue` order; the first failure (in `openings` order) raises, once all have stopped.
    fn side_by_side<'py>(
        &self,
        py: Python<'py>,
        openings: Vec<Vec<Statement>>,
        queue: Vec<Statement>,
    ) -> PyResult<Vec<Option<Bound<'py, PyBytes>>>> {
        let library = library()?;
        let values = py.detach(|| {
            self.with_session(|session| {
                side_by_side(library, &pairs(&self.params), session, &openings, &queue)
            })
        })?;
        Ok(values
            .into_iter()
            .map(|value| value.map(|bytes| PyBytes::new(py, &bytes)))
            .collect())
    }

    /// Close the connection (idempotent).
    fn close(&self) {
        if let Ok(mut guard) = self.session.lock() {
            guard.take();
        }
    }
}
