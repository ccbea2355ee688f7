"""Segment definitions: a condition tree as validated JSON.

A definition is a node: a group (`{"all": [...]}`, `{"any": [...]}`, `{"not": node}`) or a
condition (`{"type": "trait", ...}`). The pydantic models below are the schema published in the
OpenAPI document; `definition_errors` walks a tree and names each bad condition by its JSON path
(`$.all[1].value`), which the API answers as a 422.

Semantics (the reference evaluator in the tests holds every engine to them):
- trait: the customer's trait `key` (ordinary or computed). `equals`/`in`/`contains`/`starts_with`
  compare text (case-insensitive for contains and starts_with); a number value compares the trait
  as a number. `not_equals` is NOT equals (a customer without the trait is not equal). `gt`, `gte`,
  `lt`, `lte`, `between` compare numbers, or dates when the value is an ISO date. Relative dates
  (`within_last_days`, `more_than_days_ago`, `in_next_days`) read a date trait against the refresh's
  clock. `exists` / `missing`.
- event: calls of the customer (track event name, or page/screen name; `event_type` to narrow)
  within the last `within_days` (or ever), whose properties pass every `where` filter, counted and
  compared with `count` (default: at least 1). A count that zero satisfies (`{"op": "eq", "value": 0}`,
  `lt`) includes customers who never performed it: that is "not performed".
- identifier: has an identifier of `id_type`.
- consent: the latest decision for `channel` and `purpose` (or the `*` channel) is `granted`.
- segment: is a current member of segment `segment_id` (cycles are refused when saved).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel.definitions import Strict

PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,4}$")
TEXT_OPS = ("equals", "not_equals", "in", "contains", "starts_with")
RANGE_OPS = ("gt", "gte", "lt", "lte", "between")
RELATIVE_OPS = ("within_last_days", "more_than_days_ago", "in_next_days")
ANNIVERSARY_OPS = ("anniversary_in_next_days",)
PRESENCE_OPS = ("exists", "missing")
ARRAY_OPS = ("includes",)
TRAIT_OPS = (*TEXT_OPS, *RANGE_OPS, *RELATIVE_OPS, *ANNIVERSARY_OPS, *ARRAY_OPS, *PRESENCE_OPS)
TIME_OPS = ("within_last_days", "more_than_days_ago", "before", "after")
PROPERTY_OPS = (*TEXT_OPS, *RANGE_OPS, *PRESENCE_OPS)
COUNT_OPS = ("gte", "gt", "eq", "lte", "lt")
MAX_DEPTH = 8
MAX_CONDITIONS = 50

Scalar = str | int | float | bool


class TraitCondition(Strict):
    type: Literal["trait"]
    key: str = Field(..., min_length=1, max_length=128, description="A trait or computed trait.")
    op: Literal[TRAIT_OPS]
    value: Scalar | list[Scalar] | None = Field(None, description="A value, a list for `in` and `between` ([low, high]), "
                                                                  "a number of days for the relative date operators "
                                                                  "(0 to 366 for `anniversary_in_next_days`, 0 being today).")


class PropertyFilter(Strict):
    property: str = Field(..., description="A property name, dotted for nested ones: `product.sku`.")
    op: Literal[PROPERTY_OPS]
    value: Scalar | list[Scalar] | None = None


class CountRule(Strict):
    op: Literal[COUNT_OPS] = "gte"
    value: int = Field(1, ge=0, le=1_000_000)


class TimeTest(Strict):
    op: Literal[TIME_OPS]
    value: int | str = Field(..., description="Days for within_last_days / more_than_days_ago; an ISO date for before / after.")


EventType = Literal["", "track", "page", "screen", "identify", "group", "alias"]


class EventStep(Strict):
    event: str = Field(..., min_length=1, max_length=255, description="Track event name, or page/screen name.")
    event_type: EventType = ""
    where: list[PropertyFilter] = Field(default_factory=list, max_length=10)


class EventCondition(EventStep):
    type: Literal["event"]
    within_days: int | None = Field(None, ge=1, le=3650, description="Only calls in the last N days (empty: ever).")
    between: list[str] | None = Field(None, min_length=2, max_length=2, description="Only calls between two ISO dates (inclusive).")
    count: CountRule = Field(default_factory=CountRule)
    first: TimeTest | None = Field(None, description="When the first matching call was.")
    last: TimeTest | None = Field(None, description="When the last matching call was.")
    last_where: list[PropertyFilter] = Field(default_factory=list, max_length=10,
                                             description="Filters on the properties of the last matching call.")


MESSAGE_STATUSES = ("sent", "failed", "skipped", "delivered", "opened", "clicked", "bounced", "complained")


class MessageCondition(Strict):
    """Received (or not) a message: messaging writes each final delivery status as an event on the
    customer (`Message Sent`, `Message Opened`, ...) with its template, channel and source."""
    type: Literal["message"]
    status: Literal[MESSAGE_STATUSES] = "sent"
    template_id: int | None = Field(None, ge=1, description="Only messages of this template.")
    channel_id: int | None = Field(None, ge=1, description="Only messages through this channel.")
    source: str = Field("", max_length=200, description="Only messages from this sender: campaign:<id>, journey:<id>, ...")
    within_days: int | None = Field(None, ge=1, le=3650, description="Only in the last N days (empty: ever).")
    count: CountRule = Field(default_factory=CountRule)


def message_event_name(status: str) -> str:
    """The event a delivery status is recorded as (messaging writes these names)."""
    return f"Message {status.capitalize()}"


def message_as_event(c: dict) -> dict:
    """A message condition as the event condition it stands for."""
    where = [{"property": key, "op": "equals", "value": c[key]} for key in ("template_id", "channel_id") if c.get(key)]
    where += [{"property": "source", "op": "equals", "value": c["source"]}] if c.get("source") else []
    event = {"type": "event", "event": message_event_name(c.get("status", "sent")), "event_type": "track", "where": where}
    for key in ("within_days", "count"):
        if c.get(key) is not None:
            event[key] = c[key]
    return event


def expanded(tree: dict) -> dict:
    """The tree with every condition that stands for another (message) replaced by it, node for
    node (explanations index leaves by position)."""
    for key in ("all", "any"):
        if key in tree:
            return {**tree, key: [expanded(member) for member in tree[key]]}
    if "not" in tree:
        return {**tree, "not": expanded(tree["not"])}
    return message_as_event(tree) if tree.get("type") == "message" else tree


class SequenceCondition(Strict):
    type: Literal["sequence"]
    first: EventStep
    then: EventStep
    within_hours: int = Field(..., ge=1, le=24 * 366, description="`then` at most this long after `first`.")
    then_missing: bool = Field(False, description="Holds when a `first` call's window has passed without `then` (abandonment).")
    within_days: int | None = Field(None, ge=1, le=3650, description="Only `first` calls in the last N days (empty: ever).")


class RegularCondition(EventStep):
    type: Literal["regular"]
    at_least: int = Field(..., ge=1, le=366)
    of_last: int = Field(..., ge=1, le=366)
    unit: Literal["day", "week"] = "day"


class LapsedCondition(EventStep):
    type: Literal["lapsed"]
    days: int = Field(..., ge=1, le=3650, description="Performed before, but not in the last N days.")


class TraitHeldCondition(Strict):
    type: Literal["trait_held"]
    key: str = Field(..., min_length=1, max_length=128)
    value: Scalar = Field(..., description="The value the trait has held.")
    days: int = Field(..., ge=1, le=3650, description="For at least N days.")


class BucketCondition(Strict):
    type: Literal["bucket"]
    salt: str = Field(..., min_length=1, max_length=64, description="Names the draw: the same salt gives the same buckets.")
    from_percent: float = Field(0, ge=0, le=100)
    to_percent: float = Field(..., ge=0, le=100)


class IdentifierCondition(Strict):
    type: Literal["identifier"]
    id_type: str = Field(..., min_length=1, max_length=32)


class ConsentCondition(Strict):
    type: Literal["consent"]
    channel: str = Field(..., min_length=1, max_length=32)
    purpose: str = Field(..., min_length=1, max_length=64)
    granted: bool = True


class SegmentCondition(Strict):
    type: Literal["segment"]
    segment_id: int = Field(..., ge=1)


Condition = Annotated[TraitCondition | EventCondition | SequenceCondition | RegularCondition | LapsedCondition | TraitHeldCondition
                      | IdentifierCondition | ConsentCondition | SegmentCondition | BucketCondition | MessageCondition,
                      Field(discriminator="type")]


class AllGroup(Strict):
    all: list[Node] = Field(..., min_length=1, max_length=MAX_CONDITIONS)


class AnyGroup(Strict):
    any: list[Node] = Field(..., min_length=1, max_length=MAX_CONDITIONS)


class NotGroup(Strict):
    not_: Node = Field(..., alias="not")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Node = AllGroup | AnyGroup | NotGroup | Condition
for _model in (AllGroup, AnyGroup, NotGroup):
    _model.model_rebuild()


class Definition(BaseModel):
    """The schema of a definition (published in the OpenAPI document)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"all": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"},
                 {"type": "event", "event": "Order Completed", "within_days": 30, "count": {"op": "gte", "value": 2}}]}]})
    root: Node


