from tenancy import selectors, services
from tenancy.management.keycommand import CLI_ACTOR, KeyCommand


class Command(KeyCommand):
    help = "Create, list and revoke write keys (for Segment/RudderStack SDKs) for a tenant."
    kind = "write key"

    def list_keys(self, tenant):
        return selectors.write_key_list(tenant=tenant)

    def create_key(self, tenant, options):
        return services.write_key_create(tenant=tenant, name=options["name"] or "cli", actor=CLI_ACTOR)

    def revoke_key(self, tenant, key_pk):
        return services.write_key_revoke(tenant=tenant, key_pk=key_pk, actor=CLI_ACTOR)
