import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    # Messages are compared in English; a request in another test may have left another language active.
    with translation.override("en"):
        yield
