from django.core.management.base import BaseCommand
from tqdm import tqdm

from tracking.loader import DEFAULT_BATCH, load_inbox, pending_count


class Command(BaseCommand):
    help = "Move accepted calls from the inbox into the lakehouse events table (exactly once)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        parser.add_argument("--max-batches", type=int, default=None, help="Stop after this many batches.")

    def handle(self, *args, batch_size, max_batches, **options):
        total = pending_count()
        with tqdm(total=total, unit="call", desc="loading", disable=total == 0 or options["verbosity"] == 0) as bar:
            result = load_inbox(batch_size=batch_size, max_batches=max_batches,
                                progress=lambda batches, calls: bar.update(calls - bar.n))
        if result.busy:
            self.stdout.write(self.style.WARNING("Another loader is running; nothing done."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Loaded {result.calls} call(s) in {result.batches} batch(es); {pending_count()} pending."))
