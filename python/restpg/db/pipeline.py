"""Which libpq the core's connections use.

The serving path's connections are the core's own (``restpg._core.Pipeline``): it opens them, drives their
pipeline and reads their results through one libpq it loads for the whole process. No psycopg on that path:
importing psycopg took most of a worker's start. The library is psycopg's own copy when its binary wheel is
installed (found without importing it; the same file psycopg maps should anything import it later, so the
process holds one copy), else the system's.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from restpg import __version__
from restpg._core import load_libpq

__all__ = ["LibpqNotFound", "bundled_libpq", "connection_params", "ensure_libpq"]

_loaded = False


class LibpqNotFound(RuntimeError):
    """No usable libpq: restpg cannot open a connection here."""


def ensure_libpq() -> None:
    """Load libpq into the core on the first call (a few ms); ``LibpqNotFound`` when none will do."""
    global _loaded
    if _loaded:
        return
    tried: list[str] = []
    for path in _candidates():  # lazily: the last candidate costs a subprocess
        try:
            load_libpq(path)
        except OSError as exc:
            tried.append(str(exc))
            continue
        _loaded = True
        return
    raise LibpqNotFound(
        "restpg found no usable libpq (install psycopg[binary] or libpq): " + "; ".join(tried)
    )


def _candidates() -> Iterator[str]:
    """Paths and names of libpq, psycopg's first."""
    bundled = bundled_libpq()
    if bundled is not None:
        yield str(bundled)
    yield "libpq.5.dylib" if sys.platform == "darwin" else "libpq.so.5"
    import ctypes.util  # imports subprocess: only when the usual names failed

    found = ctypes.util.find_library("pq")  # runs ldconfig
    if found:
        yield found


def bundled_libpq() -> Path | None:
    """The libpq of psycopg's binary wheel, found without importing psycopg: beside the package in
    ``psycopg_binary.libs`` (the Linux and Windows wheels, ``libpq-<hash>.so.5.x`` / ``.dll``), or inside it
    in ``.dylibs`` (the macOS wheels, ``libpq.5.dylib``)."""
    try:
        spec = importlib.util.find_spec("psycopg_binary")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    for folder, pattern in (
        (package.with_name("psycopg_binary.libs"), "libpq-*"),
        (package / ".dylibs", "libpq*.dylib"),
    ):
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    return None


def connection_params(conninfo: str, defaults: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """libpq's keywords and values for ``conninfo`` (a URI or key=value pairs): ``defaults`` where it does not
    set them, and restpg's ``application_name`` (what PostgREST does with its own name)."""
    # libpq reads the pairs in order and expands the first dbname as a whole connection string: what comes
    # before it yields to the string, what comes after overrides it.
    return [*(defaults or {}).items(), ("dbname", conninfo), ("application_name", f"restpg {__version__}")]
