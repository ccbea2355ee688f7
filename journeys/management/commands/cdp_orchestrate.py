from django.core.management.base import BaseCommand

from journeys.services import orchestrator_tick


class Command(BaseCommand):
    help = "Run one journey orchestrator tick (the Databricks job and the 5-minute schedule run this)."

    def handle(self, *args, **options):
        summary = orchestrator_tick()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in summary.items()))
