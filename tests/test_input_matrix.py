"""Hostile input on every API operation: wrong types, huge and odd strings, bad paging, odd path
values. Whatever is sent, the answer is a 2xx or a 4xx problem, never a 500 (a 500 is a bug).

Walks the OpenAPI schema, so operations added later are covered without being listed."""
from __future__ import annotations

import json

import pytest

from cdp_site.api import api
from tenancy.roles import Role
from tests.isolation_registry import FACTORIES
from tests.openapi_walk import _resolve, operations

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

OPERATIONS = [op for op in operations() if not op.is_ingestion]
ODD_STRINGS = ["", " ", "a\x00b", "x\ud800", "x" * 20_000, "\u202eevil", "😀" * 50, "a'b\"c;--", "%", "_", "\\", "null", "0"]
ODD_VALUES = [None, 0, -1, 10**30, 1.5, True, [], {}, ["x"], {"a": {"b": {"c": [1, {"d": None}]}}}]
PATH_VALUES = ["999999", "-1", "0", "x" * 2000, "%F0%9F%98%80", "a%2Fb", "..", "1.5"]
QUERIES = ["limit=0", "limit=-1", "limit=abc", "limit=100000", "offset=-5", "offset=99999999999999999999", "offset=abc", "q=" + "x" * 5000, "q=%25%5F%5C",
           "trait=:", "trait=a:b:c", "trait=" + "k" * 300 + ":v", "type=&value=", "type=email&value=" + "v" * 3000]


def _fields(op) -> list[str]:
    """Every property of the operation's JSON body, optional ones too."""
    spec = api.get_openapi_schema()
    content = spec["paths"][op.path][op.method].get("requestBody", {}).get("content", {})
    schema = _resolve(content["application/json"]["schema"], spec) if "application/json" in content else {}
    return list(schema.get("properties", {}))


def _bodies(op):
    """The valid minimal body with each field, optional ones too, in turn set to odd values; and
    odd whole bodies."""
    yield from ([], "text", 7, None, {"unexpected": 1})
    if not isinstance(op.body, dict):
        return
    yield {**op.body, "extra_field": "ignored or refused"}
    for name in _fields(op):
        for value in ODD_STRINGS + ODD_VALUES:
            yield {**op.body, name: value}


def _problems(client, method, url, body=None):
    data = None if body is None else json.dumps(body)
    response = client.request(method, url, data if data is not None else (b"" if method in ("post", "put", "patch") else None))
    if response.status_code >= 500:
        return [f"{method.upper()} {url} {(data or '')[:120]} -> {response.status_code}"]
    if response.status_code >= 400 and response["Content-Type"] != "application/problem+json":
        return [f"{method.upper()} {url} -> {response.status_code} without problem details"]
    return []


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_no_input_gets_a_500(op, tenant_a, api_as):
    client = api_as(tenant_a, Role.ADMIN)
    factory = FACTORIES.get(op.path)
    values = factory(tenant_a) if factory else {name: 999999 for name in op.params}
    url = op.url(values)
    failures = []
    for query in QUERIES:
        failures += _problems(client, op.method, f"{url}?{query}", op.body)
    if op.body is not None:
        for body in _bodies(op):
            failures += _problems(client, op.method, url, body)
    for name in op.params:
        for odd in PATH_VALUES:
            failures += _problems(client, op.method, op.url({**values, name: odd}), op.body)
    assert not failures, "\n".join(failures[:20])
