"""The Lakebase password: a short-lived OAuth token, fetched once and reused until shortly before
it expires, by the app and by jobs alike.

- In a Databricks App the app's service principal has OAuth M2M credentials, and its access token
  is the password (`WorkspaceClient().config.oauth_token()`).
- In a job (serverless or not) runtime authentication has no OAuth token to hand out unless scopes
  are set, so `oauth_token()` raises; the database credential API is the documented way there:
  `w.database.generate_database_credential(instance_names=[...])`. `CDP_LAKEBASE_INSTANCE`
  (set by the job's runner from `--lakebase`) selects it.

One `WorkspaceClient` per process, not one per connection: the SDK's credential chain (and its
token cache) is built once.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

REFRESH_BEFORE_SECONDS = 300  # a connection opened now must not outlive its password by much
_DEFAULT_LIFETIME_SECONDS = 3600  # what Lakebase tokens live when the answer does not say


@dataclass
class _Token:
    value: str
    expires_at: float  # epoch seconds


class LakebaseCredentials:
    def __init__(self, *, client_factory: Callable[[], object] | None = None, instance: str | None = None,
                 clock: Callable[[], float] = time.time):
        self._client_factory = client_factory
        self._client = None
        self.instance = instance
        self._clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return "database-credential" if self.instance else "app-oauth"

    def password(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is None or self._token.expires_at - now < REFRESH_BEFORE_SECONDS:
                self._token = self._fetch(now)
            return self._token.value

    def _workspace(self):
        if self._client is None:
            if self._client_factory is None:
                from databricks.sdk import WorkspaceClient

                self._client_factory = WorkspaceClient
            self._client = self._client_factory()
        return self._client

    def _fetch(self, now: float) -> _Token:
        client = self._workspace()
        if self.instance:
            credential = client.database.generate_database_credential(request_id=str(uuid.uuid4()), instance_names=[self.instance])
            return _Token(credential.token, _epoch(credential.expiration_time, now))
        token = client.config.oauth_token()
        expires = token.expiry.timestamp() if token.expiry else now + _DEFAULT_LIFETIME_SECONDS
        return _Token(token.access_token, expires)


def _epoch(expiration: str | None, now: float) -> float:
    if not expiration:
        return now + _DEFAULT_LIFETIME_SECONDS
    return datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp()


_credentials: LakebaseCredentials | None = None
_made = threading.Lock()


def lakebase_credentials() -> LakebaseCredentials:
    """This process's credentials (the instance, if any, read from CDP_LAKEBASE_INSTANCE once)."""
    global _credentials
    with _made:
        if _credentials is None:
            _credentials = LakebaseCredentials(instance=os.environ.get("CDP_LAKEBASE_INSTANCE") or None)
        return _credentials
