"""A journey's single-customer test, its messages sent to test addresses: each message the test
renders for the customer goes, as rendered for them, to each address (an operator's inbox),
now, transactional, under a source of its own, so no journey report, cap or customer's history
counts it."""
from __future__ import annotations

import uuid
from dataclasses import replace

from journeys import simulate
from journeys.selectors import journey_row
from kernel.errors import InvalidInput
from messaging.services.drain import deliveries_send_now
from tenancy.services import audit_record
from tenancy.types import TenantRef

MAX_ADDRESSES = 5


def journey_test_send(*, tenant: TenantRef, journey_id: int, cdp_id: str, actor: str, addresses: list[str], **test) -> dict:
    """The test's answer (`simulate.journey_test`) with `sent`: for each message and address,
    the delivery made (followed at `/api/messages/deliveries/{delivery_id}`)."""
    addresses = list(dict.fromkeys(a.strip() for a in addresses if a.strip()))
    if len(addresses) > MAX_ADDRESSES:
        raise InvalidInput(f"At most {MAX_ADDRESSES} test addresses.", errors=[{"field": "send_to", "message": f"at most {MAX_ADDRESSES}"}])
    sends: list = []
    result = simulate.journey_test(tenant=tenant, journey_id=journey_id, cdp_id=cdp_id, sends=sends, **test)
    batch = uuid.uuid4().hex[:12]  # a new set of deliveries each time it is asked
    requests, sent = [], []
    for n, (node_id, request) in enumerate(sends):
        for address in addresses:
            key = f"journey-test:{journey_id}:{batch}:{n}:{address}"[:255]
            requests.append(replace(request, key=key, address=address, category="transactional", topic="", expires_at=None,
                                    source=f"journey-test:{journey_id}"))
            sent.append({"node": node_id, "to": address, "key": key})
    if requests:
        made = deliveries_send_now(tenant=tenant, requests=requests, name="journey-test")
        for item in sent:
            item["delivery_id"] = made[item.pop("key")].delivery_id
        audit_record(tenant=tenant, actor=actor, action="journey.test_send", target=journey_row(tenant, journey_id).name,
                     details={"messages": len(sent), "cdp_id": result["cdp_id"]})
    return {**result, "sent": sent}
