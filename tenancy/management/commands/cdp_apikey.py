from tenancy import selectors, services
from tenancy.management.keycommand import CLI_ACTOR, KeyCommand
from tenancy.roles import Role


class Command(KeyCommand):
    help = "Create, list and revoke API keys for a tenant."
    kind = "API key"

    def add_create_arguments(self, parser):
        parser.add_argument("--role", choices=Role.values, default=Role.VIEWER, help="What the key may do (default: viewer).")

    def list_keys(self, tenant):
        return selectors.api_key_list(tenant=tenant)

    def create_key(self, tenant, options):
        return services.api_key_create(tenant=tenant, name=options["name"] or "cli", role=options["role"], actor=CLI_ACTOR)

    def revoke_key(self, tenant, key_pk):
        return services.api_key_revoke(tenant=tenant, key_pk=key_pk, actor=CLI_ACTOR)
