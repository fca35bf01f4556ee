//! The Python binding, `restpg._core` (see `python/restpg/_core.pyi`, the contract). Only this file
//! knows about Python. The schema cache crosses once per load and stays here behind an `Arc`; per
//! request Python passes a few strings and gets one frozen [`PyPrepared`] back, or an `ApiError`.

mod execute;
mod prepared;
mod session;
mod watchdog;

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyType};

use crate::api_request::RequestHead;
use crate::error::ApiError;
use crate::freed_off_thread::FreedOffThread;
use crate::low_priority::run_at_low_priority;
use crate::openapi;
use crate::prepare::prepare;
use crate::schema_cache::{DocumentParts, SchemaCache};
use crate::settings::{Settings, TxEnd};
use prepared::{PyPrepared, ShapeCache};

/// `ApiError(Exception)`. PyO3 cannot subclass a native exception under the stable ABI (abi3), so the
/// class is a few lines of Python defined when the module loads; Rust fills in the attributes.
const API_ERROR_CLASS: &std::ffi::CStr = c"
class ApiError(Exception):
    \"\"\"A PostgREST-shaped error: ``status`` plus the four body keys.\"\"\"

    def body(self):
        \"\"\"The JSON body as PostgREST sends it.\"\"\"
        return self._body
";

static API_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn api_error_type(py: Python<'_>) -> PyResult<&Py<PyType>> {
    API_ERROR.get_or_try_init(py, || {
        let module = PyModule::from_code(py, API_ERROR_CLASS, c"restpg/_core/api_error.py", c"restpg._core")?;
        let class = module.getattr("ApiError")?.cast_into::<PyType>()?;
        class.setattr("__module__", "restpg._core")?;
        Ok(class.unbind())
    })
}

fn api_error(py: Python<'_>, e: &ApiError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let error = api_error_type(py)?.bind(py).call1((e.message.as_str(),))?;
        error.setattr("status", e.status)?;
        error.setattr("code", e.code)?;
        error.setattr("message", e.message.as_str())?;
        error.setattr("details", json_to_py(py, &e.details))?;
        error.setattr("hint", json_to_py(py, &e.hint))?;
        error.setattr("_body", PyBytes::new(py, e.body().as_bytes()))?;
        Ok(PyErr::from_value(error))
    };
    build().unwrap_or_else(|err| err)
}

/// `details`/`hint` are strings, arrays, objects or null.
fn json_to_py(py: Python<'_>, value: &serde_json::Value) -> Py<PyAny> {
    use serde_json::Value;
    let obj: Bound<'_, PyAny> = match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i
                .into_pyobject(py)
                .map(|o| o.into_any())
                .unwrap_or_else(|_| py.None().into_bound(py)),
            (None, Some(f)) => f
                .into_pyobject(py)
                .map(|o| o.into_any())
                .unwrap_or_else(|_| py.None().into_bound(py)),
            _ => py.None().into_bound(py),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                // Appending to a fresh list cannot fail short of memory exhaustion.
                let _ = list.append(json_to_py(py, item));
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                let _ = dict.set_item(k, json_to_py(py, v));
            }
            dict.into_any()
        }
    };
    obj.unbind()
}

/// `work` without the GIL; with `background` on a thread of low CPU priority.
fn detached<T: Send, F: FnOnce() -> T + Send>(py: Python<'_>, background: bool, work: F) -> T {
    py.detach(|| {
        if background {
            run_at_low_priority(work)
        } else {
            work()
        }
    })
}

/// An immutable, shareable schema cache.
#[pyclass(module = "restpg._core", name = "SchemaCache", frozen)]
pub struct PySchemaCache {
    inner: FreedOffThread<SchemaCache>,
}

