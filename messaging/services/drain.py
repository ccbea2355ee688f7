"""The drain: claims due deliveries with a lease, decides at send time (channel, customer,
suppression, consent for the topic, an address), renders the version queued, sends, records.

Crash safety: a delivery is marked `sending` (its attempt counted) before the channel is called
and its outcome recorded after; a drain killed in between leaves a claim that expires, and the
next drain sends again with the same delivery id (Message-ID, webhook-id). So a receiver sees an
id at most twice per crash and never two ids for one key; the outbox records one final status.

Retries: exponential backoff from 30 seconds doubling to an hour, with ±20 % jitter drawn from
the delivery id and attempt (the same on a replay), `Retry-After` honoured up to a day; after
8 attempts the delivery fails with the last reason. A 410 disables the channel."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from customers.selectors import customer_get
from customers.services import customer_events_record
from kernel.errors import NotFound
from messaging.channels import backend_for
from messaging.channels.base import Outcome
from messaging.channels.sms import valid_phone
from messaging.context import message_context, recipient, render_parts, seed_profile
from messaging.liquid import RenderError
from messaging.models import Channel, Delivery, DeliveryAttempt, DeliveryEvent, Topic
from messaging.policy import marketing_hold
from messaging.selectors import address_suppression
from messaging.services.channels import channel_disable, channel_secrets, send_config
from messaging.services.erasure import deliveries_follow_erasures
from messaging.services.links import preferences_url, unsubscribe_url
from messaging.throttle import REST_SECONDS, Pace, endpoint
from operations.queue import task_enqueue
from tenancy.selectors import tenants_by_id

logger = logging.getLogger("cdp.messaging")

CLAIM = timedelta(minutes=5)  # longer than any channel's timeout, so a live claim is never taken over
FIRST_RETRY, LAST_RETRY, MAX_RETRY_AFTER = 30.0, 3600.0, 86400.0
MAX_ATTEMPTS = 8
PASS_SECONDS = 50.0  # a pass starts no send after this long (well inside CLAIM), so a held claim never outlives its lease
PENDING = ("queued", "sending", "retrying", "deferred")
FINAL = ("sent", "delivered", "opened", "clicked", "bounced", "complained", "failed", "skipped", "cancelled")


def retry_delay(delivery_id: str, attempt: int, retry_after: float | None = None) -> float:
    """Seconds until attempt `attempt + 1`."""
    if retry_after is not None:
        return min(max(retry_after, 1.0), MAX_RETRY_AFTER)
    base = min(FIRST_RETRY * 2 ** (attempt - 1), LAST_RETRY)
    draw = int.from_bytes(hashlib.sha256(f"{delivery_id}:{attempt}".encode()).digest()[:4], "big") / 2**32
    return base * (0.8 + 0.4 * draw)


@dataclass
class Job:
    """A claimed delivery, decided and rendered, ready for its channel."""
    row: Delivery
    channel: Channel
    kwargs: dict
    endpoint: tuple
    threaded: bool
    attempt: int
    outcome: Outcome | None = None
    took_ms: int = 0
    error: Exception | None = None


class Drain:
    """One drain's state: its channels' kept-alive connections (one set per sending thread),
    reused across sends, and how the pass is paced.

    A pass claims due deliveries a few at a time, just before they can be sent, decides and renders
    each here, and hands the send to one of `concurrency` threads (network only: every database
    read and write stays in this thread), recording each outcome as it arrives, so at most
    `concurrency` sends are ever in flight unrecorded. Channels' rate limits and endpoints' rests
    (messaging.throttle) hold or release a channel's messages while the others go on. `clock` and
    `sleep` are injected in tests."""

    def __init__(self, *, concurrency: int | None = None, clock=time.monotonic, sleep=time.sleep, pass_seconds: float = PASS_SECONDS):
        self.concurrency = max(1, concurrency if concurrency is not None else settings.CDP_DELIVERY_CONCURRENCY)
        self.clock, self.sleep, self.pass_seconds = clock, sleep, pass_seconds
        self.backends: dict[str, object] = {}  # this thread's (table exports, test sends)
        self._local = threading.local()
        self._owner = threading.get_ident()
        self._all: list[object] = []
        self._lock = threading.Lock()
        self._tenants: dict = {}
        self._channels: dict[int, Channel] = {}
        self._secrets: dict[tuple, list[str]] = {}

    def backend(self, kind: str):
        # The pass's own thread keeps `backends`; each sending thread its own set (connections are not shared).
        backends = self.backends if threading.get_ident() == self._owner else self._local.__dict__.setdefault("backends", {})
        if kind not in backends:
            backends[kind] = backend_for(kind)()
            with self._lock:
                self._all.append(backends[kind])
        return backends[kind]

    def close(self) -> None:
        with self._lock:
            every, self._all = self._all, []
        for backend in every:
            close = getattr(backend, "close", None) or getattr(getattr(backend, "pool", None), "close", None)
            if close:
                close()
        self.backends.clear()

    def run(self, *, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
        """Claim and send what is due at `now`; returns counts by outcome."""
        now = now or timezone.now()
        token = uuid.uuid4().hex
        due = deque(Delivery.objects.filter(status__in=PENDING, next_attempt_at__lte=now)
                    .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).order_by("next_attempt_at", "id")
                    .select_related("template_version")[:limit])
        self._tenants.update(tenants_by_id({r.tenant_id for r in due} - set(self._tenants)))
        counts: dict[str, int] = {}

        def count(outcome: str) -> None:
            counts[outcome] = counts.get(outcome, 0) + 1

        pace, deadline = Pace(clock=self.clock), self.clock() + self.pass_seconds
        claimed: deque = deque()  # claimed, not yet prepared
        held: list[Job] = []  # waiting for their channel's next token
        in_flight: dict = {}
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="cdp-send") if self.concurrency > 1 else None
        try:
            while due or claimed or held or in_flight:
                if self.clock() >= deadline:
                    due.clear()  # the pass is over: the rest stay due, unclaimed, for the next one
                    while claimed:
                        count(self._release(claimed.popleft(), now, token, "the drain pass ended before its turn", 0.0))
                started = False
                while len(in_flight) < self.concurrency:
                    job = self._next(due, claimed, held, pace, now, token, count, deadline)
                    if job is None:
                        break
                    started = True
                    if not job.threaded and in_flight:  # alone: after what is in flight has been recorded
                        for future in wait(in_flight).done:
                            count(self._record(in_flight.pop(future), now, token, pace))
                    if pool is not None and job.threaded:
                        in_flight[pool.submit(self._send, job)] = job
                    else:
                        count(self._record(self._send(job), now, token, pace))
                if in_flight:
                    done, _ = wait(in_flight, timeout=0.05 if held else None, return_when=FIRST_COMPLETED)
                    for future in done:
                        count(self._record(in_flight.pop(future), now, token, pace))
                elif held and not started:
                    if self.clock() >= deadline:
                        for job in held:  # the pass is over: back to the outbox, unattempted
                            count(self._release(job.row, now, token, "waiting for the channel's rate limit", 1.0))
                        held.clear()
                    else:
                        self.sleep(max(0.001, min(_until(pace, j) for j in held)))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return counts

    def _next(self, due: deque, claimed: deque, held: list, pace: Pace, now: datetime, token: str, count, deadline: float) -> Job | None:
        """The next job allowed to go now: a held one whose token has come, else the next due
        delivery claimed and prepared (decided without a send: counted and skipped over)."""
        for job in list(held):
            if pace.resting(job.endpoint):
                held.remove(job)
                count(self._release(job.row, now, token, "the endpoint is failing: resting it", REST_SECONDS))
            elif self.clock() < deadline and pace.wait(job.channel.id, job.channel.rate_per_second) == 0:
                held.remove(job)
                return job
        while (due or claimed) and self.clock() < deadline:
            if not claimed:  # the next few at once, one write (not one claim a send)
                claimed.extend(self.claim_many([due.popleft() for _ in range(min(self.concurrency, len(due)))], now, token))
                continue
            row = claimed.popleft()
            try:
                prepared = self.prepare(row, now, token)
            except Exception as exc:  # one delivery's failure (the lakehouse away, a bug) must not stop the others
                logger.exception("delivery failed unexpectedly", extra={"cdp_delivery": row.delivery_id})
                count(self.unexpected(row, now, token, exc))
                continue
            if isinstance(prepared, str):
                count(prepared)
                continue
            if pace.resting(prepared.endpoint):
                count(self._release(prepared.row, now, token, "the endpoint is failing: resting it", REST_SECONDS))
                continue
            wait_seconds = pace.wait(prepared.channel.id, prepared.channel.rate_per_second)
            if wait_seconds == 0:
                return prepared
            if len(held) < self.concurrency * 4:
                held.append(prepared)
            else:  # enough held for rate limits already: the others' messages behind it must not wait
                count(self._release(prepared.row, now, token, "waiting for the channel's rate limit", wait_seconds))
        return None

    def _release(self, row: Delivery, now: datetime, token: str, reason: str, seconds: float) -> str:
        """Back to the outbox without an attempt, due again in `seconds`."""
        status = "retrying" if row.attempts > 1 else "queued"
        return _final(row, token, now, status, reason, next_attempt_at=now + timedelta(seconds=seconds), unsent=True)

    def unexpected(self, row: Delivery, now: datetime, token: str, exc: Exception) -> str:
        """Retried like a failed send (its attempt was counted), and given up after MAX_ATTEMPTS."""
        reason = f"could not be processed: {type(exc).__name__}"
        if row.attempts >= MAX_ATTEMPTS:
            return _final(row, token, now, "failed", f"gave up after {row.attempts} attempts: {reason}")
        return _final(row, token, now, "retrying", reason, next_attempt_at=now + timedelta(seconds=retry_delay(row.delivery_id, row.attempts)))

    def claim(self, row: Delivery, now: datetime, token: str) -> bool:
        """Take the delivery if it is still due and nobody holds it; its attempt is counted now, in
        the same write, so a crash during the send still counts it (a delivery that kills every
        drain gives up after MAX_ATTEMPTS)."""
        taken = (Delivery.objects.filter(id=row.id, status__in=PENDING, next_attempt_at__lte=now)
                 .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                 .update(claim=token, claimed_until=now + CLAIM, status="sending", attempts=F("attempts") + 1))
        row.attempts += 1
        return bool(taken)

    def secrets(self, channel: Channel, now: datetime) -> list[str]:
        # Decrypted once a channel a drain (a Fernet decryption a send was a tenth of its cost).
        key = (channel.id, now)
        if key not in self._secrets:
            self._secrets = {key: channel_secrets(channel, now)} | {k: v for k, v in self._secrets.items() if k[0] != channel.id}
        return self._secrets[key]

    def claim_many(self, rows: list[Delivery], now: datetime, token: str) -> list[Delivery]:
        """`claim` for a few rows in one write; returns those taken (another drain may hold some)."""
        ids = [r.id for r in rows]
        (Delivery.objects.filter(id__in=ids, status__in=PENDING, next_attempt_at__lte=now)
         .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
         .update(claim=token, claimed_until=now + CLAIM, status="sending", attempts=F("attempts") + 1))
        taken = set(Delivery.objects.filter(id__in=ids, claim=token).values_list("id", flat=True))
        for row in rows:
            row.attempts += row.id in taken
        return [r for r in rows if r.id in taken]

    def channel(self, channel_id: int) -> Channel:
        # One object a channel a drain: a 410 that disables it is seen by the pass's next sends.
        if channel_id not in self._channels:
            self._channels[channel_id] = Channel.objects.get(id=channel_id)
        return self._channels[channel_id]

    def process(self, row: Delivery, now: datetime, token: str) -> str:
        """One claimed delivery, decided, sent and recorded here and now (a test send)."""
        prepared = self.prepare(row, now, token)
        return prepared if isinstance(prepared, str) else self._record(self._send(prepared), now, token, Pace(clock=self.clock))

    def prepare(self, row: Delivery, now: datetime, token: str) -> Job | str:
        """Decide at send time and render: a Job to send, or the outcome recorded without one."""
        if row.attempts > MAX_ATTEMPTS:  # counted by claims whose drains died mid-send, every time
            return _final(row, token, now, "failed", f"gave up after {row.attempts - 1} attempts: the drain stopped while sending it")
        tenant = self._tenants.get(row.tenant_id) or tenants_by_id({row.tenant_id})[row.tenant_id]
        channel = self.channel(row.channel_id)
        if channel.disabled_reason:
            return _final(row, token, now, "failed", f"the channel is disabled: {channel.disabled_reason}", unsent=True)
        if row.expires_at is not None and now > row.expires_at:
            return _final(row, token, now, "skipped", f"too late: it was to go by {row.expires_at:%Y-%m-%d %H:%M} UTC", unsent=True)
        seed = not row.cdp_id  # an internal address (a campaign's seed list): outside consent, caps and the control group
        try:
            profile = seed_profile(row.address) if seed else customer_get(tenant=tenant, cdp_id=row.cdp_id)
        except NotFound:
            # No event: an event naming an erased customer's id would bring a trace of them back.
            return _final(row, token, now, "skipped", "no such customer (erased, or never seen)", unsent=True, event=False)
        if profile.suppressed:
            return _final(row, token, now, "skipped", "suppressed", unsent=True)
        if row.category == "marketing" and not seed:
            refusal = _consent_refusal(row, channel.kind, profile)
            if refusal:
                return _final(row, token, now, "skipped", refusal, unsent=True)
            hold = marketing_hold(tenant=tenant, row=row, kind=channel.kind, profile=profile, now=now)
            if hold is not None and hold.until is not None:
                return _final(row, token, now, "deferred", hold.reason, next_attempt_at=hold.until.astimezone(UTC), unsent=True)
            if hold is not None:
                return _final(row, token, now, "skipped", hold.reason, unsent=True)
        address = row.address or recipient(channel.kind, profile)
        if address is not None and not _valid_address(channel.kind, address):
            return _final(row, token, now, "skipped", f"invalid address: {address[:100] or 'none'}", unsent=True)
        why = address_suppression(tenant_id=row.tenant_id, kind=channel.kind, address=address) if address else ""
        if why:
            return _final(row, token, now, "skipped", f"the address is suppressed ({why})", unsent=True)
        marketing = row.category == "marketing" and not seed
        unsubscribe = unsubscribe_url(tenant_id=tenant.id, cdp_id=profile.cdp_id, kind=channel.kind, topic=row.topic) if marketing else ""
        preferences = preferences_url(tenant_id=tenant.id, cdp_id=profile.cdp_id) if marketing else ""
        try:
            parts = render_parts(channel.kind, row.template_version.parts,
                                 message_context(profile, row.variables, delivery_id=row.delivery_id, unsubscribe_url=unsubscribe,
                                                 preferences_url=preferences))
        except RenderError as exc:
            return _final(row, token, now, "failed", f"the template does not render: {exc}", unsent=True)
        kind = channel.kind
        config = send_config(channel)
        kwargs = {"config": config, "secrets": self.secrets(channel, now), "delivery_id": row.delivery_id, "parts": parts,
                  "address": address, "at": now, "unsubscribe_url": unsubscribe or None, "delivery": _facts(row, tenant)}
        # A delivery whose last drain died holding it (still `sending`) goes alone, in this thread:
        # if it is what kills drains, it takes no innocent in-flight sends with it, and the claims
        # of sends that were merely in flight beside it do not add up to a give-up.
        suspect = row.status == "sending"
        return Job(row=row, channel=channel, kwargs=kwargs, endpoint=endpoint(channel.id, kind, config, parts),
                   threaded=kind != "table" and not suspect, attempt=row.attempts)

    def _send(self, job: Job) -> Job:
        """The network part (in a sending thread): no database here."""
        started = time.perf_counter()
        try:
            job.outcome = self.backend(job.channel.kind).send(**job.kwargs)
        except Exception as exc:  # a backend's bug: recorded as unexpected, in the pass's thread
            job.error = exc
        job.took_ms = int((time.perf_counter() - started) * 1000)
        return job

    def _record(self, job: Job, now: datetime, token: str, pace: Pace) -> str:
        row, channel, outcome, attempt = job.row, job.channel, job.outcome, job.attempt
        if job.error is not None:
            logger.error("delivery failed unexpectedly", exc_info=job.error, extra={"cdp_delivery": row.delivery_id})
            return self.unexpected(row, now, token, job.error)
        pace.outcome(job.endpoint, failed=outcome.kind == "retry")
        attempt_row = DeliveryAttempt(delivery_id=row.id, number=attempt, started_at=now, outcome=outcome.kind,
                                      status_code=outcome.status_code, error=outcome.reason[:500], duration_ms=job.took_ms)
        if outcome.kind == "sent":
            return _final(row, token, now, "sent", "", response=outcome.response, sent_at=now, attempt=attempt_row,
                          provider_id=outcome.provider_id)
        if outcome.kind == "gone":
            channel_disable(channel, f"{outcome.reason} at {now:%Y-%m-%d %H:%M} UTC")
            channel.disabled_reason = outcome.reason
            return _final(row, token, now, "failed", outcome.reason, response=outcome.response, attempt=attempt_row)
        if outcome.kind == "retry" and attempt < MAX_ATTEMPTS:
            delay = retry_delay(row.delivery_id, attempt, outcome.retry_after)
            return _final(row, token, now, "retrying", outcome.reason, response=outcome.response, attempt=attempt_row,
                          next_attempt_at=now + timedelta(seconds=delay))
        reason = outcome.reason if outcome.kind == "failed" else f"gave up after {attempt} attempts: {outcome.reason}"
        return _final(row, token, now, "failed", reason, response=outcome.response, attempt=attempt_row)


def _until(pace: Pace, job: Job) -> float:
    """Seconds until the held job's channel has a token again (without taking it)."""
    bucket = pace.buckets.get(job.channel.id)
    if bucket is None or bucket.rate <= 0:
        return 0.0
    return max(0.0, (1.0 - bucket.tokens) / bucket.rate - (pace.clock() - bucket.at))


