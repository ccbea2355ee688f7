"""Roles, and the one table of what each area of the product needs, read by the API
(`tenancy.auth.TenantAuth(area)`) and the console (`console.access.role_required(area)`) alike,
so a page and the endpoint doing the same work cannot ask for different roles. docs/api.md
prints the table; `tests/test_roles.py` holds it, the docs and every route to each other."""
from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


def role_allows(have: str, need: str) -> bool:
    """Does a principal holding `have` satisfy an operation that needs `need`? Roles are ordered:
    each one can do everything the one below it can."""
    return _RANK.get(have, 0) >= _RANK[need]


# area: (role to read, role to change), with what the area covers.
ROLE_TABLE: dict[str, tuple[Role, Role, str]] = {
    "account": (Role.VIEWER, Role.VIEWER, "who am I, my tenants; the console's home"),
    "customers": (Role.VIEWER, Role.EDITOR, "profiles, traits, consent, suppression, erasure, exports, computed traits"),
    "events": (Role.VIEWER, Role.EDITOR, "sending events with a bearer token (write keys need no role); the live event view"),
    "identity": (Role.VIEWER, Role.EDITOR, "lookups, identity graphs, conflicts, merges, rebuild history; unmerging a customer"),
    "identity-rules": (Role.VIEWER, Role.ADMIN, "resolution rules, rules previews, full rebuilds (expensive: admin everywhere)"),
    "segments": (Role.VIEWER, Role.EDITOR, "segment definitions, previews, refreshes, members and their history, explanations, manual lists"),
    "messaging": (Role.VIEWER, Role.EDITOR, "message templates and previews, subscription topics, sends and test sends, deliveries"),
    "journeys": (Role.VIEWER, Role.EDITOR, "journeys: drafts, publishing, pausing, enrolments, instances and their history, reports"),
    "campaigns": (Role.VIEWER, Role.EDITOR, "campaigns: drafts, previews, scheduling, pausing, test sends, recipients, reports"),
    "campaign-approvals": (Role.VIEWER, Role.ADMIN, "approving a campaign that needs a second admin; the approval threshold"),
    "channels": (Role.VIEWER, Role.ADMIN, "messaging channels: their settings and credentials, secret rotation"),
    "settings": (Role.ADMIN, Role.ADMIN, "members, API keys, write keys, the audit log"),
    "operations": (Role.ADMIN, Role.ADMIN, "schedules, task runs, the ingestion inbox, lakehouse tables"),
}


def area_role(area: str, *, write: bool) -> Role:
    """The role `area` needs to read (GET, HEAD, OPTIONS) or to change something."""
    read_role, write_role, _ = ROLE_TABLE[area]
    return write_role if write else read_role
