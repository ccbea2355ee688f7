"""The base of `manage.py` commands that touch the lakehouse: its errors end the command with
one clean line (a missing table says to run `lakehouse migrate`), never a traceback."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lakehouse.errors import LakehouseError


class LakehouseCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except LakehouseError as exc:
            raise CommandError(f"lakehouse: {exc}") from None
