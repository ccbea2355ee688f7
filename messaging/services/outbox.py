"""The outbox: a send is queued once per (tenant, idempotency key), whoever asks and however often
(a journey tick replayed after a crash asks again with the same key and gets the same delivery).
What happens at send time (consent, suppression, rendering) is the drain's (messaging.services.drain)."""
from __future__ import annotations

import uuid
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.errors import InvalidInput, NotFound
from messaging.models import Channel, Delivery, Template, TemplateVersion, Topic
from messaging.selectors import delivery_info
from messaging.types import DeliveryInfo, SendRequest
from tenancy.types import TenantRef

MAX_KEY = 300


def delivery_enqueue(*, tenant: TenantRef, request: SendRequest, now: datetime | None = None) -> tuple[DeliveryInfo, bool]:
    """The delivery for `request.key` (and whether this call made it). The template's current
    version is fixed now: a send renders the version it was queued with."""
    if not request.key or len(request.key) > MAX_KEY:
        raise InvalidInput("An idempotency key of 1 to 300 characters names the send.", errors=[{"field": "key", "message": "1-300 characters"}])
    existing = Delivery.objects.filter(tenant_id=tenant.id, idempotency_key=request.key).select_related("template_version").first()
    if existing is not None:
        return delivery_info(existing), False
    channel = Channel.objects.filter(tenant_id=tenant.id, id=request.channel_id).first()
    template = Template.objects.filter(tenant_id=tenant.id, id=request.template_id).first()
    if channel is None:
        raise NotFound(f"No channel {request.channel_id} in this tenant.")
    if template is None:
        raise NotFound(f"No template {request.template_id} in this tenant.")
    if template.channel_kind != channel.kind:
        raise InvalidInput(f"{template.name} is a {template.channel_kind} template; {channel.name} sends {channel.kind}.",
                           errors=[{"field": "template_id", "message": f"a {channel.kind} template"}])
    if request.category not in dict(Delivery.CATEGORIES):
        raise InvalidInput("The category is marketing or transactional.", errors=[{"field": "category", "message": "marketing or transactional"}])
    if request.category == "marketing":
        if not Topic.objects.filter(tenant_id=tenant.id, channel_kind=channel.kind, key=request.topic).exists():
            raise InvalidInput(f"A marketing {channel.kind} names its subscription topic; {request.topic or 'none'} is not one here.",
                               errors=[{"field": "topic", "message": f"a {channel.kind} topic of this tenant"}])
    version = TemplateVersion.objects.get(template=template, version=template.version)
    try:
        with transaction.atomic():
            row = Delivery.objects.create(
                tenant_id=tenant.id, idempotency_key=request.key, delivery_id=f"msg_{uuid.uuid4().hex}", channel=channel,
                template_version=version, cdp_id=request.cdp_id, category=request.category,
                topic=request.topic if request.category == "marketing" else "", source=request.source[:200],
                variables=request.variables or {}, next_attempt_at=now or timezone.now())
    except IntegrityError:  # the same key queued at the same moment by another process
        row = Delivery.objects.select_related("template_version").get(tenant_id=tenant.id, idempotency_key=request.key)
        return delivery_info(row), False
    return delivery_info(row), True
