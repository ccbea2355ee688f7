"""Two tenants, every endpoint, every method: another tenant's ids answer 404 and nothing leaks.

Operations come from the OpenAPI schema, so endpoints added later join this matrix by themselves.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.isolation_registry import FACTORIES, QUERIES, markers
from tests.openapi_walk import operations

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

OPERATIONS = operations()
WITH_IDS = [op for op in OPERATIONS if op.params and not op.is_ingestion]
LISTS = [op for op in OPERATIONS if op.method == "get" and not op.params and not op.required_query and not op.is_ingestion]
LOOKUPS = [op for op in OPERATIONS if not op.params and op.required_query and not op.is_ingestion]


def _snapshot(client, tenant) -> str:
    """Everything the owner can read through its list endpoints, to detect any change."""
    bodies = {}
    for op in LISTS:
        response = client.get(op.url({}) + "?limit=500")
        if response.status_code == 200:
            body = response.json()
            for item in body.get("items", []) if isinstance(body, dict) else []:
                item.pop("last_used_at", None)
            bodies[op.path] = body
    return json.dumps(bodies, sort_keys=True, default=str)


def test_every_operation_with_ids_has_a_factory():
    missing = sorted({op.path for op in WITH_IDS} - set(FACTORIES)) + sorted({op.path for op in LOOKUPS} - set(QUERIES))
    assert not missing, f"Add factories (or QUERIES) to tests/isolation_registry.py for: {missing}"


@pytest.mark.parametrize("op", LOOKUPS, ids=str)
def test_lookups_do_not_find_another_tenants_objects(op, tenant_a, tenant_b, api_as):
    query = QUERIES[op.path](tenant_a)
    assert api_as(tenant_a).request(op.method, f"{op.path}?{urlencode(query)}").status_code == 200
    response = api_as(tenant_b).request(op.method, f"{op.path}?{urlencode(query)}")
    assert response.status_code == 404, f"{op}: {response.status_code}"
    # The answer may repeat the caller's own query, but nothing of tenant A's object.
    text = response.content.decode()
    for marker in markers(tenant_a):
        assert marker not in text.replace(query.get("value", "\0"), ""), f"{op} leaked {marker!r}"


@pytest.mark.parametrize("op", WITH_IDS, ids=str)
def test_other_tenants_ids_answer_404_and_change_nothing(op, tenant_a, tenant_b, api_as):
    owner, intruder = api_as(tenant_a), api_as(tenant_b)
    values = FACTORIES[op.path](tenant_a)
    _snapshot(owner, tenant_a)
    before = _snapshot(owner, tenant_a)
    response = intruder.request(op.method, op.url(values), op.body)
    assert response.status_code == 404, f"{op} as another tenant gave {response.status_code}: {response.content[:300]}"
    assert response["Content-Type"] == "application/problem+json"
    for marker in markers(tenant_a):
        assert marker not in response.content.decode(), f"{op} leaked {marker!r}"
    assert _snapshot(owner, tenant_a) == before, f"{op} from another tenant changed tenant A's data"


def test_lists_never_show_another_tenants_objects(tenant_a, tenant_b, api_as):
    """Every list endpoint as tenant B, with one of each of tenant A's objects made once (made per
    endpoint, this cost two minutes of the suite on PostgreSQL); every leak is reported at once."""
    for _path, factory in FACTORIES.items():
        factory(tenant_a)
    intruder, problems = api_as(tenant_b), []
    for op in LISTS:
        response = intruder.get(op.url({}) + "?limit=500")
        if response.status_code != 200:
            problems.append(f"{op}: {response.status_code} {response.content[:300]}")
            continue
        text = response.content.decode()
        problems += [f"{op} as tenant B shows {marker!r}" for marker in markers(tenant_a) if marker in text]
    assert len(LISTS) > 20 and problems == []  # the walk found the list endpoints, and none leaked


def test_tenant_header_naming_a_tenant_one_does_not_belong_to_is_refused(tenant_a, tenant_b, api_as):
    client = api_as(tenant_b)
    response = client.get("/api/members", **{"X-Tenant-ID": tenant_a.slug})
    assert response.status_code == 403
    nonexistent = client.get("/api/members", **{"X-Tenant-ID": "no-such-tenant"})
    # The same answer whether or not the tenant exists: the header reveals nothing.
    assert nonexistent.status_code == 403
    assert nonexistent.json()["detail"].replace("no-such-tenant", tenant_a.slug) == response.json()["detail"]
