"""Identity resolution end to end: loads merge and record conflicts, ids stay stable, merged ids
resolve, un-merge splits with data following, rules preview, erasure, and the /api/identity endpoints."""
from __future__ import annotations

import pytest

from identity.tables import CONFLICTS, CUSTOMER_IDS, EDGES, MERGES
from lakehouse.statements import Statement
from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


@pytest.fixture
def api(tenant_a, api_as):
    return api_as(tenant_a, Role.ADMIN)


@pytest.fixture
def send(sdk):
    def post(*calls):
        response = sdk.post("/api/v1/batch", {"batch": list(calls)})
        assert response.status_code == 200, response.json()
        load_inbox()

    return post


def _at(minute: int) -> str:
    return f"2026-03-01T10:{minute:02d}:00Z"


def _id(api, id_type, value):
    response = api.get(f"/api/identity/resolve?type={id_type}&value={value}")
    return response.json()["cdp_id"] if response.status_code == 200 else None


def test_a_visitor_who_identifies_later_merges_and_the_older_id_survives(api, send):
    send({"type": "page", "anonymousId": "anon-1", "messageId": "p1", "name": "Home", "timestamp": _at(1)},
         {"type": "identify", "userId": "ada", "messageId": "i1", "timestamp": _at(2), "traits": {"email": "ada@example.com", "plan": "pro"}})
    visitor, ada = _id(api, "anonymous_id", "anon-1"), _id(api, "user_id", "ada")
    assert visitor != ada, "two customers until something links them"
    send({"type": "identify", "userId": "ada", "anonymousId": "anon-1", "messageId": "i2", "timestamp": _at(3)})
    assert _id(api, "user_id", "ada") == _id(api, "anonymous_id", "anon-1") == visitor, "the visitor was seen first: that id survives"
    profile = api.get(f"/api/customers/{ada}").json()
    assert profile["cdp_id"] == visitor, "the merged id still resolves, to the survivor"
    assert {t["key"] for t in profile["traits"]} >= {"email", "plan"}, "traits followed the identifiers"
    events = api.get(f"/api/customers/{visitor}/events").json()["items"]
    assert {e["message_id"] for e in events} == {"p1", "i1", "i2"}, "events followed too"
    graph = api.get(f"/api/identity/customers/{visitor}/graph").json()
    [merge] = graph["merges"]
    assert (merge["cdp_id"], merge["merged_cdp_id"], merge["message_id"]) == (visitor, ada, "i2")
    assert "seen together" in merge["rule"]


def test_two_user_ids_never_merge_and_the_conflict_says_why(api, send):
    send({"type": "identify", "userId": "ada", "anonymousId": "shared-laptop", "messageId": "i1", "timestamp": _at(1)},
         {"type": "identify", "userId": "bob", "anonymousId": "shared-laptop", "messageId": "i2", "timestamp": _at(2)})
    assert _id(api, "user_id", "ada") != _id(api, "user_id", "bob")
    [conflict] = api.get("/api/identity/conflicts").json()["items"]
    assert conflict["reason"] == "different user_id" and {conflict["a_value"], conflict["b_value"]} == {"shared-laptop", "bob"}


def test_junk_identifiers_join_nobody(api, send):
    send({"type": "identify", "userId": "undefined", "anonymousId": "anon-a", "messageId": "i1", "timestamp": _at(1)},
         {"type": "identify", "userId": "undefined", "anonymousId": "anon-b", "messageId": "i2", "timestamp": _at(2)})
    assert _id(api, "anonymous_id", "anon-a") != _id(api, "anonymous_id", "anon-b")
    response = api.get("/api/identity/resolve?type=user_id&value=undefined")
    assert response.status_code == 404 and "blocked" in response.json()["detail"]


def test_alias_chains_join_into_one_customer(api, send):
    send({"type": "page", "anonymousId": "first-visit", "messageId": "p1", "timestamp": _at(1)},
         {"type": "alias", "previousId": "first-visit", "userId": "signup-temp", "messageId": "a1", "timestamp": _at(2)},
         {"type": "alias", "previousId": "second-device", "userId": "signup-temp", "messageId": "a2", "timestamp": _at(3)})
    ids = {_id(api, "anonymous_id", "first-visit"), _id(api, "anonymous_id", "second-device"), _id(api, "user_id", "signup-temp")}
    assert len(ids) == 1


