from django.core.management.base import BaseCommand

from cdp_site.demo import DEMO_ADMIN_EMAIL, demo_load
from cdp_site.env import env


class Command(BaseCommand):
    help = "Load the demo tenants and admin user (idempotent). Password: CDP_ADMIN_PASSWORD, or generated."

    def add_arguments(self, parser):
        parser.add_argument("--admin-email", default=env.str("CDP_ADMIN_EMAIL", DEMO_ADMIN_EMAIL))

    def handle(self, *args, admin_email, **options):
        result = demo_load(admin_email=admin_email, admin_password=env.str("CDP_ADMIN_PASSWORD"))
        self.stdout.write(self.style.SUCCESS(f"Demo tenants ready: {', '.join(result.tenants)}."))
        if result.admin_password:
            self.stdout.write(f"Sign in at http://localhost:8000 as {result.admin_email} with password: {result.admin_password}")
            self.stdout.write("(shown once; set CDP_ADMIN_PASSWORD before the first run to choose it)")
        else:
            self.stdout.write(f"Sign in as {result.admin_email} with the password printed on the first run "
                              f"(reset it with: .venv/bin/python manage.py changepassword {result.admin_email}).")
