from journeys.services.orchestrator import orchestrator_tick
from kernel.times import command_clock
from lakehouse.commands import LakehouseCommand


class Command(LakehouseCommand):
    help = "Run one journey orchestrator tick (the Databricks job and the 5-minute schedule run this), with its progress."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One tick, then exit (what it always does; for the job's clarity).")
        parser.add_argument("--journey", type=int, help="Only this journey (its id).")
        parser.add_argument("--at", help="Decide as at this ISO time instead of now (recovery drills, tests).")

    def handle(self, *args, **options):
        now = command_clock(options.get("at"))
        progress = (lambda message: self.stderr.write(message)) if options["verbosity"] >= 1 else (lambda message: None)
        summary = orchestrator_tick(now=now, trigger="command", journey_id=options.get("journey"), progress=progress)
        if summary.busy:
            self.stdout.write("Another tick is running; nothing done.")
            return
        counts = {k: v for k, v in summary.counts.items() if k != "nodes"}
        self.stdout.write(f"tick {summary.tick_id} at {summary.clock:%Y-%m-%d %H:%M:%S} UTC: "
                          + (", ".join(f"{key}: {value}" for key, value in counts.items()) or "nothing to do"))

