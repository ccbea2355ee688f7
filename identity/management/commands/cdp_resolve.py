from django.core.management.base import CommandError

from customers.services import profiles_follow
from identity.services import run_execute, run_start
from kernel.errors import NotFound
from lakehouse.commands import LakehouseCommand
from tenancy.selectors import tenant_get, tenant_list


class Command(LakehouseCommand):
    help = ("Resolve identities: rebuild each tenant's customers from its identity edges under its rules, writing only "
            "what changed. Loads already resolve incrementally; run this after changing rules or to repair.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")
        parser.add_argument("--full", action="store_true", help="Rebuild every component (the only mode from the shell; "
                                                                "kept so scripts can say what they mean).")

    def handle(self, *args, tenant: str | None, full: bool, **options):
        try:
            tenants = [tenant_get(slug=tenant)] if tenant else tenant_list()
        except NotFound:
            raise CommandError(f"No tenant '{tenant}'.") from None
        for ref in tenants:
            self.stdout.write(f"{ref.slug}: resolving …")
            run = run_execute(run_start(tenant=ref, kind="full", trigger="manage.py cdp_resolve").id,
                              on_moved=profiles_follow, progress=lambda message: self.stdout.write(f"  {message}"))
            self.stdout.write(self.style.SUCCESS(f"{ref.slug}: run {run.id} done: {run.customers} customers, "
                                                 f"{run.merges} merges, {run.conflicts} conflicts."))
