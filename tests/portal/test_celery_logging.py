"""The Celery worker and beat log at LOG_LEVEL, through the same formatter as the web process.

Both call `app.log.setup(loglevel=…)` at start with their --loglevel; each case runs that in a fresh
process, since logging is configured once per process.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import logging
from portal.celery import app
app.log.setup(loglevel="DEBUG")  # what `celery worker --loglevel DEBUG` and `celery beat` do
root = logging.getLogger()
print(logging.getLevelName(root.level), type(root.handlers[0].formatter).__name__)
"""


def celery_logging(**env: str) -> str:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOG_LEVEL")},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "1",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_worker_logs_at_log_level_whatever_its_command_line_says(tmp_path):
    assert celery_logging(LOG_LEVEL="WARNING", VAR_DIR=str(tmp_path)) == "WARNING RedactingFormatter"


def test_log_level_may_come_from_a_file(tmp_path):
    level = tmp_path / "level"
    level.write_text("error\n")

    assert celery_logging(LOG_LEVEL_FILE=str(level), VAR_DIR=str(tmp_path)) == "ERROR RedactingFormatter"
