//! `Prepared`, the result of `Engine.prepare`, and the engine's cache of request shapes
//! (`crate::prepare::shape`). What every request of one shape shares (the statements, their names, the
//! settings and response rules) is turned into Python objects once, in a [`Shared`]; a request of a
//! cached shape adds only its parameters and, for a read, its `Content-Location`.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use super::execute::{StatementText, Statements};
use crate::api_request::RequestHead;
use crate::execute::Params;
use crate::prepare::shape::{Shape, Shapes, Template};
use crate::prepare::Prepared;
use crate::schema_cache::SchemaCache;
use crate::settings::Settings;

/// How many shapes an engine keeps (the oldest goes first; a reload starts a new engine).
const SHAPES: usize = 4096;

/// A header value as restpg's interface layer holds it: each UTF-8 byte of `value` as one latin-1
/// character, which is what Granian writes back out byte for byte (ASCII, nearly always, is unchanged).
fn wire_text(value: &str) -> Cow<'_, str> {
    if value.is_ascii() {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.bytes().map(char::from).collect())
    }
}

/// What the requests of one shape share, as Python objects built once.
struct Shared {
    sql: Py<PyString>,
    name: Py<PyBytes>,
    count_sql: Option<Py<PyString>>,
    count_name: Option<Py<PyBytes>>,
    schema: Py<PyString>,
    search_path: Py<PyString>,
    content_type: Option<Py<PyString>>,
    timezone: Option<Py<PyString>>,
    function_settings: Py<PyList>,
    read_only: bool,
    status: u16,
    offset: u64,
    has_limit: bool,
    count: Option<Py<PyString>>,
    singular: bool,
    head: bool,
    kind: Py<PyString>,
    rollback: bool,
    explain: bool,
    text: Arc<StatementText>,
}

impl Shared {
    fn of(py: Python<'_>, p: &Prepared) -> PyResult<Self> {
        let string = |s: &str| PyString::new(py, s).unbind();
        Ok(Shared {
            sql: string(&p.sql),
            name: PyBytes::new(py, p.name.as_bytes()).unbind(),
            count_sql: p.count_sql.as_deref().map(string),
            count_name: p
                .count_name
                .as_deref()
                .map(|s| PyBytes::new(py, s.as_bytes()).unbind()),
            schema: string(&p.schema),
            search_path: string(&p.search_path),
            content_type: p.content_type.as_deref().map(string),
            timezone: p.timezone.as_deref().map(string),
            function_settings: PyList::new(py, &p.function_settings)?.unbind(),
            read_only: p.read_only,
            status: p.status,
            offset: p.offset,
            has_limit: p.has_limit,
            count: p.count.map(string),
            singular: p.singular,
            head: p.head,
            kind: string(p.kind),
            rollback: p.rollback,
            explain: p.explain,
            text: Arc::new(StatementText::of(p)),
        })
    }
}

/// `(name, value)` as the response layer sends it: lowercase name, value as wire text.
fn header<'py>(py: Python<'py>, name: &str, value: &str) -> PyResult<Bound<'py, PyAny>> {
    (name.to_ascii_lowercase(), wire_text(value))
        .into_pyobject(py)
        .map(Bound::into_any)
}

fn param_list<'a>(
    py: Python<'_>,
    values: impl ExactSizeIterator<Item = Option<&'a [u8]>>,
) -> PyResult<(Py<PyList>, Params)> {
    let mut params = Params::with_capacity(values.len());
    let list = PyList::empty(py);
    for value in values {
        params.push(value);
        match value {
            Some(bytes) => list.append(PyBytes::new(py, bytes))?,
            None => list.append(py.None())?,
        }
    }
    Ok((list.unbind(), params))
}

/// The result of `Engine.prepare` (see `_core.pyi`).
#[pyclass(module = "restpg._core", name = "Prepared", frozen)]
pub struct PyPrepared {
    shared: Arc<Shared>,
    #[pyo3(get)]
    params: Py<PyList>,
    #[pyo3(get)]
    headers: Py<PyList>,
    /// The statements as libpq takes them, for `Pipeline.queue_request`.
    statements: Statements,
}

impl PyPrepared {
    pub fn build(py: Python<'_>, p: &Prepared) -> PyResult<Self> {
        let shared = Arc::new(Shared::of(py, p)?);
        let (params, values) = param_list(py, p.params.iter().map(Option::as_deref))?;
        let headers = PyList::empty(py);
        for (name, value) in &p.headers {
            headers.append(header(py, name, value)?)?;
        }
        Ok(PyPrepared {
            statements: Statements::new(Arc::clone(&shared.text), values),
            shared,
            params,
            headers: headers.unbind(),
        })
    }

    pub fn statements(&self) -> &Statements {
        &self.statements
    }
}

