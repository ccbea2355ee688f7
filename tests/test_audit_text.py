"""Audit entries read as sentences, never Python's spelling of their details (issue 14 found
`set=['score'] unset=[]` and `granted=True` on the audit page)."""
from __future__ import annotations

import pytest

from tenancy.audit_text import SENTENCES, audit_sentence
from tenancy.roles import Role


@pytest.mark.parametrize(("action", "target", "details", "sentence"), [
    ("customer.traits", "cdp_1", {"set": ["score"], "unset": []}, "changed the traits of cdp_1: set score"),
    ("customer.traits", "cdp_1", {"set": ["a", "b"], "unset": ["c"]}, "changed the traits of cdp_1: set a, b and removed c"),
    ("customer.consent", "cdp_1", {"channel": "email", "purpose": "marketing", "granted": True},
     "recorded that cdp_1 granted marketing consent on email"),
    ("member.set", "ada@example.com", {"role": "editor"}, "made ada@example.com editor"),
    ("apikey.create", "ci", {"key_id": "abcd1234", "role": "admin"}, "created API key “ci” (admin)"),
    ("tenant.update", "acme", {"time_zone": "Europe/Paris"}, "changed the tenant's time zone to “Europe/Paris”"),
    ("identity.unblock", "device_id:kiosk", {"blocked": ["device_id:kiosk"], "reason": "staff phone"}, "unblocked device_id:kiosk: “staff phone”"),
    ("something.new", "x", {"flag": True, "items": [1, 2]}, "something.new x flag: yes; items: 1, 2"),
    ("customer.traits", "cdp_1", {"unexpected": 1}, "changed nothing on cdp_1"),
])
def test_entries_read_as_sentences(action, target, details, sentence):
    assert audit_sentence(action, target, details) == sentence


def test_every_action_the_product_records_has_a_sentence():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent
    recorded = set()
    for source in root.glob("*/**/*.py"):
        if ".venv" in source.parts or "tests" in source.parts:
            continue
        recorded |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', source.read_text()))
    recorded |= {"apikey.create", "apikey.revoke", "writekey.create", "writekey.revoke", "auth.sign_in_failed", "auth.sign_in_throttled"}
    assert recorded - set(SENTENCES) == set()


@pytest.mark.django_db
@pytest.mark.usefixtures("lakehouse")
def test_the_audit_page_shows_sentences(console_as):
    admin = console_as(Role.ADMIN)
    page = admin.get("/settings/audit/").content.decode()
    assert "made admin@example.com admin" in page and "role=" not in page and "[&#x27;" not in page
