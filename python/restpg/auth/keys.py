"""Verification keys: a shared HMAC secret, a JWK, or a JWK Set, each typed by its algorithms.

A key only ever verifies the algorithms of its own family (an RSA key: RS*/PS*; an EC key: the ES*
of its curve; an OKP key: EdDSA; a shared secret: HS*). That rule alone rules out key confusion: a
token saying `HS256` is never checked against an RSA public key used as an HMAC secret, and
`alg: none` matches no key at all.

pyjwt and `cryptography` take longer to import than the rest of the server: they are imported by the
first key made (`keys_from_secret`, `key_from_jwk`, or `algorithms()` for a key set still to be fetched),
so a server without any key never loads them, and one with keys loads them at start-up, not on a request.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from jwt.algorithms import Algorithm

log = logging.getLogger("restpg.auth")

_HMAC = frozenset({"HS256", "HS384", "HS512"})
_RSA = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}
_OKP_CURVES = frozenset({"Ed25519", "Ed448"})

MIN_SECRET_LENGTH = 32


class _Pyjwt(NamedTuple):
    algorithms: dict[str, Algorithm]
    invalid_key: type[Exception]


@functools.cache
def _pyjwt() -> _Pyjwt:
    from jwt.algorithms import get_default_algorithms
    from jwt.exceptions import InvalidKeyError

    algorithms = get_default_algorithms()
    algorithms.pop("none", None)
    return _Pyjwt(algorithms, InvalidKeyError)


def algorithms() -> dict[str, Algorithm]:
    """Every algorithm pyjwt implements with `cryptography`, by JOSE name (`none` excluded)."""
    return _pyjwt().algorithms


@dataclass(frozen=True)
class VerificationKey:
    """One public key or shared secret, the algorithms it may verify, and its `kid` if any."""

    kid: str | None
    algorithms: frozenset[str]
    material: Any  # what pyjwt's Algorithm.verify takes: bytes for HMAC, a cryptography key otherwise

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        if alg not in self.algorithms:
            return False
        pyjwt = _pyjwt()
        try:
            return bool(pyjwt.algorithms[alg].verify(signing_input, self.material, signature))
        except (ValueError, TypeError, pyjwt.invalid_key):
            return False


class KeyConfigError(ValueError):
    """The configured secret, JWK or JWK Set cannot be used; raised at startup, never per request."""


def keys_from_secret(secret: str, secret_is_base64: bool) -> list[VerificationKey]:
    """Parse `jwt-secret` as PostgREST does: a JWK or JWK Set when it is JSON, else an HMAC secret."""
    text = secret.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise KeyConfigError(f"jwt-secret looks like JSON but does not parse: {exc}") from exc
        if isinstance(document, dict) and isinstance(document.get("keys"), list):
            keys = keys_from_jwks(document, strict=True)
        elif isinstance(document, dict):
            keys = [key_from_jwk(document)]
        else:
            raise KeyConfigError("jwt-secret JSON must be a JWK or a JWK Set")
        if not keys:
            raise KeyConfigError("jwt-secret JWK Set has no usable signing key")
        return keys
    if len(secret) < MIN_SECRET_LENGTH:
        raise KeyConfigError(f"The JWT secret must be at least {MIN_SECRET_LENGTH} characters long.")
    material = _decode_base64(secret) if secret_is_base64 else secret.encode()
    algorithms()  # loaded now: the first token is not the one to wait for the import
    return [VerificationKey(None, _HMAC, material)]


def keys_from_jwks(document: object, *, strict: bool = False) -> list[VerificationKey]:
    """The signing keys of a JWK Set. A key this server cannot use is skipped (and logged), unless
    `strict`: a key set typed into the configuration should fail loudly instead."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyConfigError("a JWK Set must be a JSON object with a 'keys' array")
    keys: list[VerificationKey] = []
    for jwk in document["keys"]:
        if isinstance(jwk, dict) and jwk.get("use", "sig") != "sig":
            continue  # an encryption key published alongside the signing keys
        try:
            keys.append(key_from_jwk(jwk))
        except KeyConfigError as exc:
            if strict:
                raise
            log.warning("skipping JWK %r: %s", jwk.get("kid") if isinstance(jwk, dict) else None, exc)
    return keys


def key_from_jwk(jwk: object) -> VerificationKey:
    if not isinstance(jwk, dict):
        raise KeyConfigError("a JWK must be a JSON object")
    kty = jwk.get("kty")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise KeyConfigError("JWK 'kid' must be a string")
    family = _family(kty, jwk.get("crv"))
    declared = jwk.get("alg")
    if declared is not None:
        if declared not in family:
            raise KeyConfigError(f"JWK 'alg' {declared!r} does not fit key type {kty!r}")
        family = frozenset({declared})
    # any algorithm of the family parses the key the same way
    pyjwt = _pyjwt()
    parser = pyjwt.algorithms[min(family)]
    try:
        material = parser.from_jwk(json.dumps(jwk))
    except (pyjwt.invalid_key, ValueError, TypeError, KeyError) as exc:
        raise KeyConfigError(f"invalid {kty} JWK: {exc}") from exc
    if hasattr(material, "public_key") and kty != "oct":
        material = material.public_key()  # a private JWK was given: only its public half is needed
    return VerificationKey(kid, family, material)


def _family(kty: object, crv: object) -> frozenset[str]:
    if kty == "oct":
        return _HMAC
    if kty == "RSA":
        return _RSA
    if kty == "EC":
        if isinstance(crv, str) and crv in _EC_BY_CURVE and _EC_BY_CURVE[crv] in algorithms():
            return frozenset({_EC_BY_CURVE[crv]})
        raise KeyConfigError(f"unsupported EC curve {crv!r}")
    if kty == "OKP":
        if crv in _OKP_CURVES:
            return frozenset({"EdDSA"})
        raise KeyConfigError(f"unsupported OKP curve {crv!r}")
    raise KeyConfigError(f"unsupported key type {kty!r}")


def _decode_base64(text: str) -> bytes:
    cleaned = "".join(text.split())
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError("jwt-secret-is-base64 is set but jwt-secret is not valid base64") from exc


def candidates(keys: Iterable[VerificationKey], alg: str, kid: str | None) -> list[VerificationKey]:
    """The keys that may verify a token with this `alg` and `kid`: a `kid` selects the key; keys
    without a `kid` stay eligible (as in PostgREST), and without a `kid` every key is tried."""
    usable = [key for key in keys if alg in key.algorithms]
    if kid is None:
        return usable
    return [key for key in usable if key.kid is None or key.kid == kid]
