from django.core.management.base import CommandError

from customers.services import computed_trait_collisions
from kernel.errors import NotFound
from lakehouse.commands import LakehouseCommand
from tenancy.selectors import tenant_get, tenant_list


class Command(LakehouseCommand):
    help = ("Report computed traits whose name is also an ordinary trait (saved before names were checked). Their "
            "computed values are not written over the ordinary ones; rename the definition to see them.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")

    def handle(self, *args, tenant: str | None, **options):
        try:
            tenants = [tenant_get(slug=tenant)] if tenant else tenant_list()
        except NotFound:
            raise CommandError(f"No tenant '{tenant}'.") from None
        found = 0
        for ref in tenants:
            for name, customers in sorted(computed_trait_collisions(tenant=ref).items()):
                found += 1
                noun = "customer" if customers == 1 else "customers"
                self.stdout.write(f"{ref.slug}: computed trait '{name}' is also an ordinary trait of {customers:,} {noun}; "
                                  "rename the definition (PATCH /api/customers/computed-traits/{id}).")
        if not found:
            self.stdout.write("No computed trait shares its name with an ordinary trait.")