def _final(row: Delivery, token: str, now: datetime, status: str, reason: str, *, response: dict | None = None, sent_at=None,
           attempt: DeliveryAttempt | None = None, next_attempt_at=None, unsent: bool = False, event: bool = True,
           provider_id: str = "") -> str:
    """Record an outcome and let the claim go, with the attempt, in one commit. `unsent`: decided
    before any call (skipped, a disabled channel), so the claim's counted attempt is taken back."""
    changes = {"status": status, "reason": reason[:500], "claim": "", "claimed_until": None}
    if response is not None:
        changes["response"] = response
    if sent_at is not None:
        changes["sent_at"] = sent_at
    if provider_id:
        changes["provider_id"] = provider_id[:200]
    if next_attempt_at is not None:
        changes["next_attempt_at"] = next_attempt_at
    if unsent:
        changes["attempts"] = F("attempts") - 1
    with transaction.atomic():
        if attempt is not None:
            attempt.save()
        if Delivery.objects.filter(id=row.id, claim=token).update(**changes) and event and status in EVENT_NAMES:
            delivery_event(row, status, reason, at=now)
    return status


# The statuses that become events on the customer (retrying and deferred are steps, not news).
EVENT_NAMES = {"sent": "Message Sent", "failed": "Message Failed", "skipped": "Message Skipped", "delivered": "Message Delivered",
               "opened": "Message Opened", "clicked": "Message Clicked", "bounced": "Message Bounced", "complained": "Message Complained"}


