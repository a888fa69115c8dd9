import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "a long travel password 42"


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def signup(client, *, email="", phone="", country="MC", password=PASSWORD, password2=None):
    return client.post(
        reverse("account_signup"),
        {
            "email": email,
            "phone_country": country,
            "phone_number": phone,
            "password1": password,
            "password2": password2 or password,
        },
    )


def logged_in_user(client):
    response = client.get(reverse("accounts:profile"))
    if response.status_code != 200:
        return None
    return response.context["user"]


# --- Sign-up by phone ------------------------------------------------------------------------


def test_a_traveller_signs_up_by_phone_and_verifies_it_with_the_sms_code(client, sms_outbox):
    response = signup(client, phone="06 12 34 56 78")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_verify_phone")
    user = User.objects.get()
    assert user.phone == "+377612345678"
    assert user.email is None
    assert not user.phone_verified
    [sms] = sms_outbox
    assert sms.to == "+377612345678"
    assert logged_in_user(client) is None

    response = client.post(reverse("account_verify_phone"), {"code": code_in(sms.body)})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.phone_verified
    assert logged_in_user(client) == user


def test_a_wrong_sms_code_is_refused(client, sms_outbox):
    signup(client, phone="+377 6 12 34 56 78")
    right = code_in(sms_outbox[0].body)
    wrong = "000000" if right != "000000" else "111111"

    response = client.post(reverse("account_verify_phone"), {"code": wrong})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not User.objects.get().phone_verified
    assert logged_in_user(client) is None


def test_the_sms_code_is_six_digits(client, sms_outbox):
    signup(client, phone="+377 6 12 34 56 78")

    assert re.search(r"^\d{6} is your", sms_outbox[0].body)


# --- Sign-up by email ------------------------------------------------------------------------


def test_a_traveller_signs_up_by_email_and_must_verify_it_before_coming_in(client, sms_outbox):
    response = signup(client, email="Anna@Example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get()
    assert user.email == "anna@example.com"
    assert user.phone is None
    assert logged_in_user(client) is None
    [message] = mail.outbox
    assert message.to == ["anna@example.com"]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)

    client.post(link.split("testserver", 1)[1])

    assert EmailAddress.objects.get(user=user).verified
    assert sms_outbox == []


def test_a_traveller_may_give_both_and_comes_in_once_the_phone_is_verified(client, sms_outbox):
    signup(client, email="both@example.com", phone="06 12 34 56 78", country="FR")

    client.post(reverse("account_verify_phone"), {"code": code_in(sms_outbox[0].body)})

    user = User.objects.get()
    assert (user.email, user.phone, user.phone_verified) == ("both@example.com", "+33612345678", True)
    assert logged_in_user(client) == user
    assert len(mail.outbox) == 1  # the email verification link, for later


def test_the_signup_language_becomes_the_travellers_language(client, sms_outbox):
    client.post(
        reverse("account_signup"),
        {
            "email": "li@example.com",
            "phone_country": "MC",
            "phone_number": "",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert User.objects.get().language == "zh-hans"


# --- Refused sign-ups ------------------------------------------------------------------------


def test_neither_email_nor_phone_is_a_form_error(client):
    response = signup(client)

    assert response.status_code == 200
    assert "Give an email address or a mobile phone number" in str(
        response.context["form"].non_field_errors()
    )
    assert User.objects.count() == 0


def test_a_bad_number_is_a_form_error_and_nothing_is_created(client, sms_outbox):
    response = signup(client, phone="06 12")

    assert response.status_code == 200
    assert "not a valid phone number" in str(response.context["form"].errors["phone"])
    assert User.objects.count() == 0
    assert sms_outbox == []


def test_a_taken_phone_is_a_form_error_and_nothing_is_created(client, sms_outbox):
    UserFactory(phone="+377612345678", phone_verified=True)

    response = signup(client, phone="+377 6 12 34 56 78", email="new@example.com")

    assert response.status_code == 200
    assert "already registered with this phone" in str(response.context["form"].errors["phone"])
    assert User.objects.count() == 1
    assert sms_outbox == []
    assert mail.outbox == []


def test_a_taken_email_in_other_letters_is_a_form_error_and_nothing_is_created(client):
    UserFactory(email="anna@example.com")

    response = signup(client, email="ANNA@example.com")

    assert response.status_code == 200
    assert "already registered with this email" in str(response.context["form"].errors["email"])
    assert User.objects.count() == 1
    assert mail.outbox == []
