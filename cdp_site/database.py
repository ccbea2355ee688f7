"""The operational database: SQLite file by default, PostgreSQL by DATABASE_URL, Lakebase on Databricks."""
from __future__ import annotations

from pathlib import Path

import dj_database_url

from cdp_site.env import Env


def database_settings(env: Env, data_dir: Path) -> dict:
    """Pick the `default` database from the environment, most explicit first."""
    if "DATABASE_URL" in env:
        return dj_database_url.parse(
            env.str("DATABASE_URL"), conn_max_age=env.int("CDP_DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    if "PGHOST" in env:
        # A Databricks App with a Lakebase resource: the password is a short-lived OAuth
        # token, so the backend asks databricks-sdk for one at every new connection and
        # connections are recycled well inside the token's one-hour life.
        # The tables go in a schema the app creates and owns (CDP_LAKEBASE_SCHEMA): on PostgreSQL
        # 15+ a role that does not own the database may not create tables in `public`.
        schema = env.str("CDP_LAKEBASE_SCHEMA", "cdp")
        return {
            "ENGINE": "cdp_site.lakebase",
            "NAME": env.str("PGDATABASE", "databricks_postgres"),
            "USER": env.str("PGUSER") or env.str("DATABRICKS_CLIENT_ID"),
            "HOST": env.str("PGHOST"),
            "PORT": env.str("PGPORT", "5432"),
            "OPTIONS": {"sslmode": env.str("PGSSLMODE", "require"), "options": f"-c search_path={schema}"},
            "CDP_SCHEMA": schema,
            "CONN_MAX_AGE": env.int("CDP_DB_CONN_MAX_AGE", 900),
            "CONN_HEALTH_CHECKS": True,
        }
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env.str("CDP_SQLITE_PATH", str(data_dir / "cdp.sqlite3")),
        # Keep connections: opening one runs the PRAGMAs below, too slow to repeat per request.
        "CONN_MAX_AGE": env.int("CDP_DB_CONN_MAX_AGE", 600),
        "OPTIONS": {
            # WAL lets the web server read while the scheduler writes; IMMEDIATE takes the
            # write lock at BEGIN so concurrent writers wait (busy timeout) instead of failing.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": env.int("CDP_SQLITE_BUSY_TIMEOUT_SECONDS", 20),
            "transaction_mode": "IMMEDIATE",
        },
    }
