import pytest
from django.utils import translation

from accounts import sms


@pytest.fixture
def sms_outbox():
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise():
    # Other test modules may leave a language active; these tests read English messages.
    with translation.override("en"):
        yield
