"""Tokens for the auth specs: HS256 with the test secret, RS256 with throwaway keys, hand-made forgeries,
and a JWKS provider on 127.0.0.1 (a thread of the test process) whose key set a test can rotate or take down.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

SECRET = "restpg-spec-secret-of-at-least-32-characters"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(claims: dict[str, Any], *, secret: str = SECRET, **header: Any) -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers=header or None)


def user(sub: str, *, lifetime: int = 3600, **claims: Any) -> str:
    """A signed-in user's token as an auth provider issues it: `sub`, `exp`, no role claim."""
    return hs256({"sub": sub, "exp": int(time.time()) + lifetime, **claims})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None = None) -> str:
    """A token pyjwt refuses to produce: `alg: none`, or HS256 keyed with something that is not a secret."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    signature = (
        b"" if hmac_key is None else hmac.new(hmac_key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    )
    return f"{head}.{body}.{b64url(signature)}"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str | None = None) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str | None = None) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid} if kid else None)


class JwksProvider:
    """Serves ``{"keys": [...]}`` at ``url``; ``publish`` replaces the set, ``stop`` takes the provider down."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.document = json.dumps({"keys": list(keys)}).encode()
        self.requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(provider.document)))
                self.end_headers()
                self.wfile.write(provider.document)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._server.serve_forever, name="jwks-provider", daemon=True)
        self._thread.start()

    def publish(self, *keys: dict[str, Any]) -> None:
        self.document = json.dumps({"keys": list(keys)}).encode()

    def stop(self) -> None:
        """Close the listening socket: the next fetch is refused, as when the provider is down."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
