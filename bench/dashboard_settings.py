"""Settings for the dashboard benchmark: the portal as deployed, with a baseline view added."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "dashboard_urls"
# No collectstatic in a benchmark run: serve static names unhashed.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
