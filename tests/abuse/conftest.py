"""Abuse tests: hostile input, every URL as every role, brute force, headers.

Hypothesis runs a fixed number of examples per target (FUZZ_EXAMPLES) so the whole folder stays fast;
raise it locally with ABUSE_FUZZ_EXAMPLES=500 for a deeper search.
"""

import os

import pytest
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from accounts import sms

FUZZ_EXAMPLES = int(os.environ.get("ABUSE_FUZZ_EXAMPLES", "40"))

settings.register_profile(
    "abuse",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
fuzz = settings.get_profile("abuse")

# Text a hostile or careless client sends: NUL bytes, lone surrogates are sent as raw bytes elsewhere,
# right-to-left overrides, emoji, combining marks, very long strings.
ODD_PIECES = [
    "\x00",
    "\u202e",
    "\u200f",
    "\ufeff",
    "🇲🇨",
    "👩‍👩‍👧",
    "e\u0301",
    "'; DROP TABLE accounts_user; --",
    "<script>alert(1)</script>",
    "%00",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "\r\n",
    "\uff11\uff12\uff13",  # full-width digits
    "٣",
    "x" * 5000,
]
odd_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(ODD_PIECES),
    st.lists(st.sampled_from(ODD_PIECES) | st.text(max_size=8), max_size=6).map("".join),
)
odd_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["-1", "0", "1e309", "NaN", "inf", "-0", "9" * 400, "0x10", "1_000", " 1 ", "١٢"]),
    st.floats(allow_nan=True, allow_infinity=True),
)
odd_scalar = st.one_of(st.none(), st.booleans(), odd_number, odd_text)
odd_json = st.recursive(
    odd_scalar,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture
def sms_outbox():
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def client_for(user) -> Client:
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return browser
