"""A campaign's audience, decided once: who (members of the segments, minus the exclusions, a
stable sample up to the cap) and each one's group.

Groups, in the order they are decided:
1. `no_address`: the channel sends to an address (email, SMS) and the customer has none;
2. `duplicate`: another customer of the audience has the same address (the first by cdp_id keeps
   it), so one address gets one message however many customers share it;
3. `control`: the tenant's global control group (marketing only: messaging's rule);
4. `holdout`: the campaign's holdout, a stable share by a hash of tenant, campaign and customer,
   the same people on every send of a recurring campaign;
5. a variant, by the variants' weights (a second hash); with winner selection, the test share (a
   third hash) gets a variant now and the rest wait for the winner (group '').

Every hash is `lakehouse.functions.bucket` (0-9999) of a text naming tenant, campaign and
customer, so the same audience gives the same groups on every run and every machine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from campaigns.definition import Definition
from customers.selectors import customer_page
from lakehouse.functions import BUCKETS, bucket
from messaging.channels import backend_for
from messaging.selectors import addresses_of, channel_kinds, control_group, topic_policy
from segments.selectors import definition_holds_for, segment_members_all
from tenancy.types import TenantRef

UNSENT_GROUPS = ("no_address", "duplicate", "control", "holdout", "no_consent")


@dataclass(frozen=True)
class Member:
    cdp_id: str
    address: str
    group: str  # a variant's key, one of UNSENT_GROUPS, or '' (waiting for the winner)
    test: bool = False


@dataclass
class Audience:
    members: list[Member]
    in_segments: int  # before the cap
    everyone: bool  # the segments hold every customer of the tenant
    kind: str
    by_group: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict:
        groups = {g: n for g, n in self.by_group.items() if g not in UNSENT_GROUPS}
        return {"in_segments": self.in_segments, "audience": len(self.members), "everyone": self.everyone,
                **{g: self.by_group.get(g, 0) for g in UNSENT_GROUPS}, "reachable": sum(groups.values()),
                "variants": {g or "waiting for the winner": n for g, n in sorted(groups.items())}}


def share(tenant: TenantRef, campaign_id: int, purpose: str, cdp_id: str) -> float:
    """The customer's stable position in [0, 1) for one purpose of one campaign."""
    return bucket(f"{tenant.slug}:campaign:{campaign_id}:{purpose}:{cdp_id}") / BUCKETS


def audience_of(*, tenant: TenantRef, spec: Definition, campaign_id: int, now: datetime, consent: bool = False) -> Audience:
    """The audience with every member's group. `consent`: also count those a marketing send would
    skip for want of consent to the topic (`no_consent`; the preview's estimate; at send time the
    outbox decides again)."""
    included: set[str] = set()
    for segment_id in spec.audience.segments:
        included.update(segment_members_all(tenant=tenant, segment_id=segment_id))
    for segment_id in spec.audience.exclude:
        included.difference_update(segment_members_all(tenant=tenant, segment_id=segment_id))
    in_segments = len(included)
    everyone = in_segments > 0 and in_segments >= (customer_page(tenant=tenant, limit=1, offset=0).total or 0)
    members = sorted(included)
    if spec.audience.cap and len(members) > spec.audience.cap:
        members = sorted(sorted(members, key=lambda c: (share(tenant, campaign_id, "sample", c), c))[:spec.audience.cap])
    kind = channel_kinds(tenant=tenant).get(spec.channel_id, "")
    addressed = bool(kind) and backend_for(kind).features.address_type is not None
    addresses = addresses_of(tenant=tenant, kind=kind, cdp_ids=members) if addressed else {}
    marketing = spec.category == "marketing"
    control = control_group(tenant=tenant, cdp_ids=members) if marketing else set()
    consenting = _consenting(tenant, kind, spec.topic, members, now) if consent and marketing else None
    weights = [v.weight for v in spec.variants]
    out, seen, by_group = [], set(), {}
    for cdp_id in members:
        address = addresses.get(cdp_id, "")
        test = False
        if addressed and not address:
            group = "no_address"
        elif address and address in seen:
            group = "duplicate"
        elif cdp_id in control:
            group = "control"
        elif share(tenant, campaign_id, "holdout", cdp_id) < spec.holdout_percent / 100:
            group = "holdout"
        elif consenting is not None and cdp_id not in consenting:
            group = "no_consent"
        elif spec.winner and share(tenant, campaign_id, "test", cdp_id) >= spec.winner.test_percent / 100:
            group = ""
        else:
            group, test = spec.variants[_pick(weights, share(tenant, campaign_id, "variant", cdp_id))].key, bool(spec.winner)
        if address:
            seen.add(address)
        by_group[group] = by_group.get(group, 0) + 1
        out.append(Member(cdp_id=cdp_id, address=address, group=group, test=test))
    return Audience(members=out, in_segments=in_segments, everyone=everyone, kind=kind, by_group=by_group)


def _pick(weights: list[float], position: float) -> int:
    """The variant whose share of the weights' total holds `position` (in [0, 1))."""
    target, running = position * sum(weights), 0.0
    for index, weight in enumerate(weights):
        running += weight
        if target < running:
            return index
    return len(weights) - 1


def _consenting(tenant: TenantRef, kind: str, topic: str, members: list[str], now: datetime) -> set[str]:
    granted = definition_holds_for(tenant=tenant, definition={"type": "consent", "channel": kind, "purpose": topic, "granted": True},
                                   cdp_ids=members, now=now)
    if topic_policy(tenant=tenant, kind=kind, topic=topic) == "opt_in":
        return granted
    refused = definition_holds_for(tenant=tenant, definition={"type": "consent", "channel": kind, "purpose": topic, "granted": False},
                                   cdp_ids=members, now=now)
    return set(members) - refused
