"""The drain: claims due deliveries with a lease, decides at send time (channel, customer,
suppression, consent for the topic, an address), renders the version queued, sends, records.

Crash safety: a delivery is claimed (a lease, nothing counted), then marked `sending` (its
attempt counted, a round of sends in one write) just before the channel is called, and its
outcome recorded after (messaging.services.outcomes, many in one commit); a drain killed in
between leaves a claim that expires, and the next drain sends again with the same delivery id
(Message-ID, webhook-id), alone, its outcome written at once. So a receiver sees an id at most
twice per crash and never two ids for one key; the outbox records one final status.

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
from django.db.models import F, Q
from django.utils import timezone

from customers.selectors import customer_get, customers_get
from customers.services import customer_events_record
from kernel.errors import NotFound
from messaging.channels import backend_for
from messaging.channels.base import Outcome
from messaging.channels.sms import valid_phone
from messaging.context import message_context, recipient, render_parts, seed_profile
from messaging.liquid import RenderError
from messaging.models import Channel, Delivery, DeliveryEvent, TemplateVersion, Topic
from messaging.policy import marketing_hold
from messaging.selectors import address_suppression
from messaging.services.channels import channel_disable, channel_secrets, send_config
from messaging.services.erasure import deliveries_follow_erasures
from messaging.services.links import preferences_url, unsubscribe_url
from messaging.services.outcomes import Attempt, OutcomeLog, Record
from messaging.throttle import REST_SECONDS, Pace, endpoint
from operations.queue import task_enqueue
from tenancy.selectors import tenants_by_id

logger = logging.getLogger("cdp.messaging")

CLAIM = timedelta(minutes=5)  # longer than any channel's timeout, so a live claim is never taken over
FIRST_RETRY, LAST_RETRY, MAX_RETRY_AFTER = 30.0, 3600.0, 86400.0
MAX_ATTEMPTS = 8
PASS_SECONDS = 50.0  # a pass starts no send after this long (well inside CLAIM), so a held claim never outlives its lease
CLAIM_SIZE = 50  # claimed together: one write and one read of their customers for many sends
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
    suspect: bool = False  # its last drain died holding it, mid-send: sent alone, its outcome written at once
    outcome: Outcome | None = None
    took_ms: int = 0
    error: Exception | None = None


class Drain:
    """One drain's state: its channels' kept-alive connections (one set per sending thread),
    reused across sends, and how the pass is paced.

    A pass claims due deliveries CLAIM_SIZE at a time with their customers read together, decides
    and renders each here, starts two rounds of sends in one write, and hands each send to one of
    `concurrency` threads (network only: every database read and write stays in this thread); the
    outcomes are written together (OutcomeLog). Channels' rate limits and endpoints' rests
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
        self._log: OutcomeLog | None = None
        self._versions: dict[int, TemplateVersion] = {}
        self._profiles: dict[tuple[int, str], object] = {}  # the claimed deliveries' customers, read together
        self._busy: dict[tuple[int, str], set[int]] = {}  # customers with a marketing send of this pass in flight or held

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
        self._busy.clear()  # a pass's own sends only (one that raised mid-way leaves none behind)
        due = deque(self._with_versions(Delivery.objects.filter(status__in=PENDING, next_attempt_at__lte=now)
                                        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                                        .order_by("next_attempt_at", "id")[:limit]))
        self._tenants.update(tenants_by_id({r.tenant_id for r in due} - set(self._tenants)))
        counts: dict[str, int] = {}

        def count(outcome: str) -> None:
            counts[outcome] = counts.get(outcome, 0) + 1

        pace, deadline = Pace(clock=self.clock), self.clock() + self.pass_seconds
        claimed: deque = deque()  # claimed, not yet prepared
        held: list[Job] = []  # waiting for their channel's next token
        ready: deque = deque()  # started (their attempt counted), for the next free sending thread
        in_flight: dict = {}
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="cdp-send") if self.concurrency > 1 else None
        try:
            while due or claimed or held or ready or in_flight:
                if self.clock() >= deadline:
                    due.clear()  # the pass is over: the rest stay due, unclaimed, for the next one
                    while claimed:
                        count(self._release(claimed.popleft(), now, token, "the drain pass ended before its turn", 0.0))
                started = False
                while len(in_flight) < self.concurrency:
                    if not ready:
                        ready.extend(self._group(due, claimed, held, pace, now, token, count, deadline))
                    if not ready:
                        break
                    job, started = ready.popleft(), True
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
            self.flush()
        return counts

    def _with_versions(self, rows) -> list[Delivery]:
        """The rows with their template versions, each read once a drain (a version never changes;
        most deliveries of a pass share a few)."""
        rows = list(rows)
        missing = {r.template_version_id for r in rows} - set(self._versions)
        self._versions.update(TemplateVersion.objects.in_bulk(missing))
        for row in rows:
            row.template_version = self._versions[row.template_version_id]
        return rows

    def flush(self) -> None:
        """Write the outcomes decided so far (a pass ends with it)."""
        if self._log is not None:
            self._log.flush()

    def _final(self, row: Delivery, token: str, now: datetime, status: str, reason: str, **changes) -> str:
        """Record an outcome and let the claim go (outcomes.OutcomeLog: written with others in one commit)."""
        self._settled(row)
        if self._log is None or self._log.token != token:
            self.flush()
            self._log = OutcomeLog(token=token, clock=self.clock)
        return self._log.add(Record(row=row, at=now, status=status, reason=reason, **changes))

    def _group(self, due: deque, claimed: deque, held: list, pace: Pace, now: datetime, token: str, count, deadline: float) -> list[Job]:
        """Up to two rounds of sends' jobs, started together in one write (a job to send alone ends a group)."""
        jobs: list[Job] = []
        while len(jobs) < self.concurrency * 2:  # one write for two rounds of sends; a crash counts at most one round unsent
            job = self._next(due, claimed, held, pace, now, token, count, deadline)
            if job is None:
                break
            jobs.append(job)
            if not job.threaded:
                break
        return self._start(jobs, token)

    def _start(self, jobs: list[Job], token: str) -> list[Job]:
        """Mark the jobs `sending` with their attempt counted, in one write just before their sends,
        so a crash during a send still counts it (a delivery that kills every drain gives up after
        MAX_ATTEMPTS) and a crash before counts nothing. Returns those still to send: a sender's
        hold or cancel since the claim keeps a delivery from going (its claim is let go)."""
        if not jobs:
            return []
        ids = [job.row.id for job in jobs]
        mine = Delivery.objects.filter(id__in=ids, claim=token)
        if mine.filter(status__in=PENDING).update(status="sending", attempts=F("attempts") + 1) < len(ids):
            started = set(mine.filter(status="sending").values_list("id", flat=True))
            mine.exclude(id__in=started).update(claim="", claimed_until=None)
            for job in jobs:
                if job.row.id not in started:
                    self._settled(job.row)
            jobs = [job for job in jobs if job.row.id in started]
        for job in jobs:
            job.row.attempts += 1
            job.attempt = job.row.attempts
        return jobs

    def _settled(self, row: Delivery) -> None:
        """The delivery's send of this pass is over (recorded, or not to go): its customer's cap
        checks need not wait for it."""
        customer = _marketing_customer(row)
        if customer in self._busy:
            self._busy[customer].discard(row.id)
            if not self._busy[customer]:
                del self._busy[customer]

    def _next(self, due: deque, claimed: deque, held: list, pace: Pace, now: datetime, token: str, count, deadline: float) -> Job | None:
        """The next job allowed to go now: a held one whose token has come, else the next due
        delivery claimed and prepared (decided without a send: counted and skipped over)."""
        for job in list(held):
            if pace.resting(job.endpoint):
                held.remove(job)
                count(self._release(job.row, now, token, "the endpoint is failing: resting it", REST_SECONDS))
            elif self.clock() < deadline and _take(pace, job) == 0:
                held.remove(job)
                return job
        while (due or claimed) and self.clock() < deadline:
            if not claimed:  # the next few at once, one write (not one claim a send), their customers read together
                claimed.extend(self.claim_many([due.popleft() for _ in range(min(max(self.concurrency, CLAIM_SIZE), len(due)))], now, token))
                self._read_profiles(claimed)
                continue
            row = claimed.popleft()
            customer = _marketing_customer(row)
            if customer and self._busy.get(customer):
                # Its cap check must count the message before it, whose outcome is not known yet.
                count(self._release(row, now, token, "another marketing message to this customer is on its way", 1.0))
                continue
            if customer and self._log is not None and self._log.holds(*customer):
                self.flush()  # the cap check counts what the outbox says: this customer's outcomes written first
            try:
                prepared = self.prepare(row, now, token)
            except Exception as exc:  # one delivery's failure (the lakehouse away, a bug) must not stop the others
                logger.exception("delivery failed unexpectedly", extra={"cdp_delivery": row.delivery_id})
                count(self.unexpected(row, now, token, exc, started=False))
                continue
            if isinstance(prepared, str):
                count(prepared)
                continue
            if pace.resting(prepared.endpoint):
                count(self._release(prepared.row, now, token, "the endpoint is failing: resting it", REST_SECONDS))
                continue
            wait_seconds = _take(pace, prepared)
            if wait_seconds == 0:
                return prepared
            if len(held) < self.concurrency * 4:
                held.append(prepared)
            else:  # enough held for rate limits already: the others' messages behind it must not wait
                count(self._release(prepared.row, now, token, "waiting for the channel's rate limit", wait_seconds))
        return None

    def _read_profiles(self, rows) -> None:
        """The customers of the claimed deliveries, one read a tenant (prepare takes them from here)."""
        by_tenant: dict[int, set[str]] = {}
        for row in rows:
            if row.cdp_id:
                by_tenant.setdefault(row.tenant_id, set()).add(row.cdp_id)
        self._profiles = {}
        for tenant_id, cdp_ids in by_tenant.items():
            tenant = self._tenants.get(tenant_id) or tenants_by_id({tenant_id})[tenant_id]
            try:
                found = customers_get(tenant=tenant, cdp_ids=sorted(cdp_ids))
            except Exception:  # the lakehouse away: each delivery's own read decides (and retries) it
                logger.warning("could not read the customers of claimed deliveries", exc_info=True)
                continue
            self._profiles.update({(tenant_id, cdp_id): profile for cdp_id, profile in found.items()})

    def _release(self, row: Delivery, now: datetime, token: str, reason: str, seconds: float) -> str:
        """Back to the outbox without an attempt, due again in `seconds`."""
        status = "retrying" if row.attempts > 0 else "queued"
        return self._final(row, token, now, status, reason, next_attempt_at=now + timedelta(seconds=seconds))

    def unexpected(self, row: Delivery, now: datetime, token: str, exc: Exception, *, started: bool) -> str:
        """Retried like a failed send, its attempt counted (before a start, here), and given up
        after MAX_ATTEMPTS."""
        attempts = row.attempts if started else row.attempts + 1
        reason = f"could not be processed: {type(exc).__name__}"
        if attempts >= MAX_ATTEMPTS:
            return self._final(row, token, now, "failed", f"gave up after {attempts} attempts: {reason}", attempts=attempts)
        return self._final(row, token, now, "retrying", reason, attempts=attempts,
                           next_attempt_at=now + timedelta(seconds=retry_delay(row.delivery_id, attempts)))

    def claim(self, row: Delivery, now: datetime, token: str) -> bool:
        """Take the delivery if it is still due and nobody holds it (its attempt is counted when its
        send starts: `_start`)."""
        return bool(self._claimable([row.id], now).update(claim=token, claimed_until=now + CLAIM))

    @staticmethod
    def _claimable(ids: list[int], now: datetime):
        return (Delivery.objects.filter(id__in=ids, status__in=PENDING, next_attempt_at__lte=now)
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)))

    def secrets(self, channel: Channel, now: datetime) -> list[str]:
        # Decrypted once a channel a drain (a Fernet decryption a send was a tenth of its cost).
        key = (channel.id, now)
        if key not in self._secrets:
            self._secrets = {key: channel_secrets(channel, now)} | {k: v for k, v in self._secrets.items() if k[0] != channel.id}
        return self._secrets[key]

    def claim_many(self, rows: list[Delivery], now: datetime, token: str) -> list[Delivery]:
        """`claim` for many rows in one write; returns those taken (another drain may hold some)."""
        ids = [r.id for r in rows]
        if self._claimable(ids, now).update(claim=token, claimed_until=now + CLAIM) == len(ids):
            return rows
        taken = set(Delivery.objects.filter(id__in=ids, claim=token).values_list("id", flat=True))
        return [r for r in rows if r.id in taken]

    def channel(self, channel_id: int) -> Channel:
        # One object a channel a drain: a 410 that disables it is seen by the pass's next sends.
        if channel_id not in self._channels:
            self._channels[channel_id] = Channel.objects.get(id=channel_id)
        return self._channels[channel_id]

    def process(self, row: Delivery, now: datetime, token: str) -> str:
        """One claimed delivery, decided, sent and recorded here and now (a test send); '' when its
        sender held or cancelled it since the claim."""
        try:
            prepared = self.prepare(row, now, token)
            if isinstance(prepared, str):
                return prepared
            started = self._start([prepared], token)
            return self._record(self._send(prepared), now, token, Pace(clock=self.clock)) if started else ""
        finally:
            self.flush()

    def prepare(self, row: Delivery, now: datetime, token: str) -> Job | str:
        """Decide at send time and render: a Job to send, or the outcome recorded without one."""
        if row.attempts >= MAX_ATTEMPTS:  # counted by starts whose drains died mid-send, every time
            return self._final(row, token, now, "failed", f"gave up after {row.attempts} attempts: the drain stopped while sending it")
        tenant = self._tenants.get(row.tenant_id) or tenants_by_id({row.tenant_id})[row.tenant_id]
        channel = self.channel(row.channel_id)
        if channel.disabled_reason:
            return self._final(row, token, now, "failed", f"the channel is disabled: {channel.disabled_reason}")
        if row.expires_at is not None and now > row.expires_at:
            return self._final(row, token, now, "skipped", f"too late: it was to go by {row.expires_at:%Y-%m-%d %H:%M} UTC")
        seed = not row.cdp_id  # an internal address (a campaign's seed list): outside consent, caps and the control group
        try:
            profile = seed_profile(row.address) if seed else (self._profiles.pop((row.tenant_id, row.cdp_id), None)
                                                              or customer_get(tenant=tenant, cdp_id=row.cdp_id))
        except NotFound:
            # No event: an event naming an erased customer's id would bring a trace of them back.
            return self._final(row, token, now, "skipped", "no such customer (erased, or never seen)", event=False)
        if profile.suppressed:
            return self._final(row, token, now, "skipped", "suppressed")
        if row.category == "marketing" and not seed:
            refusal = _consent_refusal(row, channel.kind, profile)
            if refusal:
                return self._final(row, token, now, "skipped", refusal)
            hold = marketing_hold(tenant=tenant, row=row, kind=channel.kind, profile=profile, now=now)
            if hold is not None and hold.until is not None:
                return self._final(row, token, now, "deferred", hold.reason, next_attempt_at=hold.until.astimezone(UTC))
            if hold is not None:
                return self._final(row, token, now, "skipped", hold.reason)
        address = row.address or recipient(channel.kind, profile)
        if address is not None and not _valid_address(channel.kind, address):
            return self._final(row, token, now, "skipped", f"invalid address: {address[:100] or 'none'}")
        why = address_suppression(tenant_id=row.tenant_id, kind=channel.kind, address=address) if address else ""
        if why:
            return self._final(row, token, now, "skipped", f"the address is suppressed ({why})")
        marketing = row.category == "marketing" and not seed
        unsubscribe = unsubscribe_url(tenant_id=tenant.id, cdp_id=profile.cdp_id, kind=channel.kind, topic=row.topic) if marketing else ""
        preferences = preferences_url(tenant_id=tenant.id, cdp_id=profile.cdp_id) if marketing else ""
        try:
            parts = render_parts(channel.kind, row.template_version.parts,
                                 message_context(profile, row.variables, delivery_id=row.delivery_id, unsubscribe_url=unsubscribe,
                                                 preferences_url=preferences))
        except RenderError as exc:
            return self._final(row, token, now, "failed", f"the template does not render: {exc}")
        kind = channel.kind
        config = send_config(channel)
        kwargs = {"config": config, "secrets": self.secrets(channel, now), "delivery_id": row.delivery_id, "parts": parts,
                  "address": address, "at": now, "unsubscribe_url": unsubscribe or None, "delivery": _facts(row, tenant)}
        # A delivery whose last drain died holding it (still `sending`) goes alone, in this thread:
        # if it is what kills drains, it takes no innocent in-flight sends with it, and the claims
        # of sends that were merely in flight beside it do not add up to a give-up.
        suspect = row.status == "sending"
        if marketing:
            self._busy.setdefault((row.tenant_id, row.cdp_id), set()).add(row.id)
        return Job(row=row, channel=channel, kwargs=kwargs, endpoint=endpoint(channel.id, kind, config, parts),
                   threaded=kind != "table" and not suspect, attempt=row.attempts, suspect=suspect)

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
        try:
            return self._outcome(job, now, token, pace)
        finally:
            if job.suspect:  # written before the next send: a crash now re-sends it once more, not with others
                self.flush()

    def _outcome(self, job: Job, now: datetime, token: str, pace: Pace) -> str:
        row, channel, outcome, attempt = job.row, job.channel, job.outcome, job.attempt
        if job.error is not None:
            logger.error("delivery failed unexpectedly", exc_info=job.error, extra={"cdp_delivery": row.delivery_id})
            return self.unexpected(row, now, token, job.error, started=True)
        pace.outcome(job.endpoint, failed=outcome.kind == "retry")
        attempt_row = Attempt(number=attempt, started_at=now, outcome=outcome.kind, status_code=outcome.status_code,
                              error=outcome.reason, duration_ms=job.took_ms)
        if outcome.kind == "sent":
            return self._final(row, token, now, "sent", "", response=outcome.response, sent_at=now, attempt=attempt_row,
                          provider_id=outcome.provider_id)
        if outcome.kind == "gone":
            channel_disable(channel, f"{outcome.reason} at {now:%Y-%m-%d %H:%M} UTC")
            channel.disabled_reason = outcome.reason
            return self._final(row, token, now, "failed", outcome.reason, response=outcome.response, attempt=attempt_row)
        if outcome.kind == "retry" and attempt < MAX_ATTEMPTS:
            delay = retry_delay(row.delivery_id, attempt, outcome.retry_after)
            return self._final(row, token, now, "retrying", outcome.reason, response=outcome.response, attempt=attempt_row,
                          next_attempt_at=now + timedelta(seconds=delay))
        reason = outcome.reason if outcome.kind == "failed" else f"gave up after {attempt} attempts: {outcome.reason}"
        return self._final(row, token, now, "failed", reason, response=outcome.response, attempt=attempt_row)


def _marketing_customer(row: Delivery) -> tuple[int, str] | None:
    """The customer whose caps a delivery counts against (a seed has none, transactional counts none)."""
    return (row.tenant_id, row.cdp_id) if row.category == "marketing" and row.cdp_id else None


def _take(pace: Pace, job: Job) -> float:
    """A token for the job's channel and endpoint (0), or the seconds until there is one."""
    return pace.wait(job.channel.id, job.channel.rate_per_second, job.endpoint, job.channel.endpoint_rate_per_second)


def _until(pace: Pace, job: Job) -> float:
    """Seconds until the held job's channel and endpoint have a token again (without taking it)."""
    return pace.until(job.channel.id, job.channel.rate_per_second, job.endpoint, job.channel.endpoint_rate_per_second)


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
