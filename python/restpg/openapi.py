"""The root endpoint's API description: the Rust core builds it from the schema cache and what the root
statement found the request's role may access (``Engine.openapi``); this module holds the routing rule.

``GET /`` is PostgREST's Swagger 2.0 document. ``GET /openapi.json`` (under the base path, like any
resource) is the same API as an OpenAPI 3.1 document: a path rather than an ``Accept`` parameter, so tools
that take a schema URL (schemathesis, code generators, Swagger UI) can use it as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restpg.config import Config
from restpg.db.execute import Outcome

if TYPE_CHECKING:
    from restpg._core import Engine, Prepared

__all__ = ["DISABLED_MESSAGE", "OPENAPI_31_PATH", "describe", "route"]

OPENAPI_31_PATH = "/openapi.json"
DISABLED_MESSAGE = "Root endpoint metadata is disabled"


def route(path: str) -> tuple[str, str]:
    """The path the core plans and the document version it asks for."""
    if path == OPENAPI_31_PATH:
        return "/", "3.1"
    return path, "2.0"


def describe(engine: Engine, config: Config, prepared: Prepared, outcome: Outcome, version: str) -> Outcome:
    """The root statement's outcome with the document as its body."""
    if outcome.body is None:
        return outcome
    document = engine.openapi(
        outcome.body,
        schema=prepared.schema,
        mode=config.openapi_mode,
        version=version,
        server_host=config.server_host,
        server_port=config.server_port,
        base_path=config.restpg_base_path,
        proxy_uri=config.openapi_server_proxy_uri,
        security_active=config.openapi_security_active,
    )
    return outcome.with_body(document)
