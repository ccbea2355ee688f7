"""Accepting tracking calls: validate, drop duplicates and suppressed identifiers, commit to the inbox."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from customers.privacy import suppressed_calls
from kernel.errors import InvalidInput
from kernel.jsontext import might_be_unstorable
from kernel.segment.body import Body, MalformedBody, read_json
from kernel.segment.calls import Accepted, Checked, Rejected, check_call, normalize_call, parse_time
from kernel.segment.limits import MAX_EVENT_BYTES
from tenancy.services import audit_record
from tenancy.types import TenantRef
from tracking import debugger
from tracking.inbox import inbox_store
from tracking.models import RejectedDay
from tracking.selectors import set_aside_batches


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    suppressed: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"success": True, "accepted": self.accepted, "duplicates": self.duplicates,
                "suppressed": self.suppressed, "rejected": [r.as_dict() for r in self.rejected]}


def request_calls(data: object, *, implied_type: str | None) -> tuple[list, datetime | None, dict | None]:
    """The raw calls of one request, the batch's sentAt and its shared context."""
    if implied_type is not None:
        return [data], None, None
    if not isinstance(data, dict) or not isinstance(data.get("batch"), list):
        raise InvalidInput("A batch is an object with a `batch` array.", errors=[{"field": "batch", "message": "must be an array of calls"}])
    context = data.get("context") if isinstance(data.get("context"), dict) else None
    return data["batch"], parse_time(data.get("sentAt")), context


def normalized_calls(data: object, *, implied_type: str | None, received_at: datetime, check_size: bool = True,
                     message_ids: dict[int, str] | None = None, build: bool = True, unstorable_possible: bool = False,
                     deep_possible: bool = False) -> tuple[list[tuple[int, Accepted | Checked]], list[Rejected]]:
    """Every call of a request: (index, call) pairs for the valid ones, and the Rejected ones.

    Ingestion only checks (`build=False`); the loader calls this again on the stored body, with
    the messageIds assigned at ingestion, and gets the normalised calls."""
    raws, batch_sent_at, shared_context = request_calls(data, implied_type=implied_type)
    accepted, rejected = [], []
    for index, raw in enumerate(raws):
        if message_ids is not None and index not in message_ids:
            continue
        if shared_context and isinstance(raw, dict) and isinstance(raw.get("context") or {}, dict):
            raw = {**raw, "context": {**shared_context, **(raw.get("context") or {})}}
        outcome = (normalize_call if build else check_call)(raw, received_at=received_at, batch_sent_at=batch_sent_at,
                                 index=index if implied_type is None else None, implied_type=implied_type,
                                 check_size=check_size, message_id=(message_ids or {}).get(index), unstorable_possible=unstorable_possible,
                                 deep_possible=deep_possible)
        if not isinstance(outcome, Rejected):
            accepted.append((index, outcome))
        else:
            rejected.append(outcome)
    return accepted, rejected


