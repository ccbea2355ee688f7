"""The demo tenant's journeys (`cdp_demo`, so `make run`): a welcome series for twenty customers and
an abandoned-cart journey keyed by `cartId`, both sending through the demo mailbox channel, so
the orchestrator's ticks under `make run` put real mail in Messages → Mailbox. Idempotent."""
from __future__ import annotations

import uuid

from django.utils import timezone

from customers.selectors import customer_page
from customers.services import customer_events_record
from journeys.models import Journey
from journeys.services.journeys import journey_create, journey_enroll, journey_publish
from messaging.selectors import channel_list, template_list, topic_list
from messaging.services.policies import policy_get, policy_set
from messaging.services.templates import template_create
from messaging.services.topics import topic_create
from tenancy.types import TenantRef

CART_REMINDER = """<html><body><h1>Still thinking it over, {{ customer.first_name | default: "friend" }}?</h1>
<p>Your cart with {{ event.items | default: "your" }} item(s) is waiting for you.</p>
<p><a href="https://shop.example.com/cart/{{ vars.key }}">Back to your cart</a></p>
<p><a href="{{ message.unsubscribe_url }}">No more offers</a></p></body></html>"""
COME_BACK = """<html><body><h1>We saved you a seat, {{ customer.first_name | default: "friend" }}</h1>
<p>Here is 10% off your first order this week.</p><p><a href="{{ message.unsubscribe_url }}">No more offers</a></p></body></html>"""


def _send(node_id: str, channel_id: int, template_id: int, nxt: str) -> dict:
    return {"id": node_id, "type": "send", "channel_id": channel_id, "template_id": template_id, "topic": "offers", "next": nxt}


def demo_journeys_load(*, tenant: TenantRef, actor: str = "demo") -> int:
    """Create and publish the demo journeys the tenant lacks; returns how many."""
    existing = set(Journey.objects.filter(tenant_id=tenant.id).values_list("name", flat=True))
    channel = next((c for c in channel_list(tenant=tenant) if c.name == "Demo mailbox"), None)
    if channel is None or {"Welcome series", "Abandoned cart"} <= existing:
        return 0
    if not any(t.channel_kind == "email" and t.key == "offers" for t in topic_list(tenant=tenant)):
        topic_create(tenant=tenant, key="offers", name="Offers", channel_kind="email", policy="opt_out", actor=actor)
    templates = {t.name: t.id for t in template_list(tenant=tenant)}
    for name, subject, html in (("Cart reminder", "You left something in your cart", CART_REMINDER),
                                ("Come back soon", "10% off your first order", COME_BACK)):
        if name not in templates:
            templates[name] = template_create(tenant=tenant, name=name, channel_kind="email", actor=actor,
                                              parts={"subject": subject, "html": html}).id
    policy = policy_get(tenant=tenant)
    if policy.quiet_start is None:  # offers wait out the night: 21:00-08:00 in each customer's zone
        policy_set(tenant=tenant, actor=actor, caps=policy.caps, quiet_days=list(range(7)), quiet_start="21:00", quiet_end="08:00")
    made = 0
    if "Welcome series" not in existing:
        made += _welcome(tenant, channel.id, templates, actor)
    if "Abandoned cart" not in existing:
        made += _abandoned_cart(tenant, channel.id, templates["Cart reminder"], actor)
    return made


def _welcome(tenant: TenantRef, channel_id: int, templates: dict, actor: str) -> int:
    bought = {"type": "event", "event": "Order Completed", "within_days": 3}
    definition = {"entry": {"type": "manual"}, "start": "welcome", "holdout_percent": 5,
                  "goal": {"event": "Order Completed", "within": {"days": 7}},
                  "nodes": [_send("welcome", channel_id, templates["Welcome email"], "wait"),
                            {"id": "wait", "type": "wait", "duration": {"days": 3}, "next": "ordered"},
                            {"id": "ordered", "type": "branch", "label": "Ordered since?", "ways": [{"condition": bought, "next": "done"}],
                             "else": "nudge"},
                            _send("nudge", channel_id, templates["Come back soon"], "done"),
                            {"id": "done", "type": "exit"}]}
    info = journey_create(tenant=tenant, name="Welcome series", actor=actor, definition=definition,
                          description="A welcome email, then after three days a nudge for those who have not ordered.")
    journey_publish(tenant=tenant, journey_id=info.id, actor=actor)
    people = customer_page(tenant=tenant, q="@", limit=20, offset=0, with_total=False).items
    if people:  # none in a tenant without data (cdp_demo --no-data, a test's)
        journey_enroll(tenant=tenant, journey_id=info.id, actor=actor, customers=[{"cdp_id": p.cdp_id} for p in people])
    return 1


def _abandoned_cart(tenant: TenantRef, channel_id: int, template_id: int, actor: str) -> int:
    definition = {"entry": {"type": "event", "event": "Checkout Started", "key": "cartId"}, "start": "wait", "holdout_percent": 10,
                  "goal": {"event": "Order Completed", "match_key": True, "within": {"days": 3}},
                  "nodes": [{"id": "wait", "type": "wait_event", "label": "Ordered?", "timeout": {"hours": 4}, "timeout_next": "remind",
                             "events": [{"event": "Order Completed", "match_key": True, "next": "bought"}]},
                            _send("remind", channel_id, template_id, "done"),
                            {"id": "bought", "type": "exit"}, {"id": "done", "type": "exit"}]}
    info = journey_create(tenant=tenant, name="Abandoned cart", actor=actor, definition=definition,
                          description="Checkout started and no order for that cart within 4 hours: a reminder (held till morning at night).")
    journey_publish(tenant=tenant, journey_id=info.id, actor=actor)
    # A few carts started now, so the journey has instances to show (and mail 4 hours on).
    now = timezone.now()
    shoppers = customer_page(tenant=tenant, q="@", limit=6, offset=20, with_total=False).items \
        or customer_page(tenant=tenant, q="@", limit=6, offset=0, with_total=False).items  # a small tenant: the same people
    if shoppers:
        customer_events_record(tenant=tenant, events=[{"message_id": f"demo-cart-{uuid.uuid4().hex[:12]}", "cdp_id": p.cdp_id,
                                                       "event": "Checkout Started", "properties": {"cartId": f"cart-{n}", "items": n + 1},
                                                       "event_time": now} for n, p in enumerate(shoppers)])
    return 1