#[pymethods]
impl PySchemaCache {
    /// Parses the introspection document and infers the relationships: CPU work of tens of milliseconds
    /// at 1,000 tables, done without the GIL so the worker's event loop keeps serving meanwhile.
    ///
    /// `document` is a whole document (bytes), or its parts: a dict of each query's result (bytes) by the
    /// query's stem, as the catalog read returns them (parsed apart, none joined to another; see
    /// `Document::parse`).
    ///
    /// With `background` (a reload while requests are served) the work runs at a low CPU priority, as
    /// does `background` in `to_snapshot` and `from_snapshot` (see `low_priority`).
    #[new]
    #[pyo3(signature = (document, *, background = false))]
    fn new(py: Python<'_>, document: &Bound<'_, PyAny>, background: bool) -> PyResult<Self> {
        let cache = if let Ok(whole) = document.cast::<PyBytes>() {
            let whole = whole.as_bytes();
            detached(py, background, || SchemaCache::from_document(whole))
        } else {
            let Ok(parts) = document.cast::<PyDict>() else {
                return Err(PyTypeError::new_err(
                    "a schema cache document is bytes, or a dict of its parts (str) to their JSON (bytes)",
                ));
            };
            let named = parts
                .iter()
                .map(|(name, json)| Ok((name.extract::<String>()?, json.cast_into::<PyBytes>()?)))
                .collect::<PyResult<Vec<_>>>()?;
            let parts =
                DocumentParts::from_named(named.iter().map(|(name, json)| (name.as_str(), json.as_bytes())))
                    .map_err(PyValueError::new_err)?;
            detached(py, background, || SchemaCache::from_parts(parts))
        }
        .map_err(PyValueError::new_err)?;
        Ok(PySchemaCache {
            inner: FreedOffThread::new(Arc::new(cache)),
        })
    }

    #[getter]
    fn table_count(&self) -> usize {
        self.inner.table_count()
    }

    #[getter]
    fn relationship_count(&self) -> usize {
        self.inner.relationship_count()
    }

    #[getter]
    fn routine_count(&self) -> usize {
        self.inner.routine_count()
    }

    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// A compact binary snapshot of this cache, tagged with the catalog fingerprint.
    #[pyo3(signature = (fingerprint, *, background = false))]
    fn to_snapshot<'py>(&self, py: Python<'py>, fingerprint: &str, background: bool) -> Bound<'py, PyBytes> {
        let inner = Arc::clone(self.inner.arc());
        let data = detached(py, background, || inner.to_snapshot(fingerprint));
        PyBytes::new(py, &data)
    }

    /// `(cache, fingerprint)` from a snapshot; `ValueError` when it is damaged or stale.
    #[staticmethod]
    #[pyo3(signature = (data, *, background = false))]
    fn from_snapshot(py: Python<'_>, data: &[u8], background: bool) -> PyResult<(PySchemaCache, String)> {
        let (cache, fingerprint) = detached(py, background, || SchemaCache::from_snapshot(data))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok((
            PySchemaCache {
                inner: FreedOffThread::new(Arc::new(cache)),
            },
            fingerprint,
        ))
    }
}

/// The configuration the core needs.
#[pyclass(module = "restpg._core", name = "Settings", frozen)]
pub struct PySettings {
    inner: Settings,
}

#[pymethods]
impl PySettings {
    #[new]
    #[pyo3(signature = (
        *,
        db_schemas,
        db_extra_search_path,
        db_max_rows = None,
        db_aggregates_enabled = false,
        db_plan_enabled = false,
        db_tx_end = "commit",
        db_pre_request = None,
        url_use_legacy_target_names = true,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        db_schemas: Vec<String>,
        db_extra_search_path: Vec<String>,
        db_max_rows: Option<u64>,
        db_aggregates_enabled: bool,
        db_plan_enabled: bool,
        db_tx_end: &str,
        db_pre_request: Option<String>,
        url_use_legacy_target_names: bool,
    ) -> PyResult<Self> {
        if db_schemas.is_empty() {
            return Err(PyValueError::new_err("db_schemas must name at least one schema"));
        }
        let db_tx_end = TxEnd::parse(db_tx_end)
            .ok_or_else(|| PyValueError::new_err(format!("invalid db_tx_end: {db_tx_end}")))?;
        Ok(PySettings {
            inner: Settings {
                db_schemas,
                db_extra_search_path,
                db_max_rows,
                db_aggregates_enabled,
                db_plan_enabled,
                db_tx_end,
                db_pre_request,
                url_use_legacy_target_names,
            },
        })
    }
}

/// A schema cache plus settings: swapped as a whole on reload.
#[pyclass(module = "restpg._core", name = "Engine", frozen)]
pub struct PyEngine {
    cache_obj: Py<PySchemaCache>,
    cache: FreedOffThread<SchemaCache>,
    settings: Settings,
    shapes: ShapeCache,
}

#[pymethods]
impl PyEngine {
    #[new]
    fn new(cache: Bound<'_, PySchemaCache>, settings: PyRef<'_, PySettings>) -> Self {
        PyEngine {
            cache: FreedOffThread::new(Arc::clone(cache.get().inner.arc())),
            cache_obj: cache.unbind(),
            settings: settings.inner.clone(),
            shapes: ShapeCache::new(),
        }
    }

