import io

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from front.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development_mode(settings):
    settings.DEBUG = True  # seed_demo refuses to run in production mode


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_prints_every_login_with_the_password():
    output = seed()

    for login in ["demo@example.com", "+377 6 12 34 56 78", "support@example.com", "finance@example.com"]:
        assert login in output
    assert DEMO_PASSWORD in output


def test_the_demo_traveller_has_a_verified_email_and_a_verified_monaco_phone():
    seed()

    traveller = get_user_model().objects.get(email="demo@example.com")
    assert traveller.phone == "+377612345678"
    assert traveller.phone_verified is True
    assert traveller.is_staff is False
    address = EmailAddress.objects.get(user=traveller)
    assert (address.email, address.verified, address.primary) == ("demo@example.com", True, True)


def test_support_and_finance_are_staff_in_their_groups():
    seed()

    User = get_user_model()
    support = User.objects.get(email="support@example.com")
    finance = User.objects.get(email="finance@example.com")
    assert support.is_staff and finance.is_staff
    assert not (support.is_superuser or finance.is_superuser)
    assert list(support.groups.values_list("name", flat=True)) == ["support"]
    assert list(finance.groups.values_list("name", flat=True)) == ["finance"]


def test_running_it_twice_creates_nothing_new_and_keeps_the_logins_working():
    seed()
    User = get_user_model()
    counts = (User.objects.count(), EmailAddress.objects.count(), Group.objects.count())
    traveller = User.objects.get(email="demo@example.com")
    traveller.set_password("changed by someone")
    traveller.save()

    seed()

    assert (User.objects.count(), EmailAddress.objects.count(), Group.objects.count()) == counts
    traveller.refresh_from_db()
    assert traveller.check_password(DEMO_PASSWORD)


def test_the_printed_traveller_login_reaches_the_dashboard(client):
    seed()

    response = client.post(
        "/accounts/login/", {"login": "demo@example.com", "password": DEMO_PASSWORD}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"
    assert response.context["user"].email == "demo@example.com"


def test_it_refuses_to_run_in_production_mode_so_no_published_superuser_appears(tmp_path):
    """The published admin@example.com / password must never exist on a real site."""
    import secrets

    from tests.portal.test_production_settings import SETTINGS_VARIABLES, manage

    env = {name: value for name, value in __import__("os").environ.items() if name not in SETTINGS_VARIABLES}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "VAR_DIR": str(tmp_path),
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "portal.example.com",
            "PAYMENTS_DEMO": "1",
        }
    )

    result = manage(env, "seed_demo")

    assert result.returncode != 0
    assert "runs only with DEBUG on" in result.stderr
    assert "admin@example.com" not in result.stdout


def test_the_staff_get_the_printed_authenticator_secret():
    from allauth.mfa.models import Authenticator

    from front.management.commands.seed_demo import DEMO_TOTP_SECRETS

    output = seed()

    User = get_user_model()
    for email, secret in DEMO_TOTP_SECRETS.items():
        assert secret in output
        assert Authenticator.objects.filter(user=User.objects.get(email=email), type="totp").count() == 1
    seed()
    assert Authenticator.objects.filter(type="totp").count() == len(DEMO_TOTP_SECRETS)
