"""Reading customers from the lakehouse: lists and search, profiles, timelines, lookups, export."""
from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db.models import Max

from customers import sql
from customers.models import ComputedTrait, SuppressedIdentifier
from customers.privacy import customer_is_suppressed
from customers.traits import is_unset, trait_value
from customers.types import (
    ActivityDay,
    Consent,
    CustomerEvent,
    CustomerProfile,
    CustomerSummary,
    EventVolume,
    Identity,
    ProfileChange,
    Trait,
    TraitDistribution,
    Vocabulary,
)
from identity import selectors as identity_selectors
from kernel.charts import nice_ceiling
from kernel.errors import InvalidInput, NotFound
from kernel.pagination import Page
from kernel.timezones import tenant_zone
from lakehouse import get_engine
from tenancy.types import TenantRef

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
ACTIVITY_LIMIT = 20_000  # events read for the activity chart; a busier customer's chart stops there


def like_pattern(text: str) -> str:
    """A case-insensitive 'contains' pattern, with LIKE's wildcards escaped by '!'."""
    escaped = text.strip().lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


CUSTOMER_SORTS = {"first_seen": "newest first", "last_seen": "most recently active first", "name": "by name, A to Z"}


def customer_page(*, tenant: TenantRef, q: str = "", trait: tuple[str, str] | None = None, sort: str = "first_seen",
                  limit: int, offset: int, with_total: bool = True) -> Page[CustomerSummary]:
    """Customers matching `q` (any identifier or trait value contains it) and `trait` (an exact
    key=value), sorted by one of CUSTOMER_SORTS, with how many match in all."""
    params = _customer_filter(tenant, q, trait)
    engine = get_engine()
    rows = engine.execute(sql.CUSTOMER_PAGE, {**params, "sort": _sort(sort), "limit": limit + 1, "offset": offset}).dicts()
    names = _summary_traits(tenant, [row["cdp_id"] for row in rows[:limit]])
    items = [CustomerSummary(**{k: v for k, v in row.items() if k != "sort_name"}, **names.get(row["cdp_id"], {})) for row in rows[:limit]]
    total = None
    if with_total:
        counted = engine.execute(sql.CUSTOMER_COUNT, params).first()
        total = counted["customers"] if counted else 0
    return Page(items=items, limit=limit, offset=offset, has_more=len(rows) > limit, total=total)


def customer_rows(*, tenant: TenantRef, q: str = "", trait: tuple[str, str] | None = None, sort: str = "first_seen",
                  chunk: int = 1000):
    """Every customer of the list as it is filtered and sorted, a page at a time (for CSV export)."""
    offset = 0
    while True:
        page = customer_page(tenant=tenant, q=q, trait=trait, sort=sort, limit=chunk, offset=offset, with_total=False)
        yield from page.items
        if page.next_offset is None:
            return
        offset = page.next_offset


def _customer_filter(tenant: TenantRef, q: str, trait: tuple[str, str] | None) -> dict:
    key, value = trait or ("", "")
    return {"tenant_id": tenant.slug, "pattern": like_pattern(q) if q.strip() else "", "key": key, "value": value}


def _sort(sort: str) -> str:
    if sort not in CUSTOMER_SORTS:
        raise InvalidInput(f"Unknown sort '{sort}'.", errors=[{"field": "sort", "message": f"must be one of {', '.join(CUSTOMER_SORTS)}"}])
    return sort


