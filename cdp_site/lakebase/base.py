"""PostgreSQL backend for Databricks Lakebase: the password of each new connection is a current
OAuth token (cdp_site/lakebase/credentials.py, cached until shortly before it expires), and the
app's tables live in a schema it creates and owns (`CDP_LAKEBASE_SCHEMA`, first on search_path)."""
from __future__ import annotations

import re

from django.db.backends.postgresql import base as postgresql

from cdp_site.lakebase.credentials import lakebase_credentials

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def lakebase_password() -> str:
    return lakebase_credentials().password()


class DatabaseWrapper(postgresql.DatabaseWrapper):
    _schema_ready = False  # per process: the schema exists once created

    def get_connection_params(self):
        params = super().get_connection_params()
        params["password"] = lakebase_password()
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        schema = self.settings_dict.get("CDP_SCHEMA")
        if schema and not DatabaseWrapper._schema_ready:
            if not _IDENTIFIER.match(schema):
                raise ValueError(f"CDP_LAKEBASE_SCHEMA must be a lower-case identifier, not {schema!r}")
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            if not connection.autocommit:
                connection.commit()
            DatabaseWrapper._schema_ready = True
        return connection
