"""SMS through a provider with Twilio's Messages API shape: `POST {base_url}/2010-04-01/Accounts/
{account_sid}/Messages.json`, form-encoded `To`, `From` (or `MessagingServiceSid`), `Body` and
`StatusCallback`, basic auth with the account SID and auth token (the channel's secret). The
base URL is a setting, so a Twilio-compatible provider (or a test server) can stand in; it is
checked as a webhook's target is (netguard).

201 is sent, and the provider's message SID is kept: its status callbacks (X-Twilio-Signature,
verified with the auth token) move the delivery on (services.feedback). 429 and 5xx, timeouts and
refused connections are retried; other 4xx fail for good with the provider's code and words.
Twilio has no idempotency key for sends, so a drain killed between the call and its record sends
that SMS again; the status callback's SID tells the two apart in the records."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime
from urllib.parse import urlencode

from messaging.channels.base import Channel, Features, Outcome, SettingsError, checked_target, checked_timeout
from messaging.channels.netguard import RESPONSE_LIMIT, ConnectionPool
from messaging.channels.webhook import retry_after_seconds

DEFAULT_BASE_URL = "https://api.twilio.com"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# GSM 03.38: the basic set (one septet each) and its extension table (two each).
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
                "abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")


class SmsFeatures(Features):
    parts = ("text",)
    required_parts = ("text",)
    address_type = "phone"


def sms_segments(text: str) -> dict:
    """How the text travels: GSM-7 (160 septets in one message, 153 a part when split) or UCS-2
    (70 UTF-16 units, 67 a part), and how many parts a carrier bills."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        units, single, part, encoding = sum(2 if c in GSM_EXTENDED else 1 for c in text), 160, 153, "GSM-7"
    else:
        units, single, part, encoding = len(text.encode("utf-16-le")) // 2, 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // part)
    return {"encoding": encoding, "characters": units, "segments": segments if text else 0}


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: HMAC-SHA1 of the URL followed by each POST parameter's name and value,
    sorted by name, in base64."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def valid_phone(address: str) -> bool:
    return bool(E164.match(address or ""))


class SmsChannel(Channel):
    features = SmsFeatures()

    @classmethod
    def checked_config(cls, config: dict) -> dict:
        sid = str(config.get("account_sid") or "")
        if not re.fullmatch(r"[A-Za-z0-9]{8,64}", sid):
            raise SettingsError("account_sid", "the account SID (AC...)")
        sender, service = str(config.get("from_number") or ""), str(config.get("messaging_service_sid") or "")
        if not sender and not service:
            raise SettingsError("from_number", "the sending number (+E.164) or a messaging_service_sid")
        if sender and not valid_phone(sender) and not re.fullmatch(r"[A-Za-z0-9 ]{1,11}", sender):
            raise SettingsError("from_number", "a number in +E.164 form, or an alphanumeric sender of up to 11 characters")
        base_url = checked_target(str(config.get("base_url") or DEFAULT_BASE_URL).rstrip("/"), "base_url")
        return {"account_sid": sid, "from_number": sender, "messaging_service_sid": service, "base_url": base_url,
                "timeout_seconds": checked_timeout(config)}

    def __init__(self, pool: ConnectionPool | None = None):
        self.pool = pool or ConnectionPool()

    def send(self, *, config: dict, secrets: list[str], delivery_id: str, parts: dict, address: str | None, at: datetime,
             unsubscribe_url: str | None, delivery: dict | None = None) -> Outcome:
        if not address or not valid_phone(address):
            return Outcome("failed", reason=f"not a phone number in +E.164 form: {(address or 'none')[:40]}")
        text = (parts.get("text") or "").strip()
        if not text:
            return Outcome("failed", reason="the text is empty after rendering")
        form = {"To": address, "Body": text}
        if config.get("messaging_service_sid"):
            form["MessagingServiceSid"] = config["messaging_service_sid"]
        else:
            form["From"] = config["from_number"]
        if config.get("status_callback"):
            form["StatusCallback"] = config["status_callback"]
        token = secrets[0] if secrets else ""
        auth = base64.b64encode(f"{config['account_sid']}:{token}".encode()).decode()
        url = f"{config['base_url']}/2010-04-01/Accounts/{config['account_sid']}/Messages.json"
        headers = {"content-type": "application/x-www-form-urlencoded", "authorization": f"Basic {auth}",
                   "user-agent": "cdp-sms/1", "x-cdp-delivery": delivery_id}
        answered = self.pool.attempt("POST", url, body=urlencode(form).encode(), headers=headers, timeout=config["timeout_seconds"])
        if isinstance(answered, Outcome):
            return answered
        status, answer, content = answered
        try:
            data = json.loads(content[:RESPONSE_LIMIT] or b"{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        response = {"status": status, "json": {k: data.get(k) for k in ("sid", "status", "code", "message", "num_segments") if k in data}}
        if status in (200, 201) and data.get("sid"):
            return Outcome("sent", status_code=status, response=response, provider_id=str(data["sid"]))
        words = f"{data.get('code', '')} {data.get('message', '')}".strip() or f"HTTP {status}"
        if status == 429 or status >= 500:
            return Outcome("retry", reason=f"HTTP {status}: {words}"[:300], status_code=status, response=response,
                           retry_after=retry_after_seconds(answer.get("retry-after"), at.timestamp()))
        return Outcome("failed", reason=f"HTTP {status}: {words}"[:300], status_code=status, response=response)