def delivery_event(row: Delivery, status: str, reason: str, *, at: datetime, extra: dict | None = None) -> None:
    """Record a status change for export to the customer's events (call inside the change's commit)."""
    version = row.template_version
    DeliveryEvent.objects.create(delivery_id=row.id, tenant_id=row.tenant_id, cdp_id=row.cdp_id, name=EVENT_NAMES[status], at=at,
                                 properties={"delivery_id": row.delivery_id, "status": status, "reason": reason, "channel_id": row.channel_id,
                                             "template_id": version.template_id, "template_version": version.version,
                                             "category": row.category, "topic": row.topic, "source": row.source, **(extra or {})})


def delivery_events_export(*, limit: int = 5000) -> int:
    """Write recorded status changes to the customers' events in the lakehouse, oldest first; each
    once (its message id is the change's), so a crash between the write and the mark repeats it
    harmlessly."""
    pending = list(DeliveryEvent.objects.filter(exported=False).order_by("id")[:limit])
    by_tenant: dict[int, list[DeliveryEvent]] = {}
    for event in pending:
        by_tenant.setdefault(event.tenant_id, []).append(event)
    tenants = tenants_by_id(set(by_tenant))
    for tenant_id, events in by_tenant.items():
        customer_events_record(tenant=tenants[tenant_id], events=[
            {"message_id": f"cdp-message-event-{e.id}", "cdp_id": e.cdp_id, "event": e.name, "properties": e.properties,
             "event_time": e.at} for e in events])
        DeliveryEvent.objects.filter(id__in=[e.id for e in events]).update(exported=True)
    return len(pending)


