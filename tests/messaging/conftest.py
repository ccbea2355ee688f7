from __future__ import annotations

import pytest

from tenancy.roles import Role
from tracking.loader import load_inbox


@pytest.fixture
def admin(tenant_a, api_as):
    return api_as(tenant_a, Role.ADMIN)


@pytest.fixture
def shoppers(sdk, admin):
    """Three customers: ada (email, opted in to news), bob (email, no consent), cy (no email)."""
    calls = [{"type": "identify", "userId": "ada", "traits": {"email": "ada@example.com", "first_name": "Ada <script>", "plan": "pro"},
              "messageId": "i1", "timestamp": "2026-11-01T10:00:00Z"},
             {"type": "identify", "userId": "bob", "traits": {"email": "bob@example.com", "first_name": "Bob"}, "messageId": "i2",
              "timestamp": "2026-11-01T10:00:00Z"},
             {"type": "identify", "userId": "cy", "traits": {"first_name": "Cy"}, "messageId": "i3", "timestamp": "2026-11-01T10:00:00Z"}]
    assert sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
    load_inbox()
    ids = {u: admin.get(f"/api/customers/lookup?type=user_id&value={u}").json()["cdp_id"] for u in ("ada", "bob", "cy")}
    return ids
