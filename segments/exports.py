"""A segment's members written to a lakehouse table, for the tools that read Unity Catalog (BI,
notebooks, reverse ETL) rather than a CSV download.

Each export replaces the table with the members at that moment (cdp_id, entered_at, user_id,
email), in one atomic statement on Delta. Tables go to one schema the platform team chooses
(`CDP_SEGMENT_EXPORT_SCHEMA`, by default the lakehouse schema's name + `_exports`), never to the
product's own schema, and their names carry the tenant (`<tenant>_<tenant id>__<name>`), so one
tenant cannot overwrite another's table or the product's. Runs on a worker; poll the exports list.
A table exported before an erasure is written again by the schedule (`exports_follow_erasures`):
the copies outside the product's tables follow erasure too.
"""
from __future__ import annotations

import logging
import re

from django.conf import settings
from django.utils import timezone

from customers.selectors import last_erasures
from kernel.errors import Conflict, InvalidInput
from lakehouse import get_engine
from operations.leases import lease_acquire, lease_release
from operations.queue import task_enqueue
from segments import sql
from segments.models import SegmentExport
from segments.selectors import segment_row
from tenancy.selectors import tenant_ref_by_id
from tenancy.services import audit_record
from tenancy.types import TenantRef

logger = logging.getLogger("cdp.segments")
# Lower case (Unity Catalog folds names), and no "__": that separates the tenant from the name.
NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
MAX_NAME = 100
EXPORT_LEASE_SECONDS = 60 * 60


def exports_available() -> bool:
    """Whether this deployment's engine writes tables for other tools (the console shows the form)."""
    return get_engine().features.exports_tables


def export_location(engine) -> tuple[str, str]:
    """(catalog, schema) the exports are written to."""
    configured = settings.CDP_SEGMENT_EXPORT_SCHEMA.strip()
    if not configured:
        return engine.catalog, f"{engine.schema}_exports"
    parts = configured.split(".")
    if len(parts) != 2 or not all(re.fullmatch(r"[A-Za-z0-9_]+", p) for p in parts):
        raise InvalidInput(f"CDP_SEGMENT_EXPORT_SCHEMA is {configured!r}; set it to catalog.schema (letters, digits and _).",
                           errors=[{"field": "CDP_SEGMENT_EXPORT_SCHEMA", "message": "catalog.schema"}])
    if (parts[0], parts[1]) == (engine.catalog, engine.schema):
        raise InvalidInput("CDP_SEGMENT_EXPORT_SCHEMA names the product's own schema; exports need a schema of their own.",
                           errors=[{"field": "CDP_SEGMENT_EXPORT_SCHEMA", "message": "not the lakehouse schema"}])
    return parts[0], parts[1]


def export_table_name(tenant: TenantRef, name: str) -> str:
    """The table's own name: the tenant (its slug, folded, and its id, which makes it unique) and
    the name asked for."""
    slug = re.sub(r"[^a-z0-9]+", "_", tenant.slug.lower()).strip("_")[:40] or "tenant"
    return f"{slug}_{tenant.id}__{name}"


def _checked_name(name: str) -> str:
    name = name.strip()
    if len(name) > MAX_NAME or not NAME.match(name):
        raise InvalidInput("Name the table with lower-case letters, digits and single underscores, starting with a letter "
                           "(for example vip_customers).", errors=[{"field": "name", "message": "like vip_customers"}])
    return name


def segment_export(*, tenant: TenantRef, segment_id: int, name: str, actor: str, queue: bool = True) -> SegmentExport:
    """Write the segment's current members to a table: queued for a worker (poll
    `selectors.segment_exports`), or here and now without `queue` (manage.py). Refused on engines
    that keep no tables for other tools."""
    row = segment_row(tenant, segment_id)
    engine = get_engine()
    if not engine.features.exports_tables:
        raise InvalidInput(f"Exports to a table need the Databricks (or Spark) engine; this one is {engine.vendor}. "
                           f"Download the members as CSV instead (GET /api/segments/{row.id}/members.csv).",
                           errors=[{"field": "name", "message": f"no tables on the {engine.vendor} engine"}])
    name = _checked_name(name)
    catalog, schema = export_location(engine)
    table = f"{catalog}.{schema}.{export_table_name(tenant, name)}"
    export = SegmentExport.objects.create(segment=row, tenant_id=tenant.id, name=name, table=table, requested_by=actor)
    audit_record(tenant=tenant, actor=actor, action="segment.export", target=row.name, details={"table": table})
    if not queue:
        return segment_export_execute(export.id)
    task_enqueue("segments.tasks.segment_export_run", export.id, name=f"segment-export-{tenant.slug}-{row.id}", tenant_id=tenant.id)
    export.refresh_from_db()
    return export


def exports_follow_erasures() -> int:
    """Write again every table last exported before its tenant erased a customer: the members
    no longer hold the erased (erasure removes them), so the new table does not either. Run by
    the segments schedule; returns how many tables were written."""
    latest: dict[str, SegmentExport] = {}
    for export in SegmentExport.objects.filter(state="succeeded").order_by("id"):
        latest[export.table] = export
    erased = last_erasures(tenant_ids={e.tenant_id for e in latest.values()})
    written = 0
    for export in latest.values():
        if erased.get(export.tenant_id) and erased[export.tenant_id] >= export.started_at:
            again = SegmentExport.objects.create(segment_id=export.segment_id, tenant_id=export.tenant_id, name=export.name,
                                                 table=export.table, requested_by="erasure")
            try:
                segment_export_execute(again.id)
                written += 1
            except Exception:
                logger.exception("export after an erasure failed", extra={"cdp_segment": export.segment_id})
    return written


def segment_export_execute(export_id: int) -> SegmentExport:
    """Write the table (on a worker). One export to a table at a time: two replacing it at once
    would conflict on Delta."""
    export = SegmentExport.objects.select_related("segment").get(id=export_id)
    tenant, row = tenant_ref_by_id(export.tenant_id), export.segment
    lease = f"segment-export-{export.table}"
    token = lease_acquire(lease, seconds=EXPORT_LEASE_SECONDS)
    if token is None:
        SegmentExport.objects.filter(id=export.id).update(state="failed", finished_at=timezone.now(),
                                                          error="another export to this table was running; export again when it ends")
        raise Conflict(f"{export.table} is being exported; try again when that ends.")
    SegmentExport.objects.filter(id=export.id).update(state="running")
    engine = get_engine()
    catalog, schema, table = export.table.split(".")
    comment = f"Members of the segment {row.name} (tenant {tenant.slug}), written by the CDP at {timezone.now():%Y-%m-%d %H:%M} UTC"
    try:
        rows = engine.export_table(sql.EXPORT_ROWS, {"tenant_id": tenant.slug, "segment_id": row.id}, location=(catalog, schema),
                                   name=table, comment=comment)
    except Exception as exc:
        SegmentExport.objects.filter(id=export.id).update(state="failed", finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        lease_release(lease, token)
    SegmentExport.objects.filter(id=export.id).update(state="succeeded", rows=rows, finished_at=timezone.now())
    export.refresh_from_db()
    return export
