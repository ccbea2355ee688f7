import csv
from pathlib import Path

from django.core.management.base import CommandError
from tqdm import tqdm

from kernel.csvcells import csv_cell
from kernel.errors import DomainError
from lakehouse.commands import LakehouseCommand
from tenancy.selectors import tenant_get
from tracking.imports import KINDS, file_format, import_rows, read_rows, row_count
from tracking.loader import load_inbox
from tracking.selectors import pending_count


class Command(LakehouseCommand):
    help = ("Import customers (with traits) or events from CSV, JSON lines or Parquet, through the same validation and "
            "messageId deduplication as the tracking API; importing a file twice adds nothing the second time.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="A .csv, .jsonl or .parquet file of customers or events.")
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--kind", choices=KINDS, default="customers",
                            help="customers: one identify per row, other columns are traits; events: one call per row "
                                 "(type defaults to track), other columns are properties.")
        parser.add_argument("--format", choices=("csv", "jsonl", "parquet"), help="Default: from the file name.")
        parser.add_argument("--errors", type=Path, help="Where to write the per-row error report (CSV). Default: FILE.errors.csv")
        parser.add_argument("--no-load", action="store_true", help="Only queue the calls; the scheduled loader moves them.")

    def handle(self, *args, file: Path, tenant: str, kind: str, format: str | None, errors: Path | None, no_load: bool, **options):
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        quiet = options["verbosity"] == 0
        try:
            ref, fmt = tenant_get(slug=tenant), file_format(file, format)
            with tqdm(total=row_count(file, fmt), unit="row", desc="reading", disable=quiet) as bar:
                report = import_rows(tenant=ref, rows=read_rows(file, fmt), kind=kind, progress=lambda n: bar.update(n - bar.n))
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        except (UnicodeDecodeError, OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file} as {format or file.suffix}: {exc}") from None
        self.stdout.write(f"{report.rows} row(s): {report.accepted} accepted, {report.duplicates} already known, "
                          f"{report.suppressed} suppressed, {report.rejected} rejected.")
        if report.errors:
            target = errors or file.with_name(file.name + ".errors.csv")
            with target.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["row", "field", "error"])
                # Field names and messages quote the file's own text: never a formula in a spreadsheet.
                writer.writerows((e.row, csv_cell(e.field), csv_cell(e.message)) for e in report.errors)
            for error in report.errors[:10]:
                self.stderr.write(f"  row {error.row}: {error.field} {error.message}")
            self.stderr.write(self.style.WARNING(f"Every rejected row is listed in {target}."))
        if not no_load and report.accepted:
            with tqdm(total=pending_count(), unit="call", desc="loading", disable=quiet) as bar:
                result = load_inbox(progress=lambda batches, calls: bar.update(calls - bar.n))
            if result.busy:
                self.stdout.write(self.style.WARNING("The loader is running elsewhere; it will load these calls."))
            else:
                self.stdout.write(self.style.SUCCESS(f"Loaded {result.calls} call(s) into the lakehouse."))
                if result.set_aside:
                    self.stdout.write(self.style.WARNING(
                        f"{result.set_aside} batch(es) failed to load and were set aside; their errors are on the Operations page. "
                        "Fix the cause, then run manage.py cdp_load --retry-failed."))
