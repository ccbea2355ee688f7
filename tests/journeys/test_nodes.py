"""Each kind of node and setting on an injected clock: branches on the profile and on the journey's
context, deterministic splits, time-of-day waits across time zones and DST (and after downtime),
date-trait waits, failure policies, segment entries and exits, limits and re-entry."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from journeys.models import Instance, InstanceStep
from journeys.services.journeys import journey_create, journey_enroll, journey_publish
from journeys.services.nodes import next_local_time
from journeys.services.orchestrator import orchestrator_tick
from messaging.models import Delivery, Template
from segments.services import segment_create, segment_refresh
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def journey(tenant_a, nodes, start, entry=None, **settings):
    named = str([n for n in nodes if n["type"] != "exit"])
    nodes = [n for n in nodes if n["type"] != "exit" or f"'{n['id']}'" in named]  # the exits used
    definition = {"entry": entry or {"type": "manual"}, "start": start, "nodes": nodes, "holdout_percent": 0, **settings}
    info = journey_create(tenant=tenant_a.ref, name=f"journey {uuid.uuid4().hex[:8]}", definition=definition, actor="t")
    return journey_publish(tenant=tenant_a.ref, journey_id=info.id, actor="t")


def enrol(tenant_a, info, *cdp_ids, **extra):
    return journey_enroll(tenant=tenant_a.ref, journey_id=info.id, actor="t", customers=[{"cdp_id": c} for c in cdp_ids], **extra)


def identify(sdk, user, **traits):
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "userId": user, "traits": traits, "messageId": f"t-{user}-{sorted(traits.items())}"}]})
    load_inbox()


def node_of(cdp_id):
    return Instance.objects.get(cdp_id=cdp_id).node


EXITS = [{"id": "a", "type": "exit"}, {"id": "b", "type": "exit"}, {"id": "c", "type": "exit"}]


def test_a_branch_takes_the_first_way_that_holds_on_the_profile_and_the_context(tenant_a, people, sdk, t0):
    identify(sdk, "ada", plan="pro")
    identify(sdk, "bob", plan="free")
    branch = {"id": "b0", "type": "branch", "else": "c",
              "ways": [{"condition": {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}, "next": "a"},
                       {"variables": [{"property": "entry.total", "op": "gt", "value": 100}], "next": "b"}]}
    info = journey(tenant_a, [branch, *EXITS], "b0")
    enrol(tenant_a, info, people["ada"], context={"total": 500})
    enrol(tenant_a, info, people["bob"], context={"total": 500})
    enrol(tenant_a, info, people["cy"], context={"total": 5})
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    assert [node_of(people[u]) for u in ("ada", "bob", "cy")] == ["a", "b", "c"]
    step = InstanceStep.objects.get(instance__cdp_id=people["bob"], node="b0")
    assert step.way == "way:1"


def test_a_split_follows_each_instances_stable_bucket(tenant_a, people, t0):
    split = {"id": "s", "type": "split", "ways": [{"percent": 20, "next": "a"}, {"percent": 80, "next": "b"}]}
    info = journey(tenant_a, [split, *EXITS], "s")
    enrol(tenant_a, info, *people.values())
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    for row in Instance.objects.all():
        assert row.node == ("a" if row.bucket < 2000 else "b")


def test_wait_until_a_time_of_day_in_the_customers_zone(tenant_a, people, sdk, t0):
    """09:00 on weekdays: in Tokyo for ada (her timezone trait), in the tenant's zone (UTC) for bob."""
    identify(sdk, "ada", timezone="Asia/Tokyo")
    wait = {"id": "w", "type": "wait_until", "at": "09:00", "weekdays": [0, 1, 2, 3, 4], "next": "a"}
    info = journey(tenant_a, [wait, *EXITS], "w")
    enrol(tenant_a, info, people["ada"], people["bob"])  # enrolled now (the wall clock): the ticks come later
    ahead = (4 - t0.weekday()) % 7 or 7  # the next Friday, a day or more after enrolling
    friday = datetime.combine(t0.date() + timedelta(days=ahead), datetime.min.time(), tzinfo=UTC).replace(hour=12)  # 21:00 in Tokyo
    monday = friday.replace(hour=0) + timedelta(days=3)
    orchestrator_tick(now=friday)
    ada, bob = (Instance.objects.get(cdp_id=people[u]) for u in ("ada", "bob"))
    assert ada.due_at == monday  # Monday 09:00 in Tokyo
    assert bob.due_at == monday.replace(hour=9)  # Monday 09:00 UTC (not the weekend)
    orchestrator_tick(now=monday + timedelta(minutes=5))
    assert node_of(people["ada"]) == "a" and node_of(people["bob"]) == "w"


