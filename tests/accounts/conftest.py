import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise():
    # Other test modules may leave a language active; these tests read English messages.
    with translation.override("en"):
        yield
