"""The shared shape of `cdp_apikey` and `cdp_writekey`: create (secret printed once), list, revoke."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from kernel.errors import DomainError
from kernel.tables import write_table
from tenancy import selectors

CLI_ACTOR = "cli"


class KeyCommand(BaseCommand):
    kind = ""  # "API key" | "write key"

    @property
    def article(self) -> str:
        return "an" if self.kind[:1].lower() in "aeiou" else "a"

    def list_keys(self, tenant):
        raise NotImplementedError

    def create_key(self, tenant, options):
        raise NotImplementedError

    def revoke_key(self, tenant, key_pk):
        raise NotImplementedError

    def add_create_arguments(self, parser):
        pass

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help=f"Create {self.article} {self.kind}; prints the secret once.")
        create.add_argument("--tenant", required=True, help="The tenant's slug.")
        create.add_argument("--name", default="", help="A name saying what uses the key (default: cli).")
        self.add_create_arguments(create)
        listing = sub.add_parser("list", help=f"List a tenant's {self.kind}s (never their secrets).")
        listing.add_argument("--tenant", required=True, help="The tenant's slug.")
        revoke = sub.add_parser("revoke", help=f"Revoke {self.article} {self.kind} by its id or prefix.")
        revoke.add_argument("--tenant", required=True, help="The tenant's slug.")
        revoke.add_argument("key", help="The key's numeric id or its prefix (cdp_.._xxxxxxxx).")

    def handle(self, *args, action, tenant, **options):
        try:
            ref = selectors.tenant_get(slug=tenant)
            if action == "create":
                info, secret = self.create_key(ref, options)
                self.stdout.write(self.style.SUCCESS(f"Created {self.kind} {info.prefix} ({info.name}) in {ref.slug}."))
                self.stdout.write("Copy it now; it is not stored and will not be shown again:")
                self.stdout.write(secret)
            elif action == "list":
                keys = list(map(selectors.key_info, self.list_keys(ref)))
                with_role = self.kind == "API key"
                write_table(self.stdout, ["id", "prefix", "name", *(["role"] if with_role else []), "state", "last used"], [
                    [info.id, info.prefix, info.name, *([info.role] if with_role else []),
                     f"revoked {info.revoked_at:%Y-%m-%d}" if info.revoked_at else "active",
                     f"{info.last_used_at:%Y-%m-%d %H:%M}" if info.last_used_at else "never"] for info in keys])
            else:
                key_pk = self._key_pk(ref, options["key"])
                info = self.revoke_key(ref, key_pk)
                self.stdout.write(self.style.SUCCESS(f"Revoked {info.prefix} ({info.name})."))
        except DomainError as exc:
            raise CommandError(exc.detail) from None

    def _key_pk(self, tenant, key: str) -> int:
        if key.isdigit():
            return int(key)
        for info in map(selectors.key_info, self.list_keys(tenant)):
            if key.startswith(info.prefix) or info.prefix == key:
                return info.id
        raise CommandError(f"No {self.kind} matching '{key}' in {tenant.slug}.")
