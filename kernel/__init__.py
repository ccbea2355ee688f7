"""The kernel: what every app needs and no app owns. It imports no app of this project.

errors (domain errors with their HTTP status), problems (RFC 9457 documents), pagination, strict
JSON text, fast responses, the token bucket, times, and the pure Segment spec (`kernel.segment`:
call validation, limits, request bodies).
"""