def definition_errors(tree: Any, *, path: str = "$", depth: int = 0) -> list[dict]:
    """Problems with a definition, each with the JSON path of the node at fault; [] when valid."""
    if depth > MAX_DEPTH:
        return [{"field": path, "message": f"nested deeper than {MAX_DEPTH} groups"}]
    if not isinstance(tree, dict) or not tree:
        return [{"field": path, "message": "a condition ({\"type\": ...}) or a group ({\"all\": [...]}, {\"any\": [...]}, {\"not\": ...})"}]
    groups = [key for key in ("all", "any", "not") if key in tree]
    if groups:
        if len(tree) != 1:
            return [{"field": path, "message": "a group has exactly one key: all, any or not"}]
        key = groups[0]
        if key == "not":
            return definition_errors(tree["not"], path=f"{path}.not", depth=depth + 1)
        members = tree[key]
        if not isinstance(members, list) or not members:
            return [{"field": f"{path}.{key}", "message": "a non-empty list of conditions"}]
        if len(members) > MAX_CONDITIONS:
            return [{"field": f"{path}.{key}", "message": f"at most {MAX_CONDITIONS} conditions"}]
        return [error for i, member in enumerate(members) for error in definition_errors(member, path=f"{path}.{key}[{i}]", depth=depth + 1)]
    try:
        condition = _CONDITION_MODELS[tree.get("type")].model_validate(tree)
    except KeyError:
        return [{"field": f"{path}.type", "message": f"one of {', '.join(_CONDITION_MODELS)}"}]
    except ValidationError as exc:
        return [{"field": ".".join([path, *(str(p) for p in e["loc"])]).replace(".[", "["), "message": e["msg"]} for e in exc.errors()]
    return [{"field": f"{path}.{field}", "message": message} for field, message in _value_problems(condition)]


