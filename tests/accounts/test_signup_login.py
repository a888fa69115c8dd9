import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.fixtures.mfa import current_totp, totp_enrol

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


def test_a_phone_only_sign_up_gets_notices_by_sms_and_an_email_sign_up_by_email(client, sms_outbox):
    signup(client, phone="06 40 12 34 56")
    signup(Client(), email="anna@example.com")

    phone_only = User.objects.get(phone="+377640123456")
    assert (phone_only.notify_email, phone_only.notify_sms) == (False, True)
    assert User.objects.get(email="anna@example.com").notify_email is True


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
    assert link.startswith(settings.SITE_URL + "/")  # never the Host the request came with

    client.post(urlsplit(link).path)

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


def test_a_taken_phone_answers_as_a_new_one_and_tells_its_owner(client, sms_outbox):
    UserFactory(phone="+377612345678", phone_verified=True)

    response = signup(client, phone="+377 6 12 34 56 78", email="new@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_verify_phone")  # as for a free number
    assert User.objects.count() == 1
    [sms] = sms_outbox
    assert "you already have an account" in sms.body
    assert not re.search(r"\b\d{6}\b", sms.body)
    assert mail.outbox == []


def test_a_taken_email_in_other_letters_answers_as_a_new_one_and_tells_its_owner(client):
    owner = UserFactory(email="anna@example.com")
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)

    response = signup(client, email="ANNA@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")  # as for a free address
    assert User.objects.count() == 1
    [message] = mail.outbox
    assert message.to == ["anna@example.com"]
    assert "already exists" in message.body


# --- Login -----------------------------------------------------------------------------------


@pytest.fixture
def traveller():
    user = UserFactory(
        email="demo@example.com", phone="+377612345678", phone_verified=True, password=PASSWORD
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def login(client, login, password=PASSWORD, country="MC"):
    return client.post(reverse("account_login"), {"login": login, "country": country, "password": password})


@pytest.mark.parametrize(
    ("typed", "country"),
    [
        ("+377 6 12 34 56 78", "MC"),
        ("06 12 34 56 78", "MC"),
        ("00377612345678", "FR"),
        ("+377612345678", "IT"),
    ],
)
def test_a_traveller_logs_in_by_phone_typed_any_usual_way(client, traveller, typed, country):
    response = login(client, typed, country=country)

    assert response.status_code == 302
    assert response["Location"] == reverse("usage:dashboard")
    assert logged_in_user(client) == traveller


def test_a_national_number_is_read_with_the_picked_country(client, traveller):
    response = login(client, "06 12 34 56 78", country="FR")  # +33…, somebody else's number

    assert response.status_code == 200
    assert logged_in_user(client) is None


def test_a_traveller_logs_in_by_email_in_any_letter_case(client, traveller):
    response = login(client, "Demo@Example.COM")

    assert response.status_code == 302
    assert logged_in_user(client) == traveller


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, traveller):
    response = login(client, "demo@example.com", password="not it at all")

    assert response.status_code == 200
    assert "not correct" in str(response.context["form"].non_field_errors())
    assert logged_in_user(client) is None


def test_an_email_only_account_must_be_verified_before_logging_in(client):
    UserFactory(email="fresh@example.com", password=PASSWORD)

    response = login(client, "fresh@example.com")

    assert response["Location"] == reverse("account_email_verification_sent")
    assert logged_in_user(client) is None
    assert mail.outbox[0].to == ["fresh@example.com"]


def test_a_staff_account_made_by_an_administrator_logs_in_without_an_email_round_trip(client):
    UserFactory(email="ops@example.com", is_staff=True, password=PASSWORD)  # createsuperuser-style

    response = login(client, "ops@example.com")

    assert response.status_code == 302
    # In, but nowhere until an authenticator app is set up (staff use a second factor).
    assert client.get(reverse("accounts:profile"))["Location"].startswith(reverse("mfa_activate_totp"))