def test_full_rebuild_keeps_every_id(api, send):
    send({"type": "page", "anonymousId": "v1", "messageId": "p1", "timestamp": _at(1)},
         {"type": "identify", "userId": "u1", "anonymousId": "v1", "messageId": "i1", "timestamp": _at(2), "traits": {"email": "u1@x.com"}},
         {"type": "identify", "userId": "u2", "anonymousId": "v2", "messageId": "i2", "timestamp": _at(3)},
         {"type": "identify", "userId": "u3", "anonymousId": "v1", "messageId": "i3", "timestamp": _at(4)})
    before = {v: _id(api, "user_id", v) for v in ("u1", "u2", "u3")}
    run = api.post("/api/identity/runs", {"kind": "full"})
    assert run.status_code == 202 and run["Location"] == f"/api/identity/runs/{run.json()['id']}"
    assert run.json()["state"] == "succeeded", "the tests run queued tasks before answering (CDP_TASKS_INLINE)"
    assert run.json()["changed"] == 0, "nothing moves when nothing changed"
    assert {v: _id(api, "user_id", v) for v in before} == before
    assert api.get(f"/api/identity/runs/{run.json()['id']}").json()["customers"] == 3
    bodiless = api.request("POST", "/api/identity/runs", None)  # no body at all: a full run, as with {}
    assert bodiless.status_code == 202 and bodiless.json()["kind"] == "full"


def test_unmerge_splits_and_data_follows_identifiers(api, send):
    send({"type": "identify", "anonymousId": "kitchen-tablet", "userId": "ada", "messageId": "i1", "timestamp": _at(1),
          "traits": {"email": "ada@example.com", "city": "Oslo"}},
         {"type": "identify", "anonymousId": "kitchen-tablet", "messageId": "i2", "timestamp": _at(2), "traits": {"phone": "+4722334455"}},
         {"type": "identify", "anonymousId": "kitchen-tablet", "context": {"device": {"id": "dev-9"}}, "messageId": "i3",
          "timestamp": _at(3), "traits": {"nickname": "kid"}})
    ada = _id(api, "user_id", "ada")
    assert _id(api, "device_id", "dev-9") == ada
    response = api.post(f"/api/identity/customers/{ada}/unmerge", {"type": "anonymous_id", "value": "kitchen-tablet", "reason": "shared tablet"})
    assert response.status_code == 200, response.json()
    assert _id(api, "user_id", "ada") == ada, "the part holding the oldest identifier keeps the id"
    assert _id(api, "anonymous_id", "kitchen-tablet") is None, "the blocked identifier now resolves to nobody"
    device = _id(api, "device_id", "dev-9")
    assert device and device != ada
    ada_traits = {t["key"] for t in api.get(f"/api/customers/{ada}").json()["traits"]}
    device_traits = {t["key"] for t in api.get(f"/api/customers/{device}").json()["traits"]}
    assert "city" in ada_traits and "nickname" not in ada_traits and "nickname" in device_traits
    assert {e["message_id"] for e in api.get(f"/api/customers/{device}/events").json()["items"]} == {"i3"}
    assert api.post(f"/api/identity/customers/{ada}/unmerge", {"type": "email", "value": "nobody@x.com"}).status_code == 422


def test_rules_preview_then_apply(api, send, tenant_a, api_as):
    send({"type": "identify", "userId": "ada", "anonymousId": "shared", "messageId": "i1", "timestamp": _at(1)},
         {"type": "identify", "userId": "bob", "anonymousId": "shared", "messageId": "i2", "timestamp": _at(2)})
    rules = api.get("/api/identity/rules").json()
    assert rules["limits"] == {"user_id": 1, "*": 5}
    proposed = {**{k: v for k, v in rules.items() if k != "defaults"}, "limits": {"user_id": 2, "*": 5}}
    queued = api.post("/api/identity/rules/preview", proposed)
    assert queued.status_code == 202 and queued["Location"] == f"/api/identity/runs/{queued.json()['id']}"
    preview = api.get(queued["Location"]).json()["preview"]
    assert preview["customers_now"] == 2 and preview["customers_after"] == 1 and preview["customers_that_would_merge"] == 2
    assert _id(api, "user_id", "ada") != _id(api, "user_id", "bob"), "a preview changes nothing"
    assert api_as(tenant_a, Role.EDITOR).put("/api/identity/rules", proposed).status_code == 403, "rules are for admins"
    assert api.put("/api/identity/rules", proposed).status_code == 202
    assert _id(api, "user_id", "ada") == _id(api, "user_id", "bob")
    bad = api.post("/api/identity/rules/preview", {**proposed, "blocked": ["(unclosed"], "limits": {"shoe_size": 0}})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"blocked", "limits"}
    lookaround = api.put("/api/identity/rules", {**proposed, "blocked": ["(?!keep)test.*"]})  # Python's re reads it; RE2 does not
    assert lookaround.status_code == 422 and "RE2" in lookaround.json()["errors"][0]["message"]


