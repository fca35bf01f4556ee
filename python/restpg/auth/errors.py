"""PostgREST's authentication errors (PGRST300-303), with their exact wire texts.

The messages, codes and statuses are part of the wire contract: clients and PostgREST's own test
suite match on them, so they are spelled here once and nowhere else.
"""

from __future__ import annotations


class AuthError(Exception):
    """An authentication failure, ready to be rendered as a PostgREST error response.

    `headers` carries what the response must add, e.g. `WWW-Authenticate` on every 401.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: object = None,
        hint: object = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers: list[tuple[str, str]] = headers if headers is not None else []

    def __repr__(self) -> str:
        return f"AuthError({self.status}, {self.code!r}, {self.message!r}, details={self.details!r})"


def _invalid_token_header(message: str) -> list[tuple[str, str]]:
    # RFC 6750 §3: the description is a quoted-string; PostgREST renders it with Haskell's `show`,
    # which escapes backslashes and double quotes the same way.
    quoted = message.replace("\\", "\\\\").replace('"', '\\"')
    return [("WWW-Authenticate", f'Bearer error="invalid_token", error_description="{quoted}"')]


def secret_missing() -> AuthError:
    """A token was sent but no key is configured: a server problem, not the client's (500)."""
    return AuthError(500, "PGRST300", "Server lacks JWT secret")


def decode_error(message: str, details: object = None) -> AuthError:
    """The token could not be parsed or its signature not verified (401 PGRST301)."""
    return AuthError(401, "PGRST301", message, details, None, _invalid_token_header(message))


def token_required() -> AuthError:
    """No token and no anonymous role (401 PGRST302)."""
    return AuthError(
        401, "PGRST302", "Anonymous access is disabled", headers=[("WWW-Authenticate", "Bearer")]
    )


def claims_error(message: str) -> AuthError:
    """The signature is good but a registered claim is not (401 PGRST303)."""
    return AuthError(401, "PGRST303", message, None, None, _invalid_token_header(message))


EMPTY_TOKEN = "Empty JWT is sent in Authorization header"
BAD_CRYPTO = "JWT cryptographic operation failed"
KEY_ERROR = "No suitable key or wrong key type"
KEY_ERROR_DETAILS = "None of the keys was able to decode the JWT"
BAD_ALGORITHM = "Wrong or unsupported encoding algorithm"
UNSECURED_DETAILS = "JWT is unsecured but expected 'alg' was not 'none'"
EXPIRED = "JWT expired"
NOT_YET_VALID = "JWT not yet valid"
ISSUED_AT_FUTURE = "JWT issued at future"
NOT_IN_AUDIENCE = "JWT not in audience"
PARSING_CLAIMS_FAILED = "Parsing claims failed"
AUD_NOT_STRING_OR_ARRAY = "The JWT 'aud' claim must be a string or an array of strings"


def claim_not_number(claim: str) -> str:
    return f"The JWT '{claim}' claim must be a number"


def unexpected_parts(count: int) -> str:
    return f"Expected 3 parts in JWT; got {count}"
