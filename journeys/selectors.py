"""Reading journeys: definitions and versions, instances with their steps, ticks."""
from __future__ import annotations

from django.db.models import Count

from identity.selectors import live_customers
from journeys.models import Instance, InstanceStep, Journey, JourneyVersion, Simulation, Tick
from journeys.types import InstanceInfo, JourneyInfo, StepInfo, VersionInfo
from kernel.errors import NotFound
from kernel.pagination import Page, page_of
from tenancy.types import TenantRef


def journey_row(tenant: TenantRef, journey_id: int) -> Journey:
    row = Journey.objects.filter(tenant_id=tenant.id, id=journey_id).first()
    if row is None:
        raise NotFound(f"No journey {journey_id} in this tenant.")
    return row


def journey_info(row: Journey, *, counts: dict | None = None) -> JourneyInfo:
    newest = JourneyVersion.objects.get(journey=row, version=row.version)
    if counts is None:
        counts = dict(Instance.objects.filter(journey=row).values_list("status").annotate(n=Count("id")).order_by())
    return JourneyInfo(id=row.id, name=row.name, description=row.description, status=row.status, version=row.version,
                       live_version=row.live_version, definition=newest.definition, created_by=row.created_by,
                       created_at=row.created_at, updated_at=row.updated_at, counts=counts)


def journey_get(*, tenant: TenantRef, journey_id: int) -> JourneyInfo:
    return journey_info(journey_row(tenant, journey_id))


def journey_list(*, tenant: TenantRef, limit: int, offset: int, status: str = "", q: str = "") -> Page[JourneyInfo]:
    rows = Journey.objects.filter(tenant_id=tenant.id)
    if status:
        rows = rows.filter(status=status)
    if q:
        rows = rows.filter(name__icontains=q)
    page = page_of(rows.order_by("name"), limit=limit, offset=offset, mapper=lambda r: r)
    counts: dict[int, dict] = {}
    for journey_id, status_, n in (Instance.objects.filter(journey_id__in=[r.id for r in page.items])
                                   .values_list("journey_id", "status").annotate(n=Count("id")).order_by()):
        counts.setdefault(journey_id, {})[status_] = n
    return Page(items=[journey_info(r, counts=counts.get(r.id, {})) for r in page.items], limit=limit, offset=offset,
                has_more=page.has_more, total=rows.count())


def version_info(row: JourneyVersion) -> VersionInfo:
    return VersionInfo(version=row.version, definition=row.definition, created_by=row.created_by, created_at=row.created_at,
                       published_at=row.published_at, published_by=row.published_by, migration=row.migration)


def journey_versions(*, tenant: TenantRef, journey_id: int) -> list[VersionInfo]:
    row = journey_row(tenant, journey_id)
    return [version_info(v) for v in JourneyVersion.objects.filter(journey=row).order_by("-version")]


def step_info(row: InstanceStep) -> StepInfo:
    return StepInfo(step=row.step, node=row.node, way=row.way, to_node=row.to_node, at=row.at, detail=row.detail)


def instance_info(row: Instance, *, steps: bool = False) -> InstanceInfo:
    return InstanceInfo(instance_id=row.instance_id, journey_id=row.journey_id, version=row.version, cdp_id=row.cdp_id, key=row.key,
                        node=row.node, status=row.status, step=row.step, entered_at=row.entered_at, arrived_at=row.arrived_at,
                        due_at=row.due_at, ended_at=row.ended_at, end_reason=row.end_reason, converted_at=row.converted_at,
                        context=row.context,
                        steps=[step_info(s) for s in row.steps.order_by("step")] if steps else [])


def journey_instances(*, tenant: TenantRef, journey_id: int, limit: int, offset: int, node: str = "", status: str = "",
                      key: str = "", cdp_id: str = "") -> Page[InstanceInfo]:
    row = journey_row(tenant, journey_id)
    rows = Instance.objects.filter(journey=row)
    for field, value in (("node", node), ("status", status), ("key", key), ("cdp_id", cdp_id)):
        if value:
            rows = rows.filter(**{field: value})
    rows = rows.order_by("-entered_at", "-id")
    page = page_of(rows, limit=limit, offset=offset, mapper=instance_info)
    return Page(items=page.items, limit=limit, offset=offset, has_more=page.has_more, total=rows.count())


def instance_get(*, tenant: TenantRef, journey_id: int, instance_id: str) -> InstanceInfo:
    row = Instance.objects.filter(tenant_id=tenant.id, journey_id=journey_id, instance_id=instance_id).first()
    if row is None:
        raise NotFound(f"No instance {instance_id} in journey {journey_id}.")
    return instance_info(row, steps=True)


def customer_journeys(*, tenant: TenantRef, cdp_id: str, limit: int = 50) -> list[dict]:
    """The journeys a customer is in or was in, newest first, with where they are."""
    rows = list(Instance.objects.filter(tenant_id=tenant.id, cdp_id=cdp_id).select_related("journey").order_by("-entered_at")[:limit])
    if not rows and not live_customers(tenant=tenant, cdp_ids=[cdp_id]):
        raise NotFound(f"No customer {cdp_id} in this tenant.")
    return [{"journey_id": r.journey_id, "name": r.journey.name, "instance": instance_info(r)} for r in rows]


def ticks_recent(*, limit: int = 20) -> list[Tick]:
    return list(Tick.objects.order_by("-id")[:limit])


def journey_simulations(*, tenant: TenantRef, journey_id: int) -> list[Simulation]:
    """The journey's simulations, newest first (the newest 20 are kept)."""
    return list(Simulation.objects.filter(journey=journey_row(tenant, journey_id)))


def simulation_get(*, tenant: TenantRef, journey_id: int, simulation_id: int) -> Simulation:
    row = Simulation.objects.filter(journey=journey_row(tenant, journey_id), id=simulation_id).first()
    if row is None:
        raise NotFound(f"No simulation {simulation_id} of this journey.")
    return row
