"""Codes cannot be guessed: wrong codes are counted per account across codes and flows.

The attacker of these tests does what a script would: a fresh browser and a new address for every
code, alternating login and reset codes by phone and by email, three guesses per code (allauth's
per-code limit), all day long. The budget (settings.ACCOUNT_RATE_LIMITS "code_failed_account") is
10 wrong codes an hour and 20 a day; the README states the odds that follow from it.
"""

import re
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
import time_machine
from allauth.account import forms as allauth_forms
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a long travel password 42"
PHONE = {"phone_country": "MC", "phone_number": "06 12 34 56 78"}
BUDGET_PER_HOUR = 10
BUDGET_PER_DAY = 20
CODE_SPACE = 10**6  # six digits


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


@pytest.fixture
def victim(db):
    user = UserFactory(
        email="victim@example.com", phone="+377612345678", phone_verified=True, password=PASSWORD
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def compared(monkeypatch):
    """Every code allauth actually compares with the real one: the guesses that could have won."""
    calls = []
    original = allauth_forms.compare_user_code

    def spy(*, actual, expected):
        calls.append(datetime.now(UTC))
        return original(actual=actual, expected=expected)

    monkeypatch.setattr(allauth_forms, "compare_user_code", spy)
    return calls


addresses = count(1)


def attacker() -> Client:
    """A new browser from a new address (10.x.y.z), as a botnet would send."""
    n = next(addresses)
    return Client(REMOTE_ADDR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")


FLOWS = [
    ("account_request_login_code", PHONE, "account_confirm_login_code"),
    (
        "account_request_login_code",
        {"email": "victim@example.com", "phone_number": ""},
        "account_confirm_login_code",
    ),
    ("account_reset_password", {"email": "", **PHONE}, "account_confirm_password_reset_code"),
    (
        "account_reset_password",
        {"email": "victim@example.com", "phone_number": ""},
        "account_confirm_password_reset_code",
    ),
]


def guess_one_code(flow: int) -> None:
    ask, data, confirm = FLOWS[flow % len(FLOWS)]
    browser = attacker()
    browser.post(reverse(ask), data)
    for guess in ("000000", "111111", "222222"):
        browser.post(reverse(confirm), {"code": guess})


def test_a_day_of_guessing_from_many_addresses_gets_at_most_the_daily_budget(victim, compared, sms_outbox):
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        # A new code every 15 minutes, 3 guesses each: 288 wrong codes tried in the day.
        for minute in range(0, 24 * 60, 15):
            clock.move_to(start + timedelta(minutes=minute))
            guess_one_code(minute // 15)

    per_hour = max(
        sum(1 for at in compared if hour <= at < hour + timedelta(hours=1))
        for hour in (start + timedelta(minutes=m) for m in range(0, 23 * 60, 15))
    )
    assert len(compared) <= BUDGET_PER_DAY
    assert per_hour <= BUDGET_PER_HOUR
    # The README's figure: 30 such days give an attacker at most this chance of one right code.
    odds_in_30_days = 30 * len(compared) / CODE_SPACE
    assert odds_in_30_days < 0.001
    print(f"\nwrong codes evaluated in 24 h: {len(compared)}; 30-day odds {odds_in_30_days:.4%}")


def test_once_the_budget_is_spent_even_the_right_code_is_refused_and_the_owner_is_told(victim, sms_outbox):
    owner_phone = Client(REMOTE_ADDR="192.0.2.10")
    owner_phone.post(reverse("account_request_login_code"), PHONE)
    right = code_in(sms_outbox[-1].body)
    for flow in range(BUDGET_PER_HOUR // 3 + 1):
        guess_one_code(flow)
    mail.outbox.clear()

    response = owner_phone.post(reverse("account_confirm_login_code"), {"code": right})

    assert response.status_code == 200  # refused exactly like a wrong code
    assert owner_phone.get(reverse("accounts:profile")).status_code == 302
    notices = [message for message in mail.outbox if "guess codes" in message.subject]
    assert len(notices) <= 1
    from notices.models import Notification

    assert Notification.objects.filter(user=victim, kind="code_guessing_paused").count() == 1


def test_while_paused_no_code_is_sent_but_the_page_looks_the_same(victim, sms_outbox):
    for flow in range(BUDGET_PER_HOUR // 3 + 1):
        guess_one_code(flow)
    sms_outbox.clear()

    response = attacker().post(reverse("account_request_login_code"), PHONE)

    assert response["Location"] == reverse("account_confirm_login_code")
    assert not any(re.search(r"\b\d{6}\b", sms.body) for sms in sms_outbox)


def test_the_owner_still_logs_in_with_the_password_while_codes_are_paused(victim, sms_outbox):
    for flow in range(BUDGET_PER_HOUR // 3 + 1):
        guess_one_code(flow)

    owner = Client(REMOTE_ADDR="192.0.2.10")
    response = owner.post(reverse("account_login"), {"login": "victim@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert owner.get(reverse("accounts:profile")).status_code == 200


def test_the_owners_own_phone_keeps_its_own_code_budget(victim, sms_outbox):
    owner = Client(REMOTE_ADDR="192.0.2.10")
    owner.post(reverse("account_login"), {"login": "victim@example.com", "password": PASSWORD})
    owner.post(reverse("account_logout"))
    for flow in range(BUDGET_PER_HOUR // 3 + 1):
        guess_one_code(flow)

    owner.post(reverse("account_request_login_code"), PHONE)
    owner.post(reverse("account_confirm_login_code"), {"code": code_in(sms_outbox[-1].body)})

    assert owner.get(reverse("accounts:profile")).status_code == 200


def test_a_code_that_was_never_delivered_is_never_accepted(victim, sms_outbox, settings):
    settings.SMS_BACKEND = "tests.accounts.test_signup_login.BrokenSMSBackend"
    browser = attacker()
    browser.post(reverse("account_request_login_code"), PHONE)
    # The code allauth generated and kept, though the text never left (read as a thief of the
    # session store could).
    stored = browser.session["account_login"]["state"]["stages"]["login_by_code"]["data"]["code"]

    browser.post(reverse("account_confirm_login_code"), {"code": stored})

    assert browser.get(reverse("accounts:profile")).status_code == 302


def test_no_code_is_issued_once_the_numbers_text_budget_is_spent(victim, sms_outbox):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        for minute in range(5):
            clock.move_to(start + timedelta(minutes=minute))
            attacker().post(reverse("account_reset_password"), {"email": "", **PHONE})
        sent = len(sms_outbox)
        browser = attacker()
        clock.move_to(start + timedelta(minutes=6))

        response = browser.post(reverse("account_reset_password"), {"email": "", **PHONE}, follow=True)

    assert len(sms_outbox) == sent == 5
    assert "Too many text messages" in response.content.decode()
    assert "account_password_reset_verification" not in browser.session  # nothing to guess
