"""One role table for the API and the console: every route names an area of it, the docs print
it, and the same work asks for the same role on both sides."""
from __future__ import annotations

import re
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

from cdp_site.api import api
from tenancy.auth import IngestAuth, PrincipalAuth, TenantAuth
from tenancy.roles import ROLE_TABLE

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"
# Console routes that are not pages of an area: signing in and out, choosing a tenant.
# Pages for people not signed in yet (or signing out): no tenant, so no area of the role table.
CONSOLE_WITHOUT_AREA = {"console:login", "console:logout", "console:tenant-switch", "console:forgot-password",
                        "console:forgot-password-sent", "console:set-password",
                        "messaging:unsubscribe", "messaging:preferences", "messaging:open", "messaging:click",  # public: the signed link in a message is the authority
                        "messaging:feedback"}  # public: the provider authenticates with the channel's credentials


def _api_operations():
    for bound in api._get_bound_routers():
        for path, view in bound.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    yield f"{method} " + re.sub(r"/+", "/", f"/api/{bound.prefix}/{path}"), operation.auth_callbacks


def _console_views(patterns=None, prefix="", namespace=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith(("api/", "admin/")):
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _console_views(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), entry.callback


def test_the_docs_print_the_role_table():
    rows = re.findall(r"^\| `([a-z-]+)` \| (\w+) \| (\w+) \| (.+) \|$", DOCS.read_text(), re.M)
    assert {area: (read, write, covers) for area, read, write, covers in rows} == ROLE_TABLE


def test_every_api_operation_names_an_area_or_is_ingestion():
    seen = 0
    for operation, callbacks in _api_operations():
        for callback in callbacks:
            assert isinstance(callback, (TenantAuth, IngestAuth, PrincipalAuth)), operation
            if isinstance(callback, TenantAuth):
                assert callback.area in ROLE_TABLE, operation
                seen += 1
    assert seen > 40


def test_every_console_page_names_an_area():
    pages = [(name, route, view) for name, route, view in _console_views() if name not in CONSOLE_WITHOUT_AREA
             and not name.startswith(("health", "api"))]
    assert len(pages) > 20
    for name, route, view in pages:
        assert getattr(view, "cdp_area", None) in ROLE_TABLE, (name, route)


def test_the_same_work_asks_for_the_same_role_in_the_api_and_the_console():
    api_areas = {}
    for operation, callbacks in _api_operations():
        for callback in callbacks:
            if isinstance(callback, TenantAuth):
                api_areas[operation] = callback.area
    console_areas = {name: view.cdp_area for name, _, view in _console_views() if hasattr(view, "cdp_area")}
    same_work = [
        ("POST /api/identity/runs", "identity:run"),
        ("PUT /api/identity/rules", "identity:rules"),
        ("POST /api/identity/rules/preview", "identity:rules"),
        ("POST /api/identity/customers/{cdp_id}/unmerge", "identity:unmerge"),
        ("POST /api/members", "tenancy:members"),
        ("POST /api/members/{member_id}/password-link", "tenancy:member-password-link"),
        ("POST /api/identity/blocks/{block_id}/unblock", "identity:unblock"),
        ("GET /api/customers/", "customers:export"),
        ("PATCH /api/customers/computed-traits/{trait_id}", "customers:computed-trait"),
        ("DELETE /api/api-keys/{key_pk}", "tenancy:key-revoke"),
        ("GET /api/audit", "tenancy:audit"),
        ("POST /api/operations/inbox/retry", "operations:retry_inbox"),
        ("POST /api/customers/{cdp_id}/erase", "customers:erase"),
    ]
    for operation, page in same_work:
        assert api_areas[operation] == console_areas[page], (operation, page)
