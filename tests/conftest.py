"""Shared fixtures: tenants with people and keys, and an API client that speaks with credentials."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import pytest
import tqdm
from django.test import Client
from django.test.client import ClientHandler

from cdp_site.handlers import ApiMiddlewareMixin, is_token_api_call
from tenancy import services
from tenancy.roles import Role
from tenancy.types import TenantRef

# tqdm's monitor thread outlives the test run and dies noisily at interpreter exit.
tqdm.tqdm.monitor_interval = 0

pytest_plugins = ["tests.servers", "tests.browser"]


@dataclass
class TenantFixture:
    ref: TenantRef
    keys: dict[str, str] = field(default_factory=dict)  # role -> API key secret
    write_key: str = ""

    @property
    def slug(self) -> str:
        return self.ref.slug


def make_tenant(slug: str) -> TenantFixture:
    ref = services.tenant_create(slug=slug, name=f"{slug.title()} Inc", actor="test")
    fixture = TenantFixture(ref=ref)
    for role in Role.values:
        _, fixture.keys[role] = services.api_key_create(tenant=ref, name=f"{slug}-{role}-key", role=role, actor="test")
    _, fixture.write_key = services.write_key_create(tenant=ref, name=f"{slug}-write-key", actor="test")
    return fixture


@pytest.fixture
def tenant_a(db) -> TenantFixture:
    return make_tenant("alpha")


@pytest.fixture
def tenant_b(db) -> TenantFixture:
    return make_tenant("bravo")


class _ApiClientHandler(ApiMiddlewareMixin, ClientHandler):
    pass


class _RoutingClientHandler:
    """Routes as cdp_site.handlers.Application does, so API tests run the chain production runs."""

    def __init__(self, enforce_csrf_checks: bool = False):
        self.full, self.api = ClientHandler(enforce_csrf_checks), _ApiClientHandler(enforce_csrf_checks)

    def __call__(self, environ):
        return (self.api if is_token_api_call(environ) else self.full)(environ)


class SiteClient(Client):
    """The Django test client routing requests like the WSGI application (cdp_site/handlers.py)."""

    def __init__(self, enforce_csrf_checks: bool = False, **kwargs):
        super().__init__(enforce_csrf_checks, **kwargs)
        self.handler = _RoutingClientHandler(enforce_csrf_checks)


class ApiClient:
    """The test client with a bearer token and tenant header, JSON in and out."""

    def __init__(self, token: str | None = None, tenant: str | None = None, **headers):
        self.client = SiteClient()
        self.headers = dict(headers)
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if tenant:
            self.headers["X-Tenant-ID"] = tenant

    @classmethod
    def for_write_key(cls, write_key: str) -> ApiClient:
        """A client authenticating the way Segment SDKs do: HTTP Basic, write key as user name."""
        return cls(Authorization="Basic " + base64.b64encode(f"{write_key}:".encode()).decode())

    def request(self, method: str, path: str, body=None, **headers):
        kwargs = {"headers": {**self.headers, **headers}}
        if body is None and method.upper() in ("POST", "PUT", "PATCH"):
            body = b""  # an empty body, as HTTP clients send for a bodiless POST
        if body is not None:
            kwargs["data"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
            kwargs["content_type"] = headers.pop("content_type", "application/json")
        return getattr(self.client, method.lower())(path, **kwargs)

    def get(self, path, **headers):
        return self.request("GET", path, **headers)

    def post(self, path, body=None, **headers):
        return self.request("POST", path, body if body is not None else {}, **headers)

    def patch(self, path, body=None, **headers):
        return self.request("PATCH", path, body if body is not None else {}, **headers)

    def put(self, path, body=None, **headers):
        return self.request("PUT", path, body if body is not None else {}, **headers)

    def delete(self, path, **headers):
        return self.request("DELETE", path, **headers)


@pytest.fixture
def console_as(tenant_a):
    """A signed-in console client for tenant A with the given role (the Django test client: no JavaScript)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from tenancy import services

    def build(role: str = Role.ADMIN) -> Client:
        services.member_set(tenant=tenant_a.ref, email=f"{role}@example.com", role=role, actor="test", password="pw-long-enough-1")
        client = Client()
        client.force_login(get_user_model().objects.get(username=f"{role}@example.com"))
        return client

    return build


