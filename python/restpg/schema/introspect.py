"""Introspection: run the catalog queries in one read-only transaction and build the core's schema cache.

Each ``queries/<stem>.sql`` returns one row with one json column and may use the named placeholders
``%(schemas)s`` and ``%(extra_search_path)s`` (text arrays; a literal ``%`` is written ``%%``). The results
are assembled into ``{"<stem>": <json>, ...}`` byte for byte, without being parsed in Python, and handed to
``_core.SchemaCache``. This is not the hot path, so psycopg's ordinary connection API is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg.adapt import Loader

from restpg import __version__

if TYPE_CHECKING:
    from restpg._core import SchemaCache

__all__ = ["QUERIES", "SchemaTooLarge", "build_cache", "load_document"]

QUERIES = Path(__file__).with_name("queries")


class SchemaTooLarge(Exception):
    """The introspection document outgrew ``restpg-max-schema-bytes``."""

    def __init__(self, size: int, limit: int, stem: str) -> None:
        super().__init__(
            f"The schema cache is larger than restpg-max-schema-bytes = {limit} bytes (at least {size} bytes, "
            f"reached while reading {stem!r}): expose fewer schemas in db-schemas, or raise "
            "restpg-max-schema-bytes if this host has the memory for it (about 2 KB per table per worker)."
        )
        self.size = size
        self.limit = limit


class _RawLoader(Loader):
    """Keep the column's text as bytes: the document is parsed once, in Rust."""

    def load(self, data: psycopg.abc.Buffer) -> bytes:
        return bytes(data)


async def load_document(
    conninfo: str,
    *,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    queries: Path = QUERIES,
    max_bytes: int | None = None,
) -> bytes:
    """Run every query in ``queries`` (sorted by name) and return the introspection document.

    Raises ``SchemaTooLarge`` as soon as the parts read so far exceed ``max_bytes``: the check runs after
    each query, before the next one is sent, and before Rust parses anything (the parsed cache takes
    several times the document's size).
    """
    files = sorted(queries.glob("*.sql"))
    params = {"schemas": list(schemas), "extra_search_path": list(extra_search_path)}
    parts: list[bytes] = []
    size = 0
    conn = await psycopg.AsyncConnection.connect(conninfo, application_name=f"restpg {__version__}")
    try:
        for type_name in ("json", "jsonb", "text"):
            conn.adapters.register_loader(type_name, _RawLoader)
        await conn.set_read_only(True)
        async with conn.cursor() as cursor:
            # An empty search_path makes format_type qualify every type outside pg_catalog, so type names in
            # the document are unambiguous whatever the role's own search_path is.
            await cursor.execute("SET LOCAL search_path = ''")
            # JIT would spend longer compiling these large catalog queries than they take to run (about 1 s
            # of 2 s at 10,000 tables).
            await cursor.execute("SET LOCAL jit = off")
            for path in files:
                await cursor.execute(path.read_text(encoding="utf-8"), params)
                row = await cursor.fetchone()
                value = b"null" if row is None or row[0] is None else row[0]
                parts.append(_json_key(path.stem) + b":" + value)
                size += len(value)
                if max_bytes is not None and size > max_bytes:
                    raise SchemaTooLarge(size, max_bytes, path.stem)
        await conn.rollback()
    finally:
        await conn.close()
    return b"{" + b",".join(parts) + b"}"


def build_cache(document: bytes) -> SchemaCache:
    from restpg._core import SchemaCache

    return SchemaCache(document)


def _json_key(stem: str) -> bytes:
    # Stems are file names chosen by the project (letters, digits, _): no escaping needed, but be strict.
    if not stem.replace("_", "").isalnum():
        raise ValueError(f"introspection query file name {stem!r} must be letters, digits and '_'")
    return b'"' + stem.encode() + b'"'