def test_an_unverified_phone_is_verified_by_sms_at_login(client, sms_outbox):
    user = UserFactory(email=None, phone="+377612345678", phone_verified=False, password=PASSWORD)

    response = login(client, "06 12 34 56 78")

    assert response["Location"] == reverse("account_verify_phone")
    client.post(reverse("account_verify_phone"), {"code": code_in(sms_outbox[0].body)})
    user.refresh_from_db()
    assert user.phone_verified
    assert logged_in_user(client) == user


def test_a_traveller_logs_in_by_a_code_sent_by_sms(client, traveller, sms_outbox):
    response = client.post(
        reverse("account_request_login_code"), {"phone_country": "MC", "phone_number": "06 12 34 56 78"}
    )

    assert response["Location"] == reverse("account_confirm_login_code")
    [sms] = sms_outbox
    assert sms.to == "+377612345678"

    response = client.post(reverse("account_confirm_login_code"), {"code": code_in(sms.body)})

    assert response.status_code == 302
    assert logged_in_user(client) == traveller


def test_a_traveller_logs_in_by_a_code_sent_by_email(client, traveller, sms_outbox):
    client.post(reverse("account_request_login_code"), {"email": "demo@example.com", "phone_number": ""})

    [message] = mail.outbox
    client.post(reverse("account_confirm_login_code"), {"code": code_in(message.body)})

    assert logged_in_user(client) == traveller
    assert sms_outbox == []


def test_a_code_for_an_unknown_phone_logs_nobody_in_and_texts_nobody(client, traveller, sms_outbox):
    response = client.post(
        reverse("account_request_login_code"), {"phone_country": "MC", "phone_number": "+377 6 99 99 99 99"}
    )

    assert response.status_code == 302  # same answer as for a known number
    assert sms_outbox == []  # "no account uses this number" texts are off (SMS_UNKNOWN_ACCOUNT_TEXTS)
    response = client.post(reverse("account_confirm_login_code"), {"code": "123456"})
    assert logged_in_user(client) is None


def test_unknown_account_texts_can_be_switched_on(client, traveller, sms_outbox, settings):
    settings.SMS_UNKNOWN_ACCOUNT_TEXTS = True

    client.post(
        reverse("account_request_login_code"), {"phone_country": "MC", "phone_number": "+377 6 99 99 99 99"}
    )

    [sms] = sms_outbox
    assert sms.to == "+377699999999"
    assert "no account uses it" in sms.body
    assert not re.search(r"\b\d{6}\b", sms.body)


# --- Rate limits -----------------------------------------------------------------------------


def test_login_is_locked_after_repeated_failures_even_with_the_right_password(client, traveller):
    for _ in range(5):
        assert login(client, "+377 6 12 34 56 78", password="guess").status_code == 200

    response = login(client, "+377 6 12 34 56 78")

    assert "Too many failed login attempts" in str(response.context["form"].non_field_errors())
    assert logged_in_user(client) is None


