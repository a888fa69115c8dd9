import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a long travel password 42"


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


@pytest.fixture
def traveller():
    user = UserFactory(
        email="demo@example.com", phone="+377612345678", phone_verified=True, password=PASSWORD, name="Demo"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def signed_in(client, traveller):
    # A real password login, so allauth knows the person authenticated recently (re-authentication).
    response = client.post(reverse("account_login"), {"login": "demo@example.com", "password": PASSWORD})
    assert response.status_code == 302
    return client


def reauthenticate(client):
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302


def preferences(**overrides):
    data = {"name": "Demo", "language": "en", "notify_email": "on", "notify_sms": "on"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_profile_shows_how_the_traveller_logs_in(signed_in):
    page = signed_in.get(reverse("accounts:profile")).content.decode()

    assert "demo@example.com" in page
    assert "+377 6 12 34 56 78" in page


def test_the_profile_needs_a_login(client):
    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_traveller_chooses_language_and_notice_channels(signed_in, traveller):
    response = signed_in.post(reverse("accounts:profile"), preferences(language="fr", notify_email=None))

    assert response.status_code == 302
    traveller.refresh_from_db()
    assert (traveller.language, traveller.notify_email, traveller.notify_sms) == ("fr", False, True)
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"


def test_sms_notices_need_a_verified_phone(signed_in, traveller):
    traveller.phone_verified = False
    traveller.save()

    response = signed_in.post(reverse("accounts:profile"), preferences(notify_sms="on"))

    assert response.status_code == 200
    assert "verify a mobile phone number first" in str(response.context["form"].errors["notify_sms"])
    traveller.refresh_from_db()
    assert traveller.notify_sms is False


def test_the_language_switcher_saves_the_choice_of_a_signed_in_traveller(signed_in, traveller):
    response = signed_in.post(reverse("accounts:set_language"), {"language": "zh-hans", "next": "/account/"})

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    traveller.refresh_from_db()
    assert traveller.language == "zh-hans"
    assert signed_in.get(reverse("accounts:profile")).context["LANGUAGE_CODE"] == "zh-hans"


def test_the_language_switcher_sets_a_cookie_for_visitors(client):
    response = client.post(reverse("accounts:set_language"), {"language": "it", "next": "/accounts/login/"})

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    assert client.get(reverse("account_login")).context["LANGUAGE_CODE"] == "it"


def test_the_language_switcher_never_redirects_off_site(client):
    response = client.post(
        reverse("accounts:set_language"), {"language": "fr", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/"


def test_an_unknown_language_is_ignored(signed_in, traveller):
    signed_in.post(reverse("accounts:set_language"), {"language": "xx", "next": "/"})

    traveller.refresh_from_db()
    assert traveller.language == "en"


def test_changing_email_or_phone_asks_for_the_password_again(signed_in, sms_outbox):
    response = signed_in.post(
        reverse("account_change_phone"), {"phone_country": "FR", "phone_number": "06 12 34 56 78"}
    )

    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert sms_outbox == []


def test_a_traveller_changes_phone_and_it_counts_only_once_verified(signed_in, traveller, sms_outbox):
    reauthenticate(signed_in)
    response = signed_in.post(
        reverse("account_change_phone"), {"phone_country": "FR", "phone_number": "06 12 34 56 78"}
    )

    assert response["Location"] == reverse("account_verify_phone")
    [sms] = sms_outbox
    assert sms.to == "+33612345678"
    traveller.refresh_from_db()
    assert traveller.phone == "+377612345678"

    signed_in.post(reverse("account_verify_phone"), {"code": code_in(sms.body)})

    traveller.refresh_from_db()
    assert (traveller.phone, traveller.phone_verified) == ("+33612345678", True)


def test_a_phone_used_by_another_account_cannot_be_taken_nor_detected(signed_in, traveller, sms_outbox):
    holder = UserFactory(phone="+33612345678", phone_verified=True)
    reauthenticate(signed_in)

    response = signed_in.post(
        reverse("account_change_phone"), {"phone_country": "FR", "phone_number": "06 12 34 56 78"}
    )

    assert response["Location"] == reverse("account_verify_phone")  # as for a free number
    [sms] = sms_outbox
    assert sms.to == "+33612345678"
    assert "you already have an account" in sms.body  # its owner is told, and gets no code
    assert not re.search(r"\b\d{6}\b", sms.body)
    for guess in ("000000", "123456", "999999"):
        signed_in.post(reverse("account_verify_phone"), {"code": guess})
    traveller.refresh_from_db()
    holder.refresh_from_db()
    assert traveller.phone == "+377612345678"
    assert (holder.phone, holder.phone_verified) == ("+33612345678", True)


def test_a_traveller_changes_email_and_it_replaces_the_old_one_once_verified(signed_in, traveller):
    reauthenticate(signed_in)
    response = signed_in.post(reverse("account_email"), {"action_add": "", "email": "new@example.com"})

    assert response.status_code == 302
    traveller.refresh_from_db()
    assert traveller.email == "demo@example.com"
    [message] = mail.outbox
    assert message.to == ["new@example.com"]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)

    signed_in.post(urlsplit(link).path)

    traveller.refresh_from_db()
    assert traveller.email == "new@example.com"
    assert list(EmailAddress.objects.filter(user=traveller).values_list("email", "verified")) == [
        ("new@example.com", True)
    ]


def test_a_phone_only_traveller_adds_an_email(client, sms_outbox):
    user = UserFactory(email=None, phone="+377612345678", phone_verified=True, password=PASSWORD)
    client.post(reverse("account_login"), {"login": "+377 6 12 34 56 78", "password": PASSWORD})
    reauthenticate(client)

    client.post(reverse("account_email"), {"action_add": "", "email": "added@example.com"})
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    client.post(urlsplit(link).path)

    user.refresh_from_db()
    assert user.email == "added@example.com"


def test_a_traveller_changes_the_password(signed_in, traveller):
    new_password = "another long sea password"

    response = signed_in.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )

    assert response.status_code == 302
    traveller.refresh_from_db()
    assert traveller.check_password(new_password)
    [notice] = mail.outbox
    assert notice.to == ["demo@example.com"]
    assert "password" in notice.subject.lower()


def test_a_traveller_without_a_password_is_offered_to_set_one(client):
    user = UserFactory(email=None, phone="+377612345678", phone_verified=True)
    user.set_unusable_password()
    user.save()
    client.force_login(user)

    page = client.get(reverse("accounts:profile")).content.decode()

    assert reverse("account_set_password") in page
    assert "+377 6 12 34 56 78" in page


def test_an_unverified_phone_can_be_verified_from_the_phone_page(client, sms_outbox):
    user = UserFactory(email="mail@example.com", phone="+377612345678", phone_verified=False)
    user.set_unusable_password()  # nothing to re-authenticate with
    user.save()
    client.force_login(user)

    page = client.get(reverse("account_change_phone")).content.decode()
    assert "+377 6 12 34 56 78" in page
    assert "Send me a code to verify it" in page

    client.post(reverse("account_change_phone"), {"action": "verify"})
    client.post(reverse("account_verify_phone"), {"code": code_in(sms_outbox[0].body)})

    user.refresh_from_db()
    assert (user.phone, user.phone_verified) == ("+377612345678", True)


def test_pages_to_change_email_or_phone_carry_no_inline_style_the_csp_would_block(signed_in, traveller):
    reauthenticate(signed_in)
    signed_in.post(reverse("account_email"), {"action_add": "", "email": "pending@example.com"})

    for url in (reverse("account_email"), reverse("account_change_phone")):
        page = signed_in.get(url).content.decode()
        assert "style=" not in page, url


@pytest.fixture
def phone_only(client):
    user = UserFactory(
        email=None, phone="+377640123456", phone_verified=True, notify_email=True, notify_sms=False
    )
    client.force_login(user)
    return user


def test_a_phone_only_traveller_is_not_shown_notices_by_email(client, phone_only):
    form = client.get(reverse("accounts:profile")).context["form"]

    assert form["notify_email"].value() is False
    assert form.fields["notify_email"].disabled
    assert "Add an email address to get notices by email." in str(form["notify_email"].help_text)


def test_a_phone_only_traveller_cannot_turn_text_messages_off(client, phone_only):
    response = client.post(reverse("accounts:profile"), preferences(notify_email="on", notify_sms=None))

    assert response.status_code == 200
    assert "Text messages are the only way we can reach you" in response.content.decode()
    phone_only.refresh_from_db()
    assert phone_only.notify_sms is False  # unchanged: notices still reach them by SMS (notices rule)


def test_a_traveller_cannot_turn_every_channel_off(signed_in, traveller):
    response = signed_in.post(reverse("accounts:profile"), preferences(notify_email=None, notify_sms=None))

    assert response.status_code == 200
    assert "Keep at least one way for us to reach you" in response.content.decode()
    traveller.refresh_from_db()
    assert (traveller.notify_email, traveller.notify_sms) == (True, False)


def test_help_and_contact_pages_say_a_phone_only_traveller_is_answered_by_text_message(client, phone_only):
    help_page = client.get(reverse("usage:help")).content.decode()
    contact_page = client.get(reverse("support:ticket_new")).content.decode()

    assert "we will answer by text message" in help_page
    assert "answer by email" not in help_page
    assert "We answer by text message" in contact_page
    assert "We answer by email" not in contact_page
