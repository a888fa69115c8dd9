"""Payments fail closed: production never lets customers confirm their own payment by accident.

The production-settings matrix runs `manage.py` in a subprocess per case (settings are read once per
process), like tests/portal/test_production_settings.py.
"""

import secrets

import pytest
from django.urls import reverse

from tests.billing.factories import PlanFactory
from tests.portal.test_production_settings import environment, manage  # noqa: F401 - fixture
from tests.support.factories import OrderFactory, UserFactory


def production(env: dict[str, str], **overrides: str) -> dict[str, str]:
    return {
        **env,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
        **overrides,
    }


STRIPE = {
    "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(12),
    "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(8),
}


def test_production_without_stripe_keys_refuses_to_start_naming_them(environment):  # noqa: F811
    result = manage(production(environment), "check")

    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set" in result.stderr
    assert "PAYMENTS_DEMO=1" in result.stderr


def test_an_empty_secret_file_counts_as_no_key(environment, tmp_path):  # noqa: F811
    empty = tmp_path / "stripe_key"
    empty.write_text("\n")
    env = production(
        environment, STRIPE_SECRET_KEY_FILE=str(empty), STRIPE_WEBHOOK_SECRET=STRIPE["STRIPE_WEBHOOK_SECRET"]
    )

    result = manage(env, "check")

    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY must be set" in result.stderr


def test_a_missing_webhook_secret_is_refused_too(environment):  # noqa: F811
    result = manage(production(environment, STRIPE_SECRET_KEY=STRIPE["STRIPE_SECRET_KEY"]), "check")

    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET must be set" in result.stderr


def test_the_demo_flag_in_production_starts_but_check_deploy_reports_an_error(environment):  # noqa: F811
    env = production(environment, PAYMENTS_DEMO="1")

    assert manage(env, "check").returncode == 0
    result = manage(env, "check", "--deploy")

    assert result.returncode != 0
    assert "billing.E001" in result.stderr + result.stdout


def test_the_demo_flag_and_a_stripe_key_together_are_refused(environment):  # noqa: F811
    result = manage(production(environment, PAYMENTS_DEMO="1", **STRIPE), "check")

    assert result.returncode != 0
    assert "PAYMENTS_DEMO is on and STRIPE_SECRET_KEY is set" in result.stderr


def test_production_with_stripe_keys_takes_real_payments(environment):  # noqa: F811
    code = "from django.conf import settings; print('demo' if settings.PAYMENTS_DEMO_MODE else 'stripe')"
    result = manage(production(environment, **STRIPE), "shell", "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "stripe"


# --- In the running site ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_cannot_confirm_their_own_payment_when_demo_payments_are_off(client, settings):
    settings.PAYMENTS_DEMO_MODE = False
    customer = UserFactory()
    order = OrderFactory(customer=customer, plan=PlanFactory(), status="pending", paid_at=None)
    client.force_login(customer)

    response = client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/plans/", "/accounts/login/"])
def test_every_page_says_demo_while_demo_payments_are_on(client, settings, path):
    settings.PAYMENTS_DEMO_MODE = True

    response = client.get(path, follow=True)

    assert "Demo: no real payment is taken on this site." in response.content.decode()


@pytest.mark.django_db
def test_no_demo_banner_when_payments_are_real(client, settings):
    settings.PAYMENTS_DEMO_MODE = False

    response = client.get("/accounts/login/")

    assert "no real payment" not in response.content.decode()
