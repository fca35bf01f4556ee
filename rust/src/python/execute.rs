//! `Pipeline`, `Cancel` and `Outcome`: the core's connections and the execute stage's per-request calls
//! (see `crate::execute`).

use std::sync::Arc;

use pyo3::exceptions::{PyConnectionError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PySet, PyTuple};

use super::PyPrepared;
use crate::execute::{self, libpq, Cancel, Lost, Params, Pipeline, Poll, PqResult, Purpose};
use crate::prepare::{statement_name, Prepared};

/// A prepared request's statement texts as libpq takes them: shared by every request of a shape.
pub struct StatementText {
    name: Vec<u8>,
    sql: Vec<u8>,
    /// The planner's estimate: name and text.
    count: Option<(Vec<u8>, Vec<u8>)>,
}

impl StatementText {
    pub fn of(p: &Prepared) -> Self {
        let count = p.count_sql.as_ref().map(|sql| {
            let name = p.count_name.clone().unwrap_or_else(|| statement_name(sql));
            (name.into_bytes(), sql.clone().into_bytes())
        });
        StatementText {
            name: p.name.clone().into_bytes(),
            sql: p.sql.clone().into_bytes(),
            count,
        }
    }
}

/// A request's statements: the texts and its own parameters.
pub struct Statements {
    text: Arc<StatementText>,
    params: Params,
}

impl Statements {
    pub fn new(text: Arc<StatementText>, params: Params) -> Self {
        Statements { text, params }
    }

    fn from_attributes(prepared: &Bound<'_, PyAny>) -> PyResult<Self> {
        let params = prepared.getattr("params")?;
        let params = params_of(if params.is_none() {
            None
        } else {
            Some(params.cast::<PyList>()?)
        })?;
        let sql: String = prepared.getattr("sql")?.extract()?;
        let count = match prepared.getattr("count_sql")?.extract::<Option<String>>()? {
            Some(count_sql) => {
                let name: Option<Vec<u8>> = prepared.getattr("count_name")?.extract()?;
                let name = name.unwrap_or_else(|| statement_name(&count_sql).into_bytes());
                Some((name, count_sql.into_bytes()))
            }
            None => None,
        };
        let text = StatementText {
            name: prepared.getattr("name")?.extract()?,
            sql: sql.into_bytes(),
            count,
        };
        Ok(Statements::new(Arc::new(text), params))
    }
}

fn lost(error: Lost) -> PyErr {
    PyConnectionError::new_err(error.0)
}

/// Load the libpq at `path` (a path or a library name) for every connection of the process; `OSError`
/// when it cannot be loaded, lacks a function the core calls, or another library is bound already.
#[pyfunction]
pub fn load_libpq(path: &str) -> PyResult<()> {
    libpq::load(path).map_err(PyOSError::new_err)?;
    Ok(())
}

pub(super) fn library() -> PyResult<&'static libpq::Library> {
    libpq::loaded().ok_or_else(|| PyRuntimeError::new_err("load_libpq was not called"))
}

/// A connection string's keywords and values as libpq reads them; `ValueError` with libpq's message.
#[pyfunction]
pub fn parse_conninfo(conninfo: &str) -> PyResult<Vec<(String, String)>> {
    execute::parse_conninfo(library()?, conninfo).map_err(PyValueError::new_err)
}

fn poll_name(poll: Poll) -> &'static str {
    match poll {
        Poll::Reading => "reading",
        Poll::Writing => "writing",
        Poll::Ok => "ok",
        Poll::Failed => "failed",
    }
}

/// One connection the core owns and its pipeline, used from its event loop's thread. Not `unsendable`: a
/// connection may be garbage-collected on another thread, and an unsendable object dropped there is leaked
/// with an error.
#[pyclass(module = "restpg._core", name = "Pipeline")]
pub struct PyPipeline {
    inner: Pipeline,
}

fn params_of(values: Option<&Bound<'_, PyList>>) -> PyResult<Params> {
    let Some(values) = values else {
        return Ok(Params::with_capacity(0));
    };
    let mut params = Params::with_capacity(values.len());
    for value in values.iter() {
        if value.is_none() {
            params.push(None);
        } else {
            params.push(Some(value.cast::<PyBytes>()?.as_bytes()));
        }
    }
    Ok(params)
}

impl PyPipeline {
    fn queue_statements(&mut self, statements: &Statements, prepare: bool) -> PyResult<()> {
        let text = &statements.text;
        if let Some((name, sql)) = &text.count {
            self.inner
                .queue(Purpose::Count, name, sql, &statements.params, prepare)
                .map_err(lost)?;
        }
        self.inner
            .queue(Purpose::Main, &text.name, &text.sql, &statements.params, prepare)
            .map_err(lost)
    }
}

#[pymethods]
impl PyPipeline {
    /// Start connecting (see `_core.pyi`); `ConnectionError` when libpq cannot even start.
    #[staticmethod]
    fn connect_start(params: Vec<(String, String)>) -> PyResult<Self> {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let inner = Pipeline::start(library()?, &pairs).map_err(lost)?;
        Ok(PyPipeline { inner })
    }

