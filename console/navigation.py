"""The console's main navigation, in the order operators use it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    section: str
    area: str  # of the role table (tenancy.roles): the item shows only to roles that may read it


NAVIGATION = [
    NavItem("Customers", "customers:list", "customers", "customers"),
    NavItem("Segments", "segments:list", "segments", "segments"),
    NavItem("Messages", "messages:deliveries", "messages", "messaging"),
    NavItem("Journeys", "journeys:list", "journeys", "journeys"),
    NavItem("Campaigns", "campaigns:list", "campaigns", "campaigns"),
    NavItem("Analytics", "console:section", "analytics", "account"),
    NavItem("Identity", "identity:index", "identity", "identity"),
    NavItem("Live events", "tracking:live", "events", "events"),
    NavItem("Operations", "operations:index", "operations", "operations"),
    NavItem("Settings", "tenancy:members", "settings", "settings"),
]

# Sections whose pages arrive with their own apps; until then the console says so plainly.
UPCOMING_SECTIONS = {
    "analytics": "Journey funnels, campaign lift and audience trends.",
}
