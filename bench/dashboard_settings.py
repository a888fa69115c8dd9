"""Settings for the dashboard benchmark: the portal as deployed, with baseline views added."""

import os
from pathlib import Path

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "dashboard_urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], Path(__file__).resolve().parent / "templates"]  # noqa: F405
# No collectstatic in a benchmark run: serve static names unhashed.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# --before-ref: the two checkouts measured side by side share Redis, never each other's cached pages.
if os.environ.get("BENCH_CACHE_PREFIX"):
    for _cache in CACHES.values():  # noqa: F405
        _cache["KEY_PREFIX"] = os.environ["BENCH_CACHE_PREFIX"]
