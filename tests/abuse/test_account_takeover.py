"""No pre-account takeover, no squatting, no enumeration (accounts.security, identifier rule).

An identifier (email or phone) belongs to an account only once it is verified. A code login goes only
through a verified identifier; a reset goes through a verified one, or an unverified one when nothing
else on the account is verified; a reset drops what is still unverified.
"""

import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "a long travel password 42"
VICTIM_EMAIL = "victim@example.com"
ATTACKER_PHONE = "+33612345678"


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def signup(client, *, email="", phone="", country="MC"):
    return client.post(
        reverse("account_signup"),
        {
            "email": email,
            "phone_country": country,
            "phone_number": phone,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


def signed_in_user(client):
    response = client.get(reverse("accounts:profile"))
    return response.context["user"] if response.status_code == 200 else None


@pytest.fixture
def attackers_account(sms_outbox):
    """The attack of the report: the victim's email and the attacker's own phone, phone verified."""
    attacker = Client()
    signup(attacker, email=VICTIM_EMAIL, phone="06 12 34 56 78", country="FR")
    attacker.post(reverse("account_verify_phone"), {"code": code_in(sms_outbox[-1].body)})
    account = User.objects.get(phone=ATTACKER_PHONE)
    assert account.phone_verified and account.email == VICTIM_EMAIL
    mail.outbox.clear()
    sms_outbox.clear()
    return account


def test_the_victim_signs_up_with_their_email_although_an_attacker_claimed_it(attackers_account):
    victim = Client()

    response = signup(victim, email=VICTIM_EMAIL)

    assert response["Location"] == reverse("account_email_verification_sent")
    fresh = User.objects.get(email=VICTIM_EMAIL)
    assert fresh != attackers_account
    attackers_account.refresh_from_db()
    assert attackers_account.email is None  # the unverified claim is gone
    assert attackers_account.is_active  # it keeps its own phone


def test_a_reset_by_the_victims_email_never_opens_the_attackers_account(attackers_account, sms_outbox):
    victim = Client()

    response = victim.post(reverse("account_reset_password"), {"email": VICTIM_EMAIL, "phone_number": ""})

    assert response["Location"] == reverse("account_confirm_password_reset_code")  # same answer as always
    assert not any(re.search(r"\b\d{6}\b", message.body) for message in mail.outbox)  # no code to use
    attackers_account.refresh_from_db()
    assert attackers_account.check_password(PASSWORD)


def test_a_login_code_to_the_victims_email_never_opens_the_attackers_account(attackers_account):
    victim = Client()

    victim.post(reverse("account_request_login_code"), {"email": VICTIM_EMAIL, "phone_number": ""})

    assert not any(re.search(r"\b\d{6}\b", message.body) for message in mail.outbox)
    assert signed_in_user(victim) is None


def test_the_confirmation_link_does_not_attach_the_victims_email_to_the_attackers_account(
    attackers_account, sms_outbox
):
    # The attacker asks for the confirmation mail to be sent again; the victim clicks it.
    EmailAddress.objects.filter(user=attackers_account).delete()
    address = EmailAddress.objects.create(
        user=attackers_account, email=VICTIM_EMAIL, verified=False, primary=True
    )
    key = EmailConfirmationHMAC(address).key

    Client().post(reverse("account_confirm_email", args=[key]))

    address.refresh_from_db()
    assert not address.verified


def test_an_attacker_cannot_keep_a_phone_in_an_account_the_victim_recovered(sms_outbox):
    # The attacker signs up with the victim's email and an unverified phone of their own choosing,
    # then the victim resets the password by email: the unverified phone does not stay.
    squatted = UserFactory(email=VICTIM_EMAIL, phone=ATTACKER_PHONE, phone_verified=False, password=PASSWORD)
    EmailAddress.objects.create(user=squatted, email=VICTIM_EMAIL, verified=False, primary=True)
    victim = Client()
    victim.post(reverse("account_reset_password"), {"email": VICTIM_EMAIL, "phone_number": ""})
    [message] = mail.outbox
    victim.post(reverse("account_confirm_password_reset_code"), {"code": code_in(message.body)})
    new_password = "the victim's own new password"

    victim.post(
        reverse("account_complete_password_reset"), {"password1": new_password, "password2": new_password}
    )

    squatted.refresh_from_db()
    assert squatted.phone is None
    assert EmailAddress.objects.get(user=squatted).verified
    assert squatted.check_password(new_password)


def test_a_login_code_to_an_unverified_number_opens_nothing(sms_outbox):
    UserFactory(email=None, phone=ATTACKER_PHONE, phone_verified=False, password=PASSWORD)
    owner_of_the_number = Client()

    owner_of_the_number.post(
        reverse("account_request_login_code"), {"phone_country": "FR", "phone_number": "06 12 34 56 78"}
    )

    assert not any(re.search(r"\b\d{6}\b", sms.body) for sms in sms_outbox)


# --- No enumeration ----------------------------------------------------------------------------


@pytest.fixture
def member():
    user = UserFactory(
        email="member@example.com", phone="+377612345678", phone_verified=True, password=PASSWORD
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def answer(response) -> tuple[int, str]:
    return response.status_code, response.get("Location", "")


def test_signing_up_with_a_registered_email_answers_exactly_as_a_new_one(member):
    known = answer(signup(Client(), email="member@example.com"))
    new = answer(signup(Client(), email="nobody@example.com"))

    assert known == new == (302, reverse("account_email_verification_sent"))
    [notice] = [message for message in mail.outbox if message.to == ["member@example.com"]]
    assert "already exists" in notice.body
    assert User.objects.filter(email="member@example.com").count() == 1


def test_signing_up_with_a_registered_phone_answers_exactly_as_a_new_one(member, sms_outbox):
    known = answer(signup(Client(), phone="06 12 34 56 78"))
    new = answer(signup(Client(), phone="06 12 34 56 79"))

    assert known == new == (302, reverse("account_verify_phone"))
    [notice] = [sms for sms in sms_outbox if sms.to == "+377612345678"]
    assert "already have an account" in notice.body


def test_adding_a_registered_email_in_the_profile_answers_as_a_free_one(member):
    other = UserFactory(email="other@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=other, email=other.email, verified=True, primary=True)
    client = Client()
    client.post(reverse("account_login"), {"login": "other@example.com", "password": PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    known = client.post(
        reverse("account_email"), {"action_add": "", "email": "member@example.com"}, follow=True
    )
    free = client.post(reverse("account_email"), {"action_add": "", "email": "free@example.com"}, follow=True)

    assert known.status_code == free.status_code == 200
    assert "already registered" not in known.content.decode()
    assert "member@example.com" in known.content.decode()
    [notice] = [message for message in mail.outbox if message.to == ["member@example.com"]]
    assert "already exists" in notice.body
    assert not EmailAddress.objects.filter(user=other, email="member@example.com").exists()


def test_links_in_those_notices_point_at_the_site_not_at_the_attackers_host(member, settings):
    settings.ALLOWED_HOSTS = ["*"]  # a proxy that passes any Host through
    signup(Client(HTTP_HOST="evil.example"), email="member@example.com")

    [notice] = mail.outbox
    links = re.findall(r"https?://[^\s]+", notice.body)
    assert links
    assert all(link.startswith(settings.SITE_URL + "/") for link in links), links
    assert "evil.example" not in notice.body + notice.subject


def test_staff_cannot_log_in_or_reset_by_a_code(sms_outbox):
    from tests.fixtures.mfa import totp_enrol

    staff = totp_enrol(
        UserFactory(email="ops@example.com", phone="+377612345670", phone_verified=True, is_staff=True)
    )
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    client = Client()

    client.post(reverse("account_request_login_code"), {"email": "ops@example.com", "phone_number": ""})
    client.post(
        reverse("account_reset_password"),
        {"email": "", "phone_country": "MC", "phone_number": "06 12 34 56 70"},
    )

    sent = [message.body for message in mail.outbox] + [sms.body for sms in sms_outbox]
    assert sent  # the staff member is told why
    assert not any(re.search(r"\b\d{6}\b", body) for body in sent)
    assert "authenticator" in " ".join(sent)


def test_an_unverified_claim_moves_once_its_real_owner_confirms_the_address(sms_outbox):
    squatter = UserFactory(email=None, phone=ATTACKER_PHONE, phone_verified=True, password=PASSWORD)
    EmailAddress.objects.create(user=squatter, email=VICTIM_EMAIL, verified=False, primary=False)
    owner = UserFactory(email="owner-old@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    client = Client()
    client.post(reverse("account_login"), {"login": "owner-old@example.com", "password": PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    client.post(reverse("account_email"), {"action_add": "", "email": VICTIM_EMAIL})
    [message] = [m for m in mail.outbox if m.to == [VICTIM_EMAIL]]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    client.post(urlsplit(link).path)

    owner.refresh_from_db()
    assert owner.email == VICTIM_EMAIL
    assert not EmailAddress.objects.filter(user=squatter, email=VICTIM_EMAIL).exists()


def test_plain_text_messages_carry_no_html_entities(sms_outbox, django_capture_on_commit_callbacks):
    from support.models import Ticket
    from support.services import ticket_answer

    customer = UserFactory(email="t@example.com", phone="+377612345678", phone_verified=True, notify_sms=True)
    ticket = Ticket.objects.create(user=customer, topic=Ticket.Topic.OTHER)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_answer(ticket=ticket, staff_user=None, body='Use <b>"Renew"</b> & wait: 5 < 6')

    [message] = [m for m in mail.outbox if m.to == ["t@example.com"]]
    assert 'Use <b>"Renew"</b> & wait: 5 < 6' in message.body
    assert "&lt;" not in message.body + message.subject and "&amp;" not in message.body + message.subject
    assert all("&amp;" not in sms.body and "&#x27;" not in sms.body for sms in sms_outbox)
