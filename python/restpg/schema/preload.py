"""The supervisor's head start on a cold start: the first schema cache snapshot, built while Python imports.

Without a persisted snapshot, every worker of a fresh ``restpg serve`` waits after it forks for one of them
to read the catalog (the fingerprint, the introspection queries, the inference: about 150 ms at 1,000
tables). The supervisor can do that work earlier, in a thread beside its main thread's import of the app and
Granian (about as long, and spent waiting for PostgreSQL rather than computing), and write the snapshot the
workers then adopt the moment they start: the same file, lock and key as the workers' own loads.

Only a cold start is helped: a snapshot already on disk is the workers' to serve and revalidate. Any failure
is theirs too: they load the cache themselves, retry, and report what is wrong; so is a schema too large to
read within ``BUDGET``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from restpg._core import SchemaCache
from restpg.schema.fingerprint import queries_digest
from restpg.schema.introspect import QUERIES, read_catalog
from restpg.schema.snapshot import store_for

if TYPE_CHECKING:
    from restpg.config import Config

__all__ = ["preload_snapshot"]


#: How long the supervisor reads before it gives up and leaves the work to the workers. Nothing listens
#: meanwhile, not even the admin server's /live: a schema that takes longer (tens of thousands of tables)
#: is loaded by the workers, which answer 503 PGRST002 and /ready 503 while they do.
BUDGET = 3.0


def preload_snapshot(config: Config, budget: float = BUDGET) -> bool:
    """Write the snapshot for ``config`` when there is none; True when this call wrote it."""
    store = store_for(config)
    try:
        if store.identity() is not None or not store.try_lead():
            return False  # a snapshot to adopt, or a running server of the same database already leads
        try:
            fingerprint, document = asyncio.run(asyncio.wait_for(_read_catalog(config), budget))
            # Released before the workers fork: the cache lives in their processes, not in the supervisor's.
            store.write(SchemaCache(document).to_snapshot(fingerprint))
        finally:
            store.release()
    except TimeoutError:
        return False  # a large schema: the workers load it, listening meanwhile
    except Exception as exc:  # noqa: BLE001 - the workers load the cache themselves and report failures
        text = str(exc).strip()
        print(
            f"restpg: no schema cache before start ({text.splitlines()[0] if text else exc!r})",
            file=sys.stderr,
        )
        return False
    return True


async def _read_catalog(config: Config) -> tuple[str, bytes]:
    schemas, extra = config.db_schemas, config.db_extra_search_path
    return await read_catalog(
        config.db_uri,
        schemas=schemas,
        extra_search_path=extra,
        digest=queries_digest(QUERIES, schemas, extra),
        max_bytes=config.restpg_max_schema_bytes,
    )
