"""Functions the statements call that one engine lacks, defined once in Python.

`bucket` is the deterministic bucket of `{bucket(...)}`: the first 32 bits of the text's MD5 as
an unsigned number, modulo 10,000. PostgreSQL and Spark compute it with their own `md5`; SQLite
has none, so the same function is registered on every SQLite connection (`register_sqlite`).
"""
from __future__ import annotations

import hashlib

BUCKETS = 10_000


def bucket(text: str | None) -> int | None:
    if text is None:
        return None
    # The digest's first four bytes as a big-endian number: its first 8 hex digits, without the text.
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:4], "big") % BUCKETS  # noqa: S324 (a bucket, not security)


def register_sqlite(connection) -> None:
    """Make `cdp_bucket(text)` available on a sqlite3 connection."""
    connection.create_function("cdp_bucket", 1, bucket, deterministic=True)
