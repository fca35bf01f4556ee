"""The introspection queries as files, and the document their results make; no database client here.

Each ``queries/<stem>.sql`` returns one row with one json column and may use the named placeholders
``%(schemas)s`` and ``%(extra_search_path)s`` (text arrays; a literal ``%`` is written ``%%``), and
``%(only)s`` (an oid array, null for every relation). Its ``-- catalogs:`` lines name the parts of the
catalog fingerprint (``fingerprint.CATALOGS``) whose change can change its result. A
``queries/changes/<stem>.sql`` beside it lets a reload read it for the relations that changed alone
(``ChangeQuery``). The results make the document, ``{"<stem>": <json>, ...}``: handed to
``_core.SchemaCache`` as its parts (``Document``), each as PostgreSQL wrote it, never parsed in Python nor
joined (the core parses the parts apart, two at a time). Two readers run them, both with libpq's numbered
parameters (``catalog_jobs``) on the core's connections: the event loop's (``introspect.py``: workers,
reloads) and the blocking ones of a cold start's supervisor (``start_session.py``: the whole read without
the GIL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from restpg.schema.fingerprint import CATALOGS

__all__ = [
    "HORIZON_AGE",
    "QUERIES",
    "STATES_KEY",
    "CatalogJob",
    "CatalogQuery",
    "ChangeQuery",
    "Document",
    "SchemaTooLarge",
    "catalog_jobs",
    "catalog_queries",
    "change_jobs",
    "document_of",
    "reading_order",
    "whole_document",
]

QUERIES = Path(__file__).with_name("queries")
# The transaction both readers read in: read only, one exported snapshot for the queries side by side.
BEGIN_READ = b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# An empty search_path makes format_type qualify every type outside pg_catalog, so type names in the
# document are unambiguous whatever the role's own search_path is. JIT would spend longer compiling these
# large catalog queries than they take to run (about 1 s of 2 s at 10,000 tables). Without nested loops:
# the planner cannot estimate how many rows of the catalogs belong to the exposed schemas (1,110 relations
# estimated as 221 at 1,000 tables), and picks one index probe per column into pg_attrdef and
# pg_description where one hash of each is cheaper (the side-by-side read 181 -> 169 ms at 1,000 tables,
# 1,531 -> 1,378 ms at 10,000). Without merge joins, for the same misestimate: it sorted all of a schema's
# columns to merge them with the handful of distinct types (the columns -10%, keys.sql -7% at 10,000
# tables, medians of 8-10 interleaved runs; the others unchanged).
READ_SETTINGS = (
    b"SELECT set_config('search_path', '', true), set_config('jit', 'off', true), "
    b"set_config('enable_nestloop', 'off', true), set_config('enable_mergejoin', 'off', true)"
)
# How many transactions back (as age(xid) counts them, from this transaction's view of now) an earlier
# read's horizon is ($1: the oldest transaction still running when its snapshot was taken, with its
# epoch; see `introspect.Reading`): the change queries take the rows written no further back as new.
# age() counts modulo 2^32, so further back than a billion transactions, or ahead of this server's
# (another cluster), everything is new (no age is above 2^31 - 1).
HORIZON_AGE = (
    b"SELECT CASE WHEN txid_snapshot_xmin(txid_current_snapshot()) - $1::int8 "
    b"BETWEEN 0 AND 1000000000 THEN age(($1::int8 % 4294967296)::text::xid) ELSE 2147483647 END"
)
# What a change query returns, one row: ``{"present": [...], "changed": [...]}`` for the core's merge
# (``_core.merge_changed``), and the changed objects as an oid array for the query's ``%(only)s``.
_CHANGES_SELECT = """,
changed_oids as (
  select coalesce(array_agg(oid::int8 order by oid), '{}') as oids from changed
)
select
  json_build_object(
    'present', (select coalesce(array_agg(oid::int8), '{}') from present),
    'changed', (select oids from changed_oids)
  ),
  (select oids from changed_oids)
