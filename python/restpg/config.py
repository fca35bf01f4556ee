"""Configuration: PostgREST's config file format, keys, aliases and ``PGRST_*`` environment variables.

A PostgREST config file must start restpg unchanged, so every PostgREST key is accepted (the ones restpg does
not act on yet are parsed and kept, never silently rejected); an unknown key is an error, because a typo in a
security setting should not pass quietly. restpg's own keys use the same style with a ``restpg-`` prefix and
``RESTPG_*`` environment variables.

File syntax (the configurator-pg format PostgREST reads)::

    # comment
    db-uri = "postgres://app@localhost/app"   # strings in double quotes, \\" and \\\\ escape
    db-pool = 10                              # numbers
    db-prepared-statements = false            # booleans
    jwt-secret = "@/run/secrets/jwt"          # @file: read the value from a file (db-uri, jwt-secret)
    db-anon-role = "$(ANON_ROLE)"             # $(VAR) interpolates the environment, $$ is a literal $
    app.settings.tenant = "acme"              # exposed as current_setting('app.settings.tenant')

Precedence: defaults < file < environment < in-database settings (PostgREST's order; the in-database ones
are read by ``restpg.dbconfig`` and passed to ``load`` as ``db_settings``).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IN_DATABASE_KEYS", "Config", "ConfigError", "default_workers", "load", "validate_db_uri"]

#: Keys that in-database configuration may set (PostgREST's list): ``pgrst.<key with _>`` role settings.
IN_DATABASE_KEYS = (
    "db-aggregates-enabled",
    "client-error-verbosity",
    "db-anon-role",
    "db-pre-config",
    "db-extra-search-path",
    "db-max-rows",
    "db-plan-enabled",
    "db-pre-request",
    "db-prepared-statements",
    "db-root-spec",
    "db-schemas",
    "db-tx-end",
    "db-hoisted-tx-settings",
    "jwt-aud",
    "jwt-role-claim-key",
    "jwt-secret",
    "jwt-secret-is-base64",
    "jwt-cache-max-entries",
    "openapi-mode",
    "openapi-security-active",
    "openapi-server-proxy-uri",
    "server-cors-allowed-origins",
    "server-trace-header",
    "server-timing-enabled",
    "url-use-legacy-target-names",
)


class ConfigError(Exception):
    """A configuration problem, worded as one sentence saying what is wrong and how to fix it."""


@dataclass(frozen=True)
class Config:
    """The resolved configuration. Attribute names are the file keys in snake_case."""

    db_uri: str = "postgresql://"
    db_schemas: tuple[str, ...] = ("public",)
    db_anon_role: str | None = None
    db_max_rows: int | None = None
    db_pool: int = 10
    db_pool_acquisition_timeout: float = 10.0
    db_pool_max_lifetime: float = 1800.0
    db_pool_max_idletime: float = 30.0
    db_pool_automatic_recovery: bool = True
    db_extra_search_path: tuple[str, ...] = ("public",)
    db_tx_end: str = "commit"
    db_pre_request: str | None = None
    db_prepared_statements: bool = True
    db_channel: str = "pgrst"
    db_channel_enabled: bool = True
    db_aggregates_enabled: bool = False
    db_plan_enabled: bool = False
    db_config: bool = True
    db_pre_config: str | None = None
    db_root_spec: str | None = None
    db_hoisted_tx_settings: tuple[str, ...] = (
        "statement_timeout",
        "plan_filter.statement_cost_limit",
        "default_transaction_isolation",
    )
    server_host: str = "!4"
    server_port: int = 3000
    server_unix_socket: str | None = None
    server_unix_socket_mode: str = "660"
    server_reuseport: bool = False
    server_cors_allowed_origins: tuple[str, ...] | None = None
    server_timing_enabled: bool = False
    server_trace_header: str | None = None
    admin_server_host: str | None = None
    admin_server_port: int | None = None
    jwt_secret: str | None = None
    jwt_secret_is_base64: bool = False
    jwt_aud: str | None = None
    jwt_role_claim_key: str = "$.role"
    jwt_cache_max_entries: int = 1000
    jwt_jwks_url: str | None = None
    log_level: str = "error"
    log_query: bool = False
    openapi_mode: str = "follow-privileges"
    openapi_security_active: bool = False
    openapi_server_proxy_uri: str | None = None
    client_error_verbosity: str = "verbose"
    url_use_legacy_target_names: bool = True
    app_settings: Mapping[str, str] = field(default_factory=dict)
    # restpg's own keys.
    restpg_workers: int | None = None
    restpg_base_path: str = ""
    restpg_runtime_dir: str | None = None
    restpg_snapshot_dir: str | None = None
    restpg_max_url_bytes: int = 32 * 1024
    restpg_max_header_bytes: int = 64 * 1024
    restpg_max_body_bytes: int = 64 * 1024 * 1024
    restpg_log_format: str = "combined"
    restpg_shutdown_grace: float = 30.0
    # A schema cache document larger than this fails to load with a clear message instead of exhausting
    # memory (about 2 KB per table: the default allows some 100,000 tables).
    restpg_max_schema_bytes: int = 256 * 1024 * 1024

    @property
    def workers(self) -> int:
        """Granian workers: ``restpg-workers``, else ``default_workers``."""
        return self.restpg_workers or default_workers(self.db_uri)

    def dump(self) -> str:
        """The configuration in the file format (``--dump-config``); the JWT secret is not redacted, as PostgREST."""
        lines = []
        for spec in _SPECS.values():
            value = getattr(self, spec.attr)
            if value is None:
                continue
            lines.append(f"{spec.key} = {_render(value)}")
        lines.extend(f"app.settings.{k} = {_render(v)}" for k, v in sorted(self.app_settings.items()))
        return "\n".join(lines) + "\n"


def load(
    path: str | None,
    env: Mapping[str, str],
    db_settings: Mapping[str, str] | None = None,
    *,
    check_db_uri: bool = True,
) -> Config:
    """Read the config file at ``path`` (if any), then apply ``PGRST_*``/``RESTPG_*`` from ``env``, then the
    in-database settings ``db_settings`` (keys of ``IN_DATABASE_KEYS``).

    Without ``check_db_uri`` the caller calls ``validate_db_uri`` itself: it loads the core and libpq, which
    ``restpg serve`` does beside its catalog read (see schema/preload.py).
    """
    raw: dict[str, tuple[str, object]] = {}  # canonical key -> (where it came from, raw value)
    app_settings: dict[str, str] = {}
    if path is not None:
        for key, value in _parse_file(path, env):
            _accept(key, value, f"{path}", raw, app_settings)
    for name, value in env.items():
        env_key = _env_key(name)
        if env_key is not None:
            _accept(env_key, value, f"environment variable {name}", raw, app_settings)
    for key, value in (db_settings or {}).items():
        if key in IN_DATABASE_KEYS:
            # Taken literally: a value starting with '@' names no file here, the database is not trusted
            # to make the server read its files.
            raw[key] = (f"in-database setting pgrst.{key.replace('-', '_')}", value)
    values: dict[str, Any] = {}
    for key, (origin, value) in raw.items():
        spec = _SPECS[key]
        try:
            values[spec.attr] = spec.coerce(value)
        except ValueError as exc:
            raise ConfigError(f"Invalid value for '{key}' in {origin}: {exc}.") from None
    config = Config(**values, app_settings=app_settings)
    _validate(config)
    if check_db_uri:
        validate_db_uri(config)
    return config


# ---------------------------------------------------------------------------------------------------------
# Keys


@dataclass(frozen=True)
class _Spec:
    key: str
    coerce: Callable[[object], Any]
    aliases: tuple[str, ...] = ()
    file_value: bool = False  # accepts "@path" (read the value from a file)

    @property
    def attr(self) -> str:
        return self.key.replace("-", "_")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _optional_text(value: object) -> str | None:
    text = _text(value)
    return text if text != "" else None


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in ("true", "on", "yes", "1"):
        return True
    if text in ("false", "off", "no", "0"):
        return False
    raise ValueError(f"expected true or false, got {_text(value)!r}")


def _integer(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value).strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def _natural(value: object) -> int:
    number = _integer(value)
    if number < 0:
        raise ValueError(f"expected a number >= 0, got {number}")
    return number


def _positive(value: object) -> int:
    number = _integer(value)
    if number < 1:
        raise ValueError(f"expected a number >= 1, got {number}")
    return number


def _optional_natural(value: object) -> int | None:
    return None if _text(value).strip() == "" else _natural(value)


def _seconds(value: object) -> float:
    return float(_natural(value))


def _port(value: object) -> int:
    number = _integer(value)
    if not 0 <= number <= 65535:
        raise ValueError(f"expected a TCP port between 0 and 65535, got {number}")
    return number


def _optional_port(value: object) -> int | None:
    return None if _text(value).strip() == "" else _port(value)


def _names(value: object) -> tuple[str, ...]:
    return tuple(part.strip() for part in _text(value).split(",") if part.strip())


def _optional_names(value: object) -> tuple[str, ...] | None:
    names = _names(value)
    return names or None


def _choice(*allowed: str) -> Callable[[object], str]:
    def coerce(value: object) -> str:
        text = _text(value).strip()
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {text!r}")
        return text

    return coerce


def _base_path(value: object) -> str:
    text = _text(value).strip().rstrip("/")
    if text and not text.startswith("/"):
        raise ValueError(f"expected a path starting with '/', got {text!r}")
    return text


_SPEC_LIST = [
    _Spec("db-uri", _text, file_value=True),
    _Spec("db-schemas", _names, aliases=("db-schema",)),
    _Spec("db-anon-role", _optional_text),
    _Spec("db-max-rows", _optional_natural, aliases=("max-rows",)),
    _Spec("db-pool", _positive),
    _Spec("db-pool-acquisition-timeout", _seconds),
    _Spec("db-pool-max-lifetime", _seconds),
    _Spec("db-pool-max-idletime", _seconds, aliases=("db-pool-timeout",)),
    _Spec("db-pool-automatic-recovery", _boolean),
    _Spec("db-extra-search-path", _names),
    _Spec("db-tx-end", _choice("commit", "commit-allow-override", "rollback", "rollback-allow-override")),
    _Spec("db-pre-request", _optional_text, aliases=("pre-request",)),
    _Spec("db-prepared-statements", _boolean),
    _Spec("db-channel", _text),
    _Spec("db-channel-enabled", _boolean),
    _Spec("db-aggregates-enabled", _boolean),
    _Spec("db-plan-enabled", _boolean),
    _Spec("db-config", _boolean),
    _Spec("db-pre-config", _optional_text),
    _Spec("db-root-spec", _optional_text, aliases=("root-spec",)),
    _Spec("db-hoisted-tx-settings", _names),
    _Spec("server-host", _text),
    _Spec("server-port", _port),
    _Spec("server-unix-socket", _optional_text),
    _Spec("server-unix-socket-mode", _text),
    _Spec("server-reuseport", _boolean),
    _Spec("server-cors-allowed-origins", _optional_names),
    _Spec("server-timing-enabled", _boolean),
    _Spec("server-trace-header", _optional_text),
    _Spec("admin-server-host", _optional_text),
    _Spec("admin-server-port", _optional_port),
    _Spec("jwt-secret", _optional_text, file_value=True),
    _Spec("jwt-secret-is-base64", _boolean, aliases=("secret-is-base64",)),
    _Spec("jwt-aud", _optional_text),
    _Spec("jwt-role-claim-key", _text, aliases=("role-claim-key",)),
    _Spec("jwt-cache-max-entries", _natural),
    _Spec("jwt-jwks-url", _optional_text),
    _Spec("log-level", _choice("crit", "error", "warn", "info", "debug")),
    _Spec("log-query", _boolean),
    _Spec("openapi-mode", _choice("follow-privileges", "ignore-privileges", "disabled")),
    _Spec("openapi-security-active", _boolean),
    _Spec("openapi-server-proxy-uri", _optional_text),
    _Spec("client-error-verbosity", _choice("verbose", "minimal")),
    _Spec("url-use-legacy-target-names", _boolean),
    _Spec("restpg-workers", _optional_natural),
    _Spec("restpg-base-path", _base_path),
    _Spec("restpg-runtime-dir", _optional_text),
    _Spec("restpg-snapshot-dir", _optional_text),
    _Spec("restpg-max-url-bytes", _natural),
    _Spec("restpg-max-header-bytes", _natural),
    _Spec("restpg-max-body-bytes", _natural),
    _Spec("restpg-log-format", _choice("combined", "json")),
    _Spec("restpg-shutdown-grace", _seconds),
    _Spec("restpg-max-schema-bytes", _positive),
]
_SPECS = {spec.key: spec for spec in _SPEC_LIST}
_ALIASES = {alias: spec.key for spec in _SPEC_LIST for alias in (spec.key, *spec.aliases)}
_APP_SETTINGS = "app.settings."


def _env_name(key: str) -> str:
    if key.startswith("restpg-"):
        return key.upper().replace("-", "_")
    return "PGRST_" + key.upper().replace("-", "_")


_ENV_KEYS = {_env_name(alias): alias for alias in _ALIASES}


def _env_key(name: str) -> str | None:
    """The config key an environment variable sets, or None when it is not one of ours."""
    if name.startswith("PGRST_APP_SETTINGS_"):
        return _APP_SETTINGS + name.removeprefix("PGRST_APP_SETTINGS_").lower()
    return _ENV_KEYS.get(name)


def _accept(
    key: str,
    value: object,
    origin: str,
    raw: dict[str, tuple[str, object]],
    app_settings: dict[str, str],
) -> None:
    if key.startswith(_APP_SETTINGS) and len(key) > len(_APP_SETTINGS):
        app_settings[key.removeprefix(_APP_SETTINGS)] = _text(value)
        return
    canonical = _ALIASES.get(key)
    if canonical is None:
        raise ConfigError(
            f"Unknown configuration key '{key}' in {origin}: check its spelling against the PostgREST "
            "configuration reference, or remove it."
        )
    spec = _SPECS[canonical]
    if spec.file_value and isinstance(value, str) and value.startswith("@"):
        value = _read_value_file(canonical, value.removeprefix("@"), origin)
    raw[canonical] = (origin, value)


def _read_value_file(key: str, path: str, origin: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            # Secret files usually end with a newline that is not part of the value.
            return handle.read().rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the file '{path}' given for '{key}' in {origin} ({exc.strerror}): "
            "check the path after '@'."
        ) from None


def _validate(config: Config) -> None:
    if not config.db_schemas:
        raise ConfigError(
            "'db-schemas' is empty: list at least one schema to expose, e.g. db-schemas = \"api\"."
        )
    for forbidden in ("pg_catalog", "information_schema"):
        if forbidden in config.db_schemas:
            raise ConfigError(f"'db-schemas' must not expose '{forbidden}': remove it from the list.")
    if config.admin_server_port is not None and config.admin_server_port == config.server_port:
        raise ConfigError(
            f"'admin-server-port' and 'server-port' are both {config.server_port}: give the admin server "
            "its own port."
        )


def default_workers(db_uri: str) -> int:
    """One worker per CPU, or one per two CPUs (at least one) when PostgreSQL runs on this machine: its
    backends then need about as many cores as the workers (on 2 cores, one worker served every benchmark
    workload as fast as two, within the noise, or up to 16% faster, with 5-22% less CPU per request and a
    lower p99; loadtest/README.md)."""
    from restpg.db.host import on_this_host

    cpus = os.cpu_count() or 1
    return max(1, cpus // 2) if on_this_host(db_uri) else cpus


def validate_db_uri(config: Config) -> None:
    """``ConfigError`` when libpq cannot parse ``db-uri`` (or no libpq can be found to parse it)."""
    from restpg._core import parse_conninfo
    from restpg.db.pipeline import LibpqNotFound, ensure_libpq

    try:
        ensure_libpq()
        parse_conninfo(config.db_uri)
    except LibpqNotFound as exc:
        raise ConfigError(str(exc)) from None
    except ValueError as exc:  # libpq's own wording of what is malformed
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed"
        raise ConfigError(
            f"'db-uri' is not a valid PostgreSQL connection string ({reason}): use "
            "postgresql://user:password@host:port/dbname or key=value pairs."
        ) from None


# ---------------------------------------------------------------------------------------------------------
# File format

_LINE = re.compile(r"\s*([A-Za-z0-9_.\-]+)\s*=\s*(.*?)\s*\Z")
_INTERPOLATION = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _parse_file(path: str, env: Mapping[str, str]) -> list[tuple[str, object]]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file '{path}' ({exc.strerror}): check the path.") from None
    entries: list[tuple[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ConfigError(
                f"{path}, line {number}: expected 'key = value', got {stripped!r}; quote string values."
            )
        key, rest = match.group(1), match.group(2)
        try:
            entries.append((key, _parse_value(rest, env)))
        except ValueError as exc:
            raise ConfigError(f"{path}, line {number}: {exc}.") from None
    return entries


def _parse_value(text: str, env: Mapping[str, str]) -> object:
    if text.startswith('"'):
        value, rest = _parse_string(text)
        _expect_end(rest)
        return _interpolate(value, env)
    token = text.partition("#")[0].strip()
    if token in ("true", "false"):
        return token == "true"
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if re.fullmatch(r"\$\([A-Za-z_][A-Za-z0-9_]*\)", token):
        return _interpolate(token, env)
    raise ValueError(f"cannot read the value {token!r}: put strings in double quotes")


def _parse_string(text: str) -> tuple[str, str]:
    out: list[str] = []
    escapes = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(escapes.get(text[index + 1], text[index + 1]))
            index += 2
            continue
        if char == '"':
            return "".join(out), text[index + 1 :]
        out.append(char)
        index += 1
    raise ValueError("unterminated string: add the closing double quote")


def _expect_end(rest: str) -> None:
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        raise ValueError(f"unexpected text after the value: {rest!r}")


def _interpolate(value: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in env:
            raise ValueError(f"the environment variable {name} used in $({name}) is not set")
        return env[name]

    return _INTERPOLATION.sub(replace, value)


def _render(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple):
        value = ",".join(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return f'"{text}"'


def replace(config: Config, **changes: Any) -> Config:
    """A copy of ``config`` with some attributes changed (CLI overrides such as ``--port``)."""
    return dataclasses.replace(config, **changes)
