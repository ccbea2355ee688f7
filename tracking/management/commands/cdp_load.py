from tqdm import tqdm

from lakehouse.commands import LakehouseCommand
from tracking.loader import DEFAULT_BATCH, load_inbox
from tracking.selectors import pending_count, set_aside_batches
from tracking.services import inbox_retry


class Command(LakehouseCommand):
    help = "Move accepted calls from the inbox into the lakehouse events table (exactly once)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help=f"Inbox batches loaded per round (default: {DEFAULT_BATCH}).")
        parser.add_argument("--max-batches", type=int, default=None, help="Stop after this many batches.")
        parser.add_argument("--retry-failed", action="store_true",
                            help="First put batches set aside after a failed load back in line (after fixing the cause).")

    def handle(self, *args, batch_size, max_batches, retry_failed, **options):
        if retry_failed:
            self.stdout.write(f"{inbox_retry(tenant=None, actor='manage.py cdp_load')} set-aside batch(es) back in line.")
        total = pending_count()
        with tqdm(total=total, unit="call", desc="loading", disable=total == 0 or options["verbosity"] == 0) as bar:
            result = load_inbox(batch_size=batch_size, max_batches=max_batches,
                                progress=lambda batches, calls: bar.update(calls - bar.n))
        if result.busy:
            self.stdout.write(self.style.WARNING("Another loader is running; nothing done."))
            return
        self.stdout.write(self.style.SUCCESS(f"Loaded {result.calls} call(s) in {result.batches} batch(es); {pending_count()} pending."))
        waiting = set_aside_batches().count()
        if waiting:
            self.stdout.write(self.style.WARNING(
                f"{waiting} batch(es) set aside after failing to load (this run: {result.set_aside}); their errors are on the "
                "Operations page and in GET /api/operations/inbox. Fix the cause, then run cdp_load --retry-failed."))
