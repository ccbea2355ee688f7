"""The demo tenant's segments: audiences a marketer would build first, over the demo dataset
(tracking/demo.py), refreshed by the schedule like any other."""
from __future__ import annotations

from segments.models import Segment
from segments.services import segment_create, segment_list_edit, segment_refresh
from segments.types import MemberRef
from tenancy.types import TenantRef

DEMO_SEGMENTS = [
    {"name": "High-value customers", "description": "Customers who have spent 300 or more in all.",
     "definition": {"type": "trait", "key": "lifetime_value", "op": "gte", "value": 300}},
    {"name": "Cart abandoners (last 3 days)", "description": "Added a product in the last 3 days and ordered nothing within 4 hours.",
     "definition": {"type": "sequence", "within_days": 3, "within_hours": 4, "then_missing": True,
                    "first": {"event": "Product Added"}, "then": {"event": "Order Completed"}}},
    {"name": "Lapsed buyers", "description": "Ordered before, but not in the last 30 days.",
     "definition": {"type": "lapsed", "event": "Order Completed", "days": 30}},
    {"name": "Newsletter subscribers", "description": "Signed up to the newsletter, and have an email.",
     "definition": {"all": [{"type": "trait", "key": "newsletter", "op": "equals", "value": True},
                            {"type": "identifier", "id_type": "email"}]}},
    {"name": "Regular visitors", "description": "Visited the home page in at least 3 of the last 4 weeks.",
     "definition": {"type": "regular", "event": "Home", "event_type": "page", "at_least": 3, "of_last": 4, "unit": "week"}},
    {"name": "10% sample", "description": "A stable 10% of customers (a random bucket), for tests and holdouts.",
     "definition": {"type": "bucket", "salt": "demo-sample", "to_percent": 10}},
]
DEMO_LIST = {"name": "Beta testers", "description": "A manual list: uploaded, not computed."}


def demo_segments_load(*, tenant: TenantRef, actor: str = "demo") -> int:
    """Create the demo segments the tenant lacks and refresh them; returns how many were created."""
    existing = set(Segment.objects.filter(tenant_id=tenant.id).values_list("name", flat=True))
    created = 0
    for values in DEMO_SEGMENTS:
        if values["name"] not in existing:
            info = segment_create(tenant=tenant, actor=actor, **values)
            segment_refresh(tenant=tenant, segment_id=info.id, trigger="demo")
            created += 1
    if DEMO_LIST["name"] not in existing:
        info = segment_create(tenant=tenant, actor=actor, kind="manual", definition=None, **DEMO_LIST)
        segment_list_edit(tenant=tenant, segment_id=info.id, actor=actor,
                          add=[MemberRef(id_type="user_id", value=f"user-{n:05d}") for n in range(0, 200, 7)])
        created += 1
    return created
