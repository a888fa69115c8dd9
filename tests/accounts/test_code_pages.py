"""Issue 12 (12, 13): where an SMS code is typed, a phone shows its number pad and offers the code,
the page says how long the code is valid (the setting, as the SMS says), and a reset ends at sign-in."""

import re

import pytest
from django.urls import reverse

from tests.accounts.test_signup_login import (
    code_in,
    signup,
    traveller,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db


def code_input(page: str) -> str:
    return re.search(r'<input[^>]*name="code"[^>]*>', page).group(0)


def assert_a_digits_code_input(page: str) -> None:
    field = code_input(page)
    assert 'inputmode="numeric"' in field
    assert 'autocomplete="one-time-code"' in field


@pytest.fixture
def ten_minute_codes(settings):
    # Not the default, so a "15" written into a template would show.
    settings.AUTH_CODE_TIMEOUT = 600
    settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 600
    settings.ACCOUNT_PASSWORD_RESET_BY_CODE_TIMEOUT = 600
    settings.ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 600


def test_the_sign_in_code_page_asks_for_digits_and_says_how_long_the_code_lasts(
    client,
    traveller,  # noqa: F811
    sms_outbox,
    ten_minute_codes,
):
    client.post(
        reverse("account_request_login_code"), {"phone_country": "MC", "phone_number": "06 12 34 56 78"}
    )
    [sms] = sms_outbox

    page = client.get(reverse("account_confirm_login_code")).content.decode()

    assert_a_digits_code_input(page)
    assert "It is valid for 10 minutes." in page
    assert "expires in 10 minutes" in sms.body
    assert "shortly" not in page


def test_the_phone_check_at_sign_up_asks_for_digits_and_says_how_long_the_code_lasts(client, sms_outbox):
    signup(client, phone="06 12 34 56 78")

    page = client.get(reverse("account_verify_phone")).content.decode()

    assert_a_digits_code_input(page)
    assert "It is valid for 15 minutes." in page
    assert "expires in 15 minutes" in sms_outbox[0].body


def test_a_reset_by_phone_asks_for_digits_and_ends_with_a_way_to_sign_in(
    client,
    traveller,  # noqa: F811
    sms_outbox,
    ten_minute_codes,
):
    client.post(reverse("account_reset_password"), {"phone_country": "MC", "phone_number": "06 12 34 56 78"})
    page = client.get(reverse("account_confirm_password_reset_code")).content.decode()
    assert_a_digits_code_input(page)
    assert "It is valid for 10 minutes." in page

    client.post(reverse("account_confirm_password_reset_code"), {"code": code_in(sms_outbox[0].body)})
    new_password = "brand new sea breeze 7"
    done = client.post(
        reverse("account_complete_password_reset"),
        {"password1": new_password, "password2": new_password},
        follow=True,
    )

    page = done.content.decode()
    assert "Your password is now changed." in page
    sign_in = re.search(r'<a href="([^"]+)"[^>]*>\s*Sign in with your new password\s*</a>', page)
    assert sign_in and sign_in.group(1) == reverse("account_login")
