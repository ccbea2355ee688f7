"""Computed-trait definitions (operational database) and their recomputation (lakehouse).

Definitions are edited here; `customers.computed` holds the SQL. Creating or changing a
definition recomputes it for everyone at once; loads recompute the customers they touched; the
`computed-traits` schedule refreshes everyone so rolling windows move with time.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.computed import Definition, computed_trait_forget, computed_traits_apply
from customers.models import ComputedTrait
from customers.sql import ORDINARY_TRAIT_KEYS
from customers.types import ComputedTraitInfo
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.pagination import Page, page_of
from lakehouse import get_engine
from lakehouse.errors import store_failure
from operations.queue import task_enqueue
from tenancy.services import audit_record
from tenancy.types import TenantRef

logger = logging.getLogger("cdp.computed_traits")

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FIELDS = ("name", "description", "aggregation", "event", "event_type", "property", "window_days")


def computed_trait_info(row: ComputedTrait) -> ComputedTraitInfo:
    return ComputedTraitInfo(**{f: getattr(row, f) for f in ComputedTraitInfo.__dataclass_fields__})


def _definition(row: ComputedTrait) -> Definition:
    return Definition(name=row.name, aggregation=row.aggregation, event=row.event, event_type=row.event_type,
                      property=row.property, window_days=row.window_days)


def computed_trait_list(*, tenant: TenantRef, limit: int, offset: int) -> Page[ComputedTraitInfo]:
    return page_of(ComputedTrait.objects.filter(tenant_id=tenant.id).order_by("name"), limit=limit, offset=offset, mapper=computed_trait_info)


def _get(tenant: TenantRef, trait_id: int) -> ComputedTrait:
    row = ComputedTrait.objects.filter(tenant_id=tenant.id, id=trait_id).first()
    if row is None:
        raise NotFound(f"No computed trait {trait_id} in this tenant.")
    return row


def computed_trait_get(*, tenant: TenantRef, trait_id: int) -> ComputedTraitInfo:
    return computed_trait_info(_get(tenant, trait_id))


def _checked(values: dict) -> dict:
    """The definition's fields, trimmed, or InvalidInput naming each field that is wrong."""
    text = {f: (values.get(f) or "").strip() for f in FIELDS if f != "window_days"}
    values = {**text, "event_type": text["event_type"].lower(), "window_days": values.get("window_days")}
    errors = [] if NAME.match(values["name"]) else [{"field": "name", "message": "lower-case letters, digits and _, starting with a letter (e.g. orders_30d)"}]
    errors += Definition(**{f: values[f] for f in FIELDS if f != "description"}).problems()
    if errors:
        raise InvalidInput(f"The computed trait is not valid: {', '.join(e['field'] for e in errors)}.", errors=errors)
    return values


def ordinary_trait_customers(engine, tenant: TenantRef, names: Iterable[str]) -> dict[str, int]:
    """How many customers hold an ordinary (not computed) trait of each of these names."""
    found = {}
    for chunk in engine.chunks(set(names)):
        found.update((r["key"], r["customers"]) for r in engine.execute(ORDINARY_TRAIT_KEYS, {"tenant_id": tenant.slug, "keys": chunk}))
    return found


def _refuse_collision(tenant: TenantRef, name: str) -> None:
    held = ordinary_trait_customers(get_engine(), tenant, [name]).get(name)
    if held:
        raise Conflict(f"'{name}' is already an ordinary trait of {held:,} customers; a computed trait would hide it. "
                       "Choose another name (for example computed_{name} or {name}_30d).".replace("{name}", name))


def computed_trait_collisions(*, tenant: TenantRef) -> dict[str, int]:
    """Definitions whose name is also an ordinary trait (saved before names were checked), with the
    customers holding it. Their computed values are not written over the ordinary ones."""
    names = list(ComputedTrait.objects.filter(tenant_id=tenant.id).values_list("name", flat=True))
    return ordinary_trait_customers(get_engine(), tenant, names) if names else {}


def computed_trait_create(*, tenant: TenantRef, actor: str, values: dict) -> ComputedTraitInfo:
    """Define a computed trait and compute it for every customer."""
    values = _checked({f: values.get(f) for f in FIELDS})
    _refuse_collision(tenant, values["name"])
    try:
        with transaction.atomic():
            row = ComputedTrait.objects.create(tenant_id=tenant.id, created_by=actor, **values)
    except IntegrityError:
        raise Conflict(f"A computed trait named '{values['name']}' already exists.") from None
    audit_record(tenant=tenant, actor=actor, action="computed_trait.create", target=row.name, details=_audit_details(row))
    return _refresh(tenant, row)


