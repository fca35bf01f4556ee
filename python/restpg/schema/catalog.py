"""The introspection queries as files, and the document their results make; no database client here.

Each ``queries/<stem>.sql`` returns one row with one json column and may use the named placeholders
``%(schemas)s`` and ``%(extra_search_path)s`` (text arrays; a literal ``%`` is written ``%%``). The results
are assembled into ``{"<stem>": <json>, ...}`` in file-name order, byte for byte, without being parsed in
Python, and handed to ``_core.SchemaCache``. Two readers run them: psycopg's (``introspect.py``: workers,
reloads) and libpq's own through ctypes (``libpq.py``: a cold start, before psycopg is imported).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["QUERIES", "CatalogQuery", "SchemaTooLarge", "assemble_document", "catalog_queries"]

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


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    stem: str  # the file's name without ``.sql``: the document's key
    sql: str  # with psycopg's named placeholders


def catalog_queries(queries: Path = QUERIES) -> list[CatalogQuery]:
    """The query files in document order; a bad file name is refused before anything connects."""
    found = [
        CatalogQuery(path.stem, path.read_text(encoding="utf-8")) for path in sorted(queries.glob("*.sql"))
    ]
    for query in found:
        # Stems are file names chosen by the project (letters, digits, _): no escaping needed, but be strict.
        if not query.stem.replace("_", "").isalnum():
            raise ValueError(f"introspection query file name {query.stem!r} must be letters, digits and '_'")
    return found


def assemble_document(queries: list[CatalogQuery], parts: Mapping[str, bytes]) -> bytes:
    """``{"<stem>": <json>, ...}`` from each query's result (its JSON text, as PostgreSQL wrote it)."""
    return b"{" + b",".join(b'"' + q.stem.encode() + b'":' + parts[q.stem] for q in queries) + b"}"
