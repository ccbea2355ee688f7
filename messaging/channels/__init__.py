"""Channels: one backend class per kind, chosen by dotted path (CHANNEL_BACKENDS), each with a
small features class, as the lakehouse engines are."""
from __future__ import annotations

from django.utils.module_loading import import_string

CHANNEL_BACKENDS = {
    "email": "messaging.channels.email.EmailChannel",
    "webhook": "messaging.channels.webhook.WebhookChannel",
    "sms": "messaging.channels.sms.SmsChannel",
    "table": "messaging.channels.table.TableChannel",
}


def backend_for(kind: str):
    return import_string(CHANNEL_BACKENDS[kind])
