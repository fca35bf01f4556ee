"""The ``restpg`` command line.

    restpg [CONFIG_FILE]                         serve, as ``postgrest CONFIG_FILE`` does
    restpg serve [CONFIG_FILE] [--workers N] [--port P]
    restpg sql [CONFIG_FILE] METHOD 'PATH?QUERY' [-H 'Name: value']...
    restpg enable [CONFIG_FILE] ...              install roles, grants and auth functions
    restpg doctor [CONFIG_FILE] [--json]         report the security status
    restpg --version | --dump-config [CONFIG_FILE]

Every failure the user can fix (bad config, unreachable database) is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from restpg import __version__
from restpg.config import Config, ConfigError, load, replace, validate_db_uri

__all__ = ["main", "run"]

_COMMANDS = ("serve", "sql", "enable", "doctor")
#: The GIL's switch interval while ``restpg serve`` reads the catalog beside its imports (see ``_serve``).
START_SWITCH_INTERVAL = 0.0005


class CliError(Exception):
    """A message for stderr; the command exits with status 1."""


def main() -> None:
    raise SystemExit(run(sys.argv[1:]))


def run(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or (argv[0] not in _COMMANDS and not argv[0].startswith("-")):
        argv.insert(0, "serve")  # `restpg app.conf` as `postgrest app.conf`
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.version:
            print(f"restpg {__version__}")
            return 0
        command = args.command or "serve"
        # `serve` checks db-uri itself, once its catalog read has begun (see _serve).
        serving = command == "serve" and not args.dump_config
        config = load(getattr(args, "config", None), os.environ, check_db_uri=not serving)
        if args.dump_config:
            sys.stdout.write(config.dump())
            return 0
        if command == "serve":
            return _serve(config, args)
        if command == "sql":
            return _sql(config, args)
        if command == "enable":
            enable = importlib.import_module("restpg.security.enable")
            return int(enable.run(config, args))
        doctor = importlib.import_module("restpg.security.doctor")
        return int(doctor.run(config, bool(args.json)))
    except (ConfigError, CliError) as exc:
        print(f"restpg: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restpg", description="A PostgREST-compatible REST API for PostgreSQL."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--dump-config", action="store_true", help="print the resolved configuration and exit"
    )
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="serve the API (the default)")
    serve.add_argument("config", nargs="?", help="PostgREST-style config file")
    serve.add_argument(
        "--workers",
        type=int,
        help="Granian worker processes (default: one per CPU, one per two when PostgreSQL is on this machine)",
    )
    serve.add_argument("--port", type=int, help="HTTP port (overrides server-port)")

    sql = commands.add_parser("sql", help="print the SQL and parameters built for a request")
    sql.add_argument("words", nargs="+", metavar="[CONFIG] METHOD PATH?QUERY")
    sql.add_argument("-H", "--header", action="append", default=[], help="request header 'Name: value'")
    sql.add_argument("-d", "--data", default="", help="request body")

    enable = commands.add_parser("enable", help="install roles, grants and the auth.* functions")
    enable.add_argument("config", nargs="?")
    enable.add_argument(
        "--no-default-grants",
        action="store_true",
        help="grant USAGE on the schemas only, no table privileges (grant them yourself)",
    )

    doctor = commands.add_parser("doctor", help="report exposed tables without RLS and other risks")
    doctor.add_argument("config", nargs="?")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _serve(config: Config, args: argparse.Namespace) -> int:
    # Overrides travel to the workers through the environment they inherit (see server.py).
    if args.workers is not None:
        if args.workers < 1:
            raise CliError("--workers must be at least 1.")
        os.environ["RESTPG_WORKERS"] = str(args.workers)
        config = replace(config, restpg_workers=args.workers)
    if args.port is not None:
        os.environ["PGRST_SERVER_PORT"] = str(args.port)
        config = replace(config, server_port=args.port)
    # libpq first (a few ms, and the reading thread needs it); then the database check and, on a cold start,
    # the first schema cache snapshot, which mostly wait for PostgreSQL: they run in a thread while the app
    # and Granian are imported (see schema/preload.py). A plain thread: concurrent.futures would add ~8 ms of
    # imports before the read could start (asyncio imports it later, beside the read).
    validate_db_uri(config)
    import threading

    from restpg.schema import preload

    failed: list[BaseException] = []

    def prepare() -> None:
        try:
            preload.prepare_database(
                config,
                with_db_settings=lambda settings: load(args.config, os.environ, settings, check_db_uri=False),
            )
        except BaseException as exc:  # noqa: BLE001 - raised again by the main thread below
            failed.append(exc)

    # The reading thread needs the GIL for a moment after each wait for PostgreSQL and, by default, waits up
    # to 5 ms each time for the imports to yield it: at 1,000 tables the read beside a busy main thread took
    # 389-412 ms with the default and 204-231 ms with 0.5 ms (idle: 174-192 ms).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(START_SWITCH_INTERVAL)
    reader = threading.Thread(target=prepare, name="restpg-start-read")
    reader.start()
    try:
        _check_keys(config)
        from restpg.server import ListenError, serve
    finally:
        reader.join()  # before Granian forks the workers: a fork must not copy a thread in mid-work
        sys.setswitchinterval(switch_interval)  # the workers' event loops run alone: the default suits them
    if failed:
        if isinstance(failed[0], preload.DatabaseUnreachable):
            raise _unreachable(failed[0]) from None
        raise failed[0]
    try:
        serve(config, args.config)
    except ListenError as exc:
        raise CliError(str(exc)) from None
    return 0


def _unreachable(exc: Exception) -> CliError:
    return CliError(f"Cannot connect to the database ({exc}): check db-uri and that PostgreSQL is running.")


def _check_keys(config: Config) -> None:
    from restpg.app import authenticator_for

    try:
        authenticator_for(config)
    except ValueError as exc:
        raise CliError(f"Invalid JWT configuration: {exc}") from None


def _sql(config: Config, args: argparse.Namespace) -> int:
    words: list[str] = args.words
    config_path = None
    if len(words) == 3:
        config_path = words[0]
        config = load(config_path, os.environ)
        words = words[1:]
    if len(words) != 2:
        raise CliError("usage: restpg sql [CONFIG] METHOD 'PATH?QUERY'")
    method, target = words[0].upper(), words[1]
    path, _, query = target.partition("?")
    headers: dict[str, str] = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep:
            raise CliError(f"-H {header!r}: write headers as 'Name: value'.")
        headers[name.strip().lower()] = value.strip()
    import asyncio

    return asyncio.run(
        _print_sql(config, config_path, method, path or "/", query, headers, args.data.encode())
    )


async def _print_sql(
    config: Config,
    config_path: str | None,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
) -> int:
    from restpg._core import ApiError
    from restpg.app import App, prepare
    from restpg.schema.preload import DatabaseUnreachable, check_database

    try:
        check_database(config)
    except DatabaseUnreachable as exc:
        raise _unreachable(exc) from None
    app = App(config, config_path=config_path)
    await app.load_once()
    assert app.engine is not None
    try:
        prepared = prepare(app.engine, method, path, query, body, headers)
    except ApiError as exc:
        print(exc.body().decode(), file=sys.stderr)
        return 1
    print(f"-- search_path: {prepared.search_path}")
    if prepared.count_sql is not None:
        print(prepared.count_sql + ";")
    print(prepared.sql + ";")
    for index, value in enumerate(prepared.params, start=1):
        shown = "NULL" if value is None else "'" + value.decode().replace("'", "''") + "'"
        print(f"-- ${index} = {shown}")
    return 0
