"""A 200 means stored: whatever the loader or an engine could not store is refused at the door, one
call at a time, by field; the good calls around it are kept and every accepted call loads."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from lakehouse.statements import Statement
from tenancy.roles import Role
from tests.tracking.helpers import loaded, send
from tracking.loader import load_inbox
from tracking.services import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
COUNT = Statement("test.lost.count", "SELECT COUNT(*) AS n, COUNT(DISTINCT message_id) AS ids FROM {events} WHERE tenant_id = :tenant_id")


def _nested(depth: int):
    value: object = "bottom"
    for _ in range(depth):
        value = {"level": value}
    return value


# One call past each limit of the loader and the engines, and what the door says of it.
PAST_A_LIMIT = {
    "nests 600 levels": ({"type": "track", "event": "Deep", "userId": "u1", "properties": {"x": _nested(600)}}, "properties.x", "levels"),
    "nests 101 levels": ({"type": "track", "event": "Deep", "userId": "u1", "properties": _nested(101)}, "properties.level", "levels"),
    "a NUL": ({"type": "track", "event": "Nul", "userId": "u1", "properties": {"note": "a\x00b"}}, "properties.note", "NUL"),
    "a lone surrogate": ({"type": "identify", "userId": "u1", "traits": {"name": "\ud800"}}, "traits.name", "surrogate"),
    "over 32 KB": ({"type": "track", "event": "Big", "userId": "u1", "properties": {"blob": "x" * 40_000}}, "", "KB"),
}
# Values every store holds, accepted and loaded (they once failed the load after a 200).
STORABLE = [
    {"type": "identify", "userId": "u2", "traits": {"account": 10 ** 400, "nested": _nested(98)}},  # 100 levels with the call and traits
    {"type": "track", "event": "Nested", "userId": "u2", "properties": _nested(99)},
]


@pytest.mark.parametrize("name", sorted(PAST_A_LIMIT))
def test_one_call_past_a_limit_is_refused_by_field_and_its_batch_loads(lakehouse, tenant_a, name):
    bad, field, words = PAST_A_LIMIT[name]
    good = [{"type": "track", "event": "Fine", "userId": "u1", "messageId": f"ok-{i}"} for i in range(3)]
    calls = [good[0], {**bad, "messageId": "bad"}, good[1], *[{**c, "messageId": f"st-{i}"} for i, c in enumerate(STORABLE)], good[2]]
    body = json.dumps({"batch": calls}, ensure_ascii=True).encode()
    result = ingest(tenant=tenant_a.ref, body=body)
    assert result.accepted == 5 and len(result.rejected) == 1
    [error] = result.rejected[0].errors
    assert error["field"] == (f"batch[1].{field}" if field else "batch[1]") and words in error["message"], error
    loaded_now = load_inbox()
    assert loaded_now.set_aside == 0 and loaded_now.calls == 5
    assert lakehouse.execute(COUNT, {"tenant_id": tenant_a.slug}).first() == {"n": 5, "ids": 5}


def test_an_integer_too_long_to_read_is_a_400_not_a_500(sdk, api_as, tenant_a):
    body = '{"batch": [{"type": "track", "event": "E", "userId": "u", "properties": {"n": ' + "9" * 5000 + "}}]}"
    answer = sdk.post("/api/v1/batch", body)
    assert answer.status_code == 400 and "digits" in answer.json()["detail"]
    created = api_as(tenant_a, Role.EDITOR).post("/api/customers", {"user_id": "big", "traits": {"account": 10 ** 400}})
    assert created.status_code == 201
    assert {t["key"]: t["value"] for t in created.json()["traits"]}["account"] == 10 ** 400


def test_a_set_aside_batch_gives_up_its_message_ids_so_a_resend_is_accepted_and_loads(lakehouse, tenant_a, broken):
    batch, _ = broken  # a-2 could not load
    load_inbox()
    again = send(tenant_a, "a-2")  # the SDK sends it again
    assert again.calls == 1, "not dropped as a duplicate of a call that was never stored"
    assert load_inbox().calls == 1
    assert loaded(lakehouse, tenant_a) == ["a-1", "a-2"]


def test_an_import_whose_rows_exceed_a_batch_in_bytes_loads_every_row(tmp_path, tenant_a, lakehouse):
    path = tmp_path / "customers.jsonl"
    path.write_text("".join(json.dumps({"user_id": f"u{i}", "bio": "x" * 1200}) + "\n" for i in range(600)))
    out = io.StringIO()
    call_command("cdp_import", str(path), "--tenant", tenant_a.slug, stdout=out, stderr=io.StringIO(), verbosity=0)
    assert "600 row(s): 600 accepted, 0 already known" in out.getvalue(), out.getvalue()
    assert lakehouse.execute(COUNT, {"tenant_id": tenant_a.slug}).first()["ids"] == 600


def test_an_import_group_refused_whole_reports_every_one_of_its_rows(tenant_a, monkeypatch):
    from kernel.errors import PayloadTooLarge
    from tracking import imports

    def too_large(**kwargs):
        raise PayloadTooLarge("The request body is too large.")

    monkeypatch.setattr(imports, "ingest", too_large)
    report = imports.import_rows(tenant=tenant_a.ref, rows=iter([{"user_id": "u1"}, {"user_id": "u2"}]), kind="customers")
    assert [(e.row, e.message) for e in report.errors] == [(1, "The request body is too large."), (2, "The request body is too large.")]


def test_an_alias_names_a_user_seen_earlier_in_the_same_load(lakehouse, tenant_a, api_as):
    calls = [{"type": "identify", "userId": "old-name", "messageId": "i1", "timestamp": "2026-01-01T10:00:00Z"},
             {"type": "alias", "previousId": "old-name", "userId": "new-name", "messageId": "a1", "timestamp": "2026-01-01T10:01:00Z"}]
    ingest(tenant=tenant_a.ref, body=json.dumps({"batch": calls}).encode())
    load_inbox()
    api = api_as(tenant_a, Role.VIEWER)
    assert api.get("/api/identity/resolve?type=anonymous_id&value=old-name").status_code == 404, "old-name is a user id"
    conflicts = api.get("/api/identity/conflicts").json()["items"]
    assert [(c["a_value"], c["b_value"], c["reason"]) for c in conflicts] == [("new-name", "old-name", "different user_id")] or \
           [(c["b_value"], c["a_value"], c["reason"]) for c in conflicts] == [("new-name", "old-name", "different user_id")], \
           "under the default rules two user ids conflict rather than merge"
