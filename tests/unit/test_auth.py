"""JWT authentication: every attack gets PostgREST's exact 401, valid tokens get the right role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from auth_helpers import (
    EC_KEY,
    ED_KEY,
    RSA_KEY,
    SECRET,
    authenticator,
    b64url,
    hs256,
    jwks,
    now,
    public_jwk,
    raw_token,
    rsa_public_pem,
    signed,
)

from restpg.auth import AuthError, AuthResult, KeyConfigError


def rejected(auth: Any, header: str | None) -> AuthError:
    with pytest.raises(AuthError) as caught:
        auth.authenticate(header)
    return caught.value


def assert_invalid_token(error: AuthError, code: str, message: str, details: object = None) -> None:
    assert (error.status, error.code, error.message, error.details) == (401, code, message, details)
    assert error.headers == [
        ("WWW-Authenticate", f'Bearer error="invalid_token", error_description="{message}"')
    ]


# -- the Authorization header ------------------------------------------------------------------


def test_no_header_is_the_anonymous_role() -> None:
    result = authenticator().authenticate(None)
    assert result == AuthResult("anonymous", b'{"role":"anonymous"}')


def test_no_header_without_anonymous_role_is_refused() -> None:
    error = rejected(authenticator(anon_role=None), None)
    assert (error.status, error.code, error.message) == (401, "PGRST302", "Anonymous access is disabled")
    assert error.headers == [("WWW-Authenticate", "Bearer")]


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "bearer    "])
def test_empty_token(header: str) -> None:
    assert_invalid_token(
        rejected(authenticator(), header), "PGRST301", "Empty JWT is sent in Authorization header"
    )


def test_scheme_is_case_insensitive() -> None:
    token = hs256({"role": "author"})
    assert authenticator().authenticate(f"bEaReR {token}").role == "author"


def test_other_schemes_are_anonymous() -> None:
    assert authenticator().authenticate("Basic dXNlcjpwYXNz").role == "anonymous"


def test_token_without_any_key_configured_is_a_server_error() -> None:
    error = rejected(authenticator(secret=None), f"Bearer {hs256({})}")
    assert (error.status, error.code, error.message) == (500, "PGRST300", "Server lacks JWT secret")


# -- attacks -----------------------------------------------------------------------------------


def test_alg_none_is_rejected() -> None:
    token = raw_token({"alg": "none", "typ": "JWT"}, {"role": "postgres"})
    assert_invalid_token(
        rejected(authenticator(), f"Bearer {token}"),
        "PGRST301",
        "Wrong or unsupported encoding algorithm",
        "JWT is unsecured but expected 'alg' was not 'none'",
    )


def test_alg_none_without_signature_part_is_rejected() -> None:
    token = raw_token({"alg": "none"}, {"role": "postgres"}).rstrip(".") + "."
    assert_invalid_token(
        rejected(authenticator(), f"Bearer {token}"),
        "PGRST301",
        "Wrong or unsupported encoding algorithm",
        "JWT is unsecured but expected 'alg' was not 'none'",
    )


def test_key_confusion_hs256_signed_with_the_rsa_public_key() -> None:
    # the classic attack: the server holds an RSA public key; the attacker signs HS256 with it
    auth = authenticator(secret=json.dumps(public_jwk(RSA_KEY)))
    for pem in (rsa_public_pem(RSA_KEY), rsa_public_pem(RSA_KEY).strip()):
        token = raw_token({"alg": "HS256", "typ": "JWT"}, {"role": "postgres"}, sign=pem)
        assert_invalid_token(
            rejected(auth, f"Bearer {token}"),
            "PGRST301",
            "No suitable key or wrong key type",
            "None of the keys was able to decode the JWT",
        )


def test_wrong_secret() -> None:
    token = hs256({"role": "author"}, secret="wrong secret wrong secret wrong secret")
    assert_invalid_token(
        rejected(authenticator(), f"Bearer {token}"),
        "PGRST301",
        "No suitable key or wrong key type",
        "None of the keys was able to decode the JWT",
    )


def test_tampered_payload() -> None:
    head, _, signature = hs256({"role": "reader"}).split(".")
    forged = f"{head}.{b64url(json.dumps({'role': 'postgres'}).encode())}.{signature}"
    assert_invalid_token(
        rejected(authenticator(), f"Bearer {forged}"),
        "PGRST301",
        "No suitable key or wrong key type",
        "None of the keys was able to decode the JWT",
    )


def test_expired() -> None:
    token = hs256({"role": "author", "exp": now() - 35})
    assert_invalid_token(rejected(authenticator(), f"Bearer {token}"), "PGRST303", "JWT expired")


def test_expiry_has_30_seconds_of_leeway() -> None:
    token = hs256({"role": "author", "exp": now() - 20})
    assert authenticator().authenticate(f"Bearer {token}").role == "author"


def test_not_yet_valid() -> None:
    token = hs256({"role": "author", "nbf": now() + 35})
    assert_invalid_token(rejected(authenticator(), f"Bearer {token}"), "PGRST303", "JWT not yet valid")


def test_issued_at_future() -> None:
    token = hs256({"role": "author", "iat": now() + 35})
    assert_invalid_token(rejected(authenticator(), f"Bearer {token}"), "PGRST303", "JWT issued at future")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_time_claims_must_be_numbers(claim: str) -> None:
    token = hs256({claim: "tomorrow"})
    error = rejected(authenticator(), f"Bearer {token}")
    assert_invalid_token(error, "PGRST303", f"The JWT '{claim}' claim must be a number")


@pytest.mark.parametrize("aud", ["not set", ["a", "b"], ""])
def test_wrong_audience(aud: object) -> None:
    token = hs256({"role": "author", "aud": aud})
    error = rejected(authenticator(audience="spec tests"), f"Bearer {token}")
    assert_invalid_token(error, "PGRST303", "JWT not in audience")


@pytest.mark.parametrize("aud", ["spec tests", ["x", "spec tests"], [], None, "<absent>"])
def test_accepted_audience(aud: object) -> None:
    payload: dict[str, Any] = {"role": "author"}
    if aud != "<absent>":
        payload["aud"] = aud
    assert authenticator(audience="spec tests").authenticate(f"Bearer {hs256(payload)}").role == "author"


def test_audience_not_checked_when_not_configured() -> None:
    assert authenticator().authenticate(f"Bearer {hs256({'aud': 'anything'})}").role == "authenticated"


def test_audience_of_wrong_type() -> None:
    error = rejected(authenticator(), f"Bearer {hs256({'aud': 42})}")
    assert_invalid_token(error, "PGRST303", "The JWT 'aud' claim must be a string or an array of strings")


def test_unknown_kid_in_a_key_set() -> None:
    auth = authenticator(secret=jwks(public_jwk(RSA_KEY, kid="one")))
    token = signed({"role": "author"}, RSA_KEY, "RS256", kid="two")
    assert_invalid_token(
        rejected(auth, f"Bearer {token}"),
        "PGRST301",
        "No suitable key or wrong key type",
        "None of the keys was able to decode the JWT",
    )


def test_oversized_token_is_rejected_before_parsing() -> None:
    token = hs256({"role": "author", "padding": "x" * 100_000})
    error = rejected(authenticator(), f"Bearer {token}")
    assert (error.status, error.code, error.message) == (
        401,
        "PGRST301",
        "JWT cryptographic operation failed",
    )
    assert error.details == "The JWT is larger than 16384 bytes"


def test_garbage_token() -> None:
    error = rejected(authenticator(), "Bearer quifquirndsjagnrgniur.fonvoienqhhdj.iuqvnvhojah")
    assert_invalid_token(error, "PGRST301", "JWT cryptographic operation failed")


@pytest.mark.parametrize(
    ("token", "parts"),
    [("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.bm90IGFuIG9iamVjdA", 2), ("a", 1), ("a.b.c.d", 4)],
)
def test_wrong_number_of_parts(token: str, parts: int) -> None:
    error = rejected(authenticator(), f"Bearer {token}")
    assert_invalid_token(error, "PGRST301", f"Expected 3 parts in JWT; got {parts}")


def test_payload_that_is_not_an_object() -> None:
    head = b64url(b'{"alg":"HS256"}')
    body = b64url(b"[1,2]")
    sig = b64url(hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    error = rejected(authenticator(), f"Bearer {head}.{body}.{sig}")
    assert_invalid_token(error, "PGRST303", "Parsing claims failed")


# -- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("private_key", "alg"),
    [(RSA_KEY, "RS256"), (RSA_KEY, "RS512"), (RSA_KEY, "PS256"), (EC_KEY, "ES256"), (ED_KEY, "EdDSA")],
)
def test_asymmetric_keys_from_a_jwk(private_key: Any, alg: str) -> None:
    auth = authenticator(secret=json.dumps(public_jwk(private_key)))
    assert auth.authenticate(f"Bearer {signed({'role': 'author'}, private_key, alg)}").role == "author"


def test_ec_key_refuses_other_curves_algorithms() -> None:
    auth = authenticator(secret=json.dumps(public_jwk(EC_KEY)))
    error = rejected(auth, f"Bearer {signed({'role': 'author'}, RSA_KEY, 'RS256')}")
    assert error.message == "No suitable key or wrong key type"


def test_kid_selects_the_key_and_no_kid_tries_all() -> None:
    other = public_jwk(EC_KEY, kid="ec")
    auth = authenticator(secret=jwks(other, public_jwk(RSA_KEY, kid="rsa")))
    assert auth.authenticate(f"Bearer {signed({'role': 'a'}, RSA_KEY, 'RS256', kid='rsa')}").role == "a"
    assert auth.authenticate(f"Bearer {signed({'role': 'b'}, RSA_KEY, 'RS256')}").role == "b"


def test_base64_secret() -> None:
    raw = bytes(range(256))[::5]  # 52 bytes, not valid UTF-8
    auth = authenticator(secret=base64.b64encode(raw).decode(), secret_is_base64=True)
    assert auth.authenticate(f"Bearer {jwt.encode({'role': 'r'}, raw, algorithm='HS384')}").role == "r"


def test_short_secret_is_a_configuration_error() -> None:
    with pytest.raises(KeyConfigError, match="at least 32 characters"):
        authenticator(secret="too short")


# -- role and claims ---------------------------------------------------------------------------


def test_claims_are_the_payload_with_the_effective_role() -> None:
    token = hs256({"sub": "user-1", "role": "author", "email": "é@example.com"})
    result = authenticator().authenticate(f"Bearer {token}")
    assert result.role == "author"
    assert json.loads(result.claims) == {"sub": "user-1", "role": "author", "email": "é@example.com"}
    assert b" " not in result.claims  # compact


def test_token_without_role_is_authenticated() -> None:
    result = authenticator().authenticate(f"Bearer {hs256({'sub': 'u'})}")
    assert result.role == "authenticated"
    assert json.loads(result.claims) == {"sub": "u", "role": "authenticated"}


@pytest.mark.parametrize(
    ("key", "payload", "role"),
    [
        (".role", {"role": "a"}, "a"),
        ("$.role", {"role": "a"}, "a"),
        (".app.roles[1]", {"app": {"roles": ["x", "y"]}}, "y"),
        ("$.app.roles[0]", {"app": {"roles": ["x", "y"]}}, "x"),
        ('."https://example.com/role"', {"https://example.com/role": "q"}, "q"),
        ("$['a.b'].c", {"a.b": {"c": "dotted"}}, "dotted"),
        ('.roles[?(@ == "admin")]', {"roles": ["user", "admin"]}, "admin"),
        ('.roles[?(@ ^== "app_")]', {"roles": ["user", "app_writer"]}, "app_writer"),
        ('.roles[?(@ ==^ "_ro")]', {"roles": ["x_ro", "y"]}, "x_ro"),
        ('.roles[?(@ *== "mid")]', {"roles": ["a", "amidb"]}, "amidb"),
        ('.roles[?(@ != "user")]', {"roles": ["user", "other"]}, "other"),
        (".app.roles[5]", {"app": {"roles": ["x"]}}, "authenticated"),
        (".missing", {"role": "a"}, "authenticated"),
        (".level", {"level": 5}, "5"),
    ],
)
def test_role_claim_key_paths(key: str, payload: dict[str, Any], role: str) -> None:
    assert authenticator(role_claim_key=key).authenticate(f"Bearer {hs256(payload)}").role == role


@pytest.mark.parametrize("key", ["role", ".", "..role", ".a[", '."open'])
def test_bad_role_claim_key_is_a_configuration_error(key: str) -> None:
    with pytest.raises(ValueError, match="role claim key"):
        authenticator(role_claim_key=key)


# -- cache -------------------------------------------------------------------------------------


def test_cache_hits_and_misses() -> None:
    auth = authenticator()
    header = f"Bearer {hs256({'role': 'author', 'exp': now() + 600})}"
    first = auth.authenticate(header)
    second = auth.authenticate(header)
    assert first is second
    assert (auth.cache_stats.hits, auth.cache_stats.misses) == (1, 1)


def test_cache_entry_expires_with_the_token() -> None:
    clock = [1_000_000.0]
    auth = authenticator(clock=lambda: clock[0])
    header = f"Bearer {hs256({'role': 'author', 'exp': 1_000_010})}"
    assert auth.authenticate(header).role == "author"
    clock[0] += 35  # inside exp + 30 s skew: still a hit
    assert auth.authenticate(header).role == "author"
    assert auth.cache_stats.hits == 1
    clock[0] += 10  # past exp + skew: the cached entry must not be served
    assert_invalid_token(rejected(auth, header), "PGRST303", "JWT expired")


def test_cache_is_bounded_lru() -> None:
    auth = authenticator(cache_max_entries=2)
    headers = [f"Bearer {hs256({'role': f'r{i}'})}" for i in range(3)]
    for header in headers:
        auth.authenticate(header)
    assert auth.cache_stats.evictions == 1
    auth.authenticate(headers[0])  # evicted: verified again
    assert auth.cache_stats.hits == 0


def test_cache_disabled() -> None:
    auth = authenticator(cache_max_entries=0)
    header = f"Bearer {hs256({'role': 'author'})}"
    assert auth.authenticate(header) == auth.authenticate(header)
    assert auth.cache_stats.hits == 0


def test_rejected_tokens_are_not_cached() -> None:
    auth = authenticator()
    header = f"Bearer {hs256({'role': 'a'}, secret='x' * 40)}"
    for _ in range(2):
        rejected(auth, header)
    assert auth.cache_stats.hits == 0
