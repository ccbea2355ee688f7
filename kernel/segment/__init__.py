"""The Segment tracking spec as pure functions: what a call is, its limits, how a body is read."""
