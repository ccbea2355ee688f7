"""What happened to a message after it was sent: delivered, opened, clicked, bounced, complained,
failed, from the product's own open pixel and click redirects and from providers' delivery
events (anymail's normalised tracking webhooks, Twilio's status callbacks).

A delivery's status only moves forward (sent < delivered < opened < clicked; a bounce, a
complaint or a failure after sending outranks them all), so events arriving out of order, or
twice, leave the same state. Each kind of news becomes one event on the customer (`Message
Opened`, ...; a click once per link), exported with the drain's. A hard bounce or a complaint
suppresses the address for its channel kind (SuppressedAddress), so no later message of the
tenant goes to it, whichever customer holds it."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.errors import NotFound
from messaging.channels.email import provider_name
from messaging.models import Delivery, DeliveryEvent, SuppressedAddress
from messaging.selectors import normalised_address, suppression_info
from messaging.services.outcomes import EVENT_NAMES, delivery_event
from messaging.services.topics import unsubscribe
from messaging.types import SuppressedAddressInfo
from tenancy.selectors import tenants_by_id
from tenancy.services import audit_record
from tenancy.types import TenantRef

RANK = {"sent": 1, "delivered": 2, "opened": 3, "clicked": 4, "failed": 5, "bounced": 6, "complained": 7}
SUPPRESSING = ("bounced", "complained")


@dataclass(frozen=True)
class Feedback:
    """One piece of news about a sent message. `status`: delivered, opened, clicked, bounced,
    complained or failed; `url` for a click; `reason` in words (the provider's description)."""
    status: str
    at: datetime
    url: str = ""
    reason: str = ""
    address: str = ""
    provider: str = ""


def feedback_record(row: Delivery, news: Feedback, *, kind: str) -> bool:
    """Record `news` about the delivery `row`; True when it changed anything. Deliveries not yet
    sent (a provider's event can overtake our own record of the send) move to the status too."""
    if news.status not in RANK:
        return False
    extra = {"url": news.url} if news.url else {}
    if news.provider:
        extra["provider"] = news.provider
    with transaction.atomic():
        current = Delivery.objects.select_for_update().filter(id=row.id).values_list("status", flat=True).first()
        if current is None:
            return False  # erased since
        name = EVENT_NAMES[news.status]
        seen = DeliveryEvent.objects.filter(delivery_id=row.id, name=name)
        if news.url:
            seen = seen.filter(properties__url=news.url)
        changed = False
        if not seen.exists():
            delivery_event(row, news.status, news.reason, at=news.at, extra=extra)
            changed = True
        if RANK.get(current, 0) < RANK[news.status]:
            Delivery.objects.filter(id=row.id).update(status=news.status, reason=news.reason[:500])
            changed = True
        if news.status in SUPPRESSING and kind in ("email", "sms"):
            changed = address_suppress(tenant_id=row.tenant_id, kind=kind, address=news.address,
                                       reason=f"{news.status}: {news.reason}" if news.reason else news.status,
                                       cdp_id=row.cdp_id, delivery_id=row.delivery_id, at=news.at) or changed
    return changed


def address_suppress(*, tenant_id: int, kind: str, address: str, reason: str, at: datetime, cdp_id: str = "",
                     delivery_id: str = "") -> bool:
    """Stop sending to an address; False when it was already suppressed (or there is none)."""
    address = normalised_address(kind, address)
    if not address:
        return False
    try:
        with transaction.atomic():
            SuppressedAddress.objects.create(tenant_id=tenant_id, channel_kind=kind, address=address[:320], reason=reason[:300],
                                             cdp_id=cdp_id, delivery_id=delivery_id, created_at=at)
    except IntegrityError:
        return False
    return True


def suppression_add(*, tenant: TenantRef, kind: str, address: str, reason: str, actor: str) -> SuppressedAddressInfo:
    """An operator stops messages of a channel kind to an address (a list from another tool, a request by phone)."""
    from kernel.errors import Conflict, InvalidInput

    if kind not in ("email", "sms"):
        raise InvalidInput("Addresses are suppressed for email or sms.", errors=[{"field": "channel_kind", "message": "email or sms"}])
    if not normalised_address(kind, address):
        raise InvalidInput("Give the address to suppress.", errors=[{"field": "address", "message": "required"}])
    if not address_suppress(tenant_id=tenant.id, kind=kind, address=address, reason=reason or f"added by {actor}", at=timezone.now()):
        raise Conflict(f"{address} is suppressed for {kind} already.")
    audit_record(tenant=tenant, actor=actor, action="suppression.add", target=kind, details={"reason": reason[:100]})
    row = SuppressedAddress.objects.get(tenant_id=tenant.id, channel_kind=kind, address=normalised_address(kind, address))
    return suppression_info(row)


def suppression_remove(*, tenant: TenantRef, suppression_id: int, actor: str) -> None:
    """Messages may go to the address again (it was fixed, the bounce was a mistake)."""
    deleted, _ = SuppressedAddress.objects.filter(tenant_id=tenant.id, id=suppression_id).delete()
    if not deleted:
        raise NotFound(f"No suppressed address {suppression_id} in this tenant.")
    audit_record(tenant=tenant, actor=actor, action="suppression.remove", target=str(suppression_id))


def delivery_for_link(delivery_id: str) -> Delivery | None:
    return Delivery.objects.filter(delivery_id=delivery_id).select_related("template_version", "channel").first()


def delivery_for_provider(*, channel_id: int, provider_id: str = "", delivery_id: str = "") -> Delivery | None:
    """The delivery a provider's event is about: by our id when it carried it back (metadata),
    else by the provider's message id; only among the channel's own deliveries."""
    rows = Delivery.objects.filter(channel_id=channel_id).select_related("template_version")
    if delivery_id:
        found = rows.filter(delivery_id=delivery_id).first()
        if found is not None:
            return found
    return rows.filter(provider_id=provider_id).first() if provider_id else None


def link_followed(delivery_id: str, *, at: datetime, url: str = "") -> bool:
    """The open pixel was loaded (no url) or a tracked link followed (its url)."""
    row = delivery_for_link(delivery_id)
    if row is None:
        return False
    return feedback_record(row, Feedback("clicked" if url else "opened", at, url=url), kind=row.channel.kind)


# anymail's normalised event types, as delivery statuses ("queued", "sent" and "deferred" are
# not news: the drain recorded the send; a deferral is the provider's retry).
ANYMAIL_STATUS = {"delivered": "delivered", "opened": "opened", "clicked": "clicked", "bounced": "bounced",
                  "complained": "complained", "failed": "failed", "rejected": "failed"}


def anymail_webhook_view(backend: str):
    """anymail's tracking-webhook view for an email backend's provider, or None."""
    provider = provider_name(backend)
    try:
        module = importlib.import_module(f"anymail.webhooks.{provider}")
    except ImportError:
        return None
    return next((view for name, view in vars(module).items() if name.endswith("TrackingWebhookView") and isinstance(view, type)), None)


def anymail_events_record(channel, events, *, provider: str) -> int:
    """Record a provider's normalised events (anymail.signals.AnymailTrackingEvent) for an email
    channel; returns how many changed something. An event for a message this channel did not
    send is ignored, except that a bounce or complaint still suppresses its address."""
    changed = 0
    for event in events:
        metadata = event.metadata if isinstance(getattr(event, "metadata", None), dict) else {}
        row = delivery_for_provider(channel_id=channel.id, provider_id=str(event.message_id or ""),
                                    delivery_id=str(metadata.get("cdp_delivery") or ""))
        at = event.timestamp or timezone.now()
        reason = str(event.description or event.mta_response or event.reject_reason or "")[:300]
        if event.event_type == "unsubscribed":
            changed += _provider_unsubscribe(channel, row, provider)
            continue
        status = ANYMAIL_STATUS.get(event.event_type)
        if status == "failed" and event.reject_reason in ("bounced", "spam"):
            status = "bounced" if event.reject_reason == "bounced" else "complained"
        if status is None:
            continue
        if row is None:
            if status in SUPPRESSING:
                changed += address_suppress(tenant_id=channel.tenant_id, kind="email", address=event.recipient or "",
                                            reason=f"{status} ({provider}): {reason}", at=at)
            continue
        changed += feedback_record(row, Feedback(status, at, url=str(event.click_url or "") if status == "clicked" else "",
                                                 reason=reason, address=event.recipient or "", provider=provider), kind="email")
    return changed


def _provider_unsubscribe(channel, row: Delivery | None, provider: str) -> bool:
    """A provider's own unsubscribe (its list-unsubscribe handling): the message's topic is
    unsubscribed, as our link does."""
    if row is None or not row.topic:
        return False
    tenant = tenants_by_id({channel.tenant_id})[channel.tenant_id]
    try:
        unsubscribe(tenant=tenant, cdp_id=row.cdp_id, kind=channel.kind, topic=row.topic, source=f"{provider} unsubscribe")
    except NotFound:
        return False
    return True


# Twilio's message statuses as delivery statuses (queued, accepted, sending, sent: not news), and
# the error codes that mean the number will never take a message (suppressed, like a hard bounce).
TWILIO_STATUS = {"delivered": "delivered", "read": "opened", "undelivered": "failed", "failed": "failed"}
TWILIO_PERMANENT = {"21211": "not a valid phone number", "21610": "the recipient replied STOP", "21614": "not a mobile number",
                    "30005": "unknown or inactive number", "30006": "a landline or unreachable carrier"}


def sms_status_record(channel, params: dict[str, str]) -> bool:
    """One Twilio status callback (already verified) for an SMS channel."""
    status = TWILIO_STATUS.get(params.get("MessageStatus") or params.get("SmsStatus") or "")
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if status is None or not sid:
        return False
    row = delivery_for_provider(channel_id=channel.id, provider_id=sid)
    code = str(params.get("ErrorCode") or "")
    permanent = TWILIO_PERMANENT.get(code)
    reason = f"{params.get('MessageStatus')}: error {code} ({permanent})" if permanent else (
        f"{params.get('MessageStatus')}: error {code}" if code else "")
    status = "bounced" if permanent else status
    at = timezone.now()
    if row is None:
        return address_suppress(tenant_id=channel.tenant_id, kind="sms", address=params.get("To", ""), reason=reason, at=at) \
            if permanent else False
    return feedback_record(row, Feedback(status, at, reason=reason, address=params.get("To", ""), provider="twilio"), kind="sms")
