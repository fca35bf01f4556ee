"""The authentication interface the app codes against, and an anonymous-only stand-in.

``restpg.auth`` provides the real ``Authenticator`` (JWT verification, key sets, caching). When that module
is not installed the app falls back to ``AnonymousOnly``, which serves requests without a token as
``db-anon-role`` and refuses every token: it never verifies a JWT itself.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Protocol

import msgspec

from restpg.config import Config

__all__ = ["AnonymousOnly", "AuthErrorLike", "AuthResultLike", "AuthenticatorLike", "load_authenticator"]


class AuthResultLike(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def claims(self) -> bytes: ...


class AuthErrorLike(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def details(self) -> object: ...
    @property
    def hint(self) -> object: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...


class AuthenticatorLike(Protocol):
    def authenticate(self, authorization: str | None) -> AuthResultLike: ...


class _Result(msgspec.Struct, frozen=True):
    role: str
    claims: bytes


class AnonymousError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: object = None
        self.hint: object = None
        self.headers: list[tuple[str, str]] = []


class AnonymousOnly:
    def __init__(self, anon_role: str | None) -> None:
        self._anonymous = (
            None if anon_role is None else _Result(anon_role, msgspec.json.encode({"role": anon_role}))
        )

    def authenticate(self, authorization: str | None) -> AuthResultLike:
        if authorization is not None:
            raise AnonymousError(500, "PGRST300", "Server lacks JWT secret")
        if self._anonymous is None:
            raise AnonymousError(401, "PGRST302", "Anonymous access is disabled")
        return self._anonymous


def load_authenticator(config: Config) -> tuple[AuthenticatorLike, type[BaseException]]:
    """The authenticator for ``config`` and the exception type it raises."""
    # Decide by presence, not by catching ImportError: a broken auth module must fail loudly, never
    # degrade into anonymous-only access.
    if importlib.util.find_spec("restpg.auth") is None:
        return AnonymousOnly(config.db_anon_role), AnonymousError
    auth = importlib.import_module("restpg.auth")
    authenticator: AuthenticatorLike = auth.Authenticator(
        secret=config.jwt_secret,
        secret_is_base64=config.jwt_secret_is_base64,
        audience=config.jwt_aud,
        role_claim_key=config.jwt_role_claim_key,
        anon_role=config.db_anon_role,
        cache_max_entries=config.jwt_cache_max_entries,
        jwks_url=None,
    )
    error_type: type[BaseException] = auth.AuthError
    return authenticator, error_type
