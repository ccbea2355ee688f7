"""Channels: created with their settings checked, the secret encrypted and shown once; rotated
with the previous secret still valid for an overlap."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.errors import Conflict, InvalidInput
from messaging import crypto
from messaging.channels import backend_for
from messaging.channels.base import SettingsError
from messaging.channels.webhook import new_secret
from messaging.models import Channel, Delivery
from messaging.selectors import channel_info, channel_row, feedback_url
from messaging.types import ChannelInfo
from tenancy.services import audit_record
from tenancy.types import TenantRef

DEFAULT_OVERLAP = timedelta(hours=24)
SECRETS = ("secret", "feedback_signing_key")  # named in the audit when changed, never shown


def _checked(kind: str, config: dict) -> dict:
    try:
        return backend_for(kind).checked_config(config or {})
    except SettingsError as exc:
        raise InvalidInput(f"The channel's {exc.field} is not right: {exc.message}.",
                           errors=[{"field": f"config.{exc.field}", "message": exc.message}]) from None


def _headers_apart(row: Channel, checked: dict, *, given: bool) -> None:
    """A webhook's headers go encrypted (they carry API keys and basic auth); its config keeps
    their names, so they show in the console and the API without their values."""
    if row.kind != "webhook":
        return
    headers = checked.pop("headers", {})
    if given:
        row.secret_headers = crypto.encrypt(json.dumps(headers)) if headers else ""
    names = sorted(json.loads(crypto.decrypt(row.secret_headers) or "{}")) if row.secret_headers else []
    checked["header_names"] = names


def send_config(row: Channel) -> dict:
    """The channel's settings as its backend sends with them: a webhook's headers decrypted."""
    config = dict(row.config)
    if row.kind == "sms":
        config["status_callback"] = feedback_url(row)
    if row.kind == "webhook":
        config.pop("header_names", None)
        config["headers"] = json.loads(crypto.decrypt(row.secret_headers) or "{}") if row.secret_headers else {}
    return config


def channel_create(*, tenant: TenantRef, name: str, kind: str, config: dict, actor: str, secret: str = "",
                   rate_per_second: float = 0, feedback_signing_key: str = "", endpoint_rate_per_second: float = 0) -> ChannelInfo:
    """A new channel. A webhook without a secret gets one made (whsec_...); the answer carries it,
    the only time it is shown."""
    if kind not in dict(Channel.KINDS):
        raise InvalidInput(f"No channel kind {kind!r}.", errors=[{"field": "kind", "message": ", ".join(dict(Channel.KINDS))}])
    checked = _checked(kind, config)
    shown = ""
    if kind == "webhook" and not secret:
        secret = shown = new_secret()
    credentials = new_feedback_credentials()
    row = Channel(tenant_id=tenant.id, name=name, kind=kind, secret=crypto.encrypt(secret), rate_per_second=rate_per_second,
                  endpoint_rate_per_second=endpoint_rate_per_second,
                  created_by=actor, feedback_secret=crypto.encrypt(credentials),
                  feedback_signing_key=crypto.encrypt(feedback_signing_key) if feedback_signing_key else "")
    _headers_apart(row, checked, given=True)
    row.config = checked
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise Conflict(f"A channel named {name!r} exists already.") from None
    audit_record(tenant=tenant, actor=actor, action="channel.create", target=name, details={"kind": kind})
    return channel_info(row, secret=shown, feedback_credentials=credentials if channel_info(row).feedback_url else "")


def new_feedback_credentials() -> str:
    import secrets

    return f"cdp:{secrets.token_urlsafe(24)}"


def feedback_credentials(row: Channel) -> str:
    return crypto.decrypt(row.feedback_secret) if row.feedback_secret else ""


def feedback_view_options(row: Channel) -> dict:
    """What anymail's webhook view for the channel's provider verifies with: the basic auth, and
    the provider's signing key under each name anymail's views read it by (Mailgun falls back to
    the API key, as anymail does)."""
    options = {"webhook_secret": [feedback_credentials(row)]}
    key = crypto.decrypt(row.feedback_signing_key) if row.feedback_signing_key else ""
    if key:
        options.update(webhook_signing_key=key, webhook_key=key)
    elif row.secret:
        options["api_key"] = crypto.decrypt(row.secret)
    return options


def channel_update(*, tenant: TenantRef, channel_id: int, actor: str, changes: dict) -> ChannelInfo:
    row = channel_row(tenant, channel_id)
    if "config" in changes:
        given = changes["config"] or {}
        if row.kind == "webhook" and "headers" not in given:  # unseen values are kept unless replaced
            given = {**given, "headers": send_config(row)["headers"]}
        checked = _checked(row.kind, given)
        _headers_apart(row, checked, given=True)
        row.config = checked
        row.disabled_reason = ""  # a new address is worth trying again
    if "name" in changes:
        row.name = changes["name"]
    if "rate_per_second" in changes:
        row.rate_per_second = changes["rate_per_second"]
    if "endpoint_rate_per_second" in changes:
        row.endpoint_rate_per_second = changes["endpoint_rate_per_second"]
    if changes.get("secret"):
        row.secret = crypto.encrypt(changes["secret"])
    if changes.get("feedback_signing_key"):
        row.feedback_signing_key = crypto.encrypt(changes["feedback_signing_key"])
    if changes.get("enabled"):
        row.disabled_reason = ""
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise Conflict(f"A channel named {row.name!r} exists already.") from None
    audit_record(tenant=tenant, actor=actor, action="channel.update", target=row.name,
                 details={"changed": sorted(k for k in changes if k not in SECRETS) + sorted(k for k in SECRETS if changes.get(k))})
    return channel_info(row)


def channel_rotate(*, tenant: TenantRef, channel_id: int, actor: str, overlap: timedelta = DEFAULT_OVERLAP,
                   now: datetime | None = None) -> ChannelInfo:
    """A new signing secret; the previous one stays valid (signed alongside) for `overlap`, so
    receivers can move to the new one. The answer shows the new secret once."""
    row = channel_row(tenant, channel_id)
    if row.kind != "webhook":
        return _feedback_rotate(tenant, row, actor)
    secret = new_secret()
    row.previous_secret, row.secret = row.secret, crypto.encrypt(secret)
    row.previous_valid_until = (now or timezone.now()) + overlap
    row.save()
    audit_record(tenant=tenant, actor=actor, action="channel.rotate", target=row.name, details={"overlap_hours": overlap / timedelta(hours=1)})
    return channel_info(row, secret=secret)


def _feedback_rotate(tenant: TenantRef, row: Channel, actor: str) -> ChannelInfo:
    """Email and SMS channels: new credentials for the provider's delivery-event webhook (their own
    secret, a password or API key, is changed by setting it)."""
    if not channel_info(row).feedback_url:
        raise InvalidInput(f"{row.name} has no secret of ours to rotate: change its password or API key by setting it.",
                           errors=[{"field": "kind", "message": "nothing to rotate"}])
    credentials = new_feedback_credentials()
    row.feedback_secret = crypto.encrypt(credentials)
    row.save(update_fields=["feedback_secret", "updated_at"])
    audit_record(tenant=tenant, actor=actor, action="channel.rotate", target=row.name, details={"feedback_credentials": True})
    return channel_info(row, feedback_credentials=credentials)


def channel_delete(*, tenant: TenantRef, channel_id: int, actor: str) -> None:
    row = channel_row(tenant, channel_id)
    if Delivery.objects.filter(channel_id=row.id).exists():
        raise Conflict(f"{row.name} has deliveries; disable it by changing its settings rather than deleting its history.")
    row.delete()
    audit_record(tenant=tenant, actor=actor, action="channel.delete", target=row.name)


def channel_secrets(row: Channel, now: datetime) -> list[str]:
    """The secrets a send signs with: the current one, and the previous during its overlap."""
    secrets = [crypto.decrypt(row.secret)]
    if row.previous_secret and row.previous_valid_until and now < row.previous_valid_until:
        secrets.append(crypto.decrypt(row.previous_secret))
    return [s for s in secrets if s]


def channel_disable(row: Channel, reason: str) -> None:
    Channel.objects.filter(id=row.id).update(disabled_reason=reason[:300])