def _facts(row: Delivery, tenant) -> dict:
    version = row.template_version
    return {"tenant_id": row.tenant_id, "tenant": tenant.slug, "channel_id": row.channel_id, "cdp_id": row.cdp_id, "template_id": version.template_id,
            "template_version": version.version, "category": row.category, "topic": row.topic, "source": row.source,
            "variables": row.variables}


def _consent_refusal(row: Delivery, kind: str, profile) -> str:
    topic = Topic.objects.filter(tenant_id=row.tenant_id, channel_kind=kind, key=row.topic).first()
    if topic is None:
        return f"the topic {row.topic or '(none)'} no longer exists"
    decision = next((c.granted for c in profile.consents if c.channel == kind and c.purpose == topic.key), None)
    if topic.policy == "opt_in" and decision is not True:
        return f"no consent for {kind} {topic.key} (opt-in)"
    if decision is False:
        return f"unsubscribed from {kind} {topic.key}"
    return ""


def _valid_address(kind: str, address: str) -> bool:
    if kind == "sms":
        return valid_phone(address)
    if kind == "email":
        local, _, domain = address.rpartition("@")
        return bool(local) and "." in domain and " " not in address and len(address) <= 254
    return bool(address)


def drain_once(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """One pass (the django-q2 schedule, tests), then the status changes exported as events."""
    drain = Drain()
    try:
        return drain.run(now=now, limit=limit)
    finally:
        drain.close()
        after_pass()


def after_pass() -> None:
    """What follows every drain pass, whoever runs it (the schedule, cdp_deliver): the outbox
    follows erasures, then the status changes go out as events (in that order, so no event of an
    erased customer reaches the lakehouse)."""
    deliveries_follow_erasures()
    delivery_events_export()


def send_now(delivery_pk: int, *, now: datetime | None = None) -> str:
    """The first attempt of one delivery, here and now (a test send); '' when a drain has it."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    drain = Drain()
    try:
        row = Delivery.objects.select_related("template_version").get(id=delivery_pk)
        return drain.process(row, now, token) if drain.claim(row, now, token) else ""
    finally:
        drain.close()


def test_send(*, tenant, channel_id: int, template_id: int, cdp_id: str, actor: str, variables: dict | None = None) -> int:
    """A template sent to a customer now (the API's test-send, the console's Send a test):
    transactional, a new key each time, its first attempt on a worker at once (a slow endpoint
    never holds the request; callers poll the delivery); retries, if any, by the drain. Returns
    the delivery's id."""
    from messaging.services.outbox import delivery_enqueue
    from messaging.types import SendRequest

    info, _ = delivery_enqueue(tenant=tenant, request=SendRequest(
        key=f"test:{uuid.uuid4().hex}", channel_id=channel_id, template_id=template_id, cdp_id=cdp_id, category="transactional",
        source=f"test-send:{actor}", variables=variables or {}))
    task_enqueue("messaging.tasks.delivery_send_now", info.id, name=f"test-send-{tenant.slug}-{info.id}", tenant_id=tenant.id)
    return info.id


def deliveries_send_now(*, tenant, requests: list, name: str) -> dict:
    """Many test sends at once (a campaign's variants, a journey test's messages): queued as
    `deliveries_enqueue` does, each first attempt on a worker at once (`name` names the tasks);
    retries, if any, by the drain. Returns the deliveries by key (DeliveryInfo)."""
    from messaging.selectors import deliveries_by_key
    from messaging.services.outbox import deliveries_enqueue

    deliveries_enqueue(tenant=tenant, requests=requests)
    made = deliveries_by_key(tenant=tenant, keys=[r.key for r in requests])
    for info in made.values():
        task_enqueue("messaging.tasks.delivery_send_now", info.id, name=f"{name}-{tenant.slug}-{info.id}", tenant_id=tenant.id)
    return made
