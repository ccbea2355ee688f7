"""The API keeps the contract its OpenAPI document states, checked by a property-based fuzzer
(schemathesis) against the live test server with real credentials: for every operation, generated
valid and invalid requests get no 5xx, only documented status codes and content types, and bodies
that match the documented schemas (problem documents included)."""
from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cdp_site.api import api
from tenancy.roles import Role
from tests.conftest import ApiClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def credentials(tenant_a, settings):
    """An admin key of a tenant holding a customer, and its write key; no rate limit in the way."""
    settings.CDP_API_RATE_LIMIT_PER_MINUTE = 0
    settings.CDP_INGEST_RATE_LIMIT_PER_SECOND = 0
    ApiClient(token=tenant_a.keys[Role.ADMIN]).post("/api/customers", {"user_id": "u-1", "traits": {"plan": "pro"}})
    return {
        "TenantAuth": {"Authorization": f"Bearer {tenant_a.keys[Role.ADMIN]}", "X-Tenant-ID": tenant_a.slug},
        "PrincipalAuth": {"Authorization": f"Bearer {tenant_a.keys[Role.ADMIN]}"},
        "IngestAuth": {"Authorization": "Basic " + base64.b64encode(f"{tenant_a.write_key}:".encode()).decode()},
        None: {},
    }


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_keeps_its_documented_contract(case, live_server, credentials):
    security = case.operation.definition.raw.get("security") or [{}]
    scheme = next(iter(security[0]), None)
    case.call_and_validate(base_url=live_server.url, headers=credentials[scheme], checks=CHECKS)


def test_every_operation_lists_the_problems_its_shape_can_give():
    document = api.get_openapi_schema()
    assert document["components"]["responses"]["Problem422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "429"} <= codes, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert {"404", "422"} <= codes, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= codes, (method, path)
            if {"TenantAuth": []} in (operation.get("security") or []):
                assert any(p["name"] == "X-Tenant-ID" for p in operation["parameters"]), (method, path)
            assert len(operation.get("tags", [])) == len(set(operation.get("tags", []))), (method, path)
