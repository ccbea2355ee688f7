"""PostgreSQL backend for Databricks Lakebase: a fresh OAuth token is the password of each new connection."""
from __future__ import annotations

from django.db.backends.postgresql import base as postgresql


def lakebase_password() -> str:
    """An OAuth access token for the app's identity, from databricks-sdk unified auth.

    The SDK caches the token and refreshes it before expiry, so asking per connection is cheap.
    """
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient().config.oauth_token().access_token


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["password"] = lakebase_password()
        return params
