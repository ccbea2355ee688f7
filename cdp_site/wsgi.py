import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.local")
django.setup(set_prefix=False)

from cdp_site.handlers import Application  # noqa: E402  (needs the settings configured above)

application = Application()
