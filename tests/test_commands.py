"""Operators manage tenants, people and keys from the shell; a new key is printed exactly once."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenancy.models import ApiKey, AuditEntry, Membership, WriteKey
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_tenant_user_and_key_lifecycle_from_the_shell():
    assert "Created tenant acme" in run("cdp_tenant", "create", "acme", "--name", "Acme")
    assert "acme\tAcme" in run("cdp_tenant", "list")
    created = run("cdp_user", "create", "Ops@Example.com", "--tenant", "acme", "--role", "editor")
    assert "ops@example.com is editor in acme" in created and "Set-password link (shown once, works once):" in created
    link = created.strip().splitlines()[-1]
    assert link.startswith("http://localhost:8000/signin/set-password/")
    assert Membership.objects.get(user__username="ops@example.com").role == "editor"
    again = run("cdp_user", "create", "ops@example.com", "--tenant", "acme", "--role", "editor")
    assert "Set-password link" in again, "still no password: a new link"
    run("cdp_user", "create", "boss@example.com", "--tenant", "acme", "--role", "admin", "--password", "a-long-pass-phrase-1")
    existing = run("cdp_user", "create", "boss@example.com", "--tenant", "acme", "--role", "admin")
    assert "already had an account: they sign in with their own password" in existing and "Set-password link" not in existing
    reset = run("cdp_user", "link", "boss@example.com", "--tenant", "acme", "--base-url", "https://cdp.example.com/")
    assert reset.strip().splitlines()[-1].startswith("https://cdp.example.com/signin/set-password/")
    assert "ops@example.com\teditor" in run("cdp_user", "list", "--tenant", "acme")
    assert "Removed ops@example.com" in run("cdp_user", "remove", "ops@example.com", "--tenant", "acme")
    with pytest.raises(CommandError, match="not a member"):
        run("cdp_user", "remove", "ops@example.com", "--tenant", "acme")

    out = run("cdp_apikey", "create", "--tenant", "acme", "--role", "admin", "--name", "ci")
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("cdp_ak_")
    assert ApiClient(token=secret).get("/api/me").json()["tenant"]["role"] == "admin"
    listing = run("cdp_apikey", "list", "--tenant", "acme")
    assert secret[:15] in listing and secret not in listing  # the prefix, never the secret

    run("cdp_apikey", "revoke", "--tenant", "acme", secret[:15])
    assert ApiClient(token=secret).get("/api/me").status_code == 401
    assert AuditEntry.objects.filter(action="apikey.revoke", actor="cli").exists()


def test_write_keys_from_the_shell():
    run("cdp_tenant", "create", "shop")
    secret = run("cdp_writekey", "create", "--tenant", "shop").strip().splitlines()[-1]
    assert secret.startswith("cdp_wk_")
    key = WriteKey.objects.get()
    assert secret not in (key.key_hash, key.key_id)
    run("cdp_writekey", "revoke", "--tenant", "shop", str(key.id))
    assert WriteKey.objects.get().revoked_at is not None


def test_clear_errors_for_unknown_tenants_and_duplicates():
    with pytest.raises(CommandError, match="No tenant 'ghost'"):
        run("cdp_apikey", "create", "--tenant", "ghost")
    run("cdp_tenant", "create", "twice")
    with pytest.raises(CommandError, match="already exists"):
        run("cdp_tenant", "create", "twice")


def test_demo_is_idempotent_and_prints_the_password_once(monkeypatch):
    monkeypatch.setenv("CDP_ADMIN_PASSWORD", "")
    first = run("cdp_demo", "--no-data")
    assert "with password:" in first
    second = run("cdp_demo", "--no-data")
    assert "with password:" not in second
    assert Membership.objects.filter(user__username="admin@example.com", role="admin").count() == 2
    assert ApiKey.objects.count() == 0


@pytest.mark.usefixtures("lakehouse")
def test_cdp_resolve_rebuilds_a_tenant_and_reports_each_phase(tenant_a, sdk):
    from tracking.loader import load_inbox

    calls = [{"type": "identify", "userId": "ada", "anonymousId": f"visit-{n}", "messageId": f"r-{n}", "traits": {"email": "ada@example.com"}}
             for n in range(3)]
    assert sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
    load_inbox()
    out = run("cdp_resolve", "--tenant", tenant_a.slug, "--full")
    assert "read 4 edges and 5 identifiers" in out, out  # ada and her email, each visit to ada
    assert "resolved 5 identifiers into 1 customers" in out and "wrote 0 changed identifiers" in out
    assert f"{tenant_a.slug}: run" in out and "done: 1 customers" in out
    with pytest.raises(CommandError, match="No tenant"):
        run("cdp_resolve", "--tenant", "nobody")


@pytest.mark.usefixtures("lakehouse")
def test_demo_shows_no_empty_progress_bar_when_its_data_is_there(monkeypatch, capsys):
    import json

    from cdp_site.demo import DEMO_DATA_TENANT
    from tenancy.selectors import tenant_get
    from tracking.demo import FIRST_MESSAGE_ID
    from tracking.loader import load_inbox
    from tracking.services import ingest

    monkeypatch.setenv("CDP_ADMIN_PASSWORD", "")
    run("cdp_demo", "--no-data")  # the demo tenants; then the dataset's first call, as if loaded before
    call = {"type": "track", "userId": "u", "event": "E", "messageId": FIRST_MESSAGE_ID}
    ingest(tenant=tenant_get(slug=DEMO_DATA_TENANT), body=json.dumps(call).encode(), implied_type="track")
    load_inbox()
    capsys.readouterr()
    out = run("cdp_demo")
    assert "Demo data already in" in out
    assert "demo data" not in capsys.readouterr().err, "no progress bar for work that is not done"