def computed_trait_update(*, tenant: TenantRef, trait_id: int, actor: str, changes: dict) -> ComputedTraitInfo:
    """Change the fields named in `changes` (renaming moves the values) and recompute for everyone."""
    row = _get(tenant, trait_id)
    values = _checked({f: changes[f] if f in changes else getattr(row, f) for f in FIELDS})
    old_name = row.name
    if values["name"] != old_name:
        _refuse_collision(tenant, values["name"])
    for field, value in values.items():
        setattr(row, field, value)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise Conflict(f"A computed trait named '{row.name}' already exists.") from None
    if old_name != row.name:
        computed_trait_forget(get_engine(), tenant.slug, old_name)
    audit_record(tenant=tenant, actor=actor, action="computed_trait.update", target=row.name, details=_audit_details(row))
    return _refresh(tenant, row)


def computed_trait_delete(*, tenant: TenantRef, trait_id: int, actor: str) -> None:
    row = _get(tenant, trait_id)
    computed_trait_forget(get_engine(), tenant.slug, row.name)
    row.delete()
    audit_record(tenant=tenant, actor=actor, action="computed_trait.delete", target=row.name)


def computed_trait_refresh(*, tenant: TenantRef, trait_id: int, actor: str) -> ComputedTraitInfo:
    """Queue a recomputation for every customer."""
    return _refresh(tenant, _get(tenant, trait_id))


def _refresh(tenant: TenantRef, row: ComputedTrait) -> ComputedTraitInfo:
    """Queue the definition's computation for everyone (`customers.tasks.computed_trait_compute`):
    it can take minutes on a large tenant, so it leaves the request."""
    ComputedTrait.objects.filter(id=row.id).update(state="queued", error="")
    task_enqueue("customers.tasks.computed_trait_compute", row.id, name=f"computed-trait-{tenant.slug}-{row.name}", tenant_id=tenant.id)
    row.refresh_from_db()
    return computed_trait_info(row)


def computed_trait_compute(trait_id: int) -> int:
    """Compute one definition for every customer now (the queued task). Returns the values changed."""
    row = ComputedTrait.objects.select_related("tenant").get(id=trait_id)
    ComputedTrait.objects.filter(id=trait_id).update(state="running")
    try:
        changed = computed_traits_apply(get_engine(), row.tenant.slug, [_definition(row)])
    except Exception as exc:
        ComputedTrait.objects.filter(id=trait_id).update(state="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    ComputedTrait.objects.filter(id=trait_id).update(state="ready", error="", last_computed_at=timezone.now())
    return changed


def computed_traits_for_customers(engine, tenant: TenantRef, cdp_ids: Iterable[str]) -> int:
    """After a load: recompute every definition of the tenant for the customers it touched."""
    definitions = [_definition(row) for row in ComputedTrait.objects.filter(tenant_id=tenant.id)]
    if not definitions:
        return 0
    return computed_traits_apply(engine, tenant.slug, definitions, cdp_ids=cdp_ids)


class RefreshFailed(Exception):
    """Some tenants' computed traits could not be refreshed (the others were)."""


def computed_traits_refresh_all() -> dict[str, int]:
    """Every definition of every tenant, for everyone (rolling windows move with time). One
    tenant's failure does not keep the others stale: they are refreshed, then the failures are
    raised together, so the task shows as failed on the Operations page with the tenants named."""
    engine, changed, failed = get_engine(), {}, {}
    by_tenant: dict[str, list[ComputedTrait]] = {}
    for row in ComputedTrait.objects.select_related("tenant").order_by("tenant_id", "name"):
        by_tenant.setdefault(row.tenant.slug, []).append(row)
    for slug, rows in by_tenant.items():
        try:
            with engine.transaction():  # on PostgreSQL a failed statement must not poison the next tenant's
                changed[slug] = computed_traits_apply(engine, slug, [_definition(row) for row in rows])
        except Exception as exc:
            if store_failure(exc):
                raise
            failed[slug] = type(exc).__name__
            logger.error("computed traits refresh failed for a tenant", extra={"cdp_tenant": slug, "cdp_error": type(exc).__name__})
            continue
        ComputedTrait.objects.filter(id__in=[row.id for row in rows]).update(last_computed_at=timezone.now())
    if failed:
        raise RefreshFailed("Computed traits were refreshed for every tenant but: "
                            + ", ".join(f"{slug} ({error})" for slug, error in sorted(failed.items())) + "; see the log.")
    return changed


def _audit_details(row: ComputedTrait) -> dict:
    return {f: getattr(row, f) for f in FIELDS if f != "name"}