@pytest.fixture
def sdk(tenant_a) -> ApiClient:
    """Tenant A's SDK: its write key over HTTP Basic."""
    return ApiClient.for_write_key(tenant_a.write_key)


@pytest.fixture
def api_as():
    def build(tenant: TenantFixture, role: str = Role.ADMIN) -> ApiClient:
        return ApiClient(token=tenant.keys[role], tenant=tenant.slug)

    return build


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can react to a failed test (screenshots)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


def pytest_collection_modifyitems(config, items):
    """The second pass (CDP_TEST_DATABASE=postgres) is about the operational database: a test that
    never opens it ran the same way in the first pass, so it is left out of the second."""
    import os

    if os.environ.get("CDP_TEST_DATABASE") != "postgres":
        return
    keep, drop = [], []
    for item in items:
        uses_database = item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        (keep if uses_database else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request):
    """CDP_TEST_DATABASE=postgres runs the operational database on the real PostgreSQL server."""
    import os

    if os.environ.get("CDP_TEST_DATABASE") != "postgres":
        return
    from django.db import connections

    server = request.getfixturevalue("postgres_server")
    config = connections.settings["default"]
    config.clear()
    config.update({
        "ENGINE": "django.db.backends.postgresql", "NAME": "cdp", "USER": server.user, "PASSWORD": "",
        "HOST": server.host, "PORT": str(server.port), "OPTIONS": {}, "TIME_ZONE": None, "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False,
        "TEST": {"NAME": "cdp_test", "MIRROR": None, "CHARSET": None, "COLLATION": None, "MIGRATE": True, "DEPENDENCIES": []},
    })
    del connections["default"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, with the lakehouse tables of the embedded engine made once for the
    session (committed, outside any test's transaction): made per test, inside its transaction,
    they cost a tenth of a second a test on PostgreSQL, most of the suite's second pass."""
    import os

    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("lakehouse", "migrate", verbosity=0, stdout=open(os.devnull, "w"))


@pytest.fixture
def receiver(settings):
    """A webhook receiver on loopback (tests.messaging.receivers), for messaging's channels and
    journeys' webhook actions; private targets allowed for it."""
    from tests.messaging.receivers import Receiver

    settings.CDP_WEBHOOK_ALLOW_PRIVATE = True
    with Receiver() as server:
        yield server


@pytest.fixture
def lakehouse_unmigrated(db, request):
    """The embedded lakehouse as before `lakehouse migrate`: its tables dropped inside the test's
    transaction, so the rollback brings them back (DDL is transactional on SQLite and PostgreSQL);
    a transactional test commits the drop, so it migrates again afterwards."""
    import os

    from django.core.management import call_command

    from lakehouse import get_engine
    from lakehouse.schema import SCHEMA_VERSIONS, TABLES

    engine = get_engine()
    for table in [*TABLES, SCHEMA_VERSIONS]:
        engine.execute(f"DROP TABLE IF EXISTS {engine.qualify(table.name)}")
    yield engine
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        call_command("lakehouse", "migrate", verbosity=0, stdout=open(os.devnull, "w"))


@pytest.fixture
def lakehouse(db, request):
    """The lakehouse tables on the embedded engine (made once, by django_db_setup); each test's
    rows roll back with its transaction. Transactional tests commit for real, and these tables are
    not Django models that the test runner flushes: their rows are removed afterwards, so no later
    test sees them."""
    from lakehouse import get_engine
    from lakehouse.schema import TABLES

    engine = get_engine()
    yield engine
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        for table in TABLES:
            engine.execute(f"DELETE FROM {engine.qualify(table.name)}")


@pytest.fixture(autouse=True)
def _own_mailbox(settings, tmp_path):
    """Each test gets its own local mailbox: mail another test sent (or `make run` left in .data) must
    not show on this test's Mailbox page, and tests must not write into the developer's mailbox."""
    settings.CDP_MAILBOX_DIR = str(tmp_path / "mailbox")


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches outlive a test's rolled-back rows (ids are reused); start each test clean."""
    from customers import privacy
    from tenancy.keycache import key_cache_clear
    from tracking import debugger

    privacy._cache.clear()
    key_cache_clear()
    debugger._watched.clear()
    yield
