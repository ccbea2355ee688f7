"""Bulk import of customers (with traits) or events from CSV, JSON lines or Parquet.

Every row becomes a tracking call (identify for customers, track/page/... for events) and goes
through the same path as SDK traffic: validation, suppression, the inbox with its messageId
deduplication, then the loader. A row without a messageId gets one derived from its content, so
importing the same file twice adds nothing the second time. Rows that cannot become a valid call
are reported with their row number, field and reason; the others are kept.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from kernel.errors import DomainError, InvalidInput
from kernel.jsontext import loads
from kernel.segment.limits import MAX_BATCH_BYTES
from tenancy.types import TenantRef
from tracking.services import ingest

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
KINDS = ("customers", "events")
# A request's body stays under the tracking API's batch limit, with room for the envelope.
REQUEST_BYTES = MAX_BATCH_BYTES - 1024
CALLS_PER_REQUEST = 500
# Column names accepted for each call field, snake_case or Segment's camelCase.
ALIASES = {
    "user_id": "userId", "userid": "userId", "anonymous_id": "anonymousId", "anonymousid": "anonymousId",
    "message_id": "messageId", "messageid": "messageId", "event_name": "event", "group_id": "groupId", "previous_id": "previousId",
}
CALL_FIELDS = {"type", "event", "name", "userId", "anonymousId", "messageId", "timestamp", "groupId", "previousId",
               "properties", "traits", "context", "integrations", "originalTimestamp", "sentAt"}


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (CSV: the header is row 0)
    field: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    suppressed: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})


def file_format(path: Path, declared: str | None = None) -> str:
    fmt = declared or FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "jsonl", "parquet"):
        raise InvalidInput(f"Cannot tell the format of {path.name}: name it .csv, .jsonl or .parquet, or pass --format.")
    return fmt


@dataclass(frozen=True)
class Unreadable:
    """A JSON line that does not parse (or holds what cannot be stored), with the reason."""

    message: str


def read_rows(path: Path, fmt: str) -> Iterator[dict | object]:
    """Rows as dicts; a JSON line that does not parse comes back as Unreadable, to be reported."""
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                yield {k.strip(): v for k, v in row.items() if k and v not in (None, "")}
    elif fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    try:
                        yield loads(line)
                    except ValueError as exc:
                        yield Unreadable(f"{str(exc).removeprefix('The body ').rstrip('.')}: {line.strip()[:80]!r}")
    else:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=2000):
            for row in batch.to_pylist():
                yield {k: _plain(v) for k, v in row.items() if v is not None}


def row_count(path: Path, fmt: str) -> int | None:
    """How many rows, when that is cheap to know (Parquet keeps it in its footer)."""
    if fmt != "parquet":
        return None
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json_object(value):
    """A CSV cell holding JSON ({"a": 1}) becomes the object; anything else stays as it is."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def row_call(row: dict, kind: str) -> dict:
    """The tracking call a row stands for. Known call fields map by name; the other columns
    become traits (customers) or properties (events)."""
    call, rest = {}, {}
    for key, value in row.items():
        name = ALIASES.get(key.lower(), key)
        (call if name in CALL_FIELDS else rest)[name] = _json_object(value)
    email = rest.get("email")
    if kind == "customers":
        call["type"] = "identify"
        call["traits"] = {**(call.get("traits") if isinstance(call.get("traits"), dict) else {}), **rest}
        if isinstance(email, str):
            call["traits"]["email"] = email.strip()
    else:
        call.setdefault("type", "track")
        if rest:
            call["properties"] = {**(call.get("properties") if isinstance(call.get("properties"), dict) else {}), **rest}
    call["context"] = {**(call.get("context") if isinstance(call.get("context"), dict) else {}), "cdp_source": "import"}
    if not call.get("messageId"):
        canonical = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
        call["messageId"] = "import-" + hashlib.sha256(f"{kind}|{canonical}".encode()).hexdigest()[:32]
    return call


def import_rows(*, tenant: TenantRef, rows: Iterator[dict | object], kind: str,
                progress: Callable[[int], None] = lambda rows: None) -> ImportReport:
    """Send the rows into the inbox in requests of at most CALLS_PER_REQUEST calls and, by bytes,
    within the batch limit. Loading is separate."""
    if kind not in KINDS:
        raise InvalidInput(f"Import kind must be one of {', '.join(KINDS)}.")
    report, pending, size = ImportReport(), [], 0
    for number, row in enumerate(rows, start=1):
        report.rows = number
        if isinstance(row, Unreadable) or not isinstance(row, dict):
            report.errors.append(RowError(number, "row", row.message if isinstance(row, Unreadable) else f"is not a JSON object: {row!r}"))
            continue
        text = json.dumps(row_call(row, kind), default=str, ensure_ascii=False)
        if pending and (len(pending) == CALLS_PER_REQUEST or size + len(text.encode()) + 2 > REQUEST_BYTES):
            _send(tenant, pending, report)
            progress(number - 1)
            pending, size = [], 0
        pending.append((number, text))
        size += len(text.encode()) + 1
    if pending:
        _send(tenant, pending, report)
    progress(report.rows)
    return report


def _send(tenant: TenantRef, pending: list[tuple[int, str]], report: ImportReport) -> None:
    body = ('{"batch":[' + ",".join(text for _, text in pending) + "]}").encode()
    try:
        result = ingest(tenant=tenant, body=body)
    except DomainError as exc:  # nothing in this request could be accepted: every row says why
        for error in exc.errors or []:
            index, _, name = error["field"].partition("].")
            number = pending[int(index.removeprefix("batch["))][0] if index.startswith("batch[") else pending[0][0]
            report.errors.append(RowError(number, name or error["field"], error["message"]))
        if not exc.errors:  # refused whole (too large, unreadable): each of its rows is reported, none dropped unsaid
            report.errors.extend(RowError(number, "row", exc.detail) for number, _ in pending)
        return
    report.accepted += result.accepted
    report.duplicates += result.duplicates
    report.suppressed += result.suppressed
    for rejected in result.rejected:
        for error in rejected.errors:
            report.errors.append(RowError(pending[rejected.index][0], error["field"].partition("].")[2] or error["field"], error["message"]))
