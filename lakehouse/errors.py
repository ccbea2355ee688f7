"""The few errors the lakehouse layer raises, whatever the engine underneath.

Messages say what to do. A statement's parameter values never appear in them (they may be
customer data); its name does.
"""
from __future__ import annotations


class LakehouseError(Exception):
    """Base class; `retryable` says whether trying again later may succeed."""

    retryable = False


class ConfigurationError(LakehouseError):
    """CDP_LAKEHOUSE is malformed or names something that cannot work."""


class TableMissing(LakehouseError):
    def __init__(self, detail: str):
        super().__init__(f"{detail}. Run `manage.py lakehouse migrate` to create the lakehouse tables.")


class AuthenticationError(LakehouseError):
    """The engine refused our credentials."""


class WarehouseUnavailable(LakehouseError):
    """The warehouse or cluster did not answer (starting, overloaded, network); retry with backoff."""

    retryable = True


class BadStatement(LakehouseError):
    """The engine rejected a statement: a bug in our SQL, logged with the statement's name."""

    def __init__(self, statement_name: str, detail: str):
        super().__init__(f"Statement {statement_name!r} failed: {detail}")
        self.statement_name = statement_name


class ReadOnlyViolation(LakehouseError):
    """A write was attempted through a read-only path (`lakehouse sql` without --write)."""


def store_failure(exc: BaseException) -> bool:
    """Whether a failure is the store's own (lakehouse or operational database unreachable, not
    migrated, refusing our credentials, locked), which no tenant's data is to blame for. Jobs that
    work tenant by tenant stop on these and carry on past the others (see tracking.loader)."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (WarehouseUnavailable, TableMissing, AuthenticationError, ConfigurationError, OperationalError, InterfaceError))