def test_a_new_blocked_pattern_takes_its_identifiers_out_of_every_customer(api, send, lakehouse, tenant_a):
    send(*[{"type": "identify", "userId": f"user-{i}", "anonymousId": f"kiosk-{i}", "messageId": f"i{i}", "timestamp": _at(i),
            "traits": {"email": f"kiosk-{i}@example.com"}} for i in range(5)])
    rules = {k: v for k, v in api.get("/api/identity/rules").json().items() if k != "defaults"}
    assert _id(api, "anonymous_id", "kiosk-3") == _id(api, "user_id", "user-3")
    assert api.put("/api/identity/rules", {**rules, "blocked": [*rules["blocked"], "kiosk-.*"]}).status_code == 202
    for i in range(5):  # every kiosk identifier, of both types, resolves to nobody now; the users keep theirs
        assert _id(api, "anonymous_id", f"kiosk-{i}") is None and _id(api, "email", f"kiosk-{i}@example.com") is None
        assert _id(api, "user_id", f"user-{i}") is not None
    stored = lakehouse.execute(Statement("test.blocked.identities", "SELECT id_type, id_value FROM {identities} WHERE tenant_id = :tenant_id"),
                               {"tenant_id": tenant_a.slug}).dicts()
    assert sorted(r["id_value"] for r in stored) == [f"user-{i}" for i in range(5)], "the blocked identifiers' rows are deleted"


def test_erasure_removes_identity_data(api, send, lakehouse, tenant_a):
    send({"type": "identify", "userId": "ada", "anonymousId": "v1", "messageId": "i1", "timestamp": _at(1)},
         {"type": "identify", "userId": "bob", "anonymousId": "v1", "messageId": "i2", "timestamp": _at(2)})
    ada = _id(api, "user_id", "ada")
    assert api.post(f"/api/customers/{ada}/erase").status_code == 200
    for table in (EDGES, CUSTOMER_IDS, CONFLICTS):
        rows = lakehouse.execute(Statement(f"test.erase.{table.name}", f"SELECT * FROM {{{table.name}}} WHERE tenant_id = :tenant_id"),
                                 {"tenant_id": tenant_a.slug}).dicts()
        assert not [r for r in rows if "ada" in r.values() or "v1" in r.values()], table.name
    merges = lakehouse.execute(Statement("test.erase.merges", "SELECT * FROM {identity_merges} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id"),
                               {"tenant_id": tenant_a.slug, "cdp_id": ada}).dicts()
    assert merges == [] and MERGES.name == "identity_merges"
    assert _id(api, "user_id", "ada") is None


def test_custom_identifier_types_and_phones_join_customers(api, send):
    rules = {k: v for k, v in api.get("/api/identity/rules").json().items() if k != "defaults"}
    saved = api.put("/api/identity/rules", {**rules, "custom": [{"name": "crm_id", "source": "trait:crm_id"}], "default_region": "GB"})
    assert saved.status_code == 202, saved.json()
    send({"type": "identify", "anonymousId": "shop-visit", "messageId": "i1", "timestamp": _at(1), "traits": {"crm_id": "CRM-7"}},
         {"type": "identify", "anonymousId": "app-visit", "messageId": "i2", "timestamp": _at(2), "traits": {"crm_id": "CRM-7"}},
         {"type": "identify", "anonymousId": "call-centre", "messageId": "i3", "timestamp": _at(3), "traits": {"phone": "020 7946 0958"}},
         {"type": "identify", "anonymousId": "app-visit", "messageId": "i4", "timestamp": _at(4), "traits": {"phone": "+44 20 7946 0958"}})
    crm = _id(api, "crm_id", "CRM-7")
    assert crm == _id(api, "anonymous_id", "shop-visit") == _id(api, "anonymous_id", "app-visit") == _id(api, "anonymous_id", "call-centre")
    assert _id(api, "phone", "+442079460958") == crm, "a UK number with and without its country code is one phone"


def test_identifiers_remember_when_they_were_last_seen(api, send):
    send({"type": "page", "anonymousId": "v1", "messageId": "p1", "timestamp": _at(1)})
    send({"type": "page", "anonymousId": "v1", "messageId": "p2", "timestamp": _at(30)})
    [identity] = api.get(f"/api/customers/{_id(api, 'anonymous_id', 'v1')}").json()["identities"]
    assert identity["first_seen_at"].startswith("2026-03-01T10:01") and identity["last_seen_at"].startswith("2026-03-01T10:30")


