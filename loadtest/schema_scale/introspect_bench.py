"""Time the introspection queries and the catalog fingerprint on a database, and save its document.

    python loadtest/schema_scale/introspect_bench.py <conninfo> <schema> [document.json]

Runs each query file (as restpg does: READ ONLY, with ``catalog.READ_SETTINGS``) three times and prints the
best time; the document it writes is the input of the Rust benchmark (schema_scale.rs).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import psycopg

from restpg.schema.catalog import READ_SETTINGS, catalog_jobs, catalog_queries, whole_document
from restpg.schema.fingerprint import catalog_fingerprint, queries_digest
from restpg.schema.introspect import QUERIES, load_document


async def main(conninfo: str, schema: str, out: str | None) -> None:
    jobs = catalog_jobs(catalog_queries(QUERIES), [schema], ["public"])
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        await conn.set_read_only(True)
        # libpq's $n placeholders, as restpg sends them.
        cursor = psycopg.AsyncRawCursor(conn)
        for stem, sql, values in jobs:
            best = float("inf")
            for _ in range(3):
                await conn.execute(READ_SETTINGS)  # for this transaction, as restpg
                start = time.perf_counter()
                # ::text keeps psycopg from parsing the JSON (restpg passes the bytes through).
                await cursor.execute(b"select x::text from (" + sql + b") s(x)", [_text(v) for v in values])
                await cursor.fetchone()
                best = min(best, time.perf_counter() - start)
                await conn.rollback()
            print(f"{stem:10} {best * 1000:7.0f} ms")
    digest = queries_digest(QUERIES, [schema], ["public"])
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        await catalog_fingerprint(conninfo, digest)
        best = min(best, time.perf_counter() - start)
    print(f"{'fingerprint':10} {best * 1000:7.0f} ms (with connecting)")
    start = time.perf_counter()
    document = whole_document(await load_document(conninfo, schemas=[schema], extra_search_path=["public"]))
    print(f"{'document':10} {(time.perf_counter() - start) * 1000:7.0f} ms for all, {len(document) >> 10} KB")
    if out:
        Path(out).write_bytes(document)


def _text(value: bytes | None) -> str | None:
    """A parameter as psycopg sends text (bytes would be bytea)."""
    return None if value is None else value.decode()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
