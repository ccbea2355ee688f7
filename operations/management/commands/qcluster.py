"""django-q2's `qcluster`, refusing at start a lakehouse that serves one process at a time.

The cluster runs several worker processes; with `CDP_LAKEHOUSE=spark://local[N]` the first would
hold the local Spark warehouse and every task on the others would fail. Saying so before starting
is kinder than a stream of failed tasks. (Listed before django_q in INSTALLED_APPS, so this
command is the one `manage.py qcluster` runs.)"""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django_q.management.commands.qcluster import Command as DjangoQCluster

from lakehouse.config import parse_lakehouse_url


class Command(DjangoQCluster):
    help = DjangoQCluster.help + " Refuses a local Spark lakehouse, which serves one process at a time."

    def handle(self, *args, **options):
        url = settings.CDP_LAKEHOUSE
        if parse_lakehouse_url(url).one_process:
            raise CommandError(f"The scheduler runs several worker processes, and CDP_LAKEHOUSE={url} serves one at a time. "
                               "Run it with CDP_LAKEHOUSE=default (or a Databricks warehouse), or run a single task with "
                               "`manage.py cdp_orchestrate` / `manage.py lakehouse` instead.")
        return super().handle(*args, **options)
