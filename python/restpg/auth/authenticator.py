"""From an `Authorization` header to the role and claims a request runs with.

Role resolution follows the Neon Data API model rather than PostgREST's:
- no `Authorization` header (or a scheme other than Bearer) → `anon_role`, with claims
  `{"role": anon_role}`; without an anonymous role → 401 PGRST302;
- a valid token → the role at `role_claim_key`; a valid token *without* a role claim → the role
  `authenticated`. PostgREST would fall back to `db-anon-role` there, but a signed token proves a
  signed-in user, and Neon's `authenticated` role is what its grants and RLS policies are written for.
The claims handed to PostgreSQL (`request.jwt.claims`) are the whole verified payload with `role`
set to the effective role, as PostgREST does, so `auth.session()` and `current_setting(...)` see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors, role_claim
from .cache import CacheStats, TokenCache
from .jws import UnknownKid, expiry, validate_claims, verify_signature
from .keys import VerificationKey, keys_from_secret

if TYPE_CHECKING:
    from .jwks import JwksSource

log = logging.getLogger("restpg.auth")

AUTHENTICATED_ROLE = "authenticated"
CACHE_MAX_LIFETIME_SECONDS = 3600.0


@dataclass(frozen=True)
class AuthResult:
    """The role to `SET LOCAL` and the JSON text for `request.jwt.claims`."""

    role: str
    claims: bytes


class Authenticator:
    def __init__(
        self,
        *,
        secret: str | None,
        secret_is_base64: bool,
        audience: str | None,
        role_claim_key: str,
        anon_role: str | None,
        cache_max_entries: int,
        jwks_url: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Raises ValueError (KeyConfigError, RoleClaimKeyError) for a configuration that cannot work."""
        self.audience = audience
        self.anon_role = anon_role
        self._role_path = role_claim.parse(role_claim_key)
        self._static_keys: tuple[VerificationKey, ...] = (
            tuple(keys_from_secret(secret, secret_is_base64)) if secret else ()
        )
        self._cache: TokenCache[AuthResult] = TokenCache(cache_max_entries, CACHE_MAX_LIFETIME_SECONDS)
        self._jwks: JwksSource | None = None
        if jwks_url:
            from .jwks import JwksSource  # its HTTP client only with a key set URL

            self._jwks = JwksSource(jwks_url, on_change=self._cache.clear)
        self._clock = clock
        self._background: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[bool]] = set()
        self._anonymous = (
            AuthResult(anon_role, _compact({"role": anon_role})) if anon_role is not None else None
        )

    @property
    def cache_stats(self) -> CacheStats:
        """Hits, misses and evictions of the verified-token cache, for /metrics."""
        return self._cache.stats

    @property
    def jwks(self) -> JwksSource | None:
        return self._jwks

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Fetch the JWKS once (a provider that is down does not stop the server: requests get 401
        until it answers) and keep it fresh in the background."""
        if self._jwks is None or self._background is not None:
            return
        await self._jwks.refresh(force=True)
        self._background = asyncio.create_task(self._jwks.run(), name="restpg-jwks-refresh")

    async def close(self) -> None:
        tasks = [t for t in (self._background, *self._pending) if t is not None]
        self._background = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- per request ----------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> AuthResult:
        """Sync and cheap on a cache hit. A token whose `kid` is unknown starts a JWKS refetch in the
        background (rate limited) and is refused; `authenticate_async` waits for that refetch."""
        token = self._token(authorization)
        if token is None:
            return self._anonymous_result()
        try:
            return self._verify(token)
        except UnknownKid:
            self._schedule_refetch()
            raise errors.decode_error(errors.KEY_ERROR, errors.KEY_ERROR_DETAILS) from None

    async def authenticate_async(self, authorization: str | None) -> AuthResult:
        """As `authenticate`, but a token signed by a key the provider just rotated in is accepted
        on its first use: the refetch is awaited (at most once per 30 s, 5 s at worst)."""
        token = self._token(authorization)
        if token is None:
            return self._anonymous_result()
        try:
            return self._verify(token)
        except UnknownKid:
            if self._jwks is not None:
                await self._jwks.refresh()
                with contextlib.suppress(UnknownKid):
                    return self._verify(token)
            raise errors.decode_error(errors.KEY_ERROR, errors.KEY_ERROR_DETAILS) from None

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _token(authorization: str | None) -> str | None:
        if authorization is None:
            return None
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return None  # not a bearer credential: the request is anonymous, as in PostgREST
        token = rest.strip()
        if not token:
            raise errors.decode_error(errors.EMPTY_TOKEN)
        return token

    def _anonymous_result(self) -> AuthResult:
        if self._anonymous is None:
            raise errors.token_required()
        return self._anonymous

    def _verify(self, token: str) -> AuthResult:
        now = self._clock()
        cached = self._cache.get(token, now)
        if cached is not None:
            return cached
        keys = self._keys()
        claims = verify_signature(token, keys)
        validate_claims(claims, now, self.audience)
        result = self._result(claims)
        self._cache.put(token, result, now, expiry(claims))
        return result

    def _keys(self) -> tuple[VerificationKey, ...]:
        if self._jwks is None:
            if not self._static_keys:
                raise errors.secret_missing()
            return self._static_keys
        if not self._jwks.fetched and not self._static_keys:
            # nothing fetched yet (the provider was down at startup): try again, then refuse
            self._schedule_refetch()
            raise errors.decode_error(errors.KEY_ERROR, "The JWKS could not be fetched yet")
        return self._static_keys + self._jwks.keys

    def _result(self, claims: dict[str, Any]) -> AuthResult:
        found = role_claim.find(claims, self._role_path)
        role = AUTHENTICATED_ROLE if found is None else role_claim.role_text(found)
        if not role:
            role = AUTHENTICATED_ROLE
        claims["role"] = role
        return AuthResult(role, _compact(claims))

    def _schedule_refetch(self) -> None:
        jwks = self._jwks
        if jwks is None or not jwks.may_refetch():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            jwks.refresh_blocking()  # no event loop (CLI, sync callers): fetch inline
            return
        task = loop.create_task(jwks.refresh())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
