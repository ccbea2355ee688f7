"""The demo tenant's campaigns (`cdp_demo`, so `make run`): a newsletter with two subject lines
already sent to the newsletter segment through the demo mailbox (its report is on its page), and
next week's newsletter scheduled. Idempotent."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services.campaigns import campaign_create, campaign_schedule
from campaigns.services.sending import campaigns_tick
from messaging.selectors import channel_list, template_list
from messaging.services.drain import drain_once
from messaging.services.templates import template_create
from segments.selectors import segment_list
from tenancy.types import TenantRef

NEWSLETTER = """<html><body><h1>{{ vars.campaign.name }}</h1>
<p>Hello {{ customer.first_name | default: "there" }}, here is what is new at Demo Shop this week.</p>
<p><a href="https://shop.example.com/new">See what is new</a></p>
<p><a href="{{ message.unsubscribe_url }}">Unsubscribe</a></p></body></html>"""
SUBJECTS = {"A": ("Newsletter: this week's picks", "This week's picks for you"),
            "B": ("Newsletter: new arrivals", "{{ customer.first_name | default: 'Hi' }}, new arrivals are in")}


def demo_campaigns_load(*, tenant: TenantRef, actor: str = "demo") -> int:
    """Create the demo campaigns the tenant lacks (the sent one is sent now); returns how many."""
    existing = set(Campaign.objects.filter(tenant_id=tenant.id).values_list("name", flat=True))
    channel = next((c for c in channel_list(tenant=tenant) if c.name == "Demo mailbox"), None)
    segment = next((s for s in segment_list(tenant=tenant, limit=100, offset=0).items if s.name == "Newsletter subscribers"), None)
    if channel is None or segment is None or {"December newsletter", "Next week's newsletter"} <= existing:
        return 0
    templates = {t.name: t.id for t in template_list(tenant=tenant)}
    for name, subject in SUBJECTS.values():
        if name not in templates:
            templates[name] = template_create(tenant=tenant, name=name, channel_kind="email", actor=actor,
                                              parts={"subject": subject, "html": NEWSLETTER}).id
    definition = {"audience": {"segments": [segment.id]}, "channel_id": channel.id, "category": "marketing", "topic": "newsletter",
                  "variants": [{"key": key, "template_id": templates[name]} for key, (name, _) in SUBJECTS.items()],
                  "holdout_percent": 10, "goal": {"event": "Order Completed", "within": {"days": 3}}, "seeds": ["team@shop.example.com"]}
    made, now = 0, timezone.now()
    if "December newsletter" not in existing:
        sent = campaign_create(tenant=tenant, name="December newsletter", actor=actor, definition=definition,
                               description="Two subject lines, a 10% holdout, sent to the newsletter's subscribers.")
        campaign_schedule(tenant=tenant, campaign_id=sent.id, actor=actor, now=now)
        campaigns_tick(now=now)
        drain_once(now=now, limit=5000)
        made += 1
    if "Next week's newsletter" not in existing:
        local = {"type": "local", "date": (now + timedelta(days=7)).date().isoformat(), "time": "09:00"}
        later = campaign_create(tenant=tenant, name="Next week's newsletter", actor=actor, definition={**definition, "schedule": local},
                                description="At 09:00 in each subscriber's own time zone.")
        campaign_schedule(tenant=tenant, campaign_id=later.id, actor=actor, now=now)
        made += 1
    return made
