"""Which role a request runs as, and what SQL sees of its token (`auth.*`, `request.jwt.claims`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from support import rls
from support.postgres import ANON_ROLE, Database
from support.tokens import bearer, hs256, user

EDITOR = "restpg_test_editor"


@pytest.fixture(scope="module")
def api(database: Database) -> Iterator[httpx.Client]:
    with rls.serving(database, rls.rls_config(database)) as (_, http):
        yield http


def whoami(api: httpx.Client, headers: dict[str, str] | None = None) -> dict[str, object]:
    response = api.get("/rpc/whoami", headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_no_token_runs_as_the_anonymous_role(api: httpx.Client) -> None:
    assert whoami(api) == {
        "role": ANON_ROLE,
        "user_id": None,
        "uid": None,
        "jwt": {"role": ANON_ROLE},
        "claims": {"role": ANON_ROLE},
    }


def test_a_token_without_role_claim_runs_as_authenticated(api: httpx.Client) -> None:
    token = user("alice", email="alice@example.com")
    seen = whoami(api, bearer(token))
    assert seen["role"] == "authenticated"
    assert seen["user_id"] == "alice"
    assert seen["uid"] is None  # `sub` is not a uuid
    claims = seen["claims"]
    assert isinstance(claims, dict)
    # the whole verified payload, with the effective role added, as PostgREST sets it
    assert claims == {
        "sub": "alice",
        "email": "alice@example.com",
        "exp": claims["exp"],
        "role": "authenticated",
    }
    assert seen["jwt"] == claims


def test_auth_uid_is_the_sub_claim_as_uuid(api: httpx.Client) -> None:
    subject = str(uuid.uuid4())
    seen = whoami(api, bearer(user(subject)))
    assert seen["user_id"] == subject
    assert seen["uid"] == subject


def test_the_role_claim_selects_the_role(api: httpx.Client) -> None:
    assert whoami(api, bearer(hs256({"sub": "eve", "role": EDITOR})))["role"] == EDITOR


@pytest.mark.parametrize(
    ("key", "claims"),
    [
        ("$.app_metadata.roles[0]", {"app_metadata": {"roles": [EDITOR, "other"]}}),
        ('."https://restpg.example/claims".role', {"https://restpg.example/claims": {"role": EDITOR}}),
        ('.roles[?(@ ^== "restpg_test_ed")]', {"roles": ["viewer", EDITOR]}),
    ],
)
def test_role_claim_key_paths(database: Database, key: str, claims: dict[str, object]) -> None:
    with rls.serving(database, rls.rls_config(database, jwt_role_claim_key=key)) as (_, api):
        assert whoami(api, bearer(hs256({"sub": "eve", **claims})))["role"] == EDITOR
        # the path finds nothing: a signed-in user all the same
        assert whoami(api, bearer(hs256({"sub": "eve", "role": EDITOR})))["role"] == "authenticated"


def test_a_role_that_does_not_exist_is_401(api: httpx.Client) -> None:
    response = api.get("/todos", headers=bearer(hs256({"sub": "eve", "role": "restpg_no_such_role"})))
    assert response.status_code == 401
    assert response.json() == {
        "code": "22023",
        "message": 'role "restpg_no_such_role" does not exist',
        "details": None,
        "hint": None,
    }
    assert response.headers["www-authenticate"] == "Bearer"


def test_permission_denied_is_401_for_anonymous(api: httpx.Client) -> None:
    response = api.get("/secrets")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "code": "42501",
        "message": "permission denied for table secrets",
        "details": None,
        "hint": None,
    }


def test_permission_denied_is_403_when_authenticated(api: httpx.Client) -> None:
    response = api.get("/secrets", headers=bearer(user("alice")))
    assert response.status_code == 403
    assert "www-authenticate" not in response.headers
    assert response.json()["code"] == "42501"


def test_claims_are_transaction_local(api: httpx.Client) -> None:
    """A pooled connection never carries one request's identity into the next."""
    for _ in range(3):
        assert whoami(api, bearer(user("alice")))["user_id"] == "alice"
        assert whoami(api)["claims"] == {"role": ANON_ROLE}