def test_a_merged_id_acts_on_the_customer_it_was_merged_into(api, send):
    send({"type": "page", "anonymousId": "anon-9", "messageId": "p1", "timestamp": _at(1)},
         {"type": "identify", "userId": "cy", "messageId": "i1", "timestamp": _at(2), "traits": {"plan": "free"}})
    retired = _id(api, "user_id", "cy")
    send({"type": "identify", "userId": "cy", "anonymousId": "anon-9", "messageId": "i2", "timestamp": _at(3)})
    survivor = _id(api, "user_id", "cy")
    assert survivor != retired
    patched = api.patch(f"/api/customers/{retired}", {"set": {"plan": "pro"}})
    assert patched.status_code == 200 and patched.json()["cdp_id"] == survivor
    assert api.put(f"/api/customers/{retired}/consent", {"channel": "email", "purpose": "marketing", "granted": True}).json()["consents"]
    erased = api.post(f"/api/customers/{retired}/erase").json()
    assert erased["cdp_id"] == survivor
    assert api.get(f"/api/customers/{survivor}").status_code == 404, "erasing by a merged id erases the customer, not nothing"


def test_a_shared_identifier_is_listed_by_its_conflicts_and_blocking_it_unties_its_customers(api, send, console_as, tenant_a):
    send(*[{"type": "identify", "userId": f"shopper-{n}", "messageId": f"kiosk-{n}", "timestamp": _at(n),
            "context": {"device": {"id": "store-kiosk"}}} for n in range(4)])
    listed = api.get("/api/identity/shared-identifiers").json()
    assert set(listed) == {"items", "limit", "offset", "next_offset", "total"}, "the one page shape of every list"
    shared = listed["items"]
    assert shared[0]["type"] == "device_id" and shared[0]["value"] == "store-kiosk" and shared[0]["conflicts"] == 3
    owner = shared[0]["cdp_id"]
    assert owner == _id(api, "user_id", "shopper-0"), "the kiosk joined the first shopper; the others were refused"

    client = console_as(Role.EDITOR)
    page = client.get("/identity/").content.decode()
    assert "Shared identifiers" in page and "store-kiosk" in page and 'name="identifier" value="device_id:store-kiosk"' in page
    done = client.post(f"/identity/customers/{owner}/unmerge/", {"identifier": "device_id:store-kiosk", "reason": "shared identifier"},
                       follow=True).content.decode()
    assert "Blocked device_id store-kiosk" in done
    assert _id(api, "device_id", "store-kiosk") is None
    assert all(s["value"] != "store-kiosk" or s["cdp_id"] is None for s in api.get("/api/identity/shared-identifiers").json()["items"])

    # And loads stop paying for it: resolving one shopper no longer reaches the others through the kiosk.
    from identity.services import resolve_and_apply
    from lakehouse import get_engine

    said = []
    resolve_and_apply(get_engine(), tenant_a.ref, seeds={("user_id", "shopper-2")}, progress=said.append)
    assert said[0].startswith("read 0 edges and 1 identifiers"), said


