"""Webhooks signed per the Standard Webhooks specification: `webhook-id` (the delivery's stable
id, the same on every attempt), `webhook-timestamp`, `webhook-signature` (HMAC-SHA256 of
`id.timestamp.body`; during a secret rotation both the new and the previous signature, space
separated, so a receiver holding either verifies).

Settings: `url` (the template may override it), `timeout_seconds` (10), `headers` (sent with
every call). 2xx is sent; 408, 429 and 5xx, timeouts and refused connections are retried
(`Retry-After` honoured); 410 disables the channel; other 4xx fail for good; redirects are
followed up to three times, each target checked (netguard)."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from standardwebhooks.webhooks import Webhook

from messaging.channels.base import Channel, Features, Outcome, SettingsError, checked_target, checked_timeout
from messaging.channels.netguard import RESPONSE_LIMIT, ConnectionPool

MAX_REDIRECTS = 3
KEPT_HEADERS = ("content-type", "retry-after", "location")


class WebhookFeatures(Features):
    parts = ("method", "url", "headers", "body")
    required_parts = ("body",)


def new_secret() -> str:
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secrets: list[str], delivery_id: str, at: datetime, body: str) -> str:
    return " ".join(Webhook(s).sign(delivery_id, at, body) for s in secrets if s)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class WebhookChannel(Channel):
    features = WebhookFeatures()

    @classmethod
    def checked_config(cls, config: dict) -> dict:
        url = checked_target(str(config.get("url") or ""), "url")
        timeout = checked_timeout(config)
        headers = config.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise SettingsError("headers", "an object of header names to text values")
        return {"url": url, "timeout_seconds": timeout, "headers": headers}

    def __init__(self, pool: ConnectionPool | None = None):
        self.pool = pool or ConnectionPool()

    def send(self, *, config: dict, secrets: list[str], delivery_id: str, parts: dict, address: str | None, at: datetime,
             unsubscribe_url: str | None, delivery: dict | None = None) -> Outcome:
        body = parts.get("body") or ""
        try:
            json.loads(body)
        except ValueError as exc:
            return Outcome("failed", reason=f"the body is not JSON after rendering: {exc}")
        url = (parts.get("url") or "").strip() or config["url"]
        method = (parts.get("method") or "POST").strip().upper()
        headers = {**config.get("headers", {}), **_json_object(parts.get("headers"))}
        headers.update({"content-type": "application/json", "webhook-id": delivery_id, "webhook-timestamp": str(int(at.timestamp())),
                        "webhook-signature": signature(secrets, delivery_id, at, body), "user-agent": "cdp-webhooks/1"})
        data = body.encode()
        for _ in range(MAX_REDIRECTS + 1):
            answered = self.pool.attempt(method, url, body=data, headers=headers, timeout=config["timeout_seconds"])
            if isinstance(answered, Outcome):
                return answered
            status, answer, content = answered
            if status in (301, 302, 303, 307, 308) and answer.get("location"):
                url = urljoin(url, answer["location"])
                if status == 303:
                    method, data = "GET", b""
                continue
            return _outcome(status, answer, content, at.timestamp())
        return Outcome("failed", reason=f"more than {MAX_REDIRECTS} redirects")


def _json_object(text) -> dict:
    if not text:
        return {}
    if isinstance(text, dict):
        return {str(k): str(v) for k, v in text.items()}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _outcome(status: int, answer: dict, content: bytes, now: float) -> Outcome:
    text = content[:RESPONSE_LIMIT].decode("utf-8", "replace")
    response = {"status": status, "headers": {k: v for k, v in answer.items() if k in KEPT_HEADERS}, "body": text,
                "truncated": len(content) > RESPONSE_LIMIT}
    if "json" in answer.get("content-type", ""):
        try:
            response["json"] = json.loads(text)
        except ValueError:
            pass
    if 200 <= status < 300:
        return Outcome("sent", status_code=status, response=response)
    if status == 410:
        return Outcome("gone", reason="the endpoint answered 410 Gone", status_code=status, response=response)
    if status in (408, 425, 429) or status >= 500:
        return Outcome("retry", reason=f"HTTP {status}", status_code=status, response=response,
                       retry_after=retry_after_seconds(answer.get("retry-after"), now))
    return Outcome("failed", reason=f"HTTP {status}", status_code=status, response=response)
