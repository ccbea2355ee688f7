"""A table-export channel: each message a row of message_exports in the lakehouse (the embedded
engine here), written once however often a crashed drain replays it, and erased with the customer."""
from __future__ import annotations

import pytest
from django.utils import timezone

from messaging import selectors
from messaging.channels.table import TableChannel
from messaging.services import channels, outbox, templates
from messaging.services.drain import drain_once
from messaging.tables import MESSAGE_EXPORTS
from messaging.types import SendRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def _rows(engine, tenant_id):
    return engine.execute(f"SELECT cdp_id, delivery_id, payload, variables, source FROM {engine.qualify(MESSAGE_EXPORTS.name)} "
                          "WHERE tenant_id = :t", {"t": tenant_id}).dicts()


def test_messages_become_rows_once_and_leave_with_the_customer(tenant_a, lakehouse, shoppers, admin):
    channel = channels.channel_create(tenant=tenant_a.ref, name="To Hightouch", kind="table", actor="t", config={})
    template = templates.template_create(tenant=tenant_a.ref, name="Offer row", channel_kind="table", actor="t",
                                         parts={"payload": '{"email": {{ customer.email | json }}, "name": {{ customer.first_name | json }}, '
                                                           '"offer": {{ vars.offer | json }}}'})
    info = outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(
        key="j1", channel_id=channel.id, template_id=template.id, cdp_id=shoppers["ada"], category="transactional",
        source="journey:7", variables={"offer": "SPRING"}))[0]
    drain_once()
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "sent"
    [row] = _rows(lakehouse, tenant_a.ref.slug)
    assert row["cdp_id"] == shoppers["ada"] and row["delivery_id"] == info.delivery_id and row["source"] == "journey:7"
    payload = row["payload"] if isinstance(row["payload"], dict) else __import__("json").loads(row["payload"])
    assert payload == {"email": "ada@example.com", "name": "Ada <script>", "offer": "SPRING"}  # JSON-quoted, not HTML-escaped

    # A drain killed after the write sends again with the same delivery id: nothing is added.
    again = TableChannel().send(config={}, secrets=[], delivery_id=info.delivery_id, parts={"payload": "{}"}, address=None,
                                at=timezone.now(), unsubscribe_url=None,
                                delivery={"tenant_id": tenant_a.ref.id, "tenant": tenant_a.ref.slug, "channel_id": channel.id, "cdp_id": shoppers["ada"],
                                          "template_id": template.id, "template_version": 1, "category": "transactional", "topic": "",
                                          "source": "journey:7", "variables": {}})
    assert again.kind == "sent" and again.response["written"] == 0 and len(_rows(lakehouse, tenant_a.ref.slug)) == 1

    bad = TableChannel().send(config={}, secrets=[], delivery_id="x", parts={"payload": "[1]"}, address=None, at=timezone.now(),
                              unsubscribe_url=None, delivery={})
    assert bad.kind == "failed" and "JSON object" in bad.reason
    assert admin.post(f"/api/customers/{shoppers['ada']}/erase", {"confirm": shoppers["ada"]}).status_code == 200
    assert _rows(lakehouse, tenant_a.ref.slug) == []
