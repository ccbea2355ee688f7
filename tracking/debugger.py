"""The live event view's record: the calls a tenant's requests carried, while someone watches.

Like Segment's debugger, it records only while the page is open: the page renews a watch (a row
per tenant with an expiry) each time it polls, and ingestion records the calls of a watched
tenant's requests: accepted, duplicate or rejected with the reason, with their payload (write keys
removed, cut to PAYLOAD_CHARS). Unwatched, ingestion pays one in-process lookup per request.
Records are pruned as they are written: at most KEEP_PER_TENANT per tenant, none older than
KEEP_SECONDS, so personal data does not accumulate here.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from tracking.models import DebugWatch, RecentCall

WATCH_SECONDS = 120
KEEP_PER_TENANT = 500
KEEP_SECONDS = 3600
PAYLOAD_CHARS = 4000
logger = logging.getLogger("cdp.tracking")
_CHECK_SECONDS = 5  # how stale this process's idea of who is watched may be
_watched: dict[int, tuple[float, bool]] = {}
_lock = threading.Lock()


def watch(tenant_id: int, *, now: datetime | None = None) -> None:
    """Someone has the live view open: record this tenant's calls for WATCH_SECONDS more."""
    now = now or timezone.now()
    DebugWatch.objects.update_or_create(tenant_id=tenant_id, defaults={"until": now + timedelta(seconds=WATCH_SECONDS)})
    with _lock:
        _watched[tenant_id] = (time.monotonic() + _CHECK_SECONDS, True)


def watching(tenant_id: int) -> bool:
    hit = _watched.get(tenant_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    watched = DebugWatch.objects.filter(tenant_id=tenant_id, until__gt=timezone.now()).exists()
    with _lock:
        _watched[tenant_id] = (time.monotonic() + _CHECK_SECONDS, watched)
    return watched


def _payload(call: object) -> str:
    if isinstance(call, dict):
        call = {key: value for key, value in call.items() if key != "writeKey"}  # a secret, never shown
    # json.dumps escapes a NUL; a lone surrogate (refused calls may hold one) becomes U+FFFD.
    text = json.dumps(call, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text if len(text) <= PAYLOAD_CHARS else text[:PAYLOAD_CHARS] + "…"


def record(*, tenant_id: int, received_at: datetime, source: str, calls: list[tuple[str, str, str | None, object, str]]) -> None:
    """Record (message_id, type, event, raw call, status[:reason]) rows of one request."""
    rows = []
    for message_id, call_type, event, raw, status in calls:
        state, _, reason = status.partition(":")
        rows.append(RecentCall(tenant_id=tenant_id, received_at=received_at, source=source[:100], message_id=_text(message_id, 255),
                               type=_text(call_type, 16), event=_text(event, 255), status=state, reason=reason[:2000],
                               payload=_payload(raw)))
    try:
        with transaction.atomic():
            RecentCall.objects.bulk_create(rows)
            _prune(tenant_id, received_at)
    except Exception:  # noqa: BLE001 - the calls are committed already; the view must never fail ingestion
        logger.exception("live event view: could not record a request's calls")


def _text(value: object, limit: int) -> str:
    """A field of a call as sent, which may be anything (a number, an object, text NUL or surrogate)."""
    text = value if isinstance(value, str) else "" if value is None else json.dumps(value, default=str)
    return text.replace("\x00", "\ufffd").encode("utf-8", "surrogatepass").decode("utf-8", "replace")[:limit]


def _prune(tenant_id: int, now: datetime) -> None:
    RecentCall.objects.filter(tenant_id=tenant_id, received_at__lt=now - timedelta(seconds=KEEP_SECONDS)).delete()
    cutoff = RecentCall.objects.filter(tenant_id=tenant_id).order_by("-id").values_list("id", flat=True)[KEEP_PER_TENANT:KEEP_PER_TENANT + 1]
    if cutoff:
        RecentCall.objects.filter(tenant_id=tenant_id, id__lte=cutoff[0]).delete()
