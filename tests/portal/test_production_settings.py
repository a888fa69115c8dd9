"""Production mode must refuse a half-configured start, naming what is missing.

Settings are read once per process, so each case starts `manage.py` in a subprocess with its own
environment.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLES = [
    *("DEBUG", "SECRET_KEY", "SECRET_KEY_FILE", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"),
    *("STRIPE_SECRET_KEY", "STRIPE_SECRET_KEY_FILE", "STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET_FILE"),
    "PAYMENTS_DEMO",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser fixtures; never in production
]


@pytest.fixture
def environment(tmp_path):
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_VARIABLES}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": str(tmp_path)})
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def production(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
        "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(12),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(12),
    }


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(environment):
    env = production(environment)
    del env["SECRET_KEY"]

    result = manage(env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_it_refuses_to_start_without_allowed_hosts_when_debug_is_off(environment):
    env = production(environment)
    del env["ALLOWED_HOSTS"]

    result = manage(env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS must be set" in result.stderr


def test_debug_off_is_the_default(environment):
    # No DEBUG at all is production: a forgotten variable must not expose debug pages.
    result = manage(environment, "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_boolean_names_the_variable(environment):
    result = manage({**production(environment), "DEBUG": "maybe"}, "check")

    assert result.returncode != 0
    assert "DEBUG must be one of 1/0, true/false, yes/no, on/off; got 'maybe'" in result.stderr


def test_a_bad_number_names_the_variable(environment):
    result = manage({**production(environment), "HEARTBEAT_STALE_SECONDS": "two minutes"}, "check")

    assert result.returncode != 0
    assert "HEARTBEAT_STALE_SECONDS must be a whole number; got 'two minutes'" in result.stderr


def test_the_secret_key_can_come_from_a_mounted_file(environment, tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(secrets.token_urlsafe(50) + "\n")
    env = production(environment)
    del env["SECRET_KEY"]
    env["SECRET_KEY_FILE"] = str(secret_file)

    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_is_clean_with_production_variables(environment):
    result = manage(production(environment), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
