from pathlib import Path

import pytest

from restpg.config import Config, ConfigError, load


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "restpg.conf"
    path.write_text(text)
    return str(path)


def test_defaults_follow_postgrest() -> None:
    config = load(None, {})
    assert config.db_uri == "postgresql://"
    assert config.db_schemas == ("public",)
    assert config.db_anon_role is None
    assert config.db_pool == 10
    assert config.db_pool_acquisition_timeout == 10
    assert config.db_pool_max_idletime == 30
    assert config.db_pool_max_lifetime == 1800
    assert config.db_extra_search_path == ("public",)
    assert config.db_channel == "pgrst" and config.db_channel_enabled
    assert config.server_port == 3000
    assert config.jwt_role_claim_key == "$.role"
    assert config.jwt_cache_max_entries == 1000
    assert config.openapi_mode == "follow-privileges"
    assert config.db_prepared_statements is True


def test_file_values_comments_and_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # a PostgREST config
        db-uri = "postgres://app@localhost/app"   # trailing comment
        db-schemas = "api, v2"
        db-anon-role = "web_anon"
        db-pool = 4
        db-prepared-statements = false
        server-cors-allowed-origins = "https://a.example, https://b.example"
        app.settings.tenant = "acme"
        jwt-secret = "with \\"quotes\\" and a # hash"
        """,
    )
    config = load(path, {})
    assert config.db_uri == "postgres://app@localhost/app"
    assert config.db_schemas == ("api", "v2")
    assert config.db_anon_role == "web_anon"
    assert config.db_pool == 4
    assert config.db_prepared_statements is False
    assert config.server_cors_allowed_origins == ("https://a.example", "https://b.example")
    assert config.app_settings == {"tenant": "acme"}
    assert config.jwt_secret == 'with "quotes" and a # hash'


def test_aliases(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'db-schema = "api"\nmax-rows = 100\npre-request = "api.check"\nrole-claim-key = ".r"\n'
        "db-pool-timeout = 7\n",
    )
    config = load(path, {})
    assert config.db_schemas == ("api",)
    assert config.db_max_rows == 100
    assert config.db_pre_request == "api.check"
    assert config.jwt_role_claim_key == ".r"
    assert config.db_pool_max_idletime == 7


def test_environment_wins_over_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'db-anon-role = "file"\nserver-port = 3000\n')
    env = {
        "PGRST_DB_ANON_ROLE": "env",
        "PGRST_SERVER_PORT": "3100",
        "PGRST_APP_SETTINGS_JWT_EXP": "3600",
        "PGRST_DB_SCHEMA": "api",
        "RESTPG_WORKERS": "3",
        "PGRST_SOMETHING_ELSE": "ignored",
        "HOME": "/nowhere",
    }
    config = load(path, env)
    assert config.db_anon_role == "env"
    assert config.server_port == 3100
    assert config.app_settings == {"jwt_exp": "3600"}
    assert config.db_schemas == ("api",)
    assert config.workers == 3


def test_dollar_escaping_and_interpolation(tmp_path: Path) -> None:
    path = write(tmp_path, 'db-anon-role = "$(ANON)"\njwt-secret = "pa$$word$(SUFFIX)"\n')
    config = load(path, {"ANON": "anon", "SUFFIX": "!"})
    assert config.db_anon_role == "anon"
    assert config.jwt_secret == "pa$word!"


def test_at_file_values(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-that-is-long-enough-for-hs256\n")
    uri = tmp_path / "uri"
    uri.write_text("postgresql://u@h/db\n")
    config = load(write(tmp_path, f'jwt-secret = "@{secret}"\ndb-uri = "@{uri}"\n'), {})
    assert config.jwt_secret == "s3cr3t-that-is-long-enough-for-hs256"
    assert config.db_uri == "postgresql://u@h/db"


def test_conninfo_key_value_db_uri() -> None:
    assert load(None, {"PGRST_DB_URI": "host=localhost dbname=app"}).db_uri == "host=localhost dbname=app"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('db-shemas = "api"\n', "Unknown configuration key 'db-shemas'"),
        ("db-pool = many\n", "put strings in double quotes"),
        ('db-pool = "many"\n', "Invalid value for 'db-pool'"),
        ('db-pool = "0"\n', "expected a number >= 1"),
        ('db-tx-end = "sometimes"\n', "expected one of commit"),
        ('server-port = "70000"\n', "between 0 and 65535"),
        ('db-uri = "postgres://x@h/db\n', "unterminated string"),
        ('db-schemas = "pg_catalog"\n', "must not expose 'pg_catalog'"),
        ('db-uri = "host=x port"\n', "'db-uri' is not a valid PostgreSQL connection string"),
        ('jwt-secret = "@/does/not/exist"\n', "Cannot read the file '/does/not/exist'"),
        ('db-anon-role = "$(UNSET_VARIABLE)"\n', "UNSET_VARIABLE"),
        ("just some words\n", "expected 'key = value'"),
        ("server-port = 3000\nadmin-server-port = 3000\n", "give the admin server its own port"),
    ],
)
def test_errors_say_what_is_wrong(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        load(write(tmp_path, text), {})
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read the config file"):
        load(str(tmp_path / "absent.conf"), {})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="environment variable PGRST_DB_POOL"):
        load(None, {"PGRST_DB_POOL": "lots"})


def test_dump_round_trips(tmp_path: Path) -> None:
    original = load(
        write(
            tmp_path,
            'db-schemas = "api,v2"\ndb-anon-role = "anon"\njwt-secret = "a$$b"\napp.settings.x = "y"\n'
            "db-max-rows = 50\n",
        ),
        {},
    )
    dumped = write(tmp_path, original.dump())
    assert load(dumped, {}) == original


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.db_pool = 3  # type: ignore[misc]


def test_a_machine_without_libpq_is_told_so_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from restpg.db import pipeline

    # As if this process had bound no libpq yet and none of the usual places held one.
    monkeypatch.setattr(pipeline, "_loaded", False)
    monkeypatch.setattr(pipeline, "_candidates", lambda: iter(["/nonexistent/libpq.so.5"]))
    with pytest.raises(ConfigError, match=r"no usable libpq \(install psycopg\[binary\] or libpq\)"):
        load(None, {"PGRST_DB_URI": "host=localhost dbname=app"})


@pytest.mark.parametrize(
    ("db_uri", "env", "local"),
    [
        ("postgresql://", {}, True),  # libpq's default Unix socket
        ("dbname=app", {"PGHOST": "db.example.com"}, False),
        ("dbname=app", {"PGHOST": "/run/postgresql"}, True),
        ("dbname=app", {"PGSERVICE": "app"}, False),  # the service file names the host
        ("service=app", {}, False),
        ("host=/var/run/postgresql dbname=app", {}, True),
        ("host=@abstract dbname=app", {}, True),
        ("postgresql://u@localhost:5432/app", {"PGHOST": "db.example.com"}, True),
        ("postgresql://u@[::1]/app", {}, True),
        ("host=127.0.0.2 dbname=app", {}, True),
        ("postgresql://u@db.example.com/app", {}, False),
        ("host=10.0.0.5 dbname=app", {}, False),
        ("host=/var/run/postgresql,10.0.0.5 dbname=app", {}, False),  # a fallback elsewhere
        ("host=db.example.com hostaddr=127.0.0.1", {}, True),  # hostaddr is where libpq connects
        ("host=localhost hostaddr=10.0.0.5", {}, False),
        ("postgresql://[not an address", {}, False),  # malformed
    ],
)
def test_whether_postgresql_runs_on_this_machine(db_uri: str, env: dict[str, str], local: bool) -> None:
    from restpg.db.host import on_this_host

    assert on_this_host(db_uri, env) is local


def test_default_workers_leave_a_local_postgresql_its_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from restpg.config import default_workers

    for name in ("PGHOST", "PGHOSTADDR", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert default_workers("postgresql://u@db.example.com/app") == 4
    assert default_workers("postgresql://u@localhost/app") == 2
    assert load(None, {"PGRST_DB_URI": "host=127.0.0.1 dbname=app"}).workers == 2
    assert load(None, {"PGRST_DB_URI": "host=127.0.0.1", "RESTPG_WORKERS": "3"}).workers == 3
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_workers("postgresql://") == 1
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert default_workers("postgresql://u@db.example.com/app") == 1