#[pymethods]
impl PyPrepared {
    #[getter]
    fn sql(&self, py: Python<'_>) -> Py<PyString> {
        self.shared.sql.clone_ref(py)
    }
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyBytes> {
        self.shared.name.clone_ref(py)
    }
    #[getter]
    fn count_sql(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.shared.count_sql.as_ref().map(|s| s.clone_ref(py))
    }
    #[getter]
    fn count_name(&self, py: Python<'_>) -> Option<Py<PyBytes>> {
        self.shared.count_name.as_ref().map(|s| s.clone_ref(py))
    }
    #[getter]
    fn schema(&self, py: Python<'_>) -> Py<PyString> {
        self.shared.schema.clone_ref(py)
    }
    #[getter]
    fn search_path(&self, py: Python<'_>) -> Py<PyString> {
        self.shared.search_path.clone_ref(py)
    }
    #[getter]
    fn content_type(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.shared.content_type.as_ref().map(|s| s.clone_ref(py))
    }
    #[getter]
    fn timezone(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.shared.timezone.as_ref().map(|s| s.clone_ref(py))
    }
    #[getter]
    fn function_settings(&self, py: Python<'_>) -> Py<PyList> {
        self.shared.function_settings.clone_ref(py)
    }
    #[getter]
    fn read_only(&self) -> bool {
        self.shared.read_only
    }
    #[getter]
    fn status(&self) -> u16 {
        self.shared.status
    }
    #[getter]
    fn offset(&self) -> u64 {
        self.shared.offset
    }
    #[getter]
    fn has_limit(&self) -> bool {
        self.shared.has_limit
    }
    #[getter]
    fn count(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.shared.count.as_ref().map(|s| s.clone_ref(py))
    }
    #[getter]
    fn singular(&self) -> bool {
        self.shared.singular
    }
    #[getter]
    fn head(&self) -> bool {
        self.shared.head
    }
    #[getter]
    fn kind(&self, py: Python<'_>) -> Py<PyString> {
        self.shared.kind.clone_ref(py)
    }
    #[getter]
    fn rollback(&self) -> bool {
        self.shared.rollback
    }
    #[getter]
    fn explain(&self) -> bool {
        self.shared.explain
    }
}

/// One cached shape, ready to answer its requests.
struct ShapeEntry {
    template: Template,
    shared: Arc<Shared>,
    headers: Py<PyList>,
    /// The template itself when the shape has no values: every request of it gets this object.
    whole: Option<Py<PyPrepared>>,
}

impl ShapeEntry {
    fn new(py: Python<'_>, template: Template) -> PyResult<Self> {
        let first = PyPrepared::build(py, template.prepared())?;
        let shared = Arc::clone(&first.shared);
        let headers = first.headers.clone_ref(py);
        let whole = if template.is_whole() {
            Some(Py::new(py, first)?)
        } else {
            None
        };
        Ok(ShapeEntry {
            template,
            shared,
            headers,
            whole,
        })
    }

    /// The request of `query`, of this shape.
    fn instantiate(&self, py: Python<'_>, values: &[Vec<u8>]) -> PyResult<Py<PyPrepared>> {
        if let Some(whole) = &self.whole {
            return Ok(whole.clone_ref(py));
        }
        let params = self.template.params(values);
        let (params, statement_params) = param_list(py, params.iter().map(Option::as_deref))?;
        let headers = match self.template.content_location(values) {
            None => self.headers.clone_ref(py),
            Some((index, value)) => {
                let headers = self.headers.bind(py);
                let fresh = PyList::empty(py);
                for (i, item) in headers.iter().enumerate() {
                    if i == index {
                        let name = pyo3::intern!(py, "content-location");
                        fresh.append((name, wire_text(&value)))?;
                    } else {
                        fresh.append(item)?;
                    }
                }
                fresh.unbind()
            }
        };
        Py::new(
            py,
            PyPrepared {
                statements: Statements::new(Arc::clone(&self.shared.text), statement_params),
                shared: Arc::clone(&self.shared),
                params,
                headers,
            },
        )
    }
}

/// An engine's shapes. The lock is never held while Python objects are made (that may run arbitrary
/// Python through the garbage collector, which could come back here).
pub struct ShapeCache {
    shapes: Mutex<Shapes<Arc<ShapeEntry>>>,
}

impl ShapeCache {
    pub fn new() -> Self {
        ShapeCache {
            shapes: Mutex::new(Shapes::new(SHAPES)),
        }
    }

    /// The shapes, locked (a panic while they were locked left them consistent: every change is one call).
    fn shapes(&self) -> MutexGuard<'_, Shapes<Arc<ShapeEntry>>> {
        self.shapes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lookup(&self, key: &str) -> Option<Option<Arc<ShapeEntry>>> {
        self.shapes().get(key).cloned()
    }

    fn insert(&self, key: String, entry: Option<Arc<ShapeEntry>>) {
        let evicted = self.shapes().insert(key, entry);
        drop(evicted); // its Python objects are freed after the lock is released
    }

    /// The prepared request of `head` from its shape's template; `None` when the request has no shape or
    /// its shape has no template (the caller prepares it on its own).
    pub fn prepare(
        &self,
        py: Python<'_>,
        cache: &SchemaCache,
        settings: &Settings,
        head: &RequestHead<'_>,
    ) -> PyResult<Option<Py<PyPrepared>>> {
        let Some(shape) = Shape::of(head) else {
            return Ok(None);
        };
        let Some(values) = shape.values(head.query) else {
            return Ok(None); // a NUL byte: `prepare` refuses the request
        };
        let entry = match self.lookup(&shape.key) {
            Some(entry) => entry,
            None => {
                let entry = match Template::build(cache, settings, head, &shape) {
                    Some(template) => Some(Arc::new(ShapeEntry::new(py, template)?)),
                    None => None,
                };
                self.insert(shape.key.clone(), entry.clone());
                entry
            }
        };
        entry.map(|entry| entry.instantiate(py, &values)).transpose()
    }
}
