import secrets

from django.core.management.base import BaseCommand, CommandError

from kernel.errors import DomainError
from tenancy import selectors, services
from tenancy.roles import Role


class Command(BaseCommand):
    help = "Add people to tenants with a role, and list a tenant's members."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a user (or change their role) in a tenant.")
        create.add_argument("email", help="The person's email, which is also their sign-in name.")
        create.add_argument("--tenant", required=True, help="The tenant's slug.")
        create.add_argument("--role", choices=Role.values, default=Role.VIEWER, help="Their role there (default: viewer).")
        create.add_argument("--password", default=None, help="Omit to generate one, printed once.")
        listing = sub.add_parser("list", help="List a tenant's members.")
        listing.add_argument("--tenant", required=True, help="The tenant's slug.")
        remove = sub.add_parser("remove", help="Remove a person from a tenant (their user stays for other tenants).")
        remove.add_argument("email", help="The member's email.")
        remove.add_argument("--tenant", required=True, help="The tenant's slug.")

    def handle(self, *args, action, tenant, **options):
        try:
            ref = selectors.tenant_get(slug=tenant)
            if action == "list":
                for info in map(selectors.member_info, selectors.member_list(tenant=ref)):
                    self.stdout.write(f"{info.id}\t{info.email}\t{info.role}")
                return
            if action == "remove":
                member = selectors.member_by_email(tenant=ref, email=options["email"])
                services.member_remove(tenant=ref, member_id=member.id, actor="cli")
                self.stdout.write(self.style.SUCCESS(f"Removed {member.email} from {ref.slug}."))
                return
            password = options["password"] or secrets.token_urlsafe(12)
            existed = selectors.user_exists(email=options["email"])
            info = services.member_set(tenant=ref, email=options["email"], role=options["role"], actor="cli", password=password)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(self.style.SUCCESS(f"{info.email} is {info.role} in {ref.slug}."))
        if not existed and not options["password"]:
            self.stdout.write(f"Password (shown once): {password}")
