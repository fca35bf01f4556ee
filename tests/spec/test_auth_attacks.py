"""Forged and broken tokens through `restpg serve`: each is refused with PostgREST's 401 body and
`WWW-Authenticate` challenge, before any database work.

"No database work" is observed, not assumed: the servers here log in as a role of their own, and
`pg_stat_activity.query_start` of its sessions (updated live as each statement starts) must not move while
an attack is answered. A valid request right after moves it, so the witness can fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from support import rls
from support.postgres import Database
from support.tokens import b64url, forged, hs256, public_jwk, public_pem, rs256, rsa_key

AUDIENCE = "restpg-spec"
KEY = rsa_key()
KEY_SET = json.dumps({"keys": [public_jwk(KEY, kid="k1")]})
NOW = int(time.time())


@pytest.fixture(scope="module")
def hmac_api(database: Database) -> Iterator[httpx.Client]:
    """HS256 secret, audience required."""
    with rls.serving(database, rls.watched_config(database, jwt_aud=AUDIENCE)) as (_, http):
        yield http


@pytest.fixture(scope="module")
def jwk_api(database: Database) -> Iterator[httpx.Client]:
    """`jwt-secret` is a JWK Set with one RSA key, `kid` k1."""
    with rls.serving(database, rls.watched_config(database, jwt_secret=KEY_SET, jwt_aud=AUDIENCE)) as (
        _,
        http,
    ):
        yield http


@pytest.fixture(scope="module")
def quiet(hmac_api: httpx.Client, jwk_api: httpx.Client, database: Database) -> None:
    """Both servers warmed up and done with their start-up work (schema load, LISTEN, pool fill)."""
    hmac_api.get("/todos", headers={"Authorization": f"Bearer {hs256(good())}"})
    jwk_api.get("/todos", headers={"Authorization": f"Bearer {rs256(good(), KEY, kid='k1')}"})
    rls.wait_for_quiet(database)


def good(**claims: object) -> dict[str, object]:
    return {"sub": "alice", "aud": AUDIENCE, "exp": NOW + 3600, **claims}


def tampered() -> str:
    head, _, signature = hs256(good()).split(".")
    return ".".join(
        (head, b64url(json.dumps(good(sub="bob", role="restpg_test_editor")).encode()), signature)
    )


KEY_ERROR = ("PGRST301", "No suitable key or wrong key type", "None of the keys was able to decode the JWT")
# name → (server, Authorization header value, (code, message, details))
ATTACKS: dict[str, tuple[str, str, tuple[str, str, str | None]]] = {
    "alg none": (
        "hmac",
        "Bearer " + forged({"alg": "none", "typ": "JWT"}, good(role="postgres")),
        (
            "PGRST301",
            "Wrong or unsupported encoding algorithm",
            "JWT is unsecured but expected 'alg' was not 'none'",
        ),
    ),
    "HS256 keyed with the RSA public key": (
        "jwk",
        "Bearer " + forged({"alg": "HS256", "typ": "JWT"}, good(role="postgres"), public_pem(KEY)),
        KEY_ERROR,
    ),
    "HS256 keyed with the JWK text": (
        "jwk",
        "Bearer " + forged({"alg": "HS256", "kid": "k1"}, good(role="postgres"), KEY_SET.encode()),
        KEY_ERROR,
    ),
    "expired": ("hmac", "Bearer " + hs256(good(exp=NOW - 120)), ("PGRST303", "JWT expired", None)),
    "not valid yet": (
        "hmac",
        "Bearer " + hs256(good(nbf=NOW + 600)),
        ("PGRST303", "JWT not yet valid", None),
    ),
    "wrong audience": (
        "hmac",
        "Bearer " + hs256(good(aud="someone-else")),
        ("PGRST303", "JWT not in audience", None),
    ),
    "unknown kid": ("jwk", "Bearer " + rs256(good(), rsa_key(), kid="k9"), KEY_ERROR),
    "right kid, other key": ("jwk", "Bearer " + rs256(good(), rsa_key(), kid="k1"), KEY_ERROR),
    "tampered payload": ("hmac", "Bearer " + tampered(), KEY_ERROR),
    "signed with another secret": ("hmac", "Bearer " + hs256(good(), secret="x" * 40), KEY_ERROR),
    "not a JWT": ("hmac", "Bearer not-a-jwt", ("PGRST301", "Expected 3 parts in JWT; got 1", None)),
    "garbage parts": ("hmac", "Bearer %%%.###.!!!", ("PGRST301", "JWT cryptographic operation failed", None)),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_is_refused_before_any_query(
    name: str, hmac_api: httpx.Client, jwk_api: httpx.Client, database: Database, quiet: None
) -> None:
    which, authorization, (code, message, details) = ATTACKS[name]
    api = hmac_api if which == "hmac" else jwk_api
    for method in ("GET", "POST"):
        before = rls.activity(database)
        response = api.request(
            method,
            "/todos",
            headers={"Authorization": authorization},
            json={"task": "x"} if method == "POST" else None,
        )
        assert rls.activity(database) == before, f"{name}: the database was queried"
        assert_invalid_token(response, code, message, details)


def test_a_100_kb_token_is_refused_before_any_query(
    hmac_api: httpx.Client, database: Database, quiet: None
) -> None:
    token = hs256(good(padding="x" * 100_000))
    before = rls.activity(database)
    response = hmac_api.get("/todos", headers={"Authorization": f"Bearer {token}"})
    assert rls.activity(database) == before
    if response.status_code == 431:
        # a request-header limit in front of the authenticator (restpg-max-header-bytes) may answer first
        assert response.json()["code"] == "RESTPG431"
        return
    assert_invalid_token(
        response, "PGRST301", "JWT cryptographic operation failed", "The JWT is larger than 16384 bytes"
    )


def test_valid_tokens_do_reach_the_database(
    hmac_api: httpx.Client, jwk_api: httpx.Client, database: Database, quiet: None
) -> None:
    """The witness's control: the same servers, a good token each, and the watched sessions do move."""
    for api, token in ((hmac_api, hs256(good())), (jwk_api, rs256(good(), KEY, kid="k1"))):
        before = rls.activity(database)
        response = api.get("/todos", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert {row["user_id"] for row in response.json()} == {"alice"}
        assert rls.activity(database) != before


def assert_invalid_token(response: httpx.Response, code: str, message: str, details: str | None) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"code": code, "message": message, "details": details, "hint": None}
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["proxy-status"] == f"PostgREST; error={code}"
    challenge = f'Bearer error="invalid_token", error_description="{message}"'
    assert response.headers["www-authenticate"] == challenge
