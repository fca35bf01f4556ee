"""The core's pipeline on psycopg's connections: which libpq the core calls.

The execute stage's calls (queue, sync, receive, outcome) run in the Rust core on the ``PGconn *`` of the
connection psycopg opened (``restpg._core.Pipeline``). They must call the very libpq that connection belongs
to, so the core binds a library the process has already loaded (``RTLD_NOLOAD``) and only after checking it
against a live connection. This module names the candidates: what the process has mapped (Linux), the copy
in psycopg's binary wheel, and the names the dynamic linker resolves for psycopg's C or ctypes builds.
"""

from __future__ import annotations

import ctypes.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from psycopg import pq

from restpg._core import Pipeline, bind_libpq
from restpg.schema.libpq import bundled_libpq

__all__ = ["LibpqNotFound", "pipeline_for"]

_LIBPQ = re.compile(r"/libpq[.-][^/]*$")
_bound = False


class LibpqNotFound(RuntimeError):
    """No loaded libpq matched psycopg's connection: restpg cannot run its execute stage here."""


def pipeline_for(pgconn: pq.abc.PGconn) -> Pipeline:
    """The core's pipeline on ``pgconn`` (open, in pipeline mode), binding libpq on the first call."""
    global _bound
    if not _bound:
        _bind(pgconn)
        _bound = True
    return Pipeline(pgconn)


def _bind(pgconn: pq.abc.PGconn) -> None:
    tried: list[str] = []
    for path in dict.fromkeys(_candidates()):
        try:
            bind_libpq(pgconn, path)
        except OSError as exc:
            tried.append(str(exc))
            continue
        return
    raise LibpqNotFound(
        f"restpg found no loaded libpq matching psycopg's ({pq.__impl__} implementation): " + "; ".join(tried)
    )


def _candidates() -> Iterator[str]:
    """Paths and names of libpq, most likely psycopg's first."""
    mapped = list(_mapped())
    bundled = bundled_libpq()
    if pq.__impl__ == "binary":
        if bundled is not None:
            yield str(bundled)
        yield from (path for path in mapped if "psycopg_binary" in path)
    yield from mapped
    if pq.__impl__ == "python":
        found = ctypes.util.find_library("pq")
        if found:
            yield found
    yield "libpq.5.dylib" if sys.platform == "darwin" else "libpq.so.5"


def _mapped() -> Iterator[str]:
    """The libpq files mapped into this process (Linux's /proc; nothing elsewhere)."""
    maps = Path("/proc/self/maps")
    try:
        lines = maps.read_text().splitlines()
    except OSError:
        return
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and _LIBPQ.search(fields[5]):
            yield fields[5]