    fn connect_poll(&mut self) -> PyResult<&'static str> {
        self.inner.poll().map(poll_name).map_err(lost)
    }

    #[getter]
    fn socket(&self) -> i32 {
        self.inner.socket()
    }

    #[getter]
    fn backend_pid(&self) -> i32 {
        self.inner.backend_pid()
    }

    #[getter]
    fn ok(&self) -> bool {
        self.inner.ok()
    }

    #[getter]
    fn error_message(&self) -> String {
        self.inner.error_message()
    }

    fn enter_pipeline_mode(&mut self) -> PyResult<()> {
        self.inner.enter_pipeline_mode().map_err(lost)
    }

    fn consume(&mut self) -> PyResult<()> {
        self.inner.consume().map_err(lost)
    }

    fn notifies(&mut self) -> Vec<(String, String)> {
        self.inner.notifies()
    }

    fn cancel(&self) -> PyResult<Option<PyCancel>> {
        Ok(self
            .inner
            .cancel(library()?)
            .map(|inner| PyCancel { inner: Some(inner) }))
    }

    #[getter]
    fn prepared_count(&self) -> usize {
        self.inner.prepared_count()
    }

    fn prepared_names<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PySet>> {
        let names = self.inner.prepared_names().map(|name| PyBytes::new(py, name));
        PySet::new(py, names)
    }

    #[getter]
    fn in_transaction(&self) -> bool {
        self.inner.in_transaction()
    }

    #[pyo3(signature = (name, sql, params, prepare))]
    fn queue(
        &mut self,
        name: &[u8],
        sql: &[u8],
        params: Option<&Bound<'_, PyList>>,
        prepare: bool,
    ) -> PyResult<()> {
        let params = params_of(params)?;
        self.inner
            .queue(Purpose::Check, name, sql, &params, prepare)
            .map_err(lost)
    }

    /// The request's own statements: the planner's estimate when asked for, then the main statement.
    /// `prepared` is a `Prepared`, or (tests) any object with its `sql`, `params`, `name`, `count_sql`
    /// and `count_name`.
    fn queue_request(&mut self, prepared: &Bound<'_, PyAny>, prepare: bool) -> PyResult<()> {
        if let Ok(prepared) = prepared.cast::<PyPrepared>() {
            return self.queue_statements(prepared.get().statements(), prepare);
        }
        let statements = Statements::from_attributes(prepared)?;
        self.queue_statements(&statements, prepare)
    }

    /// A statement whose rows `rows` returns after the round trip (unnamed, not prepared).
    #[pyo3(signature = (sql, params))]
    fn queue_read(&mut self, sql: &[u8], params: Option<&Bound<'_, PyList>>) -> PyResult<()> {
        let params = params_of(params)?;
        self.inner
            .queue(Purpose::Main, b"", sql, &params, false)
            .map_err(lost)
    }

    /// The rows of the last round trip's `queue_read` statement, as text values.
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let result = self
            .inner
            .main_result()
            .ok_or_else(|| PyRuntimeError::new_err("the last round trip read no rows"))?;
        let list = PyList::empty(py);
        for row in 0..result.ntuples() {
            let values = (0..result.nfields()).map(|col| result.value(row, col).map(|v| PyBytes::new(py, v)));
            list.append(PyTuple::new(py, values)?)?;
        }
        Ok(list)
    }

    fn sync(&mut self) -> PyResult<bool> {
        self.inner.sync().map_err(lost)
    }

    fn flush(&mut self) -> PyResult<bool> {
        self.inner.flush().map_err(lost)
    }

    fn receive(&mut self, consume: bool) -> PyResult<bool> {
        self.inner.receive(consume).map_err(lost)
    }

    /// `(sqlstate, message, details, hint)` of the last round trip's first error.
    #[getter]
    fn error(&self) -> Option<(String, String, Option<String>, Option<String>)> {
        self.inner.error().map(|e| {
            (
                e.sqlstate.clone(),
                e.message.clone(),
                e.details.clone(),
                e.hint.clone(),
            )
        })
    }

    fn outcome(&self, py: Python<'_>) -> PyResult<PyOutcome> {
        let (main, planned) = self
            .inner
            .outcome()
            .ok_or_else(|| PyRuntimeError::new_err("the last round trip ran no main statement"))?;
        Ok(PyOutcome::from_result(py, main, planned))
    }

    fn close(&mut self) {
        self.inner.close();
    }
}

/// A cancel request in flight (see `_core.pyi`).
#[pyclass(module = "restpg._core", name = "Cancel")]
pub struct PyCancel {
    inner: Option<Cancel>,
}

