"""The customers list: a total, sort by first seen / last seen / name, a trait filter with search,
CSV export of exactly the filtered, sorted list (formula-like cells as text); the API alike."""
from __future__ import annotations

import csv
import io

import pytest

from customers.services import customer_identify
from tenancy.roles import Role
from tests.conftest import ApiClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


@pytest.fixture
def people(tenant_a):
    made = {}
    for user_id, name, plan in (("u1", "Zoe Zed", "pro"), ("u2", "=HYPERLINK(\"x\")", "free"), ("u3", "Ann Able", "pro"), ("u4", None, "pro")):
        traits = {"plan": plan, **({"name": name} if name else {})}
        made[user_id] = customer_identify(tenant=tenant_a.ref, user_id=user_id, anonymous_id=None, email=f"{user_id}@example.com", traits=traits,
                                          actor="test").cdp_id
    return made


def _names(page: str, people: dict) -> list[str]:
    order = sorted(((page.index(f"/customers/{cdp}/"), uid) for uid, cdp in people.items() if f"/customers/{cdp}/" in page))
    return [uid for _, uid in order]


def test_the_list_has_a_total_sorts_and_filters_by_trait(console_as, people):
    client = console_as(Role.VIEWER)
    page = client.get("/customers/").content.decode()
    assert '<span id="customer-total">4 customers</span>' in page
    assert _names(page, people) == ["u4", "u3", "u2", "u1"], "newest first by default"
    by_name = client.get("/customers/?sort=name").content.decode()
    assert _names(by_name, people) == ["u2", "u3", "u1", "u4"], "by name (= before letters), the nameless last"
    pro = client.get("/customers/?key=plan&value=pro&sort=name").content.decode()
    assert _names(pro, people) == ["u3", "u1", "u4"] and "3 customers</span> match" in pro
    both = client.get("/customers/?key=plan&value=pro&q=zed", headers={"HX-Request": "true"}).content.decode()
    assert both.lstrip().startswith('<div id="customer-results">') and _names(both, people) == ["u1"]
    none = client.get("/customers/?key=plan&value=gold").content.decode()
    assert "No customer matches with plan = “gold”" in none and "0 customers" in none
    assert client.get("/customers/?sort=bogus").status_code == 200, "an unknown sort is the default, not an error"


def test_the_export_is_the_filtered_sorted_list_with_formulas_as_text(console_as, people):
    client = console_as(Role.VIEWER)
    page = client.get("/customers/?key=plan&value=pro&sort=name").content.decode()
    assert 'href="/customers/export.csv?key=plan&amp;value=pro&amp;sort=name"' in page
    response = client.get("/customers/export.csv?key=plan&value=pro&sort=name")
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["email"] for r in rows] == ["u3@example.com", "u1@example.com", "u4@example.com"]
    assert rows[0]["first_seen_at"].endswith("Z") and rows[0]["identifiers"] == "2"
    everyone = list(csv.DictReader(io.StringIO(b"".join(client.get("/customers/export.csv?sort=name").streaming_content).decode())))
    assert everyone[0]["name"] == "'=HYPERLINK(\"x\")", "a formula-like name is written as text"


def test_the_api_sorts_filters_and_totals(tenant_a, people):
    api = ApiClient(token=tenant_a.keys[Role.VIEWER], tenant=tenant_a.slug)
    body = api.get("/api/customers?sort=name&trait=plan:pro&limit=2").json()
    assert body["total"] == 3 and body["next_offset"] == 2
    assert [c["cdp_id"] for c in body["items"]] == [people["u3"], people["u1"]]
    bad = api.get("/api/customers?sort=bogus")
    assert bad.status_code == 422 and "sort" in bad.content.decode()
