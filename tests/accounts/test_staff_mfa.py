"""Staff accounts are stronger than customers': a second factor before any page, shorter sessions."""

import time
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.fixtures.mfa import current_totp, totp_enrol

pytestmark = pytest.mark.django_db
PASSWORD = "a long travel password 42"


@pytest.fixture
def staff():
    user = UserFactory(email="agent@example.com", is_staff=True, is_superuser=True, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def password_login(client: Client, email: str = "agent@example.com") -> None:
    client.post(reverse("account_login"), {"login": email, "password": PASSWORD})


def test_a_stolen_staff_password_alone_opens_no_admin_page(client, staff):
    totp_enrol(staff)
    password_login(client)

    for path in ("/admin/", "/admin/accounts/user/", "/support/finance/export/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/admin/" not in response["Location"] or "login" in response["Location"], path


def test_staff_without_an_authenticator_can_only_set_one_up(client, staff):
    password_login(client)

    response = client.get("/admin/")

    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_staff_enrol_totp_and_then_reach_the_admin(client, staff):
    password_login(client)
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret

    response = client.post(reverse("mfa_activate_totp"), {"code": current_totp(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert client.get("/admin/").status_code == 200


def test_a_recovery_code_stands_in_for_a_lost_phone(client, staff):
    password_login(client)
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": current_totp(secret)})
    codes = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"]
    client.post(reverse("account_logout"))
    other = Client()

    password_login(other)
    other.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert other.get("/admin/").status_code == 200


def test_staff_cannot_remove_their_own_authenticator(client, staff):
    totp_enrol(staff)
    password_login(client)
    client.post(reverse("mfa_authenticate"), {"code": current_totp()})

    client.post(reverse("mfa_deactivate_totp"))

    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()


def test_a_staff_session_ends_with_the_browser_and_after_eight_hours(client, staff):
    totp_enrol(staff)
    password_login(client)
    client.post(reverse("mfa_authenticate"), {"code": current_totp()})
    response = client.get("/admin/")
    assert response.status_code == 200
    assert client.session.get_expire_at_browser_close()

    with time_machine.travel(time.time() + 8 * 3600 + 60):
        response = client.get("/admin/")

    assert response.status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_a_customer_session_is_not_shortened(client):
    customer = UserFactory(
        email="c@example.com", phone="+377612345678", phone_verified=True, password=PASSWORD
    )
    EmailAddress.objects.create(user=customer, email=customer.email, verified=True, primary=True)
    password_login(client, "c@example.com")

    with time_machine.travel(time.time() + 9 * 3600):
        assert client.get(reverse("accounts:profile")).status_code == 200
    assert not client.session.get_expire_at_browser_close()


def test_guessing_a_staff_members_authenticator_code_is_limited(client, staff):
    totp_enrol(staff)
    password_login(client)
    for _ in range(5):
        client.post(reverse("mfa_authenticate"), {"code": "000000"})

    response = client.post(reverse("mfa_authenticate"), {"code": current_totp()})

    assert client.get("/admin/").status_code == 302
    assert response.status_code == 200


def test_an_open_staff_session_cannot_read_the_recovery_codes_without_reauthenticating(client, staff):
    totp_enrol(staff)
    Authenticator.objects.filter(user=staff).update(created_at=timezone.now() - timedelta(days=30))
    RecoveryCodes.activate(staff)
    password_login(client)
    client.post(reverse("mfa_authenticate"), {"code": current_totp()})
    assert client.get("/admin/").status_code == 200

    def asked_to_reauthenticate(name: str) -> bool:
        response = client.get(reverse(name))
        return response.status_code == 302 and response["Location"].startswith(
            reverse("account_reauthenticate")
        )

    assert asked_to_reauthenticate("mfa_view_recovery_codes")
    assert asked_to_reauthenticate("mfa_download_recovery_codes")

    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = client.get(reverse("mfa_view_recovery_codes"))
    assert page.status_code == 200
    assert len(page.context["unused_codes"]) == 10
    assert client.get(reverse("mfa_download_recovery_codes")).status_code == 200

    # Ten minutes later the session is still open (a desk left unattended): asked again.
    with time_machine.travel(time.time() + 600):
        assert asked_to_reauthenticate("mfa_view_recovery_codes")
        assert asked_to_reauthenticate("mfa_download_recovery_codes")
