"""Settings: working defaults, PostgreSQL and Lakebase by environment, production refuses to start unsafe."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdp_site.database import database_settings
from cdp_site.env import Env

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "cdp_site.settings.production",
    "SECRET_KEY": "p" * 20 + "-production-secret-key-with-enough-entropy-7f3a9c2e1b",
    "ALLOWED_HOSTS": ".databricksapps.com",
}


def _manage(*args, env_overrides: dict, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "PGHOST", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update({"CDP_DATA_DIR": str(tmp_path)}, **env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.own_database
def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.own_database
@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing, tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env_overrides=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_sqlite_default_uses_wal_and_a_busy_timeout(tmp_path):
    config = database_settings(Env({}), tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "cdp.sqlite3")
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["timeout"] >= 5


def test_database_url_selects_postgresql(tmp_path):
    config = database_settings(Env({"DATABASE_URL": "postgres://u:p@db.internal:5433/cdp"}), tmp_path)
    assert (config["ENGINE"], config["HOST"], config["PORT"], config["NAME"]) == ("django.db.backends.postgresql", "db.internal", 5433, "cdp")


def test_lakebase_resource_selects_the_token_backend(tmp_path):
    env = Env({"PGHOST": "instance.database.cloud.databricks.com", "PGDATABASE": "cdp", "PGUSER": "sp-uuid", "PGSSLMODE": "require"})
    config = database_settings(env, tmp_path)
    assert config["ENGINE"] == "cdp_site.lakebase"
    assert (config["HOST"], config["USER"], config["OPTIONS"]["sslmode"]) == ("instance.database.cloud.databricks.com", "sp-uuid", "require")
    # Connections are recycled well inside the OAuth token's one-hour lifetime.
    assert 0 < config["CONN_MAX_AGE"] < 3600


def test_lakebase_backend_asks_for_a_fresh_token_per_connection(monkeypatch):
    from cdp_site.lakebase import base

    tokens = iter(["token-1", "token-2"])
    monkeypatch.setattr(base, "lakebase_password", lambda: next(tokens))
    wrapper = base.DatabaseWrapper({
        "ENGINE": "cdp_site.lakebase", "NAME": "cdp", "USER": "sp", "PASSWORD": "", "HOST": "h", "PORT": "5432",
        "OPTIONS": {}, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False,
        "TIME_ZONE": None, "TEST": {},
    })
    assert wrapper.get_connection_params()["password"] == "token-1"
    assert wrapper.get_connection_params()["password"] == "token-2"


def test_env_rejects_nonsense_booleans_and_numbers():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        Env({"DEBUG": "maybe"}).bool("DEBUG")
    with pytest.raises(ImproperlyConfigured, match="CDP_Q_WORKERS"):
        Env({"CDP_Q_WORKERS": "two"}).int("CDP_Q_WORKERS", 2)


@pytest.mark.postgres
def test_lakebase_keeps_the_apps_tables_in_a_schema_it_creates(postgres_server, monkeypatch, django_db_blocker):
    from cdp_site.database import database_settings
    from cdp_site.lakebase import base
    from tests.servers import postgres_create_database, standalone_connection

    postgres_create_database(postgres_server, "lakebase_like")
    env = Env({"PGHOST": postgres_server.host, "PGPORT": str(postgres_server.port), "PGDATABASE": "lakebase_like",
               "PGUSER": postgres_server.user, "PGSSLMODE": "disable", "CDP_LAKEBASE_SCHEMA": "cdp_app"})
    config = database_settings(env, Path("/tmp"))
    monkeypatch.setattr(base, "lakebase_password", lambda: "")  # the test server trusts local connections
    monkeypatch.setattr(base.DatabaseWrapper, "_schema_ready", False)
    connection = standalone_connection("cdp_site.lakebase", config["NAME"], USER=config["USER"], HOST=config["HOST"],
                                       PORT=config["PORT"], OPTIONS=config["OPTIONS"], CDP_SCHEMA=config["CDP_SCHEMA"])
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("CREATE TABLE probe (id int)")
                cursor.execute("SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe'")
                assert cursor.fetchone()[0] == "cdp_app"
        finally:
            connection.close()
