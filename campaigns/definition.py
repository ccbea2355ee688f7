"""A campaign's definition: audience, message variants, holdout, schedule, limits, goal, winner
selection, seeds and error policy, as validated JSON.

    {"audience": {"segments": [3], "exclude": [7], "cap": 50000},
     "channel_id": 1, "category": "marketing", "topic": "newsletter",
     "variants": [{"key": "A", "template_id": 4, "weight": 1}, {"key": "B", "template_id": 5, "weight": 1}],
     "holdout_percent": 5,
     "schedule": {"type": "local", "date": "2026-12-07", "time": "09:00"},
     "throttle_per_minute": 2000, "max_lateness": {"hours": 6},
     "goal": {"event": "Order Completed", "within": {"days": 3}},
     "winner": {"test_percent": 20, "wait": {"hours": 4}, "metric": "clicked"},
     "seeds": ["qa@example.com"]}

The pydantic models are the schema published in the OpenAPI document (`CampaignDefinition`).
`definition_errors` checks what the definition alone decides; `campaigns.services.campaigns`
adds what needs the tenant (segments, channel, templates, topic).
"""
from __future__ import annotations

import datetime as dt
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError

from kernel.cron import cron_next as kernel_cron_next
from kernel.cron import cron_problem
from kernel.definitions import Duration, Strict
from kernel.timezones import zone_named
from segments.definitions import EventStep

VARIANT_KEY = r"^[A-Za-z0-9_-]{1,20}$"
RESERVED_GROUPS = {"holdout", "control", "duplicate", "seed"}


class Audience(Strict):
    segments: list[int] = Field(..., min_length=1, max_length=20, description="Members of any of these segments...")
    exclude: list[int] = Field(default_factory=list, max_length=20, description="...except members of any of these.")
    cap: int | None = Field(None, ge=1, le=100_000_000, description="At most this many recipients, a stable random sample.")


class Variant(Strict):
    key: str = Field(..., pattern=VARIANT_KEY, description="A, B, control-subject...: how the report names it.")
    template_id: int = Field(..., ge=1)
    weight: float = Field(1, gt=0, le=1000, description="Its share of the audience, relative to the others' weights.")


class Schedule(Strict):
    type: Literal["now", "at", "local", "cron"] = Field("now", description="now; at a moment (`at`); at a local time (`date` and "
                                                                           "`time`) in each customer's time zone; recurring (`cron`).")
    at: datetime | None = None
    date: dt.date | None = None
    time: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])
    cron: str = Field("", max_length=100, examples=["0 9 * * 1"], description="Minute hour day month weekday.")
    timezone: str = Field("", max_length=64, description="The cron's time zone (empty: the tenant's).")


class Goal(EventStep):
    within: Duration = Field(default_factory=lambda: Duration(days=3), description="After the send (for the holdout: after the "
                                                                                   "send would have been).")


class Winner(Strict):
    test_percent: float = Field(..., gt=0, lt=100, description="The share of the audience the variants are tested on first.")
    wait: Duration = Field(..., description="How long after the test sends the winner is picked.")
    metric: Literal["goal", "opened", "clicked"] = "goal"


class ErrorPolicy(Strict):
    max_consecutive_failures: int = Field(20, ge=1, le=100_000)
    max_failure_rate: float = Field(20, gt=0, le=100, description="Percent of finished sends that failed...")
    min_sample: int = Field(50, ge=1, le=100_000, description="...once at least this many have finished.")
    then: Literal["pause", "continue"] = "pause"


class Definition(Strict):
    audience: Audience
    channel_id: int = Field(..., ge=1)
    category: Literal["marketing", "transactional"] = "marketing"
    topic: str = Field("", max_length=100, description="The subscription topic of a marketing message.")
    variants: list[Variant] = Field(..., min_length=1, max_length=10)
    holdout_percent: float = Field(5, ge=0, le=50, description="Receives nothing and is measured against the rest.")
    schedule: Schedule = Field(default_factory=Schedule)
    throttle_per_minute: int | None = Field(None, ge=1, le=1_000_000)
    max_lateness: Duration | None = Field(None, description="Sends held past their time by this much (throttle, quiet hours) are "
                                                            "dropped and reported.")
    goal: Goal | None = None
    winner: Winner | None = None
    seeds: list[str] = Field(default_factory=list, max_length=50, description="Internal addresses that receive every variant, "
                                                                            "outside consent and caps.")
    error_policy: ErrorPolicy = Field(default_factory=ErrorPolicy)


def parsed(definition: dict) -> Definition:
    return Definition.model_validate(definition)


def definition_errors(definition: Any) -> list[dict]:
    """What is wrong with a definition on its own, each error naming its field."""
    if not isinstance(definition, dict):
        return [{"field": "definition", "message": "a JSON object"}]
    try:
        spec = parsed(definition)
    except ValidationError as exc:
        return [{"field": ".".join(str(p) for p in e["loc"]) or "definition", "message": e["msg"]} for e in exc.errors()]
    errors = []
    keys = [v.key for v in spec.variants]
    if len(set(keys)) < len(keys):
        errors.append({"field": "variants", "message": "each variant has its own key"})
    errors += [{"field": f"variants.{i}.key", "message": f"{k!r} names a report group"} for i, k in enumerate(keys) if k.lower() in RESERVED_GROUPS]
    if set(spec.audience.segments) & set(spec.audience.exclude):
        errors.append({"field": "audience.exclude", "message": "a segment both included and excluded"})
    if spec.winner and len(spec.variants) < 2:
        errors.append({"field": "winner", "message": "winner selection needs two variants or more"})
    if spec.winner and spec.winner.metric == "goal" and spec.goal is None:
        errors.append({"field": "winner.metric", "message": "the goal metric needs a goal"})
    if spec.winner and spec.winner.wait.delta <= timedelta(0):
        errors.append({"field": "winner.wait", "message": "longer than zero"})
    if spec.category == "marketing" and not spec.topic:
        errors.append({"field": "topic", "message": "a marketing message names its subscription topic"})
    errors += _schedule_errors(spec.schedule)
    for i, address in enumerate(spec.seeds):
        if not address.strip() or len(address) > 320:
            errors.append({"field": f"seeds.{i}", "message": "an address"})
    return errors


def _schedule_errors(schedule: Schedule) -> list[dict]:
    if schedule.type == "at" and schedule.at is None:
        return [{"field": "schedule.at", "message": "the moment to send at"}]
    if schedule.type == "at" and schedule.at.tzinfo is None:
        return [{"field": "schedule.at", "message": "a moment with its offset (2026-12-07T09:00:00+01:00)"}]
    if schedule.type == "local" and (schedule.date is None or schedule.time is None):
        return [{"field": "schedule", "message": "a local send names a date and a time"}]
    if schedule.type == "cron":
        problem = cron_problem(schedule.cron)
        if problem:
            return [{"field": "schedule.cron", "message": problem}]
        if schedule.timezone and zone_named(schedule.timezone).key != schedule.timezone:
            return [{"field": "schedule.timezone", "message": "an IANA time zone such as Europe/Paris"}]
    return []


def local_time(schedule: Schedule) -> dt.time:
    return dt.time.fromisoformat(schedule.time)


def cron_next(schedule: Schedule, after: datetime, zone: ZoneInfo) -> datetime:
    """The cron's next moment after `after`, read in `zone` (a 09:00 stays 09:00 across DST)."""
    return kernel_cron_next(schedule.cron, after, zone)


def openapi_components() -> dict[str, dict]:
    schema = Definition.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["CampaignDefinition"] = schema
    return components
