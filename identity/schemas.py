from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema


class ResolvedIdentityOut(Schema):
    type: str
    value: str
    first_seen_at: datetime


class ResolveOut(Schema):
    cdp_id: str
    identities: list[ResolvedIdentityOut]


class NodeOut(Schema):
    type: str
    value: str
    first_seen_at: datetime
    last_seen_at: datetime
    blocked: bool


class EdgeOut(Schema):
    a_type: str
    a_value: str
    b_type: str
    b_value: str
    first_seen_at: datetime
    message_id: str | None
    state: str = Field(..., description="merged (inside the customer), external (to another customer), conflict or blocked")


class MergeOut(Schema):
    merge_id: str
    cdp_id: str
    merged_cdp_id: str
    a_type: str | None
    a_value: str | None
    b_type: str | None
    b_value: str | None
    message_id: str | None
    rule: str | None
    run_id: int | None
    merged_at: datetime


class ConflictOut(Schema):
    a_type: str
    a_value: str
    b_type: str
    b_value: str
    reason: str
    cdp_id: str | None
    other_cdp_id: str | None
    message_id: str | None
    detected_at: datetime


class SharedIdentifierOut(Schema):
    type: str
    value: str
    conflicts: int
    cdp_id: str | None  # the customer it belongs to now (None: blocked or not resolved)


class GraphOut(Schema):
    cdp_id: str
    requested_cdp_id: str
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    merges: list[MergeOut]
    conflicts: list[ConflictOut]


class CustomTypeIn(Schema):
    name: str = Field(..., max_length=32)
    source: str = Field(..., max_length=200, description="trait:<key> or context:<dotted path>")


class RulesIn(Schema):
    priority: list[str] = Field(..., description="Identifier types, strongest first.")
    limits: dict[str, int] = Field(..., description='Most identifiers of a type per customer; "*" for every other type.')
    blocked: list[str] = Field(..., description="Regular expressions (whole value, any case) of values that identify nobody.")
    custom: list[CustomTypeIn] = Field(default_factory=list)
    default_region: str = Field("US", max_length=2, description="Region for phone numbers without a country code.")


class RulesOut(RulesIn):
    defaults: dict


class PreviewOut(Schema):
    customers_now: int
    customers_after: int
    customers_that_would_merge: int
    customers_that_would_split: int
    identifiers_no_longer_resolved: int
    conflicts: int


class UnmergeIn(Schema):
    type: str = Field(..., description="The identifier to block (or one end of the edge to block).")
    value: str
    other_type: str = Field("", description="With other_value: block only the edge between the two.")
    other_value: str = ""
    reason: str = Field("", max_length=500)


class UnmergeOut(Schema):
    cdp_id: str
    customers: list[str] = Field(..., description="The customers the former customer's identifiers now belong to.")


class BlockOut(Schema):
    id: int
    id_type: str
    id_value: str
    other_type: str = Field("", description="Set for an edge block: the other end.")
    other_value: str = ""
    reason: str
    created_by: str
    created_at: datetime


class UnblockIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500, description="Why the block is lifted (kept in the audit log).")


class UnblockOut(Schema):
    merges: int = Field(..., description="Merges the identifier's edges made once it could join again.")
    conflicts: int
    customers: int = Field(..., description="Customers in the re-resolved component.")


class RunIn(Schema):
    kind: Literal["full"] = Field("full", description="full: rebuild the whole tenant's identities (loads resolve incrementally by themselves).")


class RunOut(Schema):
    id: int
    kind: str
    state: str = Field(description="queued, running, succeeded or failed; poll GET /api/identity/runs/{id} until it is one of the last two.")
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    identifiers: int
    edges: int
    customers: int
    changed: int
    merges: int
    conflicts: int
    error: str
    preview: PreviewOut | None = Field(None, description="A rules preview's answer, once it has succeeded.")


class RulesSavedOut(Schema):
    rules: RulesOut
    run: RunOut = Field(description="The rebuild under the new rules, queued: poll GET /api/identity/runs/{id}.")
