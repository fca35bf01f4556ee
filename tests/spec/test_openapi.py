"""The root endpoint: PostgREST's Swagger 2.0 document at ``GET /`` and OpenAPI 3.1 at ``GET /openapi.json``.

Fixture objects: ``tests/fixtures/70_openapi.sql``. Both documents are checked with openapi-spec-validator.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV2SpecValidator, OpenAPIV31SpecValidator

from support.assertions import assert_error

OPENAPI_CT = "application/openapi+json; charset=utf-8"
SECRET = "an OpenAPI test secret of at least 32 characters"
READER = "restpg_test_openapi_reader"


def _get(url: str, path: str = "/", **headers: str) -> httpx.Response:
    return httpx.get(url + path, headers=headers, timeout=10.0)


def _doc(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == OPENAPI_CT
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def swagger(client: httpx.Client) -> dict[str, Any]:
    return _doc(client.get("/"))


def test_swagger_document_is_valid(swagger: dict[str, Any]) -> None:
    assert swagger["swagger"] == "2.0"
    validate(swagger, cls=OpenAPIV2SpecValidator)


@pytest.mark.parametrize("accept", ["application/openapi+json", "application/json", "*/*"])
def test_root_media_types(client: httpx.Client, accept: str) -> None:
    response = client.get("/", headers={"Accept": accept})
    assert response.headers["content-type"] == OPENAPI_CT
    assert response.json()["swagger"] == "2.0"


def test_root_refuses_csv(client: httpx.Client) -> None:
    assert_error(
        client.get("/", headers={"Accept": "text/csv"}),
        status=406,
        code="PGRST107",
        message="None of these media types are available: text/csv",
    )


def test_head_root_has_no_body(client: httpx.Client) -> None:
    response = client.head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == OPENAPI_CT
    assert response.content == b""


def test_schema_comment_is_the_title(swagger: dict[str, Any]) -> None:
    assert swagger["info"]["title"] == "restpg spec API"
    assert swagger["info"]["description"] == "The tables and functions of the spec tests."


def test_table_comments_and_columns(swagger: dict[str, Any]) -> None:
    get = swagger["paths"]["/openapi_notes"]["get"]
    assert get["summary"] == "Notes"
    assert get["description"] == "What people write down."
    assert get["tags"] == ["openapi_notes"]
    assert {"$ref": "#/parameters/rowFilter.openapi_notes.status"} in get["parameters"]
    assert get["responses"]["200"]["schema"]["items"] == {"$ref": "#/definitions/openapi_notes"}

    notes = swagger["definitions"]["openapi_notes"]
    assert notes["required"] == ["id", "status"]
    props = notes["properties"]
    assert props["id"] == {
        "description": "Note:\nThis is a Primary Key.<pk/>",
        "format": "integer",
        "type": "integer",
    }
    assert props["person_id"]["description"] == (
        "Note:\nThis is a Foreign Key to `people.id`.<fk table='people' column='id'/>"
    )
    assert props["status"] == {
        "default": "draft",
        "format": "character varying",
        "maxLength": 20,
        "type": "string",
    }
    assert props["body"]["description"] == "The text of the note"
    assert swagger["parameters"]["rowFilter.openapi_notes.body"]["description"] == "The text of the note"


def test_types_enums_and_arrays(swagger: dict[str, Any]) -> None:
    people = swagger["definitions"]["people"]["properties"]
    assert people["mood"]["enum"] == ["sad", "ok", "happy"]
    assert people["tags"]["type"] == "array"
    assert people["tags"]["items"] == {"type": "string"}
    assert "type" not in people["data"]  # jsonb: any JSON value
    assert people["height"]["type"] == "number"


def test_functions(swagger: dict[str, Any]) -> None:
    add = swagger["paths"]["/rpc/openapi_add"]
    assert add["get"]["summary"] == "Adds two numbers"
    assert add["get"]["tags"] == ["(rpc) openapi_add"]
    params = {p["name"]: p for p in add["get"]["parameters"]}
    assert params["a"] == {
        "name": "a",
        "required": True,
        "in": "query",
        "type": "integer",
        "format": "integer",
    }
    assert params["b"]["required"] is False
    body = add["post"]["parameters"][0]
    assert body["in"] == "body"
    assert body["schema"]["required"] == ["a"]


def test_follow_privileges_hides_what_the_role_cannot_use(swagger: dict[str, Any]) -> None:
    assert "/openapi_notes" in swagger["paths"]
    assert "/openapi_hidden" not in swagger["paths"]
    assert "openapi_hidden" not in swagger["definitions"]
    assert "/rpc/openapi_hidden_fn" not in swagger["paths"]


def test_follow_privileges_per_role(restpg_server: Any) -> None:
    server = restpg_server({"jwt-secret": SECRET})
    token = jwt.encode({"role": READER}, SECRET, algorithm="HS256")
    doc = _doc(_get(server.url, Authorization=f"Bearer {token}"))
    assert sorted(doc["definitions"]) == ["openapi_notes"]
    tables = [path for path in doc["paths"] if not path.startswith("/rpc/")]
    assert tables == ["/", "/openapi_notes"]
    # EXECUTE is granted to PUBLIC by default; only the revoked function is missing.
    assert "/rpc/openapi_add" in doc["paths"]
    assert "/rpc/openapi_hidden_fn" not in doc["paths"]


def test_invalid_token_is_refused(restpg_server: Any) -> None:
    server = restpg_server({"jwt-secret": SECRET})
    response = _get(server.url, Authorization="Bearer not.a.token")
    assert response.status_code == 401


def test_ignore_privileges_lists_everything(restpg_server: Any) -> None:
    server = restpg_server({"openapi-mode": "ignore-privileges"})
    doc = _doc(_get(server.url))
    assert "/openapi_hidden" in doc["paths"]
    assert "/rpc/openapi_hidden_fn" in doc["paths"]


def test_disabled(restpg_server: Any) -> None:
    server = restpg_server({"openapi-mode": "disabled"})
    assert_error(
        _get(server.url),
        status=404,
        code="PGRST126",
        message="Root endpoint metadata is disabled",
    )


def test_server_proxy_uri(restpg_server: Any) -> None:
    server = restpg_server({"openapi-server-proxy-uri": "https://api.example.org:8443/rest/v1"})
    doc = _doc(_get(server.url))
    assert (doc["host"], doc["basePath"], doc["schemes"]) == ("api.example.org:8443", "/rest/v1", ["https"])
    v31 = _doc(_get(server.url, "/openapi.json"))
    assert v31["servers"] == [{"url": "https://api.example.org:8443/rest/v1"}]


def test_security_active(restpg_server: Any) -> None:
    server = restpg_server({"openapi-security-active": True})
    doc = _doc(_get(server.url))
    assert doc["securityDefinitions"]["JWT"]["in"] == "header"
    assert doc["security"] == [{"JWT": []}]
    validate(doc, cls=OpenAPIV2SpecValidator)
    v31 = _doc(_get(server.url, "/openapi.json"))
    assert v31["components"]["securitySchemes"]["JWT"]["scheme"] == "bearer"
    validate(v31, cls=OpenAPIV31SpecValidator)


def test_profiles_describe_their_schema(client: httpx.Client) -> None:
    doc = _doc(client.get("/", headers={"Accept-Profile": "v2"}))
    assert all(not path.startswith("/openapi_") for path in doc["paths"])
    assert_error(
        client.get("/", headers={"Accept-Profile": "private"}),
        status=406,
        code="PGRST106",
        exact=False,
    )


# --- OpenAPI 3.1 -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi31(client: httpx.Client) -> dict[str, Any]:
    return _doc(client.get("/openapi.json"))


def test_openapi31_is_valid(openapi31: dict[str, Any]) -> None:
    assert openapi31["openapi"] == "3.1.0"
    validate(openapi31, cls=OpenAPIV31SpecValidator)


def test_openapi31_describes_the_same_api(openapi31: dict[str, Any], swagger: dict[str, Any]) -> None:
    assert sorted(openapi31["paths"]) == sorted(swagger["paths"])
    assert len(openapi31["components"]["schemas"]) == len(swagger["definitions"])
    # Component names are limited to [a-zA-Z0-9._-]: other bytes are written -XX.
    assert "-C3-A9t-C3-A9" in openapi31["components"]["schemas"]
    props = openapi31["components"]["schemas"]["openapi_notes"]["properties"]
    assert props["body"]["type"] == ["string", "null"]  # nullable
    assert props["status"]["type"] == "string"


def test_openapi31_under_the_base_path(restpg_server: Any) -> None:
    server = restpg_server({"restpg-base-path": "/rest/v1"})
    doc = _doc(_get(server.url, "/rest/v1/openapi.json"))
    assert doc["servers"][0]["url"].endswith("/rest/v1")
    assert _doc(_get(server.url, "/rest/v1/"))["basePath"] == "/rest/v1"
