
from journeys.services import orchestrator_tick
from lakehouse.commands import LakehouseCommand


class Command(LakehouseCommand):
    help = "Run one journey orchestrator tick (the Databricks job and the 5-minute schedule run this)."

    def handle(self, *args, **options):
        summary = orchestrator_tick()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in summary.items()))
