"""Subscription topics, and a customer's choice about one (the unsubscribe link, the API)."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from customers.services import customer_consent_set
from kernel.errors import Conflict, InvalidInput, NotFound
from messaging.models import Channel, Topic
from tenancy.services import audit_record
from tenancy.types import TenantRef


def topic_create(*, tenant: TenantRef, key: str, name: str, channel_kind: str, policy: str, actor: str) -> Topic:
    if channel_kind not in dict(Channel.KINDS):
        raise InvalidInput(f"No channel kind {channel_kind!r}.", errors=[{"field": "channel_kind", "message": "email or webhook"}])
    if policy not in dict(Topic.POLICIES):
        raise InvalidInput("The policy is opt_in or opt_out.", errors=[{"field": "policy", "message": "opt_in or opt_out"}])
    try:
        with transaction.atomic():
            key = key.strip().lower()
            topic = Topic.objects.create(tenant_id=tenant.id, key=key, name=name or key, channel_kind=channel_kind, policy=policy)
    except IntegrityError:
        raise Conflict(f"The {channel_kind} topic {key!r} exists already.") from None
    audit_record(tenant=tenant, actor=actor, action="topic.create", target=key, details={"channel": channel_kind, "policy": policy})
    return topic


def topic_delete(*, tenant: TenantRef, topic_id: int, actor: str) -> None:
    topic = Topic.objects.filter(tenant_id=tenant.id, id=topic_id).first()
    if topic is None:
        raise NotFound(f"No topic {topic_id} in this tenant.")
    topic.delete()
    audit_record(tenant=tenant, actor=actor, action="topic.delete", target=topic.key)


def unsubscribe(*, tenant: TenantRef, cdp_id: str, kind: str, topic: str, source: str = "unsubscribe link") -> None:
    """The customer leaves the topic: consent denied for (channel kind, topic), as any other
    consent decision (the profile shows it, segments read it, the drain obeys it)."""
    customer_consent_set(tenant=tenant, cdp_id=cdp_id, channel=kind, purpose=topic, granted=False, actor=source, source="unsubscribe")


def topic_choices(*, tenant: TenantRef, profile) -> list[tuple[Topic, bool]]:
    """Each of the tenant's topics with whether the customer receives it now: an opt-in topic
    when they granted it, an opt-out topic unless they denied it."""
    decided = {(c.channel, c.purpose): c.granted for c in profile.consents}
    out = []
    for topic in Topic.objects.filter(tenant_id=tenant.id).order_by("channel_kind", "name"):
        decision = decided.get((topic.channel_kind, topic.key))
        out.append((topic, decision is True if topic.policy == "opt_in" else decision is not False))
    return out


def preferences_set(*, tenant: TenantRef, profile, receive: set[int], source: str = "preference page") -> int:
    """The customer's choices from the preference page: `receive` holds the ids of the topics they
    want; each topic whose state changes is recorded as a consent decision. Returns how many changed."""
    changed = 0
    for topic, now in topic_choices(tenant=tenant, profile=profile):
        wanted = topic.id in receive
        if wanted != now:
            customer_consent_set(tenant=tenant, cdp_id=profile.cdp_id, channel=topic.channel_kind, purpose=topic.key, granted=wanted,
                                 actor=source, source="preferences")
            changed += 1
    return changed
