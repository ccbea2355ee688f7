"""Laptop defaults: `make run` uses these."""
from cdp_site.env import env
from cdp_site.settings.base import *  # noqa: F401,F403

DEBUG = env.bool("DEBUG", True)