#[pymethods]
impl PyCancel {
    fn poll(&mut self) -> &'static str {
        self.inner
            .as_mut()
            .map_or("failed", |cancel| poll_name(cancel.poll()))
    }

    #[getter]
    fn socket(&self) -> i32 {
        self.inner.as_ref().map_or(-1, Cancel::socket)
    }

    fn close(&mut self) {
        self.inner = None;
    }
}

/// The main statement's row (see `_core.pyi`).
#[pyclass(module = "restpg._core", name = "Outcome", frozen)]
pub struct PyOutcome {
    #[pyo3(get)]
    total: Option<i64>,
    #[pyo3(get)]
    page_total: i64,
    #[pyo3(get)]
    body: Option<Py<PyBytes>>,
    #[pyo3(get)]
    response_headers: Option<Py<PyBytes>>,
    #[pyo3(get)]
    response_status: Option<Py<PyBytes>>,
    #[pyo3(get)]
    planned_total: Option<i64>,
    #[pyo3(get)]
    location: Option<Py<PyBytes>>,
    #[pyo3(get)]
    inserted: Option<i64>,
}

fn integer(value: Option<&[u8]>) -> Option<i64> {
    std::str::from_utf8(value?).ok()?.trim().parse().ok()
}

impl PyOutcome {
    fn from_result(py: Python<'_>, main: &PqResult, planned: Option<i64>) -> Self {
        let bytes = |value: Option<&[u8]>| value.map(|v| PyBytes::new(py, v).unbind());
        let rows = main.ntuples();
        if main.nfields() == 1 {
            // An EXPLAIN (`Prepared.explain`): its rows, each ended by a newline, are the body as they came.
            let mut body = Vec::new();
            for row in 0..rows {
                body.extend_from_slice(main.value(row, 0).unwrap_or_default());
                body.push(b'\n');
            }
            return PyOutcome::new(
                None,
                i64::from(rows),
                Some(PyBytes::new(py, &body).unbind()),
                None,
                None,
                None,
                None,
                None,
            );
        }
        if rows == 0 {
            // A main statement always returns one row; be defensive anyway.
            return PyOutcome::new(None, 0, None, None, None, planned, None, None);
        }
        let write = main.nfields() >= 7;
        PyOutcome {
            total: integer(main.value(0, 0)),
            page_total: integer(main.value(0, 1)).unwrap_or(0),
            body: bytes(main.value(0, 2)),
            response_headers: bytes(main.value(0, 3)),
            response_status: bytes(main.value(0, 4)),
            planned_total: planned,
            location: if write { bytes(main.value(0, 5)) } else { None },
            inserted: if write { integer(main.value(0, 6)) } else { None },
        }
    }
}

#[pymethods]
impl PyOutcome {
    #[new]
    #[pyo3(signature = (
        total, page_total, body, response_headers, response_status,
        planned_total = None, location = None, inserted = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        total: Option<i64>,
        page_total: i64,
        body: Option<Py<PyBytes>>,
        response_headers: Option<Py<PyBytes>>,
        response_status: Option<Py<PyBytes>>,
        planned_total: Option<i64>,
        location: Option<Py<PyBytes>>,
        inserted: Option<i64>,
    ) -> Self {
        PyOutcome {
            total,
            page_total,
            body,
            response_headers,
            response_status,
            planned_total,
            location,
            inserted,
        }
    }

    /// This outcome with another body (the root endpoint's document in place of the statement's).
    fn with_body(&self, py: Python<'_>, body: Py<PyBytes>) -> Self {
        let copy = |value: &Option<Py<PyBytes>>| value.as_ref().map(|v| v.clone_ref(py));
        PyOutcome {
            body: Some(body),
            response_headers: copy(&self.response_headers),
            response_status: copy(&self.response_status),
            location: copy(&self.location),
            ..*self
        }
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        let Ok(other) = other.cast::<PyOutcome>() else {
            return false;
        };
        self.fields(py) == other.get().fields(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let (total, page_total, body, headers, status, planned, location, inserted) = self.fields(py);
        let text = |value: Option<&[u8]>| value.map(|v| String::from_utf8_lossy(v).into_owned());
        format!(
            "Outcome(total={total:?}, page_total={page_total}, body={:?}, response_headers={:?}, \
             response_status={:?}, planned_total={planned:?}, location={:?}, inserted={inserted:?})",
            text(body),
            text(headers),
            text(status),
            text(location),
        )
    }
}

type Fields<'a> = (
    Option<i64>,
    i64,
    Option<&'a [u8]>,
    Option<&'a [u8]>,
    Option<&'a [u8]>,
    Option<i64>,
    Option<&'a [u8]>,
    Option<i64>,
);

impl PyOutcome {
    fn fields<'a>(&'a self, py: Python<'a>) -> Fields<'a> {
        let bytes = |value: &'a Option<Py<PyBytes>>| value.as_ref().map(|v| v.as_bytes(py));
        (
            self.total,
            self.page_total,
            bytes(&self.body),
            bytes(&self.response_headers),
            bytes(&self.response_status),
            self.planned_total,
            bytes(&self.location),
            self.inserted,
        )
    }
}
