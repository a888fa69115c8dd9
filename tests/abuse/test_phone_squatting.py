"""Someone types a number they do not own: it must not lock the real owner out."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "a long travel password 42"
NUMBER = "+377612345678"


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def signup(client, **fields):
    return client.post(
        reverse("account_signup"),
        {"phone_country": "MC", "password1": PASSWORD, "password2": PASSWORD, **fields},
    )


def test_the_real_owner_signs_up_with_a_number_someone_else_claimed_without_verifying(client, sms_outbox):
    squatter = UserFactory(email="squatter@example.com", phone=NUMBER, phone_verified=False)

    response = signup(client, phone_number="06 12 34 56 78")
    client.post(reverse("account_verify_phone"), {"code": code_in(sms_outbox[-1].body)})

    assert response["Location"] == reverse("account_verify_phone")
    owner = User.objects.get(phone=NUMBER)
    assert owner != squatter and owner.phone_verified
    squatter.refresh_from_db()
    assert squatter.phone is None and squatter.is_active  # keeps the account, not the number


def test_a_squatting_account_with_nothing_but_the_number_is_closed(client, sms_outbox):
    squatter = UserFactory(email=None, phone=NUMBER, phone_verified=False)

    signup(client, phone_number="06 12 34 56 78")

    squatter.refresh_from_db()
    assert squatter.phone is None
    assert not squatter.is_active
    assert squatter.anonymised_at is not None
    assert User.objects.get(phone=NUMBER) != squatter


def test_a_verified_number_still_cannot_be_taken(client, sms_outbox):
    holder = UserFactory(phone=NUMBER, phone_verified=True)

    signup(client, phone_number="06 12 34 56 78", email="new@example.com")
    for guess in ("000000", "123456", "999999"):
        client.post(reverse("account_verify_phone"), {"code": guess})

    holder.refresh_from_db()
    assert (holder.phone, holder.phone_verified) == (NUMBER, True)
    assert User.objects.count() == 1
    [sms] = sms_outbox  # the owner is told someone tried; no code goes out
    assert "you already have an account" in sms.body


def test_the_real_owner_can_add_a_squatted_number_to_an_existing_account(client, sms_outbox):
    squatter = UserFactory(email="squatter@example.com", phone=NUMBER, phone_verified=False)
    owner = UserFactory(email="owner@example.com", phone=None, password=PASSWORD)
    client.force_login(owner)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    client.post(reverse("account_change_phone"), {"phone_country": "MC", "phone_number": "06 12 34 56 78"})
    client.post(reverse("account_verify_phone"), {"code": code_in(sms_outbox[-1].body)})

    owner.refresh_from_db()
    squatter.refresh_from_db()
    assert (owner.phone, owner.phone_verified) == (NUMBER, True)
    assert squatter.phone is None
