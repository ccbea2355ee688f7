"""Test sends of a campaign: every variant, now, to addresses or named customers, outside consent
and caps, under a source of their own (they are not the campaign's sends and its report leaves
them out)."""
from __future__ import annotations

import uuid

from campaigns.definition import parsed
from campaigns.selectors import campaign_row
from identity.selectors import customer_named
from kernel.errors import InvalidInput, NotFound
from messaging.services.drain import deliveries_send_now
from messaging.types import SendRequest
from tenancy.services import audit_record
from tenancy.types import TenantRef


def campaign_test_send(*, tenant: TenantRef, campaign_id: int, actor: str, addresses: list[str], customers: list[str]) -> list[dict]:
    row = campaign_row(tenant, campaign_id)
    spec = parsed(row.definition)
    targets: list[tuple[str, str]] = [("", a.strip()) for a in addresses if a.strip()]
    for who in customers:
        cdp_id = customer_named(tenant=tenant, who=who)
        if not cdp_id:
            raise NotFound(f"No customer named {who!r} in this tenant.")
        targets.append((cdp_id, ""))
    if not targets:
        raise InvalidInput("Name at least one address or customer to send the test to.",
                           errors=[{"field": "addresses", "message": "an address or a customer"}])
    batch = uuid.uuid4().hex[:12]
    requests, shown = [], []
    for variant in spec.variants:
        for cdp_id, address in targets:
            key = f"campaign-test:{row.id}:{batch}:{variant.key}:{cdp_id or address}"
            requests.append(SendRequest(key=key, channel_id=spec.channel_id, template_id=variant.template_id, cdp_id=cdp_id, address=address,
                                        category="transactional", source=f"campaign-test:{row.id}",
                                        variables={"campaign": {"id": row.id, "name": row.name, "run": 0}, "variant": variant.key,
                                                   "seed": False, "test": True}))
            shown.append({"variant": variant.key, "to": cdp_id or address, "key": key})
    made = deliveries_send_now(tenant=tenant, requests=requests, name="campaign-test")
    for item in shown:
        item["delivery_id"] = made[item.pop("key")].delivery_id
    audit_record(tenant=tenant, actor=actor, action="campaign.test_send", target=row.name, details={"id": row.id, "messages": len(shown)})
    return shown
