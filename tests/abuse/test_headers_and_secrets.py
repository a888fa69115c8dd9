"""Security headers and cookies, and no secret committed to the repository."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production_like(settings):
    """What DEBUG=0 turns on (portal/settings.py), applied to a fresh client's middleware."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.LANGUAGE_COOKIE_SECURE = True
    return Client()


def test_the_content_security_policy_allows_no_inline_or_eval(client):
    policy = client.get(reverse("account_login"))["Content-Security-Policy"]

    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_pages_forbid_framing_and_sniffing_and_keep_the_referrer_on_site(client):
    response = client.get(reverse("plans:list"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_https_pages_carry_hsts_in_production(production_like):
    response = production_like.get(reverse("plans:list"), secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_session_csrf_and_language_cookies_are_secure_httponly_and_samesite(production_like):
    user = UserFactory(
        email="c@example.com", phone="+377612345678", phone_verified=True, password="pw long 42 x"
    )
    production_like.get(reverse("account_login"), secure=True)
    production_like.post(
        reverse("account_login"), {"login": "+377612345678", "password": "pw long 42 x"}, secure=True
    )
    production_like.post(reverse("accounts:set_language"), {"language": "fr", "next": "/"}, secure=True)

    cookies = production_like.cookies
    assert user.pk and {"sessionid", "csrftoken", "django_language"} <= set(cookies)
    for name in ("sessionid", "csrftoken", "django_language"):
        assert cookies[name]["secure"] is True, name
        assert cookies[name]["httponly"] is True, name
        assert cookies[name]["samesite"] == "Lax", name


def test_production_mode_turns_on_hsts_and_secure_cookies(tmp_path):
    keep = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env = {
        **keep,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "VAR_DIR": str(tmp_path),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.com",
        "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(12),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(12),
    }
    code = (
        "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.CSRF_COOKIE_HTTPONLY, s.LANGUAGE_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.LANGUAGE_COOKIE_SAMESITE)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["31536000", "True", *["True"] * 6, "Lax", "Lax"]


# --- No secret in the repository ----------------------------------------------------------------

SECRET_PATTERNS = re.compile(
    r"(sk|rk)_live_[0-9A-Za-z]{8,}"
    r"|(sk|rk)_test_[0-9A-Za-z_]{8,}"
    r"|whsec_[0-9A-Za-z_]{8,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|AKIA[0-9A-Z]{16}"
    r"|xox[baprs]-[0-9A-Za-z-]{10,}"
    r"|gh[pousr]_[0-9A-Za-z]{36}"
)
# Obvious stand-ins that never worked anywhere: the fake Stripe server's key, bench and test secrets.
ALLOWED_DIRECTORIES = ("tests/", "bench/")
ALLOWED_WORDS = ("fake", "test_only", "bench_only", "attacker")


def tracked_files() -> list[Path]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listing.decode().split("\0") if name]


def test_no_secret_is_committed():
    found = []
    for path in tracked_files():
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", "ignore")
        relative = path.relative_to(ROOT).as_posix()
        for match in SECRET_PATTERNS.finditer(text):
            value = match.group(0)
            if relative.startswith(ALLOWED_DIRECTORIES) and any(word in value for word in ALLOWED_WORDS):
                continue
            found.append(f"{relative}: {value[:24]}…")

    assert found == []


def test_the_secret_scan_would_catch_a_live_key():
    assert SECRET_PATTERNS.search("STRIPE_SECRET_KEY = 'sk_live_" + "51HxYzAbCdEfGh'")
    assert SECRET_PATTERNS.search("-----BEGIN RSA " + "PRIVATE KEY-----")
