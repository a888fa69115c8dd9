"""Settings for the admin benchmark: the portal as deployed (DEBUG off), static names unhashed."""

from portal.settings import *  # noqa: F403

# No collectstatic in a benchmark run: serve static names unhashed.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