_CONDITION_MODELS = {"trait": TraitCondition, "event": EventCondition, "sequence": SequenceCondition, "regular": RegularCondition,
                     "lapsed": LapsedCondition, "trait_held": TraitHeldCondition, "identifier": IdentifierCondition,
                     "consent": ConsentCondition, "segment": SegmentCondition, "bucket": BucketCondition, "message": MessageCondition}


def _value_problems(condition) -> list[tuple[str, str]]:
    if isinstance(condition, TraitCondition):
        return [("value", m) for m in _operand_problems(condition.op, condition.value)]
    if isinstance(condition, SequenceCondition):
        return [(f"first.{f}", m) for f, m in _filter_problems(condition.first.where)] + \
            [(f"then.{f}", m) for f, m in _filter_problems(condition.then.where)]
    if isinstance(condition, (RegularCondition, LapsedCondition)):
        problems = _filter_problems(condition.where)
        if isinstance(condition, RegularCondition) and condition.at_least > condition.of_last:
            problems.append(("at_least", f"at most of_last ({condition.of_last})"))
        return problems
    if isinstance(condition, BucketCondition):
        return [] if condition.from_percent < condition.to_percent else [("to_percent", "greater than from_percent")]
    if isinstance(condition, EventCondition):
        problems = _filter_problems(condition.where) + [(f"last_{f}", m) for f, m in _filter_problems(condition.last_where, "where")]
        if condition.between is not None and not all(_range_kind(v) == "date" for v in condition.between):
            problems.append(("between", "two ISO dates"))
        if condition.between is not None and condition.within_days:
            problems.append(("between", "either within_days or between, not both"))
        for name in ("first", "last"):
            test = getattr(condition, name)
            if test is not None:
                problems += [(f"{name}.value", m) for m in _time_problems(test)]
        rule = condition.count
        if (condition.first or condition.last or condition.last_where) and _zero_passes(rule.op, rule.value):
            problems.append(("count", "first, last and last_where need at least one call: a count that zero does not satisfy"))
        return problems
    return []