def _summary_traits(tenant: TenantRef, cdp_ids: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for row in get_engine().execute(sql.SUMMARY_TRAITS, {"tenant_id": tenant.slug, "cdp_ids": cdp_ids}) if cdp_ids else []:
        found.setdefault(row["cdp_id"], {})[row["key"]] = row["value"]
    out = {}
    for cdp_id, traits in found.items():
        full = " ".join(p for p in (traits.get("first_name"), traits.get("last_name")) if p)
        out[cdp_id] = {"email": traits.get("email"), "name": traits.get("name") or full or None}
    return out


def customer_get(*, tenant: TenantRef, cdp_id: str) -> CustomerProfile:
    profile = _profile(tenant, cdp_id, get_engine().execute(sql.CUSTOMER_PROFILE, {"tenant_id": tenant.slug, "cdp_id": cdp_id}).rows)
    if profile is None:
        target = identity_selectors.alias_target(tenant=tenant, cdp_id=cdp_id)
        if target:  # a merged customer's id keeps resolving, to the customer it was merged into
            return customer_get(tenant=tenant, cdp_id=target)
        raise NotFound(f"No customer {cdp_id} in this tenant.")
    return profile


def customers_get(*, tenant: TenantRef, cdp_ids: list[str]) -> dict[str, CustomerProfile]:
    """Many profiles in one read (the drain's claimed deliveries), by the ids asked for. An id not
    answered is not a customer's own (merged into another, erased): `customer_get` says which."""
    by_customer: dict[str, list] = {}
    for row in get_engine().execute(sql.CUSTOMER_PROFILES, {"tenant_id": tenant.slug, "cdp_ids": cdp_ids}).rows if cdp_ids else []:
        by_customer.setdefault(row[0], []).append(row[1:])
    found = {cdp_id: _profile(tenant, cdp_id, rows) for cdp_id, rows in by_customer.items()}
    return {cdp_id: profile for cdp_id, profile in found.items() if profile is not None}


def _profile(tenant: TenantRef, cdp_id: str, rows) -> CustomerProfile | None:
    """A profile from CUSTOMER_PROFILE's rows; None when it has no identity and no trait left (consents alone)."""
    identities, traits, consents = [], [], []
    for part, name, value, number, at, until, source, granted, kind in rows:
        if part == "identity":
            identities.append(Identity(type=name, value=value, first_seen_at=at, last_seen_at=until))
        elif part == "trait":
            if not is_unset(value, kind):  # an unset trait keeps its row (so an older write cannot bring it back) with no value
                typed = trait_value(value, kind, number)
                traits.append(Trait(key=name, value=typed, type=kind or ("number" if number is not None else "string"),
                                    number_value=number, updated_at=at, source=source))
        else:
            consents.append(Consent(channel=name, purpose=value, granted=granted, updated_at=at, source=source))
    if not identities and not traits:
        return None
    first_seen = min((i.first_seen_at for i in identities), default=None)
    return CustomerProfile(
        cdp_id=cdp_id, traits=[t for t in traits if t.source != "computed"], computed_traits=[t for t in traits if t.source == "computed"],
        identities=identities, consents=consents, suppressed=customer_is_suppressed(tenant.id, cdp_id), first_seen_at=first_seen,
    )


def customer_lookup(*, tenant: TenantRef, id_type: str, value: str) -> CustomerProfile:
    """The customer an identifier of any type names, normalised as resolution does (so a phone
    in any format finds the customer `/api/identity/resolve` finds)."""
    return customer_get(tenant=tenant, cdp_id=identity_selectors.identifier_owner(tenant=tenant, id_type=id_type, value=value))


def profile_changes(*, tenant: TenantRef, cdp_id: str, limit: int, offset: int) -> Page[ProfileChange]:
    """A customer's profile change log, newest first: who changed which trait, when, from where."""
    rows = get_engine().execute(sql.PROFILE_CHANGES_OF_CUSTOMER, {"tenant_id": tenant.slug, "cdp_id": cdp_id, "limit": limit + 1,
                                                                  "offset": offset}).dicts()
    items = [_change(row) for row in rows[:limit]]
    return Page(items=items, limit=limit, offset=offset, has_more=len(rows) > limit)


def customer_events(*, tenant: TenantRef, cdp_id: str, type: str = "", event: str = "", since: datetime | None = None,
                    before: datetime | None = None, limit: int, offset: int) -> Page[CustomerEvent]:
    params = {"tenant_id": tenant.slug, "cdp_id": cdp_id, "type": type or "", "event": event or "",
              "since": since or EARLIEST, "before": before or LATEST, "limit": limit + 1, "offset": offset}
    rows = get_engine().execute(sql.CUSTOMER_EVENTS, params).dicts()
    items = [CustomerEvent(**{**row, "properties": _json(row["properties"]), "context": _json(row["context"])}) for row in rows[:limit]]
    return Page(items=items, limit=limit, offset=offset, has_more=len(rows) > limit)


def customer_export(*, tenant: TenantRef, cdp_id: str) -> dict:
    """Everything held about a customer (subject access request), as plain JSON-able data."""
    from dataclasses import asdict

    profile = customer_get(tenant=tenant, cdp_id=cdp_id)
    events, offset = [], 0
    while True:
        page = customer_events(tenant=tenant, cdp_id=cdp_id, limit=500, offset=offset)
        events.extend(asdict(e) for e in page.items)
        if page.next_offset is None:
            break
        offset = page.next_offset
    return {"tenant": tenant.slug, "exported_at": datetime.now(UTC), **asdict(profile), "events": events}


def customer_activity(*, tenant: TenantRef, cdp_id: str, days: int = 90, now: datetime | None = None) -> list[ActivityDay]:
    """Events per day over the last `days` (oldest first, empty days included), for the profile
    chart; days are the tenant's (its time zone)."""
    zone = tenant_zone(tenant)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    counts = Counter(row["event_time"].astimezone(zone).date() for row in get_engine().execute(
        sql.CUSTOMER_ACTIVITY, {"tenant_id": tenant.slug, "cdp_id": cdp_id, "since": since.astimezone(UTC), "limit": ACTIVITY_LIMIT}))
    return [ActivityDay(day=first + timedelta(days=n), events=counts.get(first + timedelta(days=n), 0)) for n in range(days)]


def event_volume(*, tenant: TenantRef, days: int = 30, now: datetime | None = None) -> EventVolume:
    """Events per day of the tenant's (its time zone) over the last `days`, today included, and
    in the last 24 hours, by event time. One statement grouped by UTC hour, folded into local days
    here: a day boundary in any whole-hour zone falls on an hour boundary."""
    now = now or datetime.now(UTC)
    zone = tenant_zone(tenant)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    per_day, last_24h = Counter(), 0
    for row in get_engine().execute(sql.EVENT_HOURS, {"tenant_id": tenant.slug, "since": since, "until": now,
                                                      "recent_since": now - timedelta(hours=24)}):
        hour = datetime.strptime(row["hour"], "%Y-%m-%d %H").replace(tzinfo=UTC)
        per_day[hour.astimezone(zone).date()] += row["events"]
        last_24h += row["recent"] or 0
    return EventVolume(days=[(first + timedelta(days=n), per_day.get(first + timedelta(days=n), 0)) for n in range(days)],
                       last_24h=last_24h)


DISTRIBUTION_BARS = 12
DISTRIBUTION_DAYS = 30


def trait_distribution(*, tenant: TenantRef, key: str) -> TraitDistribution:
    """How a trait's values spread across the tenant's customers, for its chart: numbers in up to
    12 equal ranges, dates by day over the 30 days up to the latest, anything else by value."""
    engine, params = get_engine(), {"tenant_id": tenant.slug, "key": key}
    stats = engine.execute(sql.TRAIT_STATS, params).first()
    if not stats:
        return TraitDistribution(key=key, customers=0, kind="none", bars=[])
    if stats["numbers"] and stats["numbers"] >= stats["customers"] / 2:
        return _number_distribution(engine, params, stats)
    if stats["times"] and stats["times"] >= stats["customers"] / 2:
        return _day_distribution(engine, tenant, params, stats)
    top = engine.execute(sql.TRAIT_TOP_VALUES, {**params, "limit": DISTRIBUTION_BARS}).dicts()
    return TraitDistribution(key=key, customers=stats["customers"], kind="values", bars=[(row["value"], row["customers"]) for row in top])


def _number_distribution(engine, params: dict, stats: dict) -> TraitDistribution:
    low, high = stats["low"], stats["high"]
    whole = float(low).is_integer() and float(high).is_integer()
    if whole and high - low < DISTRIBUTION_BARS:
        width = 1.0  # counts: one bar per value
    else:
        width = nice_ceiling((high - low) / DISTRIBUTION_BARS) if high > low else 1.0
        low = math.floor(low / width) * width
    count = max(min(math.floor((high - low) / width) + 1, DISTRIBUTION_BARS + 1), 1)
    found = {row["bucket"]: row["customers"] for row in engine.execute(
        sql.TRAIT_BUCKETS, {**params, "low": float(low), "high": float(low + width * (count - 1)), "width": float(width),
                            "last_bucket": count - 1})}

    def label(n: int) -> str:
        start = low + n * width
        if width == 1 and whole:
            return f"{start:g}"
        return f"{start:,.6g}–{start + width:,.6g}" if n < count - 1 else f"{start:,.6g}+"

    return TraitDistribution(key=params["key"], customers=stats["customers"], kind="numbers",
                             bars=[(label(n), found.get(n, 0)) for n in range(count)], low=stats["low"], high=stats["high"],
                             mean=stats["mean"])


def _day_distribution(engine, tenant: TenantRef, params: dict, stats: dict) -> TraitDistribution:
    zone = tenant_zone(tenant)
    last = stats["latest"].astimezone(zone).date()
    first = last - timedelta(days=DISTRIBUTION_DAYS - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    per_day = Counter()
    for row in engine.execute(sql.TRAIT_TIME_HOURS, {**params, "since": since}):
        per_day[datetime.strptime(row["hour"], "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(zone).date()] += row["customers"]
    days = [first + timedelta(days=n) for n in range(DISTRIBUTION_DAYS)]
    return TraitDistribution(key=params["key"], customers=stats["customers"], kind="days",
                             bars=[(day.isoformat(), per_day.get(day, 0)) for day in days], latest=stats["latest"])


def _json(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_value": value}


EARLIEST_CHANGE = (datetime(1970, 1, 1, tzinfo=UTC), "")


def profile_changes_since(*, tenant: TenantRef, after: tuple[datetime, str] = EARLIEST_CHANGE, limit: int = 10_000) -> list[ProfileChange]:
    """The profile change log after a reader's watermark `(changed_at, change_id)`, oldest first:
    how the apps above (segments, journeys) learn which profiles changed. A reader keeps the last
    row's pair as its next watermark. Rows are written with the loader's clock inside its
    transaction, so a reader that must not miss one committed late re-reads a small overlap
    (its watermark minus a minute) and treats changes it has seen as no-ops."""
    rows = get_engine().execute(sql.PROFILE_CHANGES_SINCE, {"tenant_id": tenant.slug, "after_at": after[0], "after_id": after[1],
                                                            "limit": limit}).dicts()
    return [_change(row) for row in rows]


def _change(row: dict) -> ProfileChange:
    """A change log row with its value read back from JSON text."""
    return ProfileChange(**{**row, "value": None if row["value"] is None else json.loads(row["value"])})


def loaded_message_ids(*, tenant: TenantRef, message_ids) -> set[str]:
    """Which of these calls are in the lakehouse (loaded)."""
    engine, found = get_engine(), set()
    for chunk in engine.chunks(set(message_ids)):
        found.update(row["message_id"] for row in engine.execute(sql.LOADED_MESSAGE_IDS, {"tenant_id": tenant.slug, "message_ids": chunk}))
    return found


def event_exists(*, tenant: TenantRef, message_id: str) -> bool:
    return get_engine().execute(sql.EVENT_EXISTS, {"tenant_id": tenant.slug, "message_id": message_id}).first() is not None


def last_erasures(*, tenant_ids) -> dict[int, datetime]:
    """When each tenant last erased a customer (the erasure's suppressed identifiers), for copies
    of personal data kept above this app (segment exports) to follow."""
    rows = (SuppressedIdentifier.objects.filter(tenant_id__in=list(tenant_ids), reason="erase").values("tenant_id")
            .annotate(last=Max("created_at")).values_list("tenant_id", "last"))
    return dict(rows)


def erased_customers(*, since: datetime, limit: int = 10_000) -> list[tuple[int, str, datetime]]:
    """(tenant id, cdp_id, when) of the customers erased since `since`, oldest first: for apps
    above that keep records of customers outside the lakehouse (messaging's outbox) to follow."""
    rows = (SuppressedIdentifier.objects.filter(reason="erase", created_at__gt=since).exclude(cdp_id="")
            .values_list("tenant_id", "cdp_id", "created_at").order_by("created_at")[:limit])
    return list(rows)


def computed_trait_names(*, tenant: TenantRef) -> set[str]:
    return set(ComputedTrait.objects.filter(tenant_id=tenant.id).values_list("name", flat=True))


def vocabulary(*, tenant: TenantRef, limit: int = 200, sample: int = 1000) -> Vocabulary:
    """What the tenant has actually sent, most used first: event names, trait keys (ordinary and
    computed), and the property names seen on each event's recent calls (dotted for nested ones)."""
    engine = get_engine()
    params = {"tenant_id": tenant.slug, "limit": limit}
    events = [r["event"] for r in engine.execute(sql.EVENT_NAMES, params)]
    traits = [r["key"] for r in engine.execute(sql.TRAIT_KEYS, params)]
    properties: dict[str, set[str]] = {}
    for r in engine.execute(sql.RECENT_PROPERTIES, {"tenant_id": tenant.slug, "limit": sample}):
        found = _json(r["properties"])
        if "_raw" not in found and "_value" not in found:
            properties.setdefault(r["event"], set()).update(_paths(found))
    return Vocabulary(events=events, traits=traits, properties={e: sorted(p)[:100] for e, p in properties.items()})


def _paths(value: dict, prefix: str = "", depth: int = 0) -> list[str]:
    out = []
    for key, inner in value.items():
        if isinstance(key, str) and key.replace("_", "a").isalnum():
            out.append(prefix + key)
            if isinstance(inner, dict) and depth < 2:
                out += _paths(inner, f"{prefix}{key}.", depth + 1)
    return out


def event_names_seen(*, tenant: TenantRef, names) -> set[str]:
    """Which of `names` this tenant has sent as events (page and screen names count)."""
    names = sorted(set(names))
    if not names:
        return set()
    return {r["event"] for r in get_engine().execute(sql.EVENT_NAMES_AMONG, {"tenant_id": tenant.slug, "names": names})}


def traits_of_customers(*, tenant: TenantRef, cdp_ids, keys) -> dict[str, dict[str, tuple]]:
    """`{cdp_id: {key: (value, time_value)}}` for the set traits among `keys` of many customers,
    a chunk of customers a statement: a time zone or a date trait for a batch of instances."""
    engine, out = get_engine(), {}
    keys = sorted(set(keys))
    for chunk in engine.chunks(set(cdp_ids)) if keys else []:
        for r in engine.execute(sql.TRAITS_OF_CUSTOMERS, {"tenant_id": tenant.slug, "cdp_ids": chunk, "keys": keys}):
            out.setdefault(r["cdp_id"], {})[r["key"]] = (r["value"], r["time_value"])
    return out