def test_blocking_settles_every_count_at_once_and_unblocking_brings_it_back(api, send, console_as, tenant_a):
    """Issue 14: after Block the kiosk kept topping Shared identifiers with its old conflicts while
    a rebuild counted fewer. Conflicts that no longer hold are removed when resolution settles the
    scope, so the Identity page, the API, the dashboard and a rebuild's figure agree."""
    from console.dashboard import dashboard
    from tenancy.selectors import audit_list

    send(*[{"type": "identify", "userId": f"shopper-{n}", "messageId": f"kiosk-{n}", "timestamp": _at(n),
            "context": {"device": {"id": "store-kiosk"}}} for n in range(5)],
         {"type": "identify", "userId": "ada", "anonymousId": "laptop", "messageId": "l1", "timestamp": _at(10)},
         {"type": "identify", "userId": "bob", "anonymousId": "laptop", "messageId": "l2", "timestamp": _at(11)})
    assert api.get("/api/identity/conflicts").json()["total"] == 5, "four shoppers refused at the kiosk, bob on the laptop"
    owner = _id(api, "device_id", "store-kiosk")
    first_detected = {frozenset((c["a_value"], c["b_value"])): c["detected_at"] for c in api.get("/api/identity/conflicts").json()["items"]}
    assert api.post(f"/api/identity/customers/{owner}/unmerge", {"type": "device_id", "value": "store-kiosk", "reason": "kiosk"}).status_code == 200

    conflicts = api.get("/api/identity/conflicts").json()
    [left] = conflicts["items"]
    assert conflicts["total"] == 1 and "laptop" in (left["a_value"], left["b_value"]), "the kiosk's conflicts are gone with it"
    assert left["detected_at"] == first_detected[frozenset((left["a_value"], left["b_value"]))], \
        "a conflict that still holds keeps when it was first detected"
    assert all(s["value"] != "store-kiosk" for s in api.get("/api/identity/shared-identifiers").json()["items"])
    assert dashboard(tenant=tenant_a.ref).conflicts_this_week == 1
    page = console_as(Role.VIEWER).get("/identity/").content.decode()
    assert 'Conflicts <span class="muted">(1)</span>' in page and "store-kiosk" in page and "Blocked" in page
    run = api.post("/api/identity/runs").json()
    assert api.get(f"/api/identity/runs/{run['id']}").json()["conflicts"] == 1 == api.get("/api/identity/conflicts").json()["total"], \
        "a rebuild counts what the page shows"

    [block] = api.get("/api/identity/blocks").json()["items"]
    assert (block["id_type"], block["id_value"], block["reason"]) == ("device_id", "store-kiosk", "kiosk")
    assert api.post(f"/api/identity/blocks/{block['id']}/unblock", {"reason": ""}).status_code == 422, "a reason is required"
    lifted = api.post(f"/api/identity/blocks/{block['id']}/unblock", {"reason": "it was a staff phone"})
    assert lifted.status_code == 200 and lifted.json()["conflicts"] >= 4, lifted.json()
    assert _id(api, "device_id", "store-kiosk") is not None and api.get("/api/identity/blocks").json()["total"] == 0
    assert api.get("/api/identity/conflicts").json()["total"] == 5
    [entry] = [e for e in audit_list(tenant=tenant_a.ref) if e.action == "identity.unblock"]
    assert entry.details["reason"] == "it was a staff phone" and entry.details["blocked_reason"] == "kiosk"
    assert api.post(f"/api/identity/blocks/{block['id']}/unblock", {"reason": "again"}).status_code == 404


def test_the_identity_page_pages_merges_and_conflicts_both_ways_on_their_own(api, send, console_as):
    # 30 merges (a visitor and a user, each a customer, identified together) and 30 conflicts (a
    # second user id on the same visitor).
    send(*[{"type": "page", "anonymousId": f"v{n}", "messageId": f"p{n}", "timestamp": _at(n)} for n in range(30)],
         *[{"type": "identify", "userId": f"u{n}", "messageId": f"k{n}", "timestamp": _at(n)} for n in range(30)])
    send(*[{"type": "identify", "userId": f"u{n}", "anonymousId": f"v{n}", "messageId": f"i{n}", "timestamp": _at(n + 1)} for n in range(30)])
    send(*[{"type": "identify", "userId": f"w{n}", "anonymousId": f"v{n}", "messageId": f"j{n}", "timestamp": _at(n + 2)} for n in range(30)])
    client = console_as(Role.VIEWER)
    first = client.get("/identity/").content.decode()
    assert "1–25 of 30" in first and "Older →" in first and "← Newer" not in first.split('id="conflicts"')[0]
    both = client.get("/identity/?merges=25&conflicts=25").content.decode()
    merges_part, conflicts_part = both.split('id="conflicts"')[0], both.split('id="conflicts"')[1]
    assert "26–30 of 30" in merges_part and "← Newer" in merges_part and "Older →" not in merges_part
    assert "26–30 of 30" in conflicts_part
    assert 'href="?conflicts=25&amp;merges=0#merges"' in merges_part or 'href="?conflicts=25&amp;merges=0' in merges_part, \
        "paging the merge log keeps the conflicts where they are"


def test_a_kiosk_profile_folds_its_graph_and_lists_ten_conflicts_until_asked(api, send, console_as):
    send(*[{"type": "identify", "userId": f"shopper-{n}", "messageId": f"kiosk-{n}", "timestamp": _at(n),
            "context": {"device": {"id": "store-kiosk"}}} for n in range(30)])
    owner = _id(api, "device_id", "store-kiosk")
    client = console_as(Role.VIEWER)
    page = client.get(f"/customers/{owner}/").content.decode()
    assert 'id="graph-folded"' in page and "Show all" in page and "10 of 29 conflicts" in page
    import re

    assert len(set(re.findall(r"shopper-(\d+)\b", page))) < 25, "neither the graph nor the list shows every shopper"
    everything = client.get(f"/customers/{owner}/?graph=all").content.decode()
    assert 'id="graph-folded"' not in everything and "Fold the graph" in everything and "10 of 29" not in everything
    assert all(f"shopper-{n}<" in everything or f"shopper-{n}</code>" in everything for n in range(1, 30))
