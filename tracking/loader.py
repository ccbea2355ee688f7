"""The loader: inbox rows into the lakehouse, in large statements, exactly once.

Each batch is applied (events inserted skipping known messageIds, identities recorded, traits
upserted last-write-wins) and then marked loaded. Every step is idempotent, so a loader killed
between the two simply applies the batch again on its next run and nothing is counted twice;
on the embedded engine both steps share one transaction anyway.

A batch that fails for a reason of its own (a value the lakehouse refuses, a bug met by one
payload) must not stop every batch behind it, of every tenant: the loader then loads that group
one batch at a time and sets aside the ones that fail, with their error, for an operator to see
and retry (`cdp_load --retry-failed`, the Operations page, `POST /api/operations/inbox/retry`;
`tracking.services.inbox_retry`).
Failures of the lakehouse itself (away, not migrated, refusing our credentials) stop the run
instead, leaving every batch pending for the next one.
"""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from customers.services import calls_apply, without_suppressed
from kernel.jsontext import loads, might_be_unstorable, storable
from lakehouse import get_engine
from lakehouse.errors import store_failure
from operations.leases import held_lease, lease_renew
from operations.wakeups import wakeups_fire
from tenancy.selectors import tenants_by_id
from tracking.models import InboxBatch, InboxMessage
from tracking.services import normalized_calls

logger = logging.getLogger("cdp.loader")
LEASE = "inbox-loader"
LEASE_SECONDS = 600
DEFAULT_BATCH = 50  # inbox rows (requests) per lakehouse write: up to ~25k calls at SDK batch sizes


@dataclass
class LoadResult:
    batches: int = 0
    calls: int = 0
    busy: bool = False  # another loader holds the lease
    set_aside: int = 0  # batches that failed on their own and wait for an operator


def _pending(batch_size: int) -> list[InboxBatch]:
    return list(InboxBatch.objects.filter(loaded_at__isnull=True, failed_at__isnull=True).order_by("id")[:batch_size])


def batch_calls(batch: InboxBatch) -> list[dict]:
    """The accepted calls of a stored request, normalised exactly as they were when accepted."""
    message_ids = {int(index): message_id for index, message_id in json.loads(batch.accepted).items()}
    accepted, _ = normalized_calls(_stored_body(batch.body), implied_type=batch.call_type or None, received_at=batch.received_at,
                                   check_size=False, message_ids=message_ids)
    return [call.payload for _, call in accepted]


def _stored_body(text: str) -> object:
    value = loads(text, unstorable_ok=True)  # the calls holding such text were refused, not accepted
    # Accepted before NULs and lone surrogates were refused: load them with U+FFFD in their place
    # rather than fail this batch (and every batch behind it) for ever.
    return storable(value) if might_be_unstorable(text) else value


def load_batch(engine, batches: list[InboxBatch]) -> int:
    tenants = tenants_by_id(b.tenant_id for b in batches)
    by_tenant: dict[int, list[dict]] = defaultdict(list)
    for batch in batches:
        by_tenant[batch.tenant_id].extend(batch_calls(batch))
    with engine.transaction():
        for tenant_id, calls in by_tenant.items():
            calls_apply(engine, tenants[tenant_id], without_suppressed(tenants[tenant_id], calls))
        with transaction.atomic():
            # Loaded bodies are emptied: customer data lives in the lakehouse only (and erasure
            # need not look here); the messageIds stay in InboxMessage for deduplication.
            InboxBatch.objects.filter(id__in=[b.id for b in batches]).update(loaded_at=timezone.now(), body="", accepted="{}")
    return sum(len(calls) for calls in by_tenant.values())


def load_inbox(*, batch_size: int = DEFAULT_BATCH, max_batches: int | None = None,
               progress: Callable[[int, int], None] = lambda batches, calls: None) -> LoadResult:
    """Load pending inbox rows until none are left (or `max_batches`). One loader at a time."""
    result = LoadResult()
    engine = get_engine()
    with held_lease(LEASE, seconds=LEASE_SECONDS) as token:
        if token is None:
            result.busy = True
            return result
        while max_batches is None or result.batches < max_batches:
            batches = _pending(batch_size)
            if not batches:
                break
            result.calls += _load_or_set_aside(engine, batches, result)
            result.batches += 1
            progress(result.batches, result.calls)
            lease_renew(LEASE, token, seconds=LEASE_SECONDS)
    if result.calls:
        logger.info("inbox loaded", extra={"cdp_calls": result.calls, "cdp_batches": result.batches})
        wakeups_fire(topic="events")  # the journey orchestrator, when a journey waits for events
    return result


def _load_or_set_aside(engine, batches: list[InboxBatch], result: LoadResult) -> int:
    """Load the batches together; if that fails for a reason of theirs, one by one, setting aside
    each that fails. Loading is idempotent, so what a failed attempt wrote is written once."""
    try:
        return load_batch(engine, batches)
    except Exception as exc:
        if store_failure(exc):
            raise
        if len(batches) == 1:
            _set_aside(batches[0], exc, result)
            return 0
    loaded = 0
    for batch in batches:
        try:
            loaded += load_batch(engine, [batch])
        except Exception as exc:
            if store_failure(exc):
                raise
            _set_aside(batch, exc, result)
    return loaded


def _set_aside(batch: InboxBatch, exc: Exception, result: LoadResult) -> None:
    """Set the batch aside, and give up its messageIds' claims: its calls are not stored, so an
    SDK's resend of them must be accepted, not dropped as a duplicate (a retry of this batch later
    loads nothing twice: loading skips known messageIds)."""
    with transaction.atomic():
        InboxBatch.objects.filter(id=batch.id).update(failed_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000])
        message_ids = list(json.loads(batch.accepted).values())
        for start in range(0, len(message_ids), 1000):
            InboxMessage.objects.filter(tenant_id=batch.tenant_id, message_id__in=message_ids[start:start + 1000]).delete()
    result.set_aside += 1
    # The message may quote customer data: the log gets the batch and the error type only.
    logger.error("inbox batch set aside", extra={"cdp_batch": batch.id, "cdp_tenant_id": batch.tenant_id, "cdp_error": type(exc).__name__})