"""
_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")
_CATALOGS_LINE = re.compile(r"^-- catalogs:(.*)$", re.MULTILINE)
_FOLLOWS_LINE = re.compile(r"^-- follows:(.*)$", re.MULTILINE)
_MEMBERS_LINE = re.compile(r"^-- members:(.*)$", re.MULTILINE)
# A read side by side runs on two connections, each taking the next query when done with its last. Two
# backends on two cores beat one per query: the start's read 162 -> 126 ms at 1,000 tables, 1,308 -> 1,164
# ms at 10,000, and two connections to open instead of four.
READERS = 2
# The queries that take most of a read, largest first (the columns ~45% of PostgreSQL's time, the keys
# ~25%, at 10,000 tables): taken first, they leave the small ones to even out the connections' ends. (With
# the relations and their columns in one query, the one connection ran it alone for 1,111 ms while the
# other was done with all the rest after 860.)
LARGEST_FIRST = ("columns", "keys")

# The key of the catalog's states (``fingerprint.CATALOG_STATES_SQL``) among a read's results: no query file
# has an empty stem.
STATES_KEY = ""

#: ``(stem, sql, params)``: one query ready for libpq.
CatalogJob = tuple[str, bytes, list[bytes | None]]

#: The introspection document as its parts: each query's result (JSON, as PostgreSQL wrote it) by the
#: query's stem, in file-name order (what ``_core.SchemaCache`` takes).
Document = dict[str, bytes]


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
class ChangeQuery:
    """``queries/changes/<stem>.sql``: which relations (or functions) may have another result in
    ``<stem>.sql`` than an earlier read of it gave. The file is a ``with`` list that defines ``present``
    (the objects ``<stem>.sql`` lists now) and ``changed`` (those read again), each with an ``oid``
    column; ``sql`` adds the select that returns them (``_CHANGES_SELECT``). Placeholders
    ``%(schemas)s``, ``%(horizon)s`` (``HORIZON_AGE`` of the earlier read's) and ``%(moved)s`` (the parts
    that changed since)."""

    sql: str
    #: The parts of the catalog whose changes it follows, from its ``-- follows:`` lines: when another of
    #: the query's catalogs changed, the query is read whole.
    follows: frozenset[str]
    #: The parts whose rows come and go with the relations or functions themselves (``-- members:``):
    #: while these are unchanged and none changed, the earlier result stands as it was.
    members: frozenset[str]


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    stem: str  # the file's name without ``.sql``: the document's key
    sql: str  # with psycopg's named placeholders
    #: The parts of the catalog its result depends on (``fingerprint.CATALOGS``), from its ``-- catalogs:``
    #: lines: a reload reuses the previous result while none of them changed.
    catalogs: frozenset[str]
    #: How a reload reads it for the changed relations alone, when it can (``introspect.reread_catalog``).
    changes: ChangeQuery | None = None


def catalog_queries(queries: Path = QUERIES) -> list[CatalogQuery]:
    """The query files in document order; a bad file name or ``-- catalogs:`` line is refused before
    anything connects."""
    found: list[CatalogQuery] = []
    for path in sorted(queries.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        # Stems are file names chosen by the project (letters, digits, _): no escaping needed, but be strict.
        if not path.stem.replace("_", "").isalnum():
            raise ValueError(f"introspection query file name {path.stem!r} must be letters, digits and '_'")
        catalogs = _parts_named(_CATALOGS_LINE, sql, path, "the catalogs it reads in '-- catalogs:'")
        changes = None
        changes_path = queries / "changes" / path.name
        if changes_path.exists():
            changes_sql = changes_path.read_text(encoding="utf-8").rstrip() + _CHANGES_SELECT
            follows = _parts_named(
                _FOLLOWS_LINE, changes_sql, changes_path, "what it follows in '-- follows:'"
            )
            members = _parts_named(_MEMBERS_LINE, changes_sql, changes_path, "its members in '-- members:'")
            changes = ChangeQuery(changes_sql, follows, members)
        found.append(CatalogQuery(path.stem, sql, catalogs, changes))
    return found


def _parts_named(line: re.Pattern[str], sql: str, path: Path, what: str) -> frozenset[str]:
    """The fingerprint's parts a query file names in its ``line`` lines: at least one, each a part."""
    parts = frozenset(name for found in line.findall(sql) for name in found.split())
    if not parts or not parts <= CATALOGS:
        unknown = ", ".join(sorted(parts - CATALOGS)) or "none named"
        raise ValueError(
            f"introspection query {path.name} must name {what} lines, "
            f"from the parts the fingerprint states ({unknown})"
        )
    return parts


