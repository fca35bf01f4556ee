"""`jwt-jwks-url` through the server: keys from a provider on 127.0.0.1 (a thread of this test), a key
rotated in is accepted on its first token, and the last good keys keep working while the provider is down."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from support import rls
from support.postgres import Database
from support.tokens import JwksProvider, bearer, public_jwk, rs256, rsa_key

FIRST, SECOND, STRANGER = rsa_key(), rsa_key(), rsa_key()


def token(key: object, kid: str, sub: str = "alice") -> dict[str, str]:
    return bearer(rs256({"sub": sub, "exp": int(time.time()) + 600}, key, kid))  # type: ignore[arg-type]


@pytest.fixture
def provider() -> Iterator[JwksProvider]:
    served = JwksProvider(public_jwk(FIRST, kid="k1"))
    try:
        yield served
    finally:
        served.stop()


def serve(database: Database, provider: JwksProvider) -> rls.Serving:
    return rls.serving(database, rls.rls_config(database, jwt_secret=None, jwt_jwks_url=provider.url))


def test_keys_come_from_the_provider(database: Database, provider: JwksProvider) -> None:
    with serve(database, provider) as (_, api):
        response = api.get("/todos", headers=token(FIRST, "k1"))
        assert response.status_code == 200, response.text
        assert {row["user_id"] for row in response.json()} == {"alice"}
        assert provider.requests == 1  # fetched once at start, then cached
        assert api.get("/todos", headers=token(FIRST, "k1", sub="bob")).status_code == 200
        assert provider.requests == 1


def test_a_rotated_key_is_accepted_on_first_use(database: Database, provider: JwksProvider) -> None:
    with serve(database, provider) as (_, api):
        assert api.get("/todos", headers=token(FIRST, "k1")).status_code == 200
        provider.publish(public_jwk(FIRST, kid="k1"), public_jwk(SECOND, kid="k2"))
        response = api.get("/todos", headers=token(SECOND, "k2", sub="bob"))
        assert response.status_code == 200, response.text
        assert [row["task"] for row in response.json()] == ["fix the bike"]
        assert provider.requests == 2
        # both keys now verify without another fetch
        assert api.get("/todos", headers=token(FIRST, "k1", sub="carol")).status_code == 200
        assert provider.requests == 2
        # forged kids cannot make the server hammer the provider: one refetch per 30 s at most
        for attempt in range(5):
            refused = api.get("/todos", headers=token(STRANGER, f"forged-{attempt}"))
            assert refused.status_code == 401
            assert refused.json()["message"] == "No suitable key or wrong key type"
        assert provider.requests == 2


def test_last_good_keys_keep_working_when_the_provider_is_down(
    database: Database, provider: JwksProvider
) -> None:
    with serve(database, provider) as (server, api):
        assert api.get("/todos", headers=token(FIRST, "k1")).status_code == 200
        provider.stop()
        # an unknown kid makes the server try the provider, which refuses the connection
        refused = api.get("/todos", headers=token(SECOND, "k2"))
        assert refused.status_code == 401
        assert refused.json()["code"] == "PGRST301"
        # the keys fetched before still verify (a fresh token: not one from the cache)
        response = api.get("/todos", headers=token(FIRST, "k1", sub="bob"))
        assert response.status_code == 200, response.text
        assert [row["task"] for row in response.json()] == ["fix the bike"]
        assert server.process.poll() is None
