"""The layer contract holds, and it can fail: a deliberately wrong import breaks it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.own_database  # lint-imports in a process of its own, no database: once, not again on PostgreSQL

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint() -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_layer_contract_is_kept():
    done = _lint()
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_app_importing_an_app_above_it_breaks_the_contract():
    scratch = ROOT / "identity" / "_scratch_wrong_import.py"
    scratch.write_text("from customers.services import profiles_follow  # noqa: F401\n")
    try:
        done = _lint()
    finally:
        scratch.unlink()
    assert done.returncode != 0
    assert "identity is not allowed to import customers" in done.stdout
    assert "identity._scratch_wrong_import -> customers.services" in done.stdout


def test_an_entry_point_may_compose_apps_but_only_through_services_selectors_and_types():
    """Entry points (api, views, tasks, commands) sit above every app; they reach the apps above
    their own only through services, selectors and types, never their tables or statements."""
    scratch = ROOT / "identity" / "management" / "commands" / "_scratch.py"
    try:
        scratch.write_text("from customers.services import profiles_follow  # noqa: F401\n")
        assert _lint().returncode == 0
        scratch.write_text("from customers.tables import EVENTS  # noqa: F401\n")
        done = _lint()
    finally:
        scratch.unlink()
    assert done.returncode != 0 and "identity.management.commands._scratch -> customers.tables" in done.stdout
