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
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from cdp_site.jsontext import loads, might_be_unstorable, storable
from customers.computed_traits import computed_traits_for_customers
from customers.sql import IDENTITIES_FOR_VALUES
from identity.extract import calls_graph
from identity.services import resolve_and_apply, rules_for
from customers.tables import EVENTS
from customers.traits import trait_rows_from_call, traits_save
from lakehouse import get_engine
from lakehouse.errors import store_failure
from operations.leases import held_lease, lease_renew
from tenancy.models import Tenant
from tenancy.selectors import tenant_ref
from tenancy.types import TenantRef
from customers.privacy import suppressed_calls
from tracking.calls import call_identifiers, parse_time
from tracking.models import InboxBatch
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


def event_row(tenant_id: str, cdp_id: str, call: dict, loaded_at) -> dict:
    compact = lambda value: None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    return {
        "tenant_id": tenant_id, "message_id": call["messageId"], "type": call["type"],
        "event": call.get("event") or call.get("name"), "cdp_id": cdp_id,
        "user_id": call.get("userId"), "anonymous_id": call.get("anonymousId"),
        "properties": compact(call.get("properties")), "traits": compact(call.get("traits")), "context": compact(call.get("context")),
        "event_time": parse_time(call["timestamp"]), "sent_at": parse_time(call.get("sentAt")),
        "received_at": parse_time(call["receivedAt"]), "loaded_at": loaded_at, "group_id": call.get("groupId"),
    }


class _Named(NamedTuple):
    message_id: str
    identifiers: tuple


def without_suppressed(tenant_id: int, calls: list[dict]) -> list[dict]:
    """Drop calls naming an identifier suppressed or erased since they were accepted (checked fresh)."""
    named = [_Named(c["messageId"], call_identifiers(c, c.get("traits"))) for c in calls]
    dropped = suppressed_calls(tenant_id=tenant_id, calls=named, fresh=True)
    return [c for c in calls if c["messageId"] not in dropped] if dropped else calls


def apply_calls(engine, tenant: TenantRef, calls: list[dict]) -> dict[str, str | None]:
    """Write one tenant's calls to the lakehouse. Safe to repeat with the same calls.
    Returns the customer (cdp_id) of each call, by messageId (None: no usable identifier)."""
    calls = sorted(calls, key=lambda c: (c["timestamp"], c["messageId"]))
    rules = rules_for(tenant.id)
    graph, per_call = calls_graph(calls, rules, known_user_ids=_known_user_ids(engine, tenant.slug, calls))
    seeds = {node for nodes in per_call for node in nodes}
    outcome = resolve_and_apply(engine, tenant, seeds=seeds, new=graph, rules=rules)
    now = timezone.now()
    events, traits = [], []
    for call, nodes in zip(calls, per_call):
        at = parse_time(call["timestamp"])
        cdp_id = next((outcome.assignment[node] for node in nodes if node in outcome.assignment), None)
        events.append(event_row(tenant.slug, cdp_id, call, now))
        if cdp_id:
            traits.extend(trait_rows_from_call(tenant.slug, cdp_id, call, at))
    engine.insert_many(EVENTS, events, skip_existing=True)
    traits_save(engine, traits)
    # Customers that merged or split were recomputed while their data moved; these got new events.
    computed_traits_for_customers(engine, tenant.slug, {row["cdp_id"] for row in events if row["cdp_id"]})
    return {row["message_id"]: row["cdp_id"] for row in events}


def _known_user_ids(engine, tenant_slug: str, calls: list[dict]) -> set[str]:
    """Which alias previousIds the tenant already knows as user ids."""
    values = sorted({str(c["previousId"]).strip() for c in calls if c.get("type") == "alias" and c.get("previousId")})
    known = set()
    for start in range(0, len(values), 200):
        rows = engine.execute(IDENTITIES_FOR_VALUES, {"tenant_id": tenant_slug, "values": values[start:start + 200]})
        known.update(r["id_value"] for r in rows if r["id_type"] == "user_id")
    return known


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
    tenants = {t.id: tenant_ref(t) for t in Tenant.objects.filter(id__in={b.tenant_id for b in batches})}
    by_tenant: dict[int, list[dict]] = defaultdict(list)
    for batch in batches:
        by_tenant[batch.tenant_id].extend(batch_calls(batch))
    with engine.transaction():
        for tenant_id, calls in by_tenant.items():
            apply_calls(engine, tenants[tenant_id], without_suppressed(tenant_id, calls))
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
    InboxBatch.objects.filter(id=batch.id).update(failed_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000])
    result.set_aside += 1
    # The message may quote customer data: the log gets the batch and the error type only.
    logger.error("inbox batch set aside", extra={"cdp_batch": batch.id, "cdp_tenant_id": batch.tenant_id, "cdp_error": type(exc).__name__})
