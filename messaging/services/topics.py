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
