"""What the drain decided, written down: each delivery's outcome (its new status, the attempt
made, the status change as an event on the customer), buffered and written for many deliveries
in one commit instead of one commit a delivery (measured: three quarters of a webhook's cost in
the drain, bench/delivery.py).

The failure model stays the drain's: a delivery is claimed (`sending`, its attempt counted)
before its send, and an outcome is only ever written while that claim is held. A drain killed
before a flush loses the outcomes buffered since the last one; their claims expire and the next
drain sends those deliveries again with the same delivery ids, so a receiver still sees an id at
most twice per crash and the outbox still records one final status. `OutcomeLog` flushes every
FLUSH_SIZE outcomes and FLUSH_SECONDS after the oldest, so the console's statuses stay current.

A provider's news can overtake the record of the send (a delivery event or an open arrives
while the delivery is still `sending` here): the later status is kept, never put back to `sent`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from kernel.bulk import rows_insert, rows_update
from messaging.models import Delivery, DeliveryAttempt, DeliveryEvent

FLUSH_SIZE = 200
FLUSH_SECONDS = 1.0

# The statuses that become events on the customer (retrying and deferred are steps, not news).
EVENT_NAMES = {"sent": "Message Sent", "failed": "Message Failed", "skipped": "Message Skipped", "delivered": "Message Delivered",
               "opened": "Message Opened", "clicked": "Message Clicked", "bounced": "Message Bounced", "complained": "Message Complained"}
# News a provider can bring before the send is recorded; recording `sent` after it keeps it.
OVERTAKING = ("delivered", "opened", "clicked", "bounced", "complained", "failed")
# A sender's pause or cancel, between the claim and the send (which then did not start): kept.
SENDERS = ("held", "cancelled")

ATTEMPT_COLUMNS = ("delivery", "number", "started_at", "outcome", "status_code", "error", "duration_ms")
EVENT_COLUMNS = ("delivery", "tenant_id", "cdp_id", "name", "at", "properties", "exported")
DELIVERY_COLUMNS = ("status", "reason", "claim", "claimed_until", "response", "sent_at", "provider_id", "next_attempt_at", "attempts")


@dataclass
class Attempt:
    """One call to a channel: what it answered and how long it took."""
    number: int
    started_at: datetime
    outcome: str
    status_code: int | None
    error: str
    duration_ms: int


@dataclass
class Record:
    row: Delivery
    at: datetime
    status: str
    reason: str
    response: dict | None = None
    sent_at: datetime | None = None
    provider_id: str = ""
    next_attempt_at: datetime | None = None
    attempts: int | None = None  # the attempts now counted, when the outcome counts one (a start counts the rest)
    event: bool = True
    attempt: Attempt | None = None


def event_properties(row: Delivery, status: str, reason: str, extra: dict | None = None) -> dict:
    version = row.template_version
    return {"delivery_id": row.delivery_id, "status": status, "reason": reason, "channel_id": row.channel_id,
            "template_id": version.template_id, "template_version": version.version, "category": row.category, "topic": row.topic,
            "source": row.source, **(extra or {})}


def delivery_event(row: Delivery, status: str, reason: str, *, at: datetime, extra: dict | None = None) -> None:
    """Record a status change for export to the customer's events (call inside the change's commit)."""
    DeliveryEvent.objects.create(delivery_id=row.id, tenant_id=row.tenant_id, cdp_id=row.cdp_id, name=EVENT_NAMES[status], at=at,
                                 properties=event_properties(row, status, reason, extra))


@dataclass
class OutcomeLog:
    """The outcomes of one drain's claims (`token`), not yet written. `clock` is the drain's."""
    token: str
    clock: Callable[[], float]
    pending: list[Record] = field(default_factory=list)
    since: float = 0.0

    def add(self, outcome: Record) -> str:
        if not self.pending:
            self.since = self.clock()
        self.pending.append(outcome)
        if len(self.pending) >= FLUSH_SIZE or self.clock() - self.since >= FLUSH_SECONDS:
            self.flush()
        return outcome.status

    def holds(self, tenant_id: int, cdp_id: str) -> bool:
        """Whether an unwritten outcome concerns this customer (a cap check must see it first)."""
        return any(o.row.cdp_id == cdp_id and o.row.tenant_id == tenant_id for o in self.pending)

    def flush(self) -> None:
        outcomes, self.pending = self.pending, []
        if outcomes:
            outcomes_write(outcomes, self.token)


def outcomes_write(outcomes: list[Record], token: str) -> None:
    """The outcomes in one commit: every attempt made, and the new status and event of each
    delivery this drain still holds (one whose claim expired and was taken over is the other's)."""
    with transaction.atomic():
        held = {pk: (status, reason) for pk, status, reason in Delivery.objects.select_for_update()
                .filter(id__in=[o.row.id for o in outcomes], claim=token).values_list("id", "status", "reason")}
        rows_insert(DeliveryAttempt, ATTEMPT_COLUMNS, [
            (o.row.id, a.number, a.started_at, a.outcome, a.status_code, a.error[:500], a.duration_ms)
            for o in outcomes if (a := o.attempt) is not None])
        mine = [o for o in outcomes if o.row.id in held]
        rows_update(Delivery, DELIVERY_COLUMNS, [_changes(o, *held[o.row.id]) + (o.row.id, token) for o in mine], where=("id", "claim"))
        rows_insert(DeliveryEvent, EVENT_COLUMNS, [
            (o.row.id, o.row.tenant_id, o.row.cdp_id, EVENT_NAMES[o.status], o.at, event_properties(o.row, o.status, o.reason), False)
            for o in mine if o.event and o.status in EVENT_NAMES and held[o.row.id][0] not in SENDERS])


def _changes(o: Record, current: str, current_reason: str) -> tuple:
    """The delivery's new values, in DELIVERY_COLUMNS' order; what the outcome does not change is
    kept as claimed (this drain's claim: nothing else wrote them since, but a provider's news or
    its sender's pause or cancel)."""
    row = o.row
    status, reason = o.status, o.reason[:500]
    if (o.status == "sent" and current in OVERTAKING) or current in SENDERS:
        status, reason = current, current_reason if current in SENDERS else reason
    row.status, row.reason, row.claim, row.claimed_until = status, reason, "", None
    if o.response is not None:
        row.response = o.response
    if o.sent_at is not None:
        row.sent_at = o.sent_at
    if o.provider_id:
        row.provider_id = o.provider_id[:200]
    if o.next_attempt_at is not None:
        row.next_attempt_at = o.next_attempt_at
    if o.attempts is not None:
        row.attempts = o.attempts
    return (row.status, row.reason, row.claim, row.claimed_until, row.response, row.sent_at, row.provider_id, row.next_attempt_at,
            row.attempts)
