"""Start-up check: a tick writes its sends' variables with SQLite's `->` operator (3.38, 2022)."""
import sqlite3

from django.core.checks import Error, register
from django.db import connections

MINIMUM = (3, 38, 0)


@register()
def sqlite_json_operators(app_configs, **kwargs):
    if not any(connections[alias].vendor == "sqlite" for alias in connections):
        return []
    if sqlite3.sqlite_version_info >= MINIMUM:
        return []
    return [Error(f"SQLite {sqlite3.sqlite_version} is too old for the journey orchestrator, which needs 3.38 or later "
                  "(the JSON operator ->).", id="journeys.E001",
                  hint="Use a Python built with a newer SQLite, or PostgreSQL as the operational database (DATABASE_URL).")]
