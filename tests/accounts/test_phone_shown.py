"""Issue 12, item 6: wherever a page or a message names a phone number, it reads as people write it
("+377 6 12 34 56 78", the one `phone` filter), never as the stored "+377612345678"."""

import re
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.accounts.test_signup_login import (
    code_in,
    signup,
    traveller,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db

SHOWN = "+377 6 12 34 56 78"
STORED = "+377612345678"


def _text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", "", response.content.decode())).split())


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_sign_in_code_page_and_its_message_show_the_number_formatted(
    client,
    traveller,  # noqa: F811
    sms_outbox,
):
    response = client.post(
        reverse("account_request_login_code"),
        {"phone_country": "MC", "phone_number": "06 12 34 56 78"},
        follow=True,
    )

    assert f"We've sent a code to {SHOWN}." in _text(response)
    assert f"A sign-in code has been sent to {SHOWN}." in _text(response)
    assert STORED not in _text(response).replace(f"tel:{STORED}", "")
    assert f'<a class="number" href="tel:{STORED}">{SHOWN}</a>' in response.content.decode()


def test_the_phone_check_at_sign_up_and_its_messages_show_the_number_formatted(client, sms_outbox):
    signup(client, phone="06 12 34 56 78")
    page = client.get(reverse("account_verify_phone"))

    assert f"We've sent a code to {SHOWN}." in _text(page)
    verified = client.post(
        reverse("account_verify_phone"), {"code": code_in(sms_outbox[0].body)}, follow=True
    )
    assert f"You have verified phone number {SHOWN}." in _text(verified) + " ".join(_messages(verified))


def test_a_reset_by_phone_names_the_number_formatted(
    client,
    traveller,  # noqa: F811
    sms_outbox,
):
    client.post(reverse("account_reset_password"), {"phone_country": "MC", "phone_number": "06 12 34 56 78"})

    page = client.get(reverse("account_confirm_password_reset_code"))

    assert f"We've sent a code to {SHOWN}." in _text(page)
