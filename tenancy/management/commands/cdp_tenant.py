from django.core.management.base import BaseCommand, CommandError

from kernel.errors import DomainError
from kernel.tables import write_table
from tenancy import selectors, services


class Command(BaseCommand):
    help = "Create and list tenants."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a tenant.")
        create.add_argument("slug", help="Short name used in URLs and X-Tenant-ID (letters, digits, hyphens).")
        create.add_argument("--name", default="", help="Display name (default: the slug).")
        sub.add_parser("list", help="List tenants.")

    def handle(self, *args, action, **options):
        if action == "create":
            try:
                ref = services.tenant_create(slug=options["slug"], name=options["name"], actor="cli")
            except DomainError as exc:
                raise CommandError(exc.detail) from None
            self.stdout.write(self.style.SUCCESS(f"Created tenant {ref.slug} ({ref.name})."))
        else:
            write_table(self.stdout, ["slug", "name", "time zone"],
                        [[ref.slug, ref.name, ref.time_zone] for ref in selectors.tenant_list()])
