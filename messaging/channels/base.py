"""What every channel offers: check its settings, build a message from rendered parts, send it."""
from __future__ import annotations

from dataclasses import dataclass, field


class Features:
    # Parts a template of this kind has, and which of them are HTML (autoescaped).
    parts: tuple[str, ...] = ()
    html_parts: tuple[str, ...] = ()
    required_parts: tuple[str, ...] = ()
    # The customer's identifier the message goes to (None: the channel's own endpoint).
    address_type: str | None = None


@dataclass
class Outcome:
    """What one attempt came to. `kind`: sent, retry (after `retry_after` seconds when the
    receiver said), failed (for good), gone (the endpoint is no more: the channel is disabled)."""
    kind: str
    reason: str = ""
    status_code: int | None = None
    retry_after: float | None = None
    response: dict = field(default_factory=dict)
    provider_id: str = ""  # the provider's id for the message, which its delivery events name


class SettingsError(ValueError):
    """A channel's settings that cannot work, with the field at fault."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


class Channel:
    """A backend. `send(config=, secrets=, delivery_id=, parts=, address=, at=, unsubscribe_url=,
    delivery=)` makes one attempt and returns an Outcome; `delivery` holds the outbox row's facts
    (tenant_id, tenant: its slug, as the lakehouse keys rows, channel_id, cdp_id, template_id, template_version, category, topic, source,
    variables) for backends that record them (table export)."""
    features = Features()

    @classmethod
    def checked_config(cls, config: dict) -> dict:
        """The settings, checked and with defaults; raises SettingsError naming the field."""
        return dict(config)


def checked_target(url: str, field_name: str) -> str:
    """An http(s) URL a channel calls, checked as netguard checks every target; SettingsError names the field."""
    from messaging.channels.netguard import TargetRefused, split_target

    try:
        split_target(url)
    except TargetRefused as exc:
        raise SettingsError(field_name, str(exc)) from None
    return url


def checked_timeout(config: dict, default: float = 10) -> float:
    timeout = config.get("timeout_seconds", default)
    if not isinstance(timeout, (int, float)) or not 0.5 <= timeout <= 60:
        raise SettingsError("timeout_seconds", "between 0.5 and 60 seconds")
    return float(timeout)
