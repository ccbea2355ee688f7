"""PostgreSQL backend for Databricks Lakebase: the password of each new connection is a current
OAuth token (cdp_site/lakebase/credentials.py, cached until shortly before it expires)."""
from __future__ import annotations

from django.db.backends.postgresql import base as postgresql

from cdp_site.lakebase.credentials import lakebase_credentials


def lakebase_password() -> str:
    return lakebase_credentials().password()


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["password"] = lakebase_password()
        return params
