from django.core.management.base import BaseCommand, CommandError

from kernel.errors import DomainError
from kernel.tables import write_table
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
        create.add_argument("--password", default=None,
                            help="Their password. Omit it to print a one-time set-password link for them instead (mailed too "
                                 "when CDP_EMAIL_HOST is set).")
        create.add_argument("--base-url", default="http://localhost:8000",
                            help="Where the console is, for the link (default: http://localhost:8000).")
        link = sub.add_parser("link", help="Print a new one-time set-password link for a member (a lost invitation, a forgotten password).")
        link.add_argument("email", help="The member's email.")
        link.add_argument("--tenant", required=True, help="The tenant's slug.")
        link.add_argument("--base-url", default="http://localhost:8000", help="Where the console is (default: http://localhost:8000).")
        listing = sub.add_parser("list", help="List a tenant's members.")
        listing.add_argument("--tenant", required=True, help="The tenant's slug.")
        remove = sub.add_parser("remove", help="Remove a person from a tenant (their user stays for other tenants).")
        remove.add_argument("email", help="The member's email.")
        remove.add_argument("--tenant", required=True, help="The tenant's slug.")

    def handle(self, *args, action, tenant, **options):
        try:
            ref = selectors.tenant_get(slug=tenant)
            if action == "list":
                write_table(self.stdout, ["id", "email", "role", "since"],
                            [[info.id, info.email, info.role, f"{info.created_at:%Y-%m-%d}"]
                             for info in map(selectors.member_info, selectors.member_list(tenant=ref))])
                return
            if action == "remove":
                member = selectors.member_by_email(tenant=ref, email=options["email"])
                services.member_remove(tenant=ref, member_id=member.id, actor="cli")
                self.stdout.write(self.style.SUCCESS(f"Removed {member.email} from {ref.slug}."))
                return
            if action == "link":
                member = selectors.member_by_email(tenant=ref, email=options["email"])
                self._link(services.member_password_link(tenant=ref, member_id=member.id, actor="cli", base_url=options["base_url"],
                                                        platform=True))
                return
            existed = selectors.user_exists(email=options["email"])
            if options["password"]:
                info = services.member_set(tenant=ref, email=options["email"], role=options["role"], actor="cli", password=options["password"])
                link = None
            else:
                info, link = services.member_invite(tenant=ref, email=options["email"], role=options["role"], actor="cli",
                                                    base_url=options["base_url"])
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(self.style.SUCCESS(f"{info.email} is {info.role} in {ref.slug}."))
        if link:
            self._link(link)
        elif existed:
            self.stdout.write(f"{info.email} already had an account: they sign in with their own password "
                              f"(`cdp_user link {info.email} --tenant {ref.slug}` makes a reset link)."
                              + (" --password was ignored for them." if options["password"] else ""))
        else:
            self.stdout.write(f"They sign in at {options['base_url'].rstrip('/')}/signin/ with {info.email} and the password given.")

    def _link(self, link) -> None:
        self.stdout.write(f"Set-password link (shown once, works once{', mailed to them too' if link.emailed else ''}):")
        self.stdout.write(link.url)
