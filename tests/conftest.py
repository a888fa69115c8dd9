import pytest
from django.core.cache import cache, caches

# Shared fixtures live in modules with one owner each, so parallel work does not collide here.
pytest_plugins = [
    "tests.fixtures.users",
    "tests.fixtures.services",
    "tests.fixtures.browser",
    "tests.fixtures.stripe",
    "tests.fixtures.staff",
    "tests.fixtures.notices",
    "tests.fixtures.language",
]


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate limits live in the cache; a test never inherits another test's counters.
    cache.clear()
    caches["fragments"].clear()  # the layout's fragments: a test may change the site name or URLs
    yield
    cache.clear()


@pytest.fixture
def admin_user(admin_user):
    """pytest-django's superuser (behind `admin_client`), with the authenticator every staff
    member must have (allauth.mfa, accounts.middleware.StaffSecurityMiddleware)."""
    from tests.fixtures.mfa import totp_enrol

    return totp_enrol(admin_user)
