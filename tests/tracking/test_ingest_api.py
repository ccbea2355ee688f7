"""The tracking API: what Segment's HTTP API accepts is accepted once; bad input gets a 4xx naming the field."""
from __future__ import annotations

import gzip
import json
from datetime import UTC

import pytest

from tenancy.roles import Role
from tests.conftest import ApiClient
from tests.tracking.helpers import inbox_calls

pytestmark = pytest.mark.django_db


def track(n=1, **extra):
    return {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": f"m-{n}", "properties": {"revenue": n}, **extra}


def stored(tenant) -> list[str]:
    return sorted(call["messageId"] for call in inbox_calls(tenant.ref.id))


def test_batch_is_stored_once_under_the_write_keys_tenant(sdk, tenant_a, tenant_b):
    response = sdk.post("/api/v1/batch", {"batch": [track(1), track(2)]})
    assert response.status_code == 200
    assert response.json() == {"success": True, "accepted": 2, "duplicates": 0, "suppressed": 0, "rejected": []}
    replay = sdk.post("/api/v1/batch", {"batch": [track(2), track(3), track(3)]}).json()
    assert (replay["accepted"], replay["duplicates"]) == (1, 2)
    assert stored(tenant_a) == ["m-1", "m-2", "m-3"] and stored(tenant_b) == []


@pytest.mark.parametrize("path, call", [
    ("/api/v1/identify", {"userId": "u1", "traits": {"email": "a@b.c"}}),
    ("/api/v1/track", {"userId": "u1", "event": "Signed Up"}),
    ("/api/v1/page", {"anonymousId": "a1", "name": "Home"}),
    ("/api/v1/screen", {"userId": 42, "name": "Settings"}),
    ("/api/v1/group", {"userId": "u1", "groupId": "g1", "traits": {"plan": "team"}}),
    ("/api/v1/alias", {"previousId": "a1", "userId": "u1"}),
])
def test_single_calls(sdk, tenant_a, path, call):
    assert sdk.post(path, call).status_code == 200
    [call] = inbox_calls(tenant_a.ref.id)
    assert call["type"] == path.rsplit("/", 1)[1]
    assert call["receivedAt"] and call["messageId"]


def test_gzip_bodies_are_accepted(sdk, tenant_a):
    body = gzip.compress(json.dumps({"batch": [track(1)]}).encode())
    response = sdk.request("POST", "/api/v1/batch", body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 200 and stored(tenant_a) == ["m-1"]


def test_clock_skew_is_corrected_from_sent_at():
    from datetime import datetime, timedelta

    from kernel.segment.calls import normalize_call

    received = datetime(2026, 6, 1, 12, 0, 10, tzinfo=UTC)
    # The client's clock is an hour fast: it stamped the event at 13:00:00 and sent it at 13:00:05.
    call = {"type": "track", "event": "x", "userId": "u", "originalTimestamp": "2026-06-01T13:00:00Z", "sentAt": "2026-06-01T13:00:05Z"}
    assert normalize_call(call, received_at=received).event_time == received - timedelta(seconds=5)
    historical = {"type": "track", "event": "x", "userId": "u", "timestamp": "2025-01-01T00:00:00+02:00"}
    assert normalize_call(historical, received_at=received).event_time == datetime(2024, 12, 31, 22, tzinfo=UTC)
    assert normalize_call({"type": "track", "event": "x", "userId": "u"}, received_at=received).event_time == received


def test_a_batch_with_some_invalid_calls_keeps_the_valid_ones_and_names_the_rest(sdk, tenant_a):
    body = {"batch": [track(1), {"type": "track", "userId": "u1", "messageId": "no-event"}, {"type": "teleport", "userId": "u"},
                      track(4, timestamp="yesterday")]}
    result = sdk.post("/api/v1/batch", body).json()
    assert result["accepted"] == 1 and stored(tenant_a) == ["m-1"]
    fields = [error["field"] for rejected in result["rejected"] for error in rejected["errors"]]
    assert fields == ["batch[1].event", "batch[2].type", "batch[3].timestamp"]
    assert result["rejected"][0]["messageId"] == "no-event"


@pytest.mark.parametrize("body, status, field", [
    ({"batch": [{"type": "track", "event": "x"}]}, 422, "batch[0].userId"),
    ({"batch": [{"type": "alias", "userId": "u"}]}, 422, "batch[0].previousId"),
    ({"batch": [{"type": "group", "userId": "u"}]}, 422, "batch[0].groupId"),
    ({"batch": [{"type": "track", "event": "x", "userId": {"nested": 1}}]}, 422, "batch[0].userId"),
    ({"batch": [{"type": "track", "event": "x", "userId": "u", "properties": [1, 2]}]}, 422, "batch[0].properties"),
    ({"batch": [{"type": "track", "event": 7, "userId": "u"}]}, 422, "batch[0].event"),
    ({"batch": ["not an object"]}, 422, "batch[0]"),
    ({"batch": "nope"}, 422, "batch"),
    ({"events": []}, 422, "batch"),
    # Times at the calendar's ends: an offset or a clock-skew correction past year 1 or 9999.
    ({"batch": [{"type": "track", "event": "x", "userId": "u", "timestamp": "0001-01-01T00:00:00+05:00"}]}, 422, "batch[0].timestamp"),
    ({"batch": [{"type": "track", "event": "x", "userId": "u", "timestamp": "0001-01-01T00:00:00Z",
                 "sentAt": "9999-12-31T23:59:59Z"}]}, 422, "batch[0].sentAt"),
])
def test_invalid_calls_get_a_problem_naming_the_field(sdk, tenant_a, body, status, field):
    response = sdk.post("/api/v1/batch", body)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert stored(tenant_a) == []


@pytest.mark.parametrize("raw, words", [
    (b'{"batch": [', "not valid JSON"),
    (b'{"batch": [{"type": "track", "event": "\xff"}]}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "too deeply"),
    (b'{"batch": []}', "empty"),
    (b'{"batch": [{"type": "track", "event": "x", "userId": "u", "properties": {"revenue": 1e400}}]}', "too large for a double"),
])
def test_malformed_bodies_are_400(sdk, raw, words):
    response = sdk.request("POST", "/api/v1/batch", raw)
    assert response.status_code in (400, 413), response.content
    assert words in response.json()["detail"]


def test_oversized_call_is_rejected_by_index_and_oversized_batch_is_413(sdk, tenant_a):
    big = track(2, properties={"blob": "x" * 40_000})
    result = sdk.post("/api/v1/batch", {"batch": [track(1), big]}).json()
    assert result["accepted"] == 1 and result["rejected"][0]["errors"][0]["field"] == "batch[1]"
    assert "32 KB" in result["rejected"][0]["errors"][0]["message"]
    huge = {"batch": [track(n, properties={"blob": "y" * 20_000}) for n in range(30)]}
    response = sdk.post("/api/v1/batch", huge)
    assert response.status_code == 413 and "500 KB" in response.json()["detail"]
    bomb = gzip.compress(json.dumps({"batch": [track(n, properties={"z": "0" * 30_000}) for n in range(40)]}).encode())
    assert sdk.request("POST", "/api/v1/batch", bomb, **{"Content-Encoding": "gzip"}).status_code == 413
    assert stored(tenant_a) == ["m-1"]


@pytest.mark.parametrize("odd, words", [
    ("a\x00b", "NUL character"),  # PostgreSQL text cannot hold one
    ("x\ud800", "lone UTF-16 surrogate"),  # not a character: no UTF-8 for it
])
def test_a_call_holding_text_that_cannot_be_stored_is_rejected_by_field_and_the_others_kept(sdk, tenant_a, odd, words):
    body = json.dumps({"batch": [track(1, properties={"note": odd}), track(2, properties={"emoji": "😀"})]})  # ASCII-only, as SDKs send
    result = sdk.request("POST", "/api/v1/batch", body).json()
    assert result["accepted"] == 1 and result["rejected"][0]["errors"][0]["field"] == "batch[0].properties.note"
    assert words in result["rejected"][0]["errors"][0]["message"]
    assert stored(tenant_a) == ["m-2"]
    lone = sdk.request("POST", "/api/v1/track", json.dumps(track(3, event=odd)))
    assert lone.status_code == 422 and lone.json()["errors"][0]["field"] == "event"


def test_nan_and_bad_gzip_are_4xx(sdk):
    nan = sdk.request("POST", "/api/v1/track", b'{"userId": "u", "event": "x", "properties": {"v": NaN}}')
    assert nan.status_code == 400 and "NaN" in nan.json()["detail"]
    assert sdk.request("POST", "/api/v1/batch", b"not gzip", **{"Content-Encoding": "gzip"}).status_code == 400


class TestIngestionAuth:
    def test_an_editors_api_key_may_send_events(self, tenant_a, api_as, tenant_b):
        assert api_as(tenant_a, Role.EDITOR).post("/api/v1/track", {"userId": "u", "event": "x"}).status_code == 200
        assert api_as(tenant_a, Role.VIEWER).post("/api/v1/track", {"userId": "u", "event": "x"}).status_code == 403

    def test_a_write_key_cannot_pick_another_tenant(self, sdk, tenant_b):
        response = sdk.post("/api/v1/track", {"userId": "u", "event": "x"}, **{"X-Tenant-ID": tenant_b.slug})
        assert response.status_code == 403 and stored(tenant_b) == []

    def test_unknown_or_revoked_write_keys_are_401(self, tenant_a, api_as):
        assert ApiClient.for_write_key("cdp_wk_nope").post("/api/v1/track", {}).status_code == 401
        assert ApiClient().post("/api/v1/batch", {"batch": []}).status_code == 401


def test_a_wrongly_typed_event_name_says_its_type(tenant_a):
    client = ApiClient.for_write_key(tenant_a.write_key)
    for sent, said in ((["Signed Up"], "not an array"), (42, "not a number"), ({"name": "x"}, "not an object")):
        response = client.post("/api/v1/track", {"userId": "u1", "event": sent, "messageId": f"m-{said}"})
        assert response.status_code == 422, sent
        errors = response.json()["errors"]
        assert errors[0]["field"] == "event" and "must be a string" in errors[0]["message"] and said in errors[0]["message"]
    missing = client.post("/api/v1/track", {"userId": "u1", "messageId": "m-none"}).json()["errors"][0]
    assert missing["message"] == "track needs an event name"
