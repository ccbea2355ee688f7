"""JSON log lines, and a filter that scrubs secrets from every record before it is written."""
from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# What a secret looks like in text: our keys, bearer/basic credentials, JWTs, and
# key=value pairs whose key says password/secret/token.
_SECRET_PATTERNS = [
    (re.compile(r"(cdp_(?:ak|wk)_[a-z0-9]{8})_[A-Za-z0-9_\-]+"), r"\1_[REDACTED]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 [REDACTED]"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), "[REDACTED-JWT]"),
    (re.compile(r"\bdapi[0-9a-f]{32}(-\d+)?\b"), "[REDACTED-DATABRICKS-TOKEN]"),
    (re.compile(r"(?i)((?:password|passwd|secret|token|authorization|api_key|apikey)[\"']?\s*[:=]\s*[\"']?)(?!cdp_(?:ak|wk)_|\[REDACTED)[^\s\"',&}]+"), r"\1[REDACTED]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Scrubs the rendered message and any exception text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key.startswith("cdp_") and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; fields passed as `extra={"cdp_x": ...}` appear as `x`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key.startswith("cdp_"):
                line[key[4:]] = value
        if record.exc_text:
            line["exception"] = record.exc_text
        elif record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)
