"""The console's main navigation, in the order operators use it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    section: str


NAVIGATION = [
    NavItem("Customers", "customers:list", "customers"),
    NavItem("Segments", "console:section", "segments"),
    NavItem("Journeys", "console:section", "journeys"),
    NavItem("Campaigns", "console:section", "campaigns"),
    NavItem("Analytics", "console:section", "analytics"),
    NavItem("Identity", "identity:index", "identity"),
    NavItem("Live events", "tracking:live", "events"),
    NavItem("Operations", "operations:index", "operations"),
    NavItem("Settings", "tenancy:members", "settings"),
]

# Sections whose pages arrive with their own apps; until then the console says so plainly.
UPCOMING_SECTIONS = {
    "segments": "Build audiences from traits and behaviour, and see who entered and left.",
    "journeys": "Design multi-step journeys and watch customers flow through them.",
    "campaigns": "Send broadcasts to segments over email, webhooks, SMS and table exports.",
    "analytics": "Journey funnels, campaign lift and audience trends.",
}