def document_of(queries: list[CatalogQuery], results: Mapping[str, bytes]) -> Document:
    """The document of ``queries`` from a read's ``results`` (which may hold more, such as the catalog's
    states): each query's result under its stem, in file order."""
    return {query.stem: results[query.stem] for query in queries}


def whole_document(document: Document) -> bytes:
    """The document as one JSON object, ``{"<stem>": <json>, ...}`` (for a file; the core takes the parts)."""
    return b"{" + b",".join(b'"' + stem.encode() + b'":' + json for stem, json in document.items()) + b"}"


def catalog_jobs(
    queries: list[CatalogQuery], schemas: Sequence[str], extra_search_path: Sequence[str]
) -> list[CatalogJob]:
    """``(stem, sql, params)`` per query: its placeholders as libpq's ``$n``, its arrays as text literals."""
    values = _values(schemas, extra_search_path)
    return [_catalog_job(query.stem, query.sql, values) for query in queries]


def change_jobs(
    query: CatalogQuery,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    horizon: int,
    moved: Iterable[str],
) -> tuple[CatalogJob, Callable[[bytes], CatalogJob]]:
    """For a reload that reads ``query`` for the changed objects alone: its change query (``horizon``: the
    earlier read's, as ``HORIZON_AGE`` counts it; ``moved``: the parts of the catalog whose state changed
    since), and its job for the objects that query names (an oid array literal)."""
    assert query.changes is not None
    values = _values(schemas, extra_search_path)
    values |= {"horizon": str(horizon).encode(), "moved": _text_array(sorted(moved))}
    changes = _catalog_job(query.stem, query.changes.sql, values)

    def only(oids: bytes) -> CatalogJob:
        return _catalog_job(query.stem, query.sql, {**values, "only": oids})

    return changes, only


def _catalog_job(stem: str, sql: str, values: Mapping[str, bytes | None]) -> CatalogJob:
    """``sql``'s placeholders as libpq's ``$n``, with their ``values`` (text)."""
    numbered, names = _numbered(sql)
    return (stem, numbered.encode(), [values[name] for name in names])


def _values(schemas: Sequence[str], extra_search_path: Sequence[str]) -> dict[str, bytes | None]:
    """Every query's placeholders: the scope as text array literals; ``only`` null (every relation)."""
    return {
        "schemas": _text_array(schemas),
        "extra_search_path": _text_array(extra_search_path),
        "only": None,
    }


def reading_order(jobs: list[CatalogJob]) -> list[CatalogJob]:
    """The jobs in the order a side-by-side read takes them: ``LARGEST_FIRST``, then the others in theirs."""
    rank = {stem: i for i, stem in enumerate(LARGEST_FIRST)}
    return sorted(jobs, key=lambda job: rank.get(job[0], len(rank)))


def _numbered(sql: str) -> tuple[str, list[str]]:
    """``%(name)s`` placeholders as ``$n`` (one per distinct name), ``%%`` as ``%``."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql), names


def _text_array(values: Sequence[str]) -> bytes:
    """A text array literal, every element quoted (untyped, text format: PostgreSQL infers text[])."""
    quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return ("{" + ",".join(quoted) + "}").encode()


def import_snapshot(snapshot: str) -> bytes:
    """The statement that reads in ``snapshot`` (another session's export): the first of its transaction.
    The id is PostgreSQL's own, quoted as a literal."""
    return b"SET TRANSACTION SNAPSHOT '" + snapshot.replace("'", "''").encode() + b"'"
