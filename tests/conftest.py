import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate limits live in the cache; a test never inherits another test's counters.
    cache.clear()
    yield
    cache.clear()
