"""Whatever a tracking call carries, ingestion answers 2xx or a 4xx naming the field, and every
call it accepts loads: nothing accepted is set aside later."""
from __future__ import annotations

import json

import pytest

from tracking.loader import load_inbox
from tracking.models import InboxBatch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

ODD = ["", " ", "a\x00b", "x\ud800", "x" * 5_000, "\u202eevil", "😀" * 40, "a'b\"c;--", "%_\\", "null", "undefined", "0", "-1",
       None, 0, -1, 10**30, 1.5, -0.0, True, [], {}, ["x"], {"a": {"b": [1, {"c": None}]}}, "2026-13-45T99:00:00Z",
       "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "+1 (555) 010-9999", "Ada@Example.COM"]
FIELDS = ["type", "messageId", "userId", "anonymousId", "event", "name", "groupId", "previousId", "timestamp",
          "originalTimestamp", "sentAt", "properties", "traits", "context", "integrations"]
BASE = {"identify": {"type": "identify", "userId": "u-1", "anonymousId": "a-1", "traits": {"email": "u1@example.com"}},
        "track": {"type": "track", "event": "Viewed", "userId": "u-1", "properties": {"revenue": 5}},
        "alias": {"type": "alias", "previousId": "a-1", "userId": "u-1"},
        "group": {"type": "group", "groupId": "g-1", "userId": "u-1", "traits": {"plan": "pro"}}}
NESTED = [("traits", "email"), ("traits", "phone"), ("traits", "name"), ("context", "device"), ("properties", "revenue")]


def _calls():
    n = 0
    for _kind, base in BASE.items():
        for field in FIELDS:
            for value in ODD:
                n += 1
                yield {**base, "messageId": f"m-{n}", field: value} if field != "messageId" else {**base, field: value}
        for outer, inner in NESTED:
            for value in ODD:
                n += 1
                yield {**base, "messageId": f"m-{n}", outer: {**(base.get(outer) or {}), inner: value}}


def test_every_odd_call_is_answered_and_every_accepted_call_loads(sdk):
    failures, accepted = [], 0
    calls = list(_calls())
    for start in range(0, len(calls), 50):
        chunk = calls[start:start + 50]
        response = sdk.request("POST", "/api/v1/batch", json.dumps({"batch": chunk}))
        if response.status_code >= 500:
            failures.append(f"batch from {start}: {response.status_code}")
        elif response.status_code == 200:
            accepted += response.json()["accepted"]
        for call in chunk:  # each alone too, through the single-call endpoint of its type
            kind = call["type"] if isinstance(call.get("type"), str) and call["type"] in BASE else "track"
            single = sdk.request("POST", f"/api/v1/{kind}", json.dumps(call))
            if single.status_code >= 500:
                failures.append(f"/api/v1/{kind} {json.dumps(call)[:150]}: {single.status_code}")
    assert not failures, "\n".join(failures[:20])
    result = load_inbox()
    assert accepted > 100 and result.set_aside == 0, [b.error for b in InboxBatch.objects.filter(failed_at__isnull=False)][:5]
