"""Accepting tracking calls: validate, drop duplicates and suppressed identifiers, commit to the inbox."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cdp_site.errors import InvalidInput
from tenancy.types import TenantRef
from tracking.body import MalformedBody, read_json
from tracking.calls import Accepted, Rejected, normalize_call, parse_time
from tracking.models import InboxEvent


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    suppressed: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"success": True, "accepted": self.accepted, "duplicates": self.duplicates,
                "suppressed": self.suppressed, "rejected": [r.as_dict() for r in self.rejected]}


def calls_from_body(data: object, *, implied_type: str | None, received_at: datetime) -> tuple[list[Accepted], list[Rejected]]:
    """The calls of one request: a batch (`{"batch": [...]}`) or a single call."""
    if implied_type is None:
        if not isinstance(data, dict) or not isinstance(data.get("batch"), list):
            raise InvalidInput("A batch is an object with a `batch` array.", errors=[{"field": "batch", "message": "must be an array of calls"}])
        raws, batch_sent_at = data["batch"], parse_time(data.get("sentAt"))
        shared_context = data.get("context") if isinstance(data.get("context"), dict) else None
    else:
        raws, batch_sent_at, shared_context = [data], None, None
    accepted, rejected = [], []
    for index, raw in enumerate(raws):
        if shared_context and isinstance(raw, dict):
            raw = {**raw, "context": {**shared_context, **(raw.get("context") or {})} if isinstance(raw.get("context") or {}, dict) else raw.get("context")}
        outcome = normalize_call(raw, received_at=received_at, batch_sent_at=batch_sent_at,
                                 index=index if implied_type is None else None, implied_type=implied_type)
        (accepted if isinstance(outcome, Accepted) else rejected).append(outcome)
    return accepted, rejected


def ingest(*, tenant: TenantRef, body: bytes, content_encoding: str = "", implied_type: str | None = None) -> IngestResult:
    """Validate a request's calls and commit the valid ones to the inbox before returning.

    Invalid calls are reported and the valid ones kept; only when nothing is valid is it an error.
    """
    received_at = timezone.now()
    accepted, rejected = calls_from_body(read_json(body, content_encoding=content_encoding), implied_type=implied_type, received_at=received_at)
    if not accepted:
        if not rejected:
            raise MalformedBody("The batch is empty.")
        errors = [error for r in rejected for error in r.errors]
        fields = ", ".join(sorted({e["field"] for e in errors})[:10])
        raise InvalidInput(f"No call could be accepted: {fields}.", errors=errors)
    result = IngestResult(rejected=rejected)
    unique: dict[str, Accepted] = {}
    for call in accepted:
        unique.setdefault(call.message_id, call)
    result.duplicates = len(accepted) - len(unique)
    kept = _drop_suppressed(tenant, list(unique.values()), result)
    with transaction.atomic():
        seen = set(InboxEvent.objects.filter(tenant_id=tenant.id, message_id__in=[c.message_id for c in kept]).values_list("message_id", flat=True))
        fresh = [c for c in kept if c.message_id not in seen]
        # ignore_conflicts covers a concurrent replay committing the same messageId meanwhile.
        InboxEvent.objects.bulk_create(
            [InboxEvent(tenant_id=tenant.id, message_id=c.message_id, type=c.type, payload=c.payload, received_at=received_at) for c in fresh],
            ignore_conflicts=True,
        )
    result.duplicates += len(kept) - len(fresh)
    result.accepted = len(fresh)
    return result


def _drop_suppressed(tenant: TenantRef, calls: list[Accepted], result: IngestResult) -> list[Accepted]:
    from customers.privacy import suppressed_calls

    dropped = suppressed_calls(tenant=tenant, calls=calls)
    result.suppressed = len(dropped)
    return [c for c in calls if c.message_id not in dropped]
