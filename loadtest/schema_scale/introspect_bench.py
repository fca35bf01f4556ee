"""Time the introspection queries and the catalog fingerprint on a database, and save its document.

    python loadtest/schema_scale/introspect_bench.py <conninfo> <schema> [document.json]

Runs each query file (as restpg does: READ ONLY, empty search_path, JIT off) three times and prints the
best time; the document it writes is the input of the Rust benchmark (schema_scale.rs).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import psycopg

from restpg.schema.fingerprint import catalog_fingerprint, queries_digest
from restpg.schema.introspect import QUERIES, load_document


async def main(conninfo: str, schema: str, out: str | None) -> None:
    params = {"schemas": [schema], "extra_search_path": ["public"]}
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        await conn.set_read_only(True)
        await conn.execute("SET search_path = ''")
        await conn.execute("SET jit = off")
        for path in sorted(QUERIES.glob("*.sql")):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                # ::text keeps psycopg from parsing the JSON (restpg passes the bytes through).
                cur = await conn.execute(f"select x::text from ({path.read_text()}) s(x)", params)  # noqa: S608
                await cur.fetchone()
                best = min(best, time.perf_counter() - start)
            print(f"{path.stem:10} {best * 1000:7.0f} ms")
    digest = queries_digest(QUERIES, [schema], ["public"])
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        await catalog_fingerprint(conninfo, digest)
        best = min(best, time.perf_counter() - start)
    print(f"{'fingerprint':10} {best * 1000:7.0f} ms (with connecting)")
    start = time.perf_counter()
    document = b"".join(await load_document(conninfo, schemas=[schema], extra_search_path=["public"]))
    print(f"{'document':10} {(time.perf_counter() - start) * 1000:7.0f} ms for all, {len(document) >> 10} KB")
    if out:
        Path(out).write_bytes(document)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