def step_errors(step: Any, *, path: str) -> list[dict]:
    """Problems with an event step (`{"event", "event_type", "where"}`) used outside a definition
    (a journey's entry, awaited events, goal and exits), named by `path`; [] when valid."""
    try:
        parsed = EventStep.model_validate(step)
    except ValidationError as exc:
        return [{"field": ".".join([path, *(str(p) for p in e["loc"])]).replace(".[", "["), "message": e["msg"]} for e in exc.errors()]
    return [{"field": f"{path}.{field}", "message": message} for field, message in _filter_problems(parsed.where)]


def _filter_problems(filters: list[PropertyFilter], prefix: str = "where") -> list[tuple[str, str]]:
    problems = []
    for i, f in enumerate(filters):
        if not PROPERTY.match(f.property):
            problems.append((f"{prefix}[{i}].property", "letters, digits and _, dotted for nested properties"))
        problems += [(f"{prefix}[{i}].value", m) for m in _operand_problems(f.op, f.value, on_properties=True)]
    return problems


def _time_problems(test: TimeTest) -> list[str]:
    if test.op in ("before", "after"):
        return [] if _range_kind(test.value) == "date" else ["an ISO date"]
    return [] if isinstance(test.value, int) and 0 < test.value <= 36500 else ["a number of days (1 or more)"]


def _zero_passes(op: str, n: int) -> bool:
    return {"gte": 0 >= n, "gt": 0 > n, "eq": n == 0, "lte": 0 <= n, "lt": 0 < n}[op]


def _operand_problems(op: str, value, *, on_properties: bool = False) -> list[str]:
    if op in PRESENCE_OPS:
        return [] if value is None else ["exists and missing take no value"]
    if op == "anniversary_in_next_days":
        return [] if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 366 else ["a number of days, 0 (today) to 366"]
    if op == "includes":
        return [] if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)) else ["text or a whole number"]
    if on_properties and op in RANGE_OPS and any(_range_kind(v) == "date" for v in (value if isinstance(value, list) else [value])):
        return ["a number (date ranges apply to traits)"]
    if op in RELATIVE_OPS:
        return [] if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 36500 else ["a number of days (1 or more)"]
    if op == "in":
        return [] if isinstance(value, list) and 0 < len(value) <= 500 and all(isinstance(v, (str, int, float)) for v in value) \
            else ["a list of 1 to 500 values"]
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            return ["[low, high]"]
        kinds = {_range_kind(v) for v in value}
        return [] if len(kinds) == 1 and None not in kinds else ["two numbers or two ISO dates"]
    if op in ("gt", "gte", "lt", "lte"):
        return [] if _range_kind(value) else ["a number or an ISO date"]
    if isinstance(value, (list, dict)) or value is None:
        return ["a single value"]
    if op in ("contains", "starts_with") and not isinstance(value, str):
        return ["text"]
    return []


def _range_kind(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return "date"
        except ValueError:
            return None
    return None


def referenced_segments(tree: Any) -> set[int]:
    """The segment ids a definition's `segment` conditions name."""
    if not isinstance(tree, dict):
        return set()
    if tree.get("type") == "segment":
        return {int(tree["segment_id"])} if isinstance(tree.get("segment_id"), int) else set()
    found = set()
    for key in ("all", "any"):
        for member in tree.get(key) or []:
            found |= referenced_segments(member)
    if "not" in tree:
        found |= referenced_segments(tree["not"])
    return found


def openapi_components() -> dict[str, dict]:
    """The definition's schema as OpenAPI components: `SegmentDefinition` and the nodes it names
    (published by cdp_site/api.py; request bodies carry the definition as a plain object)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(Node).json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["SegmentDefinition"] = {**schema, "description": __doc__.split("\n\n")[1].replace("\n", " ")}
    return components