def test_a_time_of_day_wait_missed_by_downtime_waits_for_the_next_window(tenant_a, people, t0):
    wait = {"id": "w", "type": "wait_until", "at": "09:00", "next": "a"}
    info = journey(tenant_a, [wait, *EXITS], "w")
    enrol(tenant_a, info, people["bob"])  # now (the wall clock): the ticks come days later
    day = datetime.combine(t0.date() + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    orchestrator_tick(now=day.replace(hour=8))
    orchestrator_tick(now=day.replace(hour=15))  # down from 08:00 to 15:00
    row = Instance.objects.get(cdp_id=people["bob"])
    assert (row.node, row.due_at) == ("w", day.replace(hour=9) + timedelta(days=1))
    orchestrator_tick(now=day.replace(hour=9, minute=2) + timedelta(days=1))
    assert node_of(people["bob"]) == "a"


def test_next_local_time_across_dst():
    paris = ZoneInfo("Europe/Paris")
    # The night clocks go forward (29 March 2026, 02:00 -> 03:00): 02:30 does not exist that day.
    before = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert next_local_time(before, paris, "02:30", list(range(7))) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
    assert next_local_time(datetime(2026, 3, 28, 9, 0, tzinfo=UTC), paris, "09:00", list(range(7))) == \
        datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert next_local_time(datetime(2026, 3, 27, 0, 0, tzinfo=UTC), paris, "09:00", list(range(7))) == \
        datetime(2026, 3, 27, 8, 0, tzinfo=UTC)


def test_wait_until_a_date_trait_with_an_offset(tenant_a, people, sdk, t0):
    renewal = datetime.combine(t0.date() + timedelta(days=20), datetime.min.time(), tzinfo=UTC)
    identify(sdk, "ada", renewal_date=renewal.date().isoformat())
    wait = {"id": "w", "type": "wait_until", "trait": "renewal_date", "offset_days": -2, "next": "a", "missing_next": "b"}
    info = journey(tenant_a, [wait, *EXITS], "w")
    enrol(tenant_a, info, people["ada"], people["bob"])  # now (the wall clock): the ticks come days later
    orchestrator_tick(now=renewal - timedelta(days=10))
    assert Instance.objects.get(cdp_id=people["ada"]).due_at == renewal - timedelta(days=2)
    assert node_of(people["bob"]) == "b"  # no renewal date
    orchestrator_tick(now=renewal - timedelta(days=2) + timedelta(minutes=1))
    assert node_of(people["ada"]) == "a"


def test_failure_policies_of_a_send(tenant_a, people, hook, t0):
    """The template is deleted after publishing: retried twice (a tick later each), then the
    failure exit; `end` fails the instance; `continue` goes on."""
    channel, template = hook
    send = {"id": "s", "type": "send", "channel_id": channel, "template_id": template, "topic": "offers", "next": "a",
            "on_failure": {"retries": 2, "then": "failure_exit", "next": "b"}}
    info = journey(tenant_a, [send, *EXITS], "s")
    ended = journey(tenant_a, [{**send, "on_failure": {"then": "end"}}, *EXITS], "s")
    going = journey(tenant_a, [{**send, "on_failure": {"then": "continue"}}, *EXITS], "s")
    enrol(tenant_a, info, people["ada"])
    enrol(tenant_a, ended, people["bob"])
    enrol(tenant_a, going, people["cy"])
    Template.objects.filter(id=template).delete()
    for minutes in (1, 7, 13):
        orchestrator_tick(now=t0 + timedelta(minutes=minutes))
        if minutes < 13:
            assert node_of(people["ada"]) == "s"
    assert node_of(people["ada"]) == "b" and Instance.objects.get(cdp_id=people["ada"]).status == "completed"
    bob = Instance.objects.get(cdp_id=people["bob"])
    assert bob.status == "failed" and "template" in bob.end_reason
    assert node_of(people["cy"]) == "a" and not Delivery.objects.exists()


def test_a_skip_condition_skips_the_send(tenant_a, people, hook, sdk, t0):
    identify(sdk, "ada", plan="pro")
    channel, template = hook
    send = {"id": "s", "type": "send", "channel_id": channel, "template_id": template, "topic": "offers", "next": "a",
            "skip_if": {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}}
    info = journey(tenant_a, [send, *EXITS], "s")
    enrol(tenant_a, info, people["ada"], people["bob"])
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    assert list(Delivery.objects.values_list("cdp_id", flat=True)) == [people["bob"]]
    assert InstanceStep.objects.get(instance__cdp_id=people["ada"], node="s").way == "skipped"


def test_segment_entries_enrol_and_leaving_exits(tenant_a, people, sdk, t0):
    identify(sdk, "ada", plan="pro")
    segment = segment_create(tenant=tenant_a.ref, name="Pro", actor="t", definition={"type": "trait", "key": "plan", "op": "equals",
                                                                                       "value": "pro"})
    wait = {"id": "w", "type": "wait", "duration": {"days": 30}, "next": "a"}
    journey(tenant_a, [wait, *EXITS], "w", entry={"type": "segment", "segment_id": segment.id}, exit={"on_segment_exit": True})
    segment_refresh(tenant=tenant_a.ref, segment_id=segment.id, trigger="test", now=t0 + timedelta(minutes=1), full=True)
    orchestrator_tick(now=t0 + timedelta(minutes=2))
    orchestrator_tick(now=t0 + timedelta(minutes=3))  # the overlap re-reads the entry: nobody enters twice
    assert list(Instance.objects.values_list("cdp_id", "status")) == [(people["ada"], "active")]
    identify(sdk, "ada", plan="free")
    segment_refresh(tenant=tenant_a.ref, segment_id=segment.id, trigger="test", now=t0 + timedelta(minutes=4), full=True)
    orchestrator_tick(now=t0 + timedelta(minutes=5))
    row = Instance.objects.get()
    assert (row.status, row.end_reason) == ("exited", "left the entry segment")


def test_entry_limits_and_reentry_after_days(tenant_a, people, t0):
    wait = {"id": "w", "type": "wait", "duration": {"minutes": 1}, "next": "a"}
    info = journey(tenant_a, [wait, *EXITS], "w", limits={"entries_total": 3}, reentry={"policy": "after", "after_days": 7})
    counts = enrol(tenant_a, info, *people.values())
    assert (counts["enrolled"], counts["entry_limit"]) == (3, 1)
    orchestrator_tick(now=t0 + timedelta(minutes=5))  # they all finish
    again = enrol(tenant_a, info, people["ada"], idempotency_key="second")
    assert again.get("entered_recently") == 1 or again.get("entry_limit") == 1


def test_an_exit_read_again_does_not_end_a_later_reentry(tenant_a, people, sdk, t0):
    """Leave and come back between two ticks: the old instance ends, the new one stays, also
    when the next tick's overlap reads the exit again."""
    identify(sdk, "ada", plan="pro")
    segment = segment_create(tenant=tenant_a.ref, name="Pro", actor="t", definition={"type": "trait", "key": "plan", "op": "equals",
                                                                                       "value": "pro"})
    wait = {"id": "w", "type": "wait", "duration": {"days": 30}, "next": "a"}
    journey(tenant_a, [wait, *EXITS], "w", entry={"type": "segment", "segment_id": segment.id}, exit={"on_segment_exit": True},
            reentry={"policy": "always"})

    def refresh(minutes):
        segment_refresh(tenant=tenant_a.ref, segment_id=segment.id, trigger="test", now=t0 + timedelta(minutes=minutes), full=True)

    refresh(1)
    orchestrator_tick(now=t0 + timedelta(minutes=2))
    identify(sdk, "ada", plan="free")
    refresh(3)
    identify(sdk, "ada", plan="pro", back=True)  # another trait too: a call of its own (its message id differs)
    refresh(4)
    orchestrator_tick(now=t0 + timedelta(minutes=5))
    orchestrator_tick(now=t0 + timedelta(minutes=6))
    assert sorted(Instance.objects.values_list("status", flat=True)) == ["active", "exited"]


def test_the_journeys_send_rate_holds_the_rest_for_the_next_minute(tenant_a, people, hook, t0):
    channel, template = hook
    send = {"id": "s", "type": "send", "channel_id": channel, "template_id": template, "topic": "offers", "next": "a"}
    info = journey(tenant_a, [send, *EXITS], "s", limits={"sends_per_minute": 3})
    enrol(tenant_a, info, *people.values())  # four customers
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    assert Delivery.objects.count() == 3 and Instance.objects.filter(node="s").count() == 1
    orchestrator_tick(now=t0 + timedelta(minutes=1, seconds=30))  # the same minute: still held
    assert Delivery.objects.count() == 3
    orchestrator_tick(now=t0 + timedelta(minutes=2))
    assert Delivery.objects.count() == 4 and not Instance.objects.filter(node="s").exists()
    assert InstanceStep.objects.filter(node="s", way="next").count() == 4  # held, not stepped: one step each


def test_a_scheduled_entry_enrols_the_segment_at_each_cron_moment_once(tenant_a, people, sdk, t0):
    identify(sdk, "ada", plan="pro")
    identify(sdk, "bob", plan="pro")
    segment = segment_create(tenant=tenant_a.ref, name="Pro", actor="t", definition={"type": "trait", "key": "plan", "op": "equals",
                                                                                       "value": "pro"})
    segment_refresh(tenant=tenant_a.ref, segment_id=segment.id, trigger="test", now=t0, full=True)
    wait = {"id": "w", "type": "wait", "duration": {"minutes": 1}, "next": "a"}
    journey(tenant_a, [wait, *EXITS], "w", entry={"type": "schedule", "segment_id": segment.id, "cron": "*/10 * * * *"},
            reentry={"policy": "always"})
    orchestrator_tick(now=t0 + timedelta(minutes=11))  # every 11 minutes hold a moment of */10
    assert sorted(Instance.objects.values_list("cdp_id", flat=True)) == sorted([people["ada"], people["bob"]])
    first = Instance.objects.first().context["entry"]["scheduled_for"]
    orchestrator_tick(now=t0 + timedelta(minutes=12))  # the same moment: nobody again
    assert Instance.objects.count() == 2
    identify(sdk, "cy", plan="pro")
    segment_refresh(tenant=tenant_a.ref, segment_id=segment.id, trigger="test", now=t0 + timedelta(minutes=13), full=True)
    orchestrator_tick(now=t0 + timedelta(minutes=45))  # two moments missed: caught up once, at the latest
    later = Instance.objects.exclude(context__entry__scheduled_for=first)
    assert sorted(later.values_list("cdp_id", flat=True)) == sorted([people["ada"], people["bob"], people["cy"]])
    assert len({i.context["entry"]["scheduled_for"] for i in later}) == 1


def test_a_scheduled_entry_names_a_cron_and_a_real_time_zone(tenant_a):
    from kernel.errors import InvalidInput

    segment = segment_create(tenant=tenant_a.ref, name="All", actor="t", definition={"type": "identifier", "id_type": "user_id"})
    for entry, field in [({"cron": "every monday"}, "entry.cron"), ({"cron": "0 9 * * 1", "timezone": "Mars/Olympus"}, "entry.timezone")]:
        with pytest.raises(InvalidInput) as refused:
            journey(tenant_a, [{"id": "w", "type": "wait", "duration": {"minutes": 1}, "next": "a"}, *EXITS], "w",
                    entry={"type": "schedule", "segment_id": segment.id, **entry})
        assert any(e["field"].removeprefix("definition.") == field for e in refused.value.errors), refused.value.errors
