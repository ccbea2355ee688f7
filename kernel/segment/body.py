"""Reading a tracking request's body: gzip (bounded), UTF-8, strict JSON — each failure a clear 4xx."""
from __future__ import annotations

import zlib
from typing import NamedTuple

from kernel.errors import DomainError, PayloadTooLarge
from kernel.jsontext import MAX_DEPTH, JsonRejected, depth_bound, loads
from kernel.segment.limits import MAX_BATCH_BYTES


class MalformedBody(DomainError):
    status, title, type_slug = 400, "Malformed body", "malformed-body"


class Body(NamedTuple):
    text: str  # decompressed
    data: object  # parsed
    deep: bool  # whether some value may nest deeper than MAX_DEPTH (then each call is walked)


def read_json(body: bytes, *, content_encoding: str = "") -> Body:
    """The body as text (decompressed) and as parsed JSON."""
    if len(body) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"The request body is {len(body)} bytes; a batch may carry at most {MAX_BATCH_BYTES // 1024} KB.")
    encoding = content_encoding.strip().lower()
    if encoding == "gzip":
        body = _gunzip(body)
    elif encoding not in ("", "identity"):
        raise MalformedBody(f"Content-Encoding {encoding!r} is not supported; send gzip or nothing.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"The body is not UTF-8 (byte {exc.start}).") from None
    try:
        data = loads(text, unstorable_ok=True)  # such calls are refused one by one (check_call)
    except JsonRejected as exc:
        raise MalformedBody(str(exc)) from None
    return Body(text, data, depth_bound(body) > MAX_DEPTH)


def _gunzip(body: bytes) -> bytes:
    """Decompress every member (a gzip file may be several, concatenated: each is read, none is
    silently dropped), refusing more than the batch limit in all (a small gzip can expand enormously)."""
    data, rest = b"", body
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data += inflater.decompress(rest, MAX_BATCH_BYTES + 1 - len(data))
        except zlib.error:
            raise MalformedBody("Content-Encoding says gzip, but the body is not gzip data.") from None
        if len(data) > MAX_BATCH_BYTES or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"The uncompressed batch is larger than {MAX_BATCH_BYTES // 1024} KB.")
        if not inflater.eof:
            raise MalformedBody("The gzip body is truncated.")
        rest = inflater.unused_data
        if not rest.strip(b"\x00"):  # the end (some writers pad with NULs)
            return data
