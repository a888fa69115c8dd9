"""What the terminal of `dev.py run` shows for a request: one line per event, every time in UTC.

Run in a fresh process: logging is configured once per process, from settings.LOGGING.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import django
django.setup()
import logging, time
from django.test import Client
from portal.lib import health
health.PROCESS_STARTED_AT = time.time() - 3600  # long started: a missing heartbeat is an outage
Client().get("/healthz", HTTP_HOST="127.0.0.1")
logging.getLogger("usage").warning("a warning from the worker side")
"""


def log_lines(tmp_path: Path) -> list[str]:
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LOG_LEVEL", "DATABASE_URL", "REDIS_URL"))
        },
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "1",
        "VAR_DIR": str(tmp_path),
        "TZ": "Asia/Shanghai",  # the machine's own zone must not show either
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_a_failing_request_is_logged_once_with_its_time_and_level(tmp_path):
    lines = log_lines(tmp_path)

    assert [line for line in lines if "/healthz" in line] == [
        next(line for line in lines if "ERROR django.request: Service Unavailable: /healthz" in line)
    ]


def test_every_line_is_stamped_in_utc_whatever_zone_django_and_the_machine_use(tmp_path):
    lines = log_lines(tmp_path)

    stamp = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d{3} UTC (WARNING|ERROR) ")
    assert len(lines) == 2 and all(stamp.match(line) for line in lines), lines
    import datetime as dt

    logged = dt.datetime.strptime(stamp.match(lines[-1]).group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    assert abs(dt.datetime.now(dt.UTC) - logged) < dt.timedelta(minutes=5)
