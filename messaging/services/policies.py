"""A tenant's send policy for marketing messages: frequency caps, quiet hours and the global
control group."""
from __future__ import annotations

from datetime import time

from kernel.errors import InvalidInput
from messaging.models import Channel, SendPolicy
from tenancy.services import audit_record
from tenancy.types import TenantRef


def _time(value: str | None, field: str) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} is a time such as 21:00.", errors=[{"field": field, "message": "HH:MM"}]) from None


def policy_get(*, tenant: TenantRef) -> SendPolicy:
    return SendPolicy.objects.filter(tenant_id=tenant.id).first() or SendPolicy(tenant_id=tenant.id)


def policy_set(*, tenant: TenantRef, actor: str, caps: list[dict], quiet_days: list[int], quiet_start: str | None,
               quiet_end: str | None, quiet_policy: str = "defer", control_percent: float | None = None) -> SendPolicy:
    """Replace the policy (`control_percent` None keeps the control group as it is)."""
    kinds = {*dict(Channel.KINDS), "*"}
    checked = []
    for i, cap in enumerate(caps):
        try:
            kind, most, days = cap["channel_kind"], int(cap["max"]), float(cap["days"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInput("A cap is {channel_kind, max, days}.", errors=[{"field": f"caps[{i}]", "message": "channel_kind, max, days"}]) from None
        if kind not in kinds or most < 0 or not 0 < days <= 366:
            raise InvalidInput(f"Cap {i + 1}: a channel kind (email, webhook or *), at most 0 or more, over 1 to 366 days.",
                               errors=[{"field": f"caps[{i}]", "message": "channel kind, max >= 0, days in (0, 366]"}])
        checked.append({"channel_kind": kind, "max": most, "days": days})
    if any(d not in range(7) for d in quiet_days):
        raise InvalidInput("Quiet days are 0 (Monday) to 6 (Sunday).", errors=[{"field": "quiet_days", "message": "0..6"}])
    start, end = _time(quiet_start, "quiet_start"), _time(quiet_end, "quiet_end")
    if quiet_days and (start is None or end is None or start == end):
        raise InvalidInput("Quiet hours need a start and a different end (they may run past midnight, e.g. 21:00 to 08:00).",
                           errors=[{"field": "quiet_start", "message": "a start and an end"}])
    if quiet_policy not in ("defer", "drop"):
        raise InvalidInput("During quiet hours messages are deferred or dropped.", errors=[{"field": "quiet_policy", "message": "defer or drop"}])
    if control_percent is not None and not 0 <= control_percent <= 50:
        raise InvalidInput("The global control group is 0 to 50 percent of customers.",
                           errors=[{"field": "control_percent", "message": "0..50"}])
    control = {} if control_percent is None else {"control_percent": control_percent}
    policy, _ = SendPolicy.objects.update_or_create(tenant_id=tenant.id, defaults={
        "caps": checked, "quiet_days": sorted(set(quiet_days)), "quiet_start": start, "quiet_end": end, "quiet_policy": quiet_policy,
        "updated_by": actor, **control})
    audit_record(tenant=tenant, actor=actor, action="messaging.policy", target="send policy",
                 details={"caps": len(checked), "quiet_days": policy.quiet_days, "quiet_policy": quiet_policy,
                          "control_percent": policy.control_percent})
    return policy
