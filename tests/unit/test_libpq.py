"""The cold start's libpq reader: the query text and parameters it sends (the reads are in io/test_preload.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from restpg.schema import libpq
from restpg.schema.catalog import _numbered, _text_array


def test_named_placeholders_become_numbered_ones() -> None:
    sql, names = _numbered("select %(b)s, %(a)s, %(b)s, '100%%', like 'x\\_%%'")
    assert sql == "select $1, $2, $1, '100%', like 'x\\_%'"
    assert names == ["b", "a"]


def test_a_query_without_placeholders_is_unchanged() -> None:
    assert _numbered("select 1") == ("select 1", [])


def test_text_arrays_quote_every_element() -> None:
    assert _text_array([]) == b"{}"
    assert _text_array(["api", "v2"]) == b'{"api","v2"}'
    assert _text_array(['a"b', "c\\d", "e,f", "NULL"]) == b'{"a\\"b","c\\\\d","e,f","NULL"}'


def _wheel(root: Path, monkeypatch: pytest.MonkeyPatch, *libraries: str) -> None:
    """A psycopg_binary package under ``root`` with ``libraries`` (paths relative to ``root``)."""
    package = root / "psycopg_binary"
    package.mkdir()
    (package / "__init__.py").touch()
    for library in libraries:
        (root / library).parent.mkdir(parents=True, exist_ok=True)
        (root / library).touch()
    spec = SimpleNamespace(origin=str(package / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "psycopg_binary" else None)


@pytest.mark.parametrize(
    "libraries, found",
    [
        # Linux (auditwheel) and Windows (delvewheel): a folder beside the package, names with a hash.
        (
            ["psycopg_binary.libs/libssl-6a9b.so.3", "psycopg_binary.libs/libpq-e9b5.so.5.18"],
            "libpq-e9b5.so.5.18",
        ),
        (["psycopg_binary.libs/libpq-0f1e.dll"], "libpq-0f1e.dll"),
        # macOS (delocate): inside the package.
        (["psycopg_binary/.dylibs/libssl.3.dylib", "psycopg_binary/.dylibs/libpq.5.dylib"], "libpq.5.dylib"),
        ([], None),
    ],
    ids=["linux", "windows", "macos", "none"],
)
def test_the_binary_wheels_libpq_is_found_on_every_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, libraries: list[str], found: str | None
) -> None:
    _wheel(tmp_path, monkeypatch, *libraries)
    path = libpq.bundled_libpq()
    assert (path.name if path else None) == found
