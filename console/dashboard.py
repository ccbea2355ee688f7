"""The home dashboard: a tenant's figures at a glance, each from the app that owns it.

Every figure is one cheap read (a grouped lakehouse statement or an indexed row), so the page
answers in milliseconds on the demo tenant; see docs/console.md for what it costs on a big one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from customers import selectors as customers
from customers.types import EventVolume
from identity import selectors as identity
from kernel.charts import BarChart, daily_bar_chart
from tenancy.types import TenantRef
from tracking import selectors as tracking
from tracking.selectors import IngestionStatus

CHART_DAYS = 30
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Dashboard:
    customers: int
    identified: int
    events: EventVolume
    chart: BarChart
    ingestion: IngestionStatus
    merges_this_week: int
    conflicts_this_week: int
    now: datetime

    @property
    def identified_share(self) -> float | None:
        return self.identified / self.customers if self.customers else None

    @property
    def events_last_7_days(self) -> int:
        return self.events.last(7)

    @property
    def receiving(self) -> bool:
        """Something arrived in the last day."""
        last = self.ingestion.last_received_at
        return last is not None and self.now - last < timedelta(days=1)


def dashboard(*, tenant: TenantRef, now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    customers_total, identified = identity.customer_totals(tenant=tenant)
    volume = customers.event_volume(tenant=tenant, days=CHART_DAYS, now=now)
    resolution = identity.resolution_since(tenant=tenant, since=now - WEEK)
    return Dashboard(
        customers=customers_total, identified=identified, events=volume,
        chart=daily_bar_chart(volume.days, title=f"Events per day, last {CHART_DAYS} days"),
        ingestion=tracking.ingestion_status(tenant_id=tenant.id, rejected_since=(now - WEEK).astimezone(UTC).date()),  # counted by UTC day
        merges_this_week=resolution["merges"], conflicts_this_week=resolution["conflicts"], now=now,
    )

