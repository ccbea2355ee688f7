from journeys.services.orchestrator import orchestrator_tick
from lakehouse.commands import LakehouseCommand


class Command(LakehouseCommand):
    help = ("Run the journey orchestrator (the Databricks job and the 5-minute schedule run this): one tick, "
            "or with --loop, a tick every --every seconds until stopped.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One tick, then exit (the default).")
        parser.add_argument("--journey", type=int, help="Only this journey (its id).")

    def handle(self, *args, **options):
        progress = (lambda message: self.stderr.write(message)) if options["verbosity"] >= 1 else (lambda message: None)
        summary = orchestrator_tick(trigger="command", journey_id=options.get("journey"), progress=progress)
        if summary.busy:
            self.stdout.write("Another tick is running; nothing done.")
            return
        counts = {k: v for k, v in summary.counts.items() if k != "nodes"}
        self.stdout.write(f"tick {summary.tick_id} at {summary.clock:%Y-%m-%d %H:%M:%S} UTC: "
                          + (", ".join(f"{key}: {value}" for key, value in counts.items()) or "nothing to do"))
