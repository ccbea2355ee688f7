from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from messaging.services.drain import Drain, after_pass


class Command(BaseCommand):
    help = ("Send the messages that are due now (new ones, and retries whose time has come), a pass at a time until none is "
            "left, printing what each pass did. The scheduler does this every minute; run it by hand to catch up.")

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Send as at this ISO time instead of now (recovery drills, tests).")
        parser.add_argument("--limit", type=int, default=200, help="Deliveries a pass takes (default 200).")

    def handle(self, *args, at: str | None, limit: int, **options):
        try:
            now = datetime.fromisoformat(at) if at else None
        except ValueError:
            raise CommandError(f"--at {at!r} is not an ISO time such as 2026-12-01T10:00:00+00:00.") from None
        if now is not None and now.tzinfo is None:
            raise CommandError("--at needs a time zone, such as +00:00.")
        drain, total = Drain(), {}
        try:
            while True:
                counts = drain.run(now=now or timezone.now(), limit=limit)
                after_pass()
                if not counts:
                    break
                for k, v in counts.items():
                    total[k] = total.get(k, 0) + v
                if options["verbosity"]:
                    self.stdout.write(", ".join(f"{v:,} {k}" for k, v in sorted(counts.items())))
        finally:
            drain.close()
        if options["verbosity"]:
            done = ", ".join(f"{v:,} {k}" for k, v in sorted(total.items())) or "nothing was due"
            self.stdout.write(self.style.SUCCESS(f"Done: {done}."))
