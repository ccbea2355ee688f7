from django.core.management.base import CommandError
from tqdm import tqdm

from campaigns.demo import demo_campaigns_load
from cdp_site.demo import DEMO_ADMIN_EMAIL, DEMO_DATA_TENANT, demo_load
from cdp_site.env import env
from journeys.demo import demo_journeys_load
from lakehouse.commands import LakehouseCommand
from lakehouse.errors import LakehouseError
from messaging.demo import demo_messaging_load
from segments.demo import demo_segments_load
from tenancy.selectors import tenant_get
from tracking.demo import demo_data_load


class Command(LakehouseCommand):
    help = ("Load the demo tenants and admin user, and a seeded e-commerce dataset (about 5k customers, 100k events) "
            "with its segments into the demo tenant. Idempotent. Password: CDP_ADMIN_PASSWORD, or generated.")

    def add_arguments(self, parser):
        parser.add_argument("--admin-email", default=env.str("CDP_ADMIN_EMAIL", DEMO_ADMIN_EMAIL),
                            help="The demo admin's email (default: CDP_ADMIN_EMAIL, else admin@example.com).")
        parser.add_argument("--no-data", action="store_true", help="Only the tenants and the admin, no customer data.")

    def handle(self, *args, admin_email, no_data, **options):
        result = demo_load(admin_email=admin_email, admin_password=env.str("CDP_ADMIN_PASSWORD"))
        self.stdout.write(self.style.SUCCESS(f"Demo tenants ready: {', '.join(result.tenants)}."))
        if not no_data:
            self._data(quiet=options["verbosity"] == 0)
        if result.admin_password:
            where = f"http://localhost:{env.str('PORT', '8000')}"  # make run serves on $PORT
            self.stdout.write(f"Sign in at {where} as {result.admin_email} with password: {result.admin_password}")
            self.stdout.write("(shown once; set CDP_ADMIN_PASSWORD before the first run to choose it)")
        else:
            self.stdout.write(f"Sign in as {result.admin_email} with the password printed on the first run "
                              f"(reset it with: .venv/bin/python manage.py changepassword {result.admin_email}).")

    def _data(self, *, quiet: bool) -> None:
        bars = []  # made at the first progress report: with the data already there, no empty bar

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(tqdm(unit="event", desc="demo data", total=total, disable=quiet))
            bars[0].update(done - bars[0].n)

        try:
            data = demo_data_load(tenant=tenant_get(slug=DEMO_DATA_TENANT), progress=progress)
        except LakehouseError as exc:
            raise CommandError(f"Cannot load demo data: {exc}") from None
        finally:
            for bar in bars:
                bar.close()
        if data.created:
            self.stdout.write(self.style.SUCCESS(f"Demo data: {data.customers} customers, {data.events} events in '{DEMO_DATA_TENANT}'."))
        else:
            self.stdout.write(f"Demo data already in '{DEMO_DATA_TENANT}'.")
        segments = demo_segments_load(tenant=tenant_get(slug=DEMO_DATA_TENANT))
        if segments:
            self.stdout.write(self.style.SUCCESS(f"Demo segments: {segments} created and refreshed."))
        made = demo_messaging_load(tenant=tenant_get(slug=DEMO_DATA_TENANT))
        if made:
            self.stdout.write(self.style.SUCCESS("Demo messaging: a mailbox email channel, the newsletter topic and two templates "
                                                 "(Messages → Templates; mail lands in Messages → Mailbox)."))
        journeys = demo_journeys_load(tenant=tenant_get(slug=DEMO_DATA_TENANT))
        if journeys:
            self.stdout.write(self.style.SUCCESS("Demo journeys: a welcome series and an abandoned cart, live (Journeys); the "
                                                 "orchestrator advances them every 5 minutes and their mail lands in the mailbox."))
        campaigns = demo_campaigns_load(tenant=tenant_get(slug=DEMO_DATA_TENANT))
        if campaigns:
            self.stdout.write(self.style.SUCCESS("Demo campaigns: a newsletter with two subject lines, sent (its report is on its page "
                                                 "in Campaigns), and next week's, scheduled at 09:00 in each subscriber's time zone."))