def ingest(*, tenant: TenantRef, body: bytes, content_encoding: str = "", implied_type: str | None = None,
           parsed: Body | None = None, source: str = "") -> IngestResult:
    """Validate a request's calls and commit the valid ones to the inbox before returning.

    Invalid calls are reported and the valid ones kept; only when nothing is valid is it an error.
    While the tenant's live event view is open, each call's fate is recorded for it (`source`:
    who sent the request)."""
    received_at = timezone.now()
    text, data, deep = parsed or read_json(body, content_encoding=content_encoding)
    # A body under the per-call limit cannot hold a call over it: skip measuring each call.
    check_size = len(text) * 4 > MAX_EVENT_BYTES and len(text.encode()) > MAX_EVENT_BYTES
    accepted, rejected = normalized_calls(data, implied_type=implied_type, received_at=received_at, check_size=check_size, build=False,
                                          unstorable_possible=might_be_unstorable(text), deep_possible=deep)
    if not accepted:
        if not rejected:
            raise MalformedBody("The batch is empty.")
        errors = [error for r in rejected for error in r.errors]
        fields = ", ".join(sorted({e["field"] for e in errors})[:10])
        if debugger.watching(tenant.id):
            _record(tenant, received_at, source, data, implied_type, [], set(), set(), rejected)
        rejected_count(tenant_id=tenant.id, day=received_at.date(), calls=len(rejected))
        raise InvalidInput(f"No call could be accepted: {fields}.", errors=errors)
    result = IngestResult(rejected=rejected)
    first_of_each: dict[str, tuple[int, Checked]] = {}
    for index, call in accepted:
        first_of_each.setdefault(call.message_id, (index, call))
    result.duplicates = len(accepted) - len(first_of_each)
    kept = _drop_suppressed(tenant, list(first_of_each.values()), result)
    fresh: set[str] = set()
    if kept:
        fresh = inbox_store(tenant_id=tenant.id, received_at=received_at, call_type=implied_type or "", body=text,
                            accepted={index: call.message_id for index, call in kept})
        result.accepted = len(fresh)
        result.duplicates += len(kept) - len(fresh)
    if debugger.watching(tenant.id):
        _record(tenant, received_at, source, data, implied_type, accepted, fresh, {c.message_id for _, c in kept}, rejected)
    if rejected:
        rejected_count(tenant_id=tenant.id, day=received_at.date(), calls=len(rejected))
    return result


def rejected_count(*, tenant_id: int, day, calls: int) -> None:
    """Add refused calls to the tenant's count for the day (a statement on the refusal path only)."""
    if RejectedDay.objects.filter(tenant_id=tenant_id, day=day).update(calls=F("calls") + calls):
        return
    try:
        with transaction.atomic():
            RejectedDay.objects.create(tenant_id=tenant_id, day=day, calls=calls)
    except IntegrityError:  # another request created the day's row first
        RejectedDay.objects.filter(tenant_id=tenant_id, day=day).update(calls=F("calls") + calls)


def _record(tenant: TenantRef, received_at, source: str, data, implied_type, accepted, fresh: set[str], kept: set[str],
            rejected: list[Rejected]) -> None:
    """Each call's fate, for the live event view."""
    raws = request_calls(data, implied_type=implied_type)[0]
    rows, seen = [], set()
    for index, call in accepted:
        if call.message_id in fresh and call.message_id not in seen:
            status = "accepted"
        elif call.message_id in kept or call.message_id in seen:
            status = "duplicate:already received"
        else:
            status = "suppressed:names a suppressed or erased identifier"
        seen.add(call.message_id)
        rows.append((call.message_id, call.type, call.name, raws[index], status))
    for refused in rejected:
        raw = raws[refused.index or 0] if isinstance(raws, list) and len(raws) > (refused.index or 0) else None
        reason = "; ".join(f"{e['field']}: {e['message']}" for e in refused.errors)
        kind = raw.get("type", implied_type) if isinstance(raw, dict) else implied_type
        rows.append((refused.message_id, kind or "", None, raw, f"rejected:{reason}"))
    debugger.record(tenant_id=tenant.id, received_at=received_at, source=source, calls=rows)


def _drop_suppressed(tenant: TenantRef, calls: list[tuple[int, Checked]], result: IngestResult) -> list[tuple[int, Checked]]:
    dropped = suppressed_calls(tenant=tenant, calls=[(call.message_id, call.call) for _, call in calls])
    result.suppressed = len(dropped)
    return [(index, call) for index, call in calls if call.message_id not in dropped]


def inbox_retry(*, tenant: TenantRef | None, actor: str) -> int:
    """Put a tenant's set-aside batches (None: every tenant's) back in line for the next load,
    once their cause is fixed. Returns how many."""
    retried = set_aside_batches(tenant.id if tenant else None).update(failed_at=None, error="")
    if retried:
        audit_record(tenant=tenant, actor=actor, action="inbox.retry", details={"batches": retried})
    return retried
