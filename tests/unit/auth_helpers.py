"""Keys and token builders shared by the auth tests (imported explicitly, not a conftest)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from restpg.auth import Authenticator

SECRET = "reallyreallyreallyreallyverysafe"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_KEY_2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(private_key: Any, kid: str | None = None, **extra: Any) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    elif isinstance(private_key, ec.EllipticCurvePrivateKey):
        jwk = json.loads(ECAlgorithm.to_jwk(private_key.public_key()))
    else:
        jwk = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
    if kid is not None:
        jwk["kid"] = kid
    jwk.update(extra)
    return dict(jwk)


def jwks(*keys: dict[str, Any]) -> str:
    return json.dumps({"keys": list(keys)})


def hs256(payload: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


def signed(payload: dict[str, Any], key: Any, alg: str, kid: str | None = None) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid} if kid else None)


def raw_token(header: dict[str, Any], payload: dict[str, Any], sign: bytes | None = None) -> str:
    """A token assembled by hand, for what pyjwt refuses to produce (alg none, key confusion)."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(payload).encode())
    signature = b"" if sign is None else hmac.new(sign, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


def rsa_public_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def authenticator(**overrides: Any) -> Authenticator:
    options: dict[str, Any] = {
        "secret": SECRET,
        "secret_is_base64": False,
        "audience": None,
        "role_claim_key": ".role",
        "anon_role": "anonymous",
        "cache_max_entries": 1000,
        "jwks_url": None,
    }
    options.update(overrides)
    return Authenticator(**options)


def now() -> int:
    return int(time.time())
