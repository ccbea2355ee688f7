from campaigns.services.sending import campaigns_tick
from kernel.times import command_clock
from lakehouse.commands import LakehouseCommand


class Command(LakehouseCommand):
    help = ("Run one campaigns tick now (the every-minute schedule runs it): start the sends that are due, queue recipients "
            "within each throttle, pick winners, complete sends.")

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Decide as at this ISO time instead of now (recovery drills, tests).")

    def handle(self, *args, **options):
        now = command_clock(options.get("at"))
        counts = campaigns_tick(now=now)
        self.stdout.write(f"started {counts['started']} send(s), queued {counts['queued']} message(s), completed {counts['completed']}"
                          + (f", removed {counts['erased']} erased recipient(s)" if counts["erased"] else "") + ".")