def test_the_admin_login_is_locked_after_repeated_failures_too(client):
    staff = UserFactory(email="admin@example.com", is_staff=True, is_superuser=True, password=PASSWORD)
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    url = reverse("admin:login") + "?next=/admin/"
    for _ in range(5):
        response = client.post(url, {"login": "admin@example.com", "password": "guess"})
        assert response.status_code == 200

    response = client.post(url, {"login": "admin@example.com", "password": PASSWORD})

    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_the_admin_login_lets_staff_into_the_admin_with_their_authenticator_code(client):
    staff = UserFactory(email="admin@example.com", is_staff=True, is_superuser=True, password=PASSWORD)
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    totp_enrol(staff)

    response = client.post(
        reverse("admin:login") + "?next=/admin/", {"login": "admin@example.com", "password": PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302  # the password alone is not enough

    response = client.post(reverse("mfa_authenticate"), {"code": current_totp()})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_sends_visitors_to_the_protected_login(client):
    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("admin:login"))
    assert response.status_code == 200
    assert "login" in response.context["form"].fields


def test_a_signed_in_customer_is_not_bounced_around_by_the_admin_login(client, traveller):
    client.force_login(traveller)

    response = client.get(reverse("admin:login") + "?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == reverse("usage:dashboard")


# --- Password reset --------------------------------------------------------------------------


def test_a_traveller_resets_the_password_by_phone(client, traveller, sms_outbox):
    response = client.post(
        reverse("account_reset_password"),
        {"email": "", "phone_country": "MC", "phone_number": "06 12 34 56 78"},
    )
    assert response["Location"] == reverse("account_confirm_password_reset_code")
    [sms] = sms_outbox
    assert sms.to == "+377612345678"

    response = client.post(reverse("account_confirm_password_reset_code"), {"code": code_in(sms.body)})
    assert response["Location"] == reverse("account_complete_password_reset")
    new_password = "brand new sea breeze 7"
    client.post(
        reverse("account_complete_password_reset"), {"password1": new_password, "password2": new_password}
    )

    traveller.refresh_from_db()
    assert traveller.check_password(new_password)
    assert login(client, "+377 6 12 34 56 78", password=new_password).status_code == 302


def test_a_traveller_resets_the_password_by_email(client, traveller, sms_outbox):
    client.post(reverse("account_reset_password"), {"email": "demo@example.com", "phone_number": ""})
    [message] = mail.outbox

    client.post(reverse("account_confirm_password_reset_code"), {"code": code_in(message.body)})
    new_password = "brand new sea breeze 7"
    client.post(
        reverse("account_complete_password_reset"), {"password1": new_password, "password2": new_password}
    )

    traveller.refresh_from_db()
    assert traveller.check_password(new_password)
    assert sms_outbox == []


def test_a_reset_for_an_unknown_phone_sends_no_code(client, traveller, sms_outbox):
    response = client.post(
        reverse("account_reset_password"), {"phone_country": "MC", "phone_number": "+377 6 99 99 99 99"}
    )

    assert response["Location"] == reverse("account_confirm_password_reset_code")
    assert sms_outbox == []
    response = client.post(reverse("account_confirm_password_reset_code"), {"code": "123456"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_a_reset_needs_an_email_or_a_phone(client):
    response = client.post(reverse("account_reset_password"), {"email": "", "phone_number": ""})

    assert response.status_code == 200
    assert "Give an email address or a mobile phone number" in str(
        response.context["form"].non_field_errors()
    )


class BrokenSMSBackend:
    def send(self, message):
        from notices.sms import SMSError

        raise SMSError("provider down")


def test_a_failed_sms_at_signup_is_explained_and_a_new_code_can_be_asked_for(client, settings):
    settings.SMS_BACKEND = "tests.accounts.test_signup_login.BrokenSMSBackend"

    response = signup(client, phone="06 12 34 56 78")
    page = client.get(response["Location"])

    assert page.status_code == 200
    assert "could not send the text message" in page.content.decode()
    assert page.context["can_resend"]


def test_a_mistyped_number_can_be_corrected_on_the_code_page(client, sms_outbox):
    signup(client, phone="06 12 34 56 79")

    client.post(
        reverse("account_verify_phone"),
        {"action": "change", "phone_country": "MC", "phone_number": "06 12 34 56 78"},
    )
    client.post(reverse("account_verify_phone"), {"code": code_in(sms_outbox[-1].body)})

    user = User.objects.get()
    assert (user.phone, user.phone_verified) == ("+377612345678", True)
    assert [sms.to for sms in sms_outbox] == ["+377612345679", "+377612345678"]


def test_a_reset_by_both_email_and_phone_asks_to_pick_one(client, traveller, sms_outbox):
    response = client.post(
        reverse("account_reset_password"),
        {"email": "demo@example.com", "phone_country": "MC", "phone_number": "06 12 34 56 78"},
    )

    assert response.status_code == 200
    assert "not both" in str(response.context["form"].non_field_errors())
    assert sms_outbox == []
    assert mail.outbox == []


def test_a_login_code_needs_an_email_or_a_phone(client):
    response = client.post(reverse("account_request_login_code"), {"email": "", "phone_number": ""})

    assert response.status_code == 200
    assert "Give an email address or a mobile phone number" in str(
        response.context["form"].non_field_errors()
    )