    #[getter]
    fn cache(&self, py: Python<'_>) -> Py<PySchemaCache> {
        self.cache_obj.clone_ref(py)
    }

    /// Parse, plan and build the SQL for one request, or raise `ApiError`. The GIL is kept: a call
    /// takes a few microseconds and measured no faster with `py.detach`, and a worker runs one event
    /// loop thread, so there is nothing to overlap with.
    #[pyo3(signature = (
        method, path, query, body,
        accept = None, prefer = None, range = None, content_type = None,
        accept_profile = None, content_profile = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &self,
        py: Python<'_>,
        method: &str,
        path: &str,
        query: &str,
        body: &[u8],
        accept: Option<&str>,
        prefer: Option<&str>,
        range: Option<&str>,
        content_type: Option<&str>,
        accept_profile: Option<&str>,
        content_profile: Option<&str>,
    ) -> PyResult<Py<PyPrepared>> {
        let head = RequestHead {
            method,
            path,
            query,
            accept,
            prefer,
            range,
            content_type,
            accept_profile,
            content_profile,
        };
        if let Some(prepared) = self.shapes.prepare(py, &self.cache, &self.settings, &head)? {
            return Ok(prepared);
        }
        match prepare(&self.cache, &self.settings, &head, body) {
            Ok(p) => Py::new(py, PyPrepared::build(py, &p)?),
            Err(e) => Err(api_error(py, &e)),
        }
    }

    /// The root endpoint's document (see `crate::openapi`) from the root statement's body: JSON bytes.
    #[pyo3(signature = (
        accessible, *, schema, mode, version = "2.0", server_host = "!4", server_port = 3000,
        base_path = "", proxy_uri = None, security_active = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn openapi<'py>(
        &self,
        py: Python<'py>,
        accessible: &[u8],
        schema: &str,
        mode: &str,
        version: &str,
        server_host: &str,
        server_port: u16,
        base_path: &str,
        proxy_uri: Option<&str>,
        security_active: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mode = openapi::Mode::parse(mode).map_err(|e| api_error(py, &e))?;
        let version = openapi::Version::parse(version)
            .ok_or_else(|| PyValueError::new_err(format!("unknown OpenAPI version {version:?}")))?;
        let accessible = openapi::Accessible::parse(accessible).map_err(PyValueError::new_err)?;
        let opts = openapi::Options {
            schema,
            mode,
            version,
            server: openapi::server_url(proxy_uri, server_host, server_port, base_path),
            security_active,
        };
        Ok(PyBytes::new(
            py,
            openapi::document(&self.cache, &accessible, &opts).as_bytes(),
        ))
    }
}

/// A catalog query's earlier result with the changed objects' items replaced by `fresh`'s (see
/// `schema_cache::merge_changed`); ValueError when the results cannot be merged exactly. Without the GIL,
/// at a low CPU priority with `background`, as the cache's build.
#[pyfunction]
#[pyo3(signature = (previous, fresh, changes, *, background = false))]
fn merge_changed<'py>(
    py: Python<'py>,
    previous: &[u8],
    fresh: &[u8],
    changes: &[u8],
    background: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let merged = detached(py, background, || {
        crate::schema_cache::merge_changed(previous, fresh, changes)
    })
    .map_err(PyValueError::new_err)?;
    Ok(PyBytes::new(py, &merged))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // `setattr`, not `add`: a dunder does not belong in `__all__`.
    m.setattr("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ApiError", api_error_type(m.py())?.clone_ref(m.py()))?;
    m.add_class::<PySchemaCache>()?;
    m.add_class::<PySettings>()?;
    m.add_class::<PyPrepared>()?;
    m.add_class::<PyEngine>()?;
    m.add_class::<execute::PyPipeline>()?;
    m.add_class::<execute::PyOutcome>()?;
    m.add_class::<execute::PyCancel>()?;
    m.add_class::<session::PyBlockingSession>()?;
    m.add_function(wrap_pyfunction!(execute::load_libpq, m)?)?;
    m.add_function(wrap_pyfunction!(execute::parse_conninfo, m)?)?;
    m.add_function(wrap_pyfunction!(watchdog::watch_supervisor, m)?)?;
    m.add_function(wrap_pyfunction!(merge_changed, m)?)?;
    Ok(())
}
