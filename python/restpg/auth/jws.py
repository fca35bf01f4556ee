"""Decode and verify one compact JWS, with PostgREST's exact errors for every way it can fail.

The steps follow PostgREST's order, so that a token with several faults reports the same one:
three parts → header → algorithm → key → signature → claims object → exp, nbf, iat, aud.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from typing import Any

from . import errors
from .keys import VerificationKey, algorithms, candidates

MAX_TOKEN_BYTES = 16 * 1024
"""Bigger tokens are refused before any parsing: real ones are a few hundred bytes to a few KB."""

CLOCK_SKEW_SECONDS = 30


class UnknownKid(Exception):
    """No configured key has the token's `kid`: the caller may refetch a JWKS and try again."""

    def __init__(self, kid: str) -> None:
        super().__init__(kid)
        self.kid = kid


def verify_signature(token: str, keys: Sequence[VerificationKey]) -> dict[str, Any]:
    """The verified payload of `token` as a JSON object, or an AuthError (PGRST301/303).

    Raises UnknownKid when the header names a `kid` that no key carries and no key without a `kid`
    could stand in, so a JWKS-backed caller can refresh its keys.
    """
    if len(token) > MAX_TOKEN_BYTES:
        raise errors.decode_error(errors.BAD_CRYPTO, f"The JWT is larger than {MAX_TOKEN_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise errors.decode_error(errors.unexpected_parts(len(parts)))
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(header_b64)
    if header is None:
        raise errors.decode_error(errors.BAD_CRYPTO)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise errors.decode_error(errors.BAD_ALGORITHM, errors.UNSECURED_DETAILS)
    if alg not in algorithms():
        raise errors.decode_error(errors.BAD_ALGORITHM, f"Unsupported algorithm {alg!r}")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise errors.decode_error(errors.BAD_CRYPTO)
    signature = _b64url(signature_b64)
    if signature is None:
        raise errors.decode_error(errors.BAD_CRYPTO)
    usable = candidates(keys, alg, kid)
    if not usable:
        if kid is not None and any(key.kid is not None for key in keys):
            raise UnknownKid(kid)
        raise errors.decode_error(errors.KEY_ERROR, errors.KEY_ERROR_DETAILS)
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii", "replace")
    if not any(key.verify(alg, signing_input, signature) for key in usable):
        raise errors.decode_error(errors.KEY_ERROR, errors.KEY_ERROR_DETAILS)
    claims = _json_object(payload_b64)
    if claims is None:
        raise errors.claims_error(errors.PARSING_CLAIMS_FAILED)
    return claims


def validate_claims(claims: dict[str, Any], now: float, audience: str | None) -> None:
    """PostgREST's registered-claim checks, with 30 s of clock skew: the first failing one wins."""
    current = math.floor(now)
    exp = _numeric_claim(claims, "exp")
    if exp is not None and current - CLOCK_SKEW_SECONDS > exp:
        raise errors.claims_error(errors.EXPIRED)
    nbf = _numeric_claim(claims, "nbf")
    if nbf is not None and current + CLOCK_SKEW_SECONDS < nbf:
        raise errors.claims_error(errors.NOT_YET_VALID)
    iat = _numeric_claim(claims, "iat")
    if iat is not None and current + CLOCK_SKEW_SECONDS < iat:
        raise errors.claims_error(errors.ISSUED_AT_FUTURE)
    _check_audience(claims.get("aud"), audience)


def expiry(claims: dict[str, Any]) -> float | None:
    """When the token stops being acceptable (its `exp` plus the allowed skew), if it says."""
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return math.floor(exp) + CLOCK_SKEW_SECONDS
    return None


def _numeric_claim(claims: dict[str, Any], name: str) -> int | None:
    if name not in claims or claims[name] is None:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise errors.claims_error(errors.claim_not_number(name))
    return math.floor(value)


def _check_audience(aud: object, audience: str | None) -> None:
    # absent, null and [] mean "any audience"; the type is checked even when no audience is set
    if aud is None:
        return
    if isinstance(aud, str):
        if audience is not None and aud != audience:
            raise errors.claims_error(errors.NOT_IN_AUDIENCE)
        return
    if isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        if aud and audience is not None and audience not in aud:
            raise errors.claims_error(errors.NOT_IN_AUDIENCE)
        return
    raise errors.claims_error(errors.AUD_NOT_STRING_OR_ARRAY)


def _b64url(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_object(segment: str) -> dict[str, Any] | None:
    raw = _b64url(segment)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
