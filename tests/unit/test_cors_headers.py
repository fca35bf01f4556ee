"""CORS headers: PostgREST's CorsSpec values, and the Neon-style origin allowlist."""

from __future__ import annotations

from restpg.cors import preflight_headers, response_headers


def as_dict(headers: list[tuple[str, str]] | None) -> dict[str, str]:
    assert headers is not None
    return dict(headers)


def test_preflight_any_origin() -> None:
    headers = as_dict(preflight_headers("http://example.com", "POST", "Foo,Bar", None))
    assert headers == {
        "access-control-allow-origin": "*",
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD",
        "access-control-allow-headers": "Authorization, Foo, Bar, Accept, Accept-Language, Content-Language",
        "access-control-max-age": "86400",
    }


def test_preflight_echoes_client_library_headers() -> None:
    requested = "authorization, apikey, x-client-info, X-Neon-Client-Info, content-type, prefer"
    allowed = as_dict(preflight_headers("https://app.test", "GET", requested, []))[
        "access-control-allow-headers"
    ]
    assert allowed == (
        "Authorization, apikey, x-client-info, X-Neon-Client-Info, content-type, prefer, "
        "Accept, Accept-Language, Content-Language"
    )


def test_preflight_drops_names_that_are_not_header_tokens() -> None:
    allowed = as_dict(preflight_headers("o", "GET", "good, bad header, evil\r\nx: y, ", None))
    assert allowed["access-control-allow-headers"] == (
        "Authorization, good, Accept, Accept-Language, Content-Language"
    )


def test_preflight_allowed_origin_is_echoed() -> None:
    origins = ["https://app.example.com", "http://localhost:3000"]
    headers = as_dict(preflight_headers("http://localhost:3000", "PATCH", None, origins))
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert headers["vary"] == "Origin"


def test_preflight_foreign_origin_gets_no_cors_headers() -> None:
    assert preflight_headers("https://evil.example", "GET", None, ["https://app.example.com"]) == []


def test_options_without_request_method_is_not_a_preflight() -> None:
    assert preflight_headers("http://example.com", None, None, None) is None


def test_simple_request_exposes_headers() -> None:
    assert as_dict(response_headers("http://example.com", None)) == {
        "access-control-allow-origin": "*",
        "access-control-expose-headers": "Content-Encoding, Content-Location, Content-Range, Content-Type, "
        "Date, Location, Server, Transfer-Encoding, Range-Unit",
    }


def test_simple_request_allowlist() -> None:
    origins = ["https://app.example.com"]
    assert as_dict(response_headers("https://app.example.com", origins))["access-control-allow-origin"] == (
        "https://app.example.com"
    )
    assert response_headers("https://app.example.com.evil", origins) == []
