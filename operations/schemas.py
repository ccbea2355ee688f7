from __future__ import annotations

from datetime import datetime

from ninja import Schema


class ScheduleOut(Schema):
    name: str
    func: str
    every_minutes: int | None
    next_run: datetime | None
    description: str
    last_status: str | None


class TaskRunOut(Schema):
    id: str
    name: str
    func: str
    started: datetime
    stopped: datetime
    seconds: float
    success: bool
    error: str | None
    attempts: int


class SetAsideBatchOut(Schema):
    id: int
    received_at: datetime
    calls: int
    failed_at: datetime
    error: str


class InboxOut(Schema):
    pending_calls: int
    set_aside_batches: int
    set_aside_calls: int
    set_aside: list[SetAsideBatchOut]


class InboxRetryOut(Schema):
    retried: int
