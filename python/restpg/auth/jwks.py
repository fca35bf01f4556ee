"""A JWK Set fetched from a URL (`jwt-jwks-url`): how Neon Auth, Auth0, Clerk, Supabase Auth and
Better Auth publish their keys.

The fetch runs in a thread (stdlib urllib: one small GET every few minutes needs no HTTP client
dependency) with short timeouts. The last good key set is kept while the provider is down; a token
with an unknown `kid` may trigger a refetch, at most once every `min_refetch_interval` seconds, so a
flood of forged `kid`s cannot turn into a flood of requests to the provider. Only those on-demand
refetches count against that budget: the start-up and background fetches do not, so a key rotated in
just after a scheduled fetch is still picked up on its first token.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from .keys import KeyConfigError, VerificationKey, algorithms, keys_from_jwks

log = logging.getLogger("restpg.auth")

MAX_DOCUMENT_BYTES = 1024 * 1024

# URLError/HTTPError/timeouts are OSError; a bad body is a ValueError (JSON) or KeyConfigError
_FETCH_ERRORS = (OSError, ValueError, http.client.HTTPException, TimeoutError)


class JwksSource:
    def __init__(
        self,
        url: str,
        *,
        refresh_interval: float = 300.0,
        min_refetch_interval: float = 30.0,
        timeout: float = 5.0,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.refresh_interval = refresh_interval
        self.min_refetch_interval = min_refetch_interval
        self.timeout = timeout
        self.keys: tuple[VerificationKey, ...] = ()
        self.fetched = False
        self._document: bytes | None = None
        self._last_on_demand: float | None = None  # the last refetch a token asked for
        self._on_change = on_change
        self._clock = clock
        self._inflight: asyncio.Task[bool] | None = None
        algorithms()  # the keys to come need pyjwt: loaded now rather than by the first fetch

    def may_refetch(self) -> bool:
        last = self._last_on_demand
        return last is None or self._clock() - last >= self.min_refetch_interval

    def fetch_document(self) -> bytes:
        """One GET of the key set (blocking; run it in a thread)."""
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        # the timeout bounds the connect and every read; refresh() bounds the whole exchange
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout, 2.0)) as response:
                body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()  # an error response still holds its socket
            raise
        if len(body) > MAX_DOCUMENT_BYTES:
            raise KeyConfigError(f"JWK Set larger than {MAX_DOCUMENT_BYTES} bytes")
        return body

    def refresh_blocking(self, *, force: bool = False) -> bool:
        """Fetch now in this thread: for callers without an event loop (the CLI, sync tests)."""
        if not force:
            if not self.may_refetch():
                return False
            self._last_on_demand = self._clock()
        try:
            return self._adopt(self.fetch_document())
        except _FETCH_ERRORS as exc:  # any failure keeps the last good keys
            self._log_failure(exc)
            return False

    async def refresh(self, *, force: bool = False) -> bool:
        """Fetch the key set; concurrent callers share one fetch. Without `force` (a token asked
        for it) nothing happens within `min_refetch_interval` of the previous such refetch. True when
        the key set changed."""
        if self._inflight is not None and not self._inflight.done():
            return await asyncio.shield(self._inflight)
        if not force:
            if not self.may_refetch():
                return False
            self._last_on_demand = self._clock()
        self._inflight = asyncio.create_task(self._fetch_and_adopt())
        return await asyncio.shield(self._inflight)

    async def _fetch_and_adopt(self) -> bool:
        try:
            document = await asyncio.wait_for(asyncio.to_thread(self.fetch_document), self.timeout)
            return self._adopt(document)
        except _FETCH_ERRORS as exc:  # any failure keeps the last good keys
            self._log_failure(exc)
            return False

    async def run(self) -> None:
        """Background renewal, until cancelled."""
        while True:
            await asyncio.sleep(self.refresh_interval)
            await self.refresh(force=True)

    def _adopt(self, document: bytes) -> bool:
        if document == self._document:
            return False
        keys = keys_from_jwks(json.loads(document))
        if not keys:
            raise KeyConfigError("the JWK Set has no usable signing key")
        self.keys = tuple(keys)
        self._document = document
        self.fetched = True
        log.info("JWKS from %s: %d key(s) %s", self.url, len(keys), [key.kid for key in keys])
        if self._on_change is not None:
            self._on_change()
        return True

    def _log_failure(self, exc: BaseException) -> None:
        state = f"keeping the last {len(self.keys)} key(s)" if self.fetched else "no keys yet"
        log.warning("JWKS fetch from %s failed (%s: %s); %s", self.url, type(exc).__name__, exc, state)
