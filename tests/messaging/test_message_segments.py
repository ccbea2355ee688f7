"""Segments select on messages: the events messaging records (Message Sent, ...) through the
`message` condition, by template, channel and window, and the condition explains itself."""
from __future__ import annotations

import pytest

from messaging.services import channels, outbox, templates
from messaging.services.drain import drain_once
from messaging.services.outcomes import EVENT_NAMES
from messaging.types import SendRequest
from segments.definitions import MESSAGE_STATUSES, definition_errors, message_event_name
from tests.messaging.receivers import Answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_the_event_names_agree():
    assert {s: message_event_name(s) for s in MESSAGE_STATUSES} == EVENT_NAMES


def test_a_segment_of_who_was_sent_a_template(tenant_a, receiver, shoppers, admin):
    channel = channels.channel_create(tenant=tenant_a.ref, name="h", kind="webhook", config={"url": f"{receiver.url}/h"}, actor="t")
    offer = templates.template_create(tenant=tenant_a.ref, name="offer", channel_kind="webhook", parts={"body": "{}"}, actor="t")
    other = templates.template_create(tenant=tenant_a.ref, name="other", channel_kind="webhook", parts={"body": "{}"}, actor="t")
    receiver.script = [Answer(200), Answer(400), Answer(200)]  # ada gets it, bob's fails, cy gets the other template
    for key, who, template in (("1", "ada", offer), ("2", "bob", offer), ("3", "cy", other)):
        outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(key=key, channel_id=channel.id, template_id=template.id,
                                                                         cdp_id=shoppers[who], category="transactional"))
        drain_once()
    sent_offer = {"type": "message", "status": "sent", "template_id": offer.id, "within_days": 7}
    assert definition_errors(sent_offer) == []
    preview = admin.post("/api/segments/preview", {"definition": sent_offer}).json()
    assert preview["members"] == 1 and preview["sample"] == [shoppers["ada"]]
    failed = admin.post("/api/segments/preview", {"definition": {"type": "message", "status": "failed"}}).json()
    assert failed["sample"] == [shoppers["bob"]]
    never = {"type": "message", "template_id": offer.id, "count": {"op": "eq", "value": 0}}
    assert sorted(admin.post("/api/segments/preview", {"definition": never}).json()["sample"]) == sorted([shoppers["bob"], shoppers["cy"]])
    sid = admin.post("/api/segments", {"name": "Got the offer", "definition": sent_offer}).json()["id"]
    admin.post(f"/api/segments/{sid}/refresh")
    why = admin.get(f"/api/segments/{sid}/explain/{shoppers['ada']}").json()
    assert why["holds"] is True, why
    bad = admin.post("/api/segments/preview", {"definition": {"type": "message", "status": "read"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("definition.status")
