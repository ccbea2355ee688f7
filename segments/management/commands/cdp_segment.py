import sys
from pathlib import Path

from django.core.management.base import CommandError

from kernel.errors import Conflict, InvalidInput, NotFound
from lakehouse.commands import LakehouseCommand
from lakehouse.errors import LakehouseError
from segments.exports import segment_export
from segments.lists import refs_from_csv
from segments.selectors import segment_list
from segments.services import segment_list_edit, segment_refresh
from tenancy.selectors import tenant_get


class Command(LakehouseCommand):
    help = ("Segments from the shell: list them, refresh one now, or fill a manual list from a CSV file whose header names "
            "its columns (cdp_id, or identifier types such as email and user_id).")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "refresh", "add", "remove", "replace", "export"],
                            help="list; refresh SEGMENT; add / remove / replace SEGMENT FILE (a manual list's members); "
                                 "export SEGMENT NAME (its members to a lakehouse table, Databricks or Spark engine).")
        parser.add_argument("segment", nargs="?", type=int, help="The segment's id (see list).")
        parser.add_argument("file", nargs="?", help="The CSV file, or - for standard input; for export, the table's name.")
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")

    def handle(self, *args, action: str, segment: int | None, file: str | None, tenant: str, **options):
        try:
            ref = tenant_get(slug=tenant)
        except NotFound:
            raise CommandError(f"No tenant '{tenant}'.") from None
        if action == "list":
            for s in segment_list(tenant=ref, limit=1000, offset=0).items:
                self.stdout.write(f"{s.id:>6}  {s.kind:<6}  {s.members:>10,} members  {s.name}")
            return
        if segment is None:
            raise CommandError(f"Name the segment: manage.py cdp_segment {action} SEGMENT_ID --tenant {tenant}.")
        try:
            if action == "refresh":
                run = segment_refresh(tenant=ref, segment_id=segment, trigger="manage.py cdp_segment")
                self.stdout.write(self.style.SUCCESS(f"run {run.id}: {run.members:,} members, {run.entered:,} entered, {run.exited:,} left."))
                return
            if action == "export":
                return self._export(ref, segment, file)
            if not file:
                raise CommandError(f"Give the CSV file: manage.py cdp_segment {action} {segment} FILE --tenant {tenant}.")
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8-sig")
            refs = refs_from_csv(text)
            self.stdout.write(f"{len(refs):,} rows read …")
            edit = segment_list_edit(tenant=ref, segment_id=segment, actor="manage.py cdp_segment",
                                     add=refs if action != "remove" else [], remove=refs if action == "remove" else [],
                                     replace=action == "replace")
        except (InvalidInput, Conflict, NotFound) as exc:
            raise CommandError(str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"{edit.added:,} added, {edit.removed:,} removed: {edit.members:,} members."))
        if edit.unknown_count:
            self.stdout.write(f"{edit.unknown_count:,} name no customer of {tenant}, such as {', '.join(edit.unknown[:5])}.")

    def _export(self, ref, segment: int, name: str | None) -> None:
        if not name:
            raise CommandError(f"Name the table: manage.py cdp_segment export {segment} NAME --tenant {ref.slug}.")
        self.stdout.write(f"writing segment {segment}'s members to a table …")
        try:
            export = segment_export(tenant=ref, segment_id=segment, name=name, actor="manage.py cdp_segment", queue=False)
        except LakehouseError as exc:
            raise CommandError(f"The export failed: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"{export.table}: {export.rows:,} rows."))
