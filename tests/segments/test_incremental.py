"""Incremental refreshes equal full ones: random segments over data that changes the ways a tenant's
data changes (calls loaded late and on time, trait changes, consent decisions, anonymous visitors
merging into known customers, new customers) while the clock moves; after every round each
segment's stored members must be exactly the audience a full evaluation gives at that clock."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from lakehouse import get_engine
from segments import services
from segments.compiler import compile_audience
from segments.models import SegmentRun
from tenancy.roles import Role
from tests.lakehouse.test_segment_audiences import EVENTS, PLANS, random_condition, random_tree
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
START = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # the generator's dates are around this clock


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    def __init__(self, rng, sdk, api):
        self.rng, self.sdk, self.api, self.n, self.visitors = rng, sdk, api, 0, []

    def send(self, calls):
        for call in calls:
            self.n += 1
            call.setdefault("messageId", f"m{self.n}")
        assert self.sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
        load_inbox()

    def identify(self, user: str, at: datetime):
        rng = self.rng
        traits = {"plan": rng.choice(PLANS), "score": rng.choice([0, 5, 10, 42, 99])}
        if rng.random() < 0.5:
            traits["renews_at"] = _iso(at + timedelta(days=rng.randint(-20, 20), hours=rng.randint(0, 23)))
        if rng.random() < 0.3:
            traits["birthday"] = rng.choice(["1990-06-16", "1985-06-18", "1992-02-29", "1988-07-01"])
        if rng.random() < 0.3:
            traits["tags"] = rng.sample(["vip", "beta", 7], rng.randint(0, 2))
        return {"type": "identify", "userId": user, "traits": traits, "timestamp": _iso(at)}

    def track(self, user: str | None, at: datetime, anonymous: str | None = None):
        rng = self.rng
        props = {"revenue": rng.choice([0, 10, 25, 120]), "sku": rng.choice(["s1", "s2", "S10"])}
        call = {"type": rng.choice(["track", "track", "page"]), "timestamp": _iso(at), "properties": props}
        call["event" if call["type"] == "track" else "name"] = rng.choice(EVENTS)
        if user:
            call["userId"] = user
        if anonymous:
            call["anonymousId"] = anonymous
        return call

    def round(self, clock: datetime):
        rng, calls = self.rng, []
        for _ in range(rng.randint(2, 6)):  # calls on time, and some loaded days late
            late = timedelta(days=rng.choice([0, 0, 0, 2, 9]), hours=rng.randint(0, 5))
            calls.append(self.track(f"u{rng.randrange(20)}", clock - late))
        for _ in range(rng.randint(0, 2)):
            calls.append(self.identify(f"u{rng.randrange(24)}", clock - timedelta(minutes=rng.randint(1, 90))))
        # Anonymous visitors (customers of their own, refreshed as such) who identify as known
        # customers a round later: the merge retires their ids.
        for visitor in self.visitors:
            calls.append({"type": "identify", "userId": f"u{rng.randrange(20)}", "anonymousId": visitor, "timestamp": _iso(clock)})
        self.visitors = [f"anon{self.n}-{i}" for i in range(rng.randint(0, 2))]
        calls += [self.track(None, clock - timedelta(hours=3), anonymous=visitor) for visitor in self.visitors]
        self.send(calls)
        if rng.random() < 0.6:
            who = self.api.get(f"/api/customers/lookup?type=user_id&value=u{rng.randrange(20)}")
            if who.status_code == 200:
                put = self.api.put(f"/api/customers/{who.json()['cdp_id']}/consent",
                                   {"channel": rng.choice(["email", "*"]), "purpose": "marketing", "granted": rng.random() < 0.5})
                assert put.status_code == 200, put.content


def _full_audience(tenant, tree, clock) -> list[str]:
    compiled = compile_audience(tree, tenant_id=tenant.slug, now=clock)
    return [r["cdp_id"] for r in get_engine().execute(compiled.statement(), compiled.params)]


def _stored(tenant, segment_id) -> list[str]:
    from segments import sql

    return [r["cdp_id"] for r in get_engine().execute(sql.CURRENT_MEMBERS, {"tenant_id": tenant.slug, "segment_id": segment_id})]


@pytest.fixture
def no_overlap(monkeypatch):
    """Without the overlap every write of a test (all within seconds) would look new to every
    refresh; with none, each refresh sees exactly the writes since the previous one began."""
    monkeypatch.setattr(services, "OVERLAP", timedelta(0))


def test_incremental_refreshes_always_equal_a_full_refresh(tenant_a, sdk, api_as, no_overlap):
    rng = random.Random(15)
    world = World(rng, sdk, api_as(tenant_a, Role.EDITOR))
    # Traits set at different ages: a "held for N days" boundary passes some as the clock moves.
    world.send([world.identify(f"u{n}", START - timedelta(days=40)) for n in range(20)])
    world.send([world.identify(f"u{n}", START - timedelta(days=rng.choice([5, 20]), hours=-rng.randint(0, 40))) for n in range(0, 20, 2)])
    world.send([world.track(f"u{rng.randrange(20)}", START - timedelta(days=rng.randint(0, 35), hours=rng.randint(0, 23)))
                for _ in range(120)])
    base = services.segment_create(tenant=tenant_a.ref, name="base", actor="test", definition={"type": "identifier", "id_type": "user_id"})
    segments = {base.id: base.definition}
    trees = [random_tree(rng) for _ in range(16)]
    # And each time-relative condition on its own, where a missed boundary cannot hide in a group.
    trees += [c for c in (random_condition(rng) for _ in range(400))
              if c["type"] in ("sequence", "regular", "lapsed", "trait_held") or c.get("within_days") or c.get("first") or c.get("last")
              or c.get("op") in ("within_last_days", "more_than_days_ago", "in_next_days", "anniversary_in_next_days")][:36]
    trees += [{"type": "trait_held", "key": "plan", "value": plan, "days": days} for plan in PLANS for days in (5, 20)]
    # Conditions on the profile alone (their refreshes leave out the calls loaded: the profile's
    # own logs must bring every customer whose answer can change).
    trees += [{"type": "trait", "key": "plan", "op": "equals", "value": PLANS[0]}, {"not": {"type": "trait", "key": "score", "op": "exists"}},
              {"type": "trait", "key": "score", "op": "gt", "value": 9}, {"type": "bucket", "salt": "s", "to_percent": 50},
              {"type": "consent", "channel": "email", "purpose": "marketing", "granted": True},
              {"not": {"type": "consent", "channel": "email", "purpose": "marketing", "granted": False}},
              {"all": [{"type": "segment", "segment_id": 7}, {"type": "trait", "key": "plan", "op": "in", "value": PLANS[:2]}]}]
    for i, tree in enumerate(trees):
        tree = _renamed(tree, base.id)
        segments[services.segment_create(tenant=tenant_a.ref, name=f"s{i}", actor="test", definition=tree).id] = tree
    clock = START
    for sid in segments:
        services.segment_refresh(tenant=tenant_a.ref, segment_id=sid, trigger="test", now=clock)
    for step in range(9):
        clock += timedelta(hours=rng.choice([1, 2, 5, 9]), minutes=rng.randint(0, 59))
        world.round(clock)
        for sid, tree in segments.items():
            run = services.segment_refresh(tenant=tenant_a.ref, segment_id=sid, trigger="test", now=clock)
            assert _stored(tenant_a, sid) == _full_audience(tenant_a, tree, clock), (step, run.kind, tree)
    kinds = list(SegmentRun.objects.filter(tenant_id=tenant_a.ref.id).values_list("kind", flat=True))
    assert kinds.count("incremental") >= len(segments) * 6, kinds
    assert any(_stored(tenant_a, sid) for sid in segments) and any(SegmentRun.objects.filter(entered__gt=0, kind="incremental"))
    assert any(SegmentRun.objects.filter(exited__gt=0, kind="incremental"))


def _renamed(tree: dict, segment_id: int) -> dict:
    """The generator names segment 7; here the base segment is the one others use."""
    if tree.get("type") == "segment":
        return {**tree, "segment_id": segment_id}
    if "not" in tree:
        return {"not": _renamed(tree["not"], segment_id)}
    for key in ("all", "any"):
        if key in tree:
            return {key: [_renamed(m, segment_id) for m in tree[key]]}
    return tree


def test_identity_rewrites_and_new_versions_refresh_in_full(tenant_a, sdk, no_overlap):
    world = World(random.Random(1), sdk, None)
    world.send([world.identify("u1", START)])
    seg = services.segment_create(tenant=tenant_a.ref, name="known", actor="test", definition={"type": "identifier", "id_type": "user_id"})
    first = services.segment_refresh(tenant=tenant_a.ref, segment_id=seg.id, trigger="test", now=START)
    again = services.segment_refresh(tenant=tenant_a.ref, segment_id=seg.id, trigger="test", now=START + timedelta(hours=1))
    assert (first.kind, again.kind) == ("full", "incremental")
    services.segment_update(tenant=tenant_a.ref, segment_id=seg.id, actor="test", changes={"definition": {"type": "identifier", "id_type": "email"}})
    assert services.segment_refresh(tenant=tenant_a.ref, segment_id=seg.id, trigger="test", now=START + timedelta(hours=2)).kind == "full"
    from identity.services import run_start

    run_start(tenant=tenant_a.ref, kind="full", trigger="test")
    assert services.segment_refresh(tenant=tenant_a.ref, segment_id=seg.id, trigger="test", now=START + timedelta(hours=3)).kind == "full"
    day_later = START + timedelta(hours=30)
    assert services.segment_refresh(tenant=tenant_a.ref, segment_id=seg.id, trigger="test", now=day_later).kind == "full"
    assert services.segment_refresh(tenant=tenant_a.ref, segment_id=seg.id, trigger="test", now=day_later, full=True).kind == "full"


def test_a_segment_of_segments_sees_changes_made_at_a_past_clock(tenant_a, sdk, no_overlap):
    """The membership log's time is the clock its change holds from, not when it was written: a
    list edited (or a refresh run) at a past clock, after the dependent segment's last refresh,
    must still reach that segment's next incremental refresh."""
    from segments.types import MemberRef

    world = World(random.Random(3), sdk, None)
    world.send([world.identify(f"u{n}", START - timedelta(days=1)) for n in range(3)])
    people = [r["cdp_id"] for r in get_engine().execute(
        "SELECT DISTINCT cdp_id FROM identities WHERE tenant_id = :t AND id_type = 'user_id' ORDER BY cdp_id", {"t": tenant_a.slug})]
    vips = services.segment_create(tenant=tenant_a.ref, name="vips", actor="test", definition=None, kind="manual")
    services.segment_list_edit(tenant=tenant_a.ref, segment_id=vips.id, actor="test", add=[MemberRef(cdp_id=people[0])], now=START)
    followers = services.segment_create(tenant=tenant_a.ref, name="followers", actor="test",
                                        definition={"type": "segment", "segment_id": vips.id})
    services.segment_refresh(tenant=tenant_a.ref, segment_id=followers.id, trigger="test", now=START)
    assert _stored(tenant_a, followers.id) == [people[0]]
    # A backfill: the list edited as of yesterday, written now.
    services.segment_list_edit(tenant=tenant_a.ref, segment_id=vips.id, actor="test", add=[MemberRef(cdp_id=people[1])],
                               now=START - timedelta(days=1))
    run = services.segment_refresh(tenant=tenant_a.ref, segment_id=followers.id, trigger="test", now=START + timedelta(minutes=5))
    assert run.kind == "incremental" and _stored(tenant_a, followers.id) == sorted(people[:2])
    # And a refresh that names no changed run re-reads no log at all.
    quiet = services.segment_refresh(tenant=tenant_a.ref, segment_id=followers.id, trigger="test", now=START + timedelta(minutes=10))
    assert quiet.kind == "incremental" and (quiet.entered, quiet.exited) == (0, 0)
