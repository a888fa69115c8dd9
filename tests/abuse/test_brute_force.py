"""Guessing and spamming: every door that checks a secret or sends a text message is rate-limited."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from billing.models import Order
from tests.accounts.factories import UserFactory
from tests.billing.factories import PlanFactory, PromotionFactory
from tests.usage.card_factories import InventoryCardFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "a long travel password 42"
# settings.ACCOUNT_RATE_LIMITS "sms_number" and "sms_ip": texts per hour.
SMS_PER_NUMBER = 5
SMS_PER_IP = 20


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def monaco_mobile(n: int) -> str:
    return f"+3776123456{n:02d}"


def login(client, login_value, password):
    return client.post(reverse("account_login"), {"login": login_value, "password": password})


def is_logged_in(client) -> bool:
    return client.get(reverse("accounts:profile")).status_code == 200


@pytest.fixture
def traveller(db):
    user = UserFactory(
        email="demo@example.com", phone="+377612345678", phone_verified=True, password=PASSWORD
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


# --- Passwords ---------------------------------------------------------------------------------


def test_five_wrong_passwords_stop_the_guesser_but_not_the_owner(client, traveller):
    for _ in range(5):
        login(client, "demo@example.com", "guess")

    guesser = login(client, "demo@example.com", PASSWORD)
    owner = Client(REMOTE_ADDR="192.0.2.77")
    response = login(owner, "demo@example.com", PASSWORD)

    assert "Too many failed login attempts" in guesser.content.decode()
    assert not is_logged_in(client)
    assert response.status_code == 302
    assert is_logged_in(owner)


def test_a_botnet_spending_the_accounts_budget_never_locks_the_owners_own_phone(traveller, sms_outbox):
    owners_phone = Client(REMOTE_ADDR="192.0.2.77")
    login(owners_phone, "demo@example.com", PASSWORD)
    owners_phone.post(reverse("account_logout"))
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        for n in range(60):  # 50 an hour per account from new devices (password_failed_account)
            clock.move_to(start + timedelta(seconds=20 * n))
            login(Client(REMOTE_ADDR=f"10.0.{n // 250}.{n % 250 + 1}"), "demo@example.com", "guess")
        new_device = Client(REMOTE_ADDR="198.51.100.9")

        refused = login(new_device, "demo@example.com", PASSWORD)
        owner = login(owners_phone, "demo@example.com", PASSWORD)

        assert "Log in with a code" in refused.content.decode()
        assert owner.status_code == 302
        assert is_logged_in(owners_phone)
        # On a new device the owner comes in by a code sent to their own phone.
        new_device.post(
            reverse("account_request_login_code"), {"phone_country": "MC", "phone_number": "06 12 34 56 78"}
        )
        new_device.post(reverse("account_confirm_login_code"), {"code": code_in(sms_outbox[-1].body)})
        assert is_logged_in(new_device)


def test_a_forged_device_cookie_counts_as_no_device(client, traveller):
    client.cookies["portal_device"] = "forged"
    for _ in range(5):
        login(client, "demo@example.com", "guess")

    assert "Too many failed login attempts" in login(client, "demo@example.com", PASSWORD).content.decode()


def test_one_address_guessing_many_accounts_is_stopped(client, traveller):
    for n in range(10):
        login(client, f"someone{n}@example.com", "guess")

    response = login(client, "demo@example.com", PASSWORD)

    assert response.status_code in (200, 429)
    assert not is_logged_in(client)


def test_the_admin_login_is_rate_limited_like_the_customer_login(client):
    staff = UserFactory(email="admin@example.com", is_staff=True, is_superuser=True, password=PASSWORD)
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    url = reverse("admin:login") + "?next=/admin/"
    for _ in range(5):
        client.post(url, {"login": "admin@example.com", "password": "guess"})

    response = client.post(url, {"login": "admin@example.com", "password": PASSWORD})

    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/admin/").status_code == 302


# --- Codes -------------------------------------------------------------------------------------


def test_a_login_code_dies_after_three_wrong_guesses(client, traveller, sms_outbox):
    client.post(
        reverse("account_request_login_code"), {"phone_country": "MC", "phone_number": "06 12 34 56 78"}
    )
    right = code_in(sms_outbox[0].body)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        client.post(reverse("account_confirm_login_code"), {"code": wrong})

    client.post(reverse("account_confirm_login_code"), {"code": right})

    assert not is_logged_in(client)


def test_asking_for_login_codes_for_one_number_is_limited(client, traveller, sms_outbox):
    for _ in range(6):
        client.cookies.clear()
        response = client.post(
            reverse("account_request_login_code"), {"phone_country": "MC", "phone_number": "06 12 34 56 78"}
        )

    assert len(sms_outbox) == 3
    assert "Too many" in response.content.decode()


def test_a_phone_verification_code_dies_after_three_wrong_guesses(client, sms_outbox):
    client.post(
        reverse("account_signup"),
        {
            "phone_country": "MC",
            "phone_number": "06 12 34 56 78",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    right = code_in(sms_outbox[0].body)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        client.post(reverse("account_verify_phone"), {"code": wrong})

    client.post(reverse("account_verify_phone"), {"code": right})

    assert not User.objects.filter(phone_verified=True).exists()
    assert not is_logged_in(client)


def test_a_password_reset_code_dies_after_three_wrong_guesses(client, traveller, sms_outbox):
    client.post(
        reverse("account_reset_password"),
        {"email": "", "phone_country": "MC", "phone_number": "06 12 34 56 78"},
    )
    right = code_in(sms_outbox[0].body)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        client.post(reverse("account_confirm_password_reset_code"), {"code": wrong})

    response = client.post(reverse("account_confirm_password_reset_code"), {"code": right})

    assert response.get("Location") != reverse("account_complete_password_reset")


# --- Text messages cannot be used to spam a number or many numbers ------------------------------


def test_one_number_gets_at_most_five_texts_an_hour_whichever_page_asks(
    client, traveller, sms_outbox, settings
):
    number = {"phone_country": "MC", "phone_number": "06 12 34 56 78"}
    # Different pages and different browsers (fresh sessions), as a spammer would.
    for page in ["account_request_login_code", "account_reset_password"] * 4:
        client.cookies.clear()
        client.post(reverse(page), {"email": "", **number})

    assert len([sms for sms in sms_outbox if sms.to == "+377612345678"]) == SMS_PER_NUMBER == 5


def test_one_address_cannot_text_many_numbers(client, sms_outbox):
    for n in range(SMS_PER_IP + 10):
        client.cookies.clear()
        page = "account_request_login_code" if n % 2 else "account_reset_password"
        client.post(reverse(page), {"email": "", "phone_country": "MC", "phone_number": monaco_mobile(n)})

    assert len(sms_outbox) <= SMS_PER_IP
    assert len({sms.to for sms in sms_outbox}) <= SMS_PER_IP


def test_signups_from_one_address_cannot_text_many_numbers(client, sms_outbox):
    for n in range(SMS_PER_IP + 5):
        client.cookies.clear()
        client.post(
            reverse("account_signup"),
            {
                "phone_country": "MC",
                "phone_number": monaco_mobile(n),
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )

    assert len(sms_outbox) <= SMS_PER_IP


def test_a_spent_budget_is_explained_to_the_person(client, traveller, sms_outbox):
    number = {"email": "", "phone_country": "MC", "phone_number": "06 12 34 56 78"}
    for page in ["account_request_login_code", "account_reset_password"] * 2 + ["account_request_login_code"]:
        client.cookies.clear()
        client.post(reverse(page), number)
    client.cookies.clear()

    response = client.post(reverse("account_reset_password"), number, follow=True)

    assert len(sms_outbox) == SMS_PER_NUMBER
    assert "Too many text messages" in response.content.decode()


# --- Cards and promo codes ---------------------------------------------------------------------


def test_card_claims_are_refused_after_ten_wrong_pairs_even_with_the_right_one(client, traveller):
    card = InventoryCardFactory(claim_code="RIGHT1")
    client.force_login(traveller)
    for n in range(10):
        client.post(reverse("usage:card_claim"), {"iccid": card.iccid, "claim_code": f"WRONG{n}"})

    response = client.post(reverse("usage:card_claim"), {"iccid": card.iccid, "claim_code": "RIGHT1"})

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    card.refresh_from_db()
    assert card.owner is None


def test_promo_codes_are_refused_after_ten_wrong_guesses_even_the_right_one(client, traveller, settings):
    settings.PAYMENTS_DEMO_MODE = True
    plan = PlanFactory()
    PromotionFactory(code="SUMMER26")
    client.force_login(traveller)
    checkout = reverse("billing:checkout")
    for n in range(10):
        response = client.post(checkout, {"plan": plan.code, "card": "new", "promo_code": f"GUESS{n}"})
        assert response.status_code == 400

    response = client.post(checkout, {"plan": plan.code, "card": "new", "promo_code": "SUMMER26"})

    assert response.status_code == 429
    assert "Too many wrong promo codes" in response.content.decode()
    assert Order.objects.count() == 0


def test_promo_guessing_by_address_only_is_limited_too(client, traveller, settings):
    settings.PAYMENTS_DEMO_MODE = True
    plan = PlanFactory()
    client.force_login(traveller)
    for n in range(10):
        client.get(reverse("billing:checkout"), {"plan": plan.code, "card": "new", "promo_code": f"GUESS{n}"})

    response = client.get(
        reverse("billing:checkout"), {"plan": plan.code, "card": "new", "promo_code": "ANY"}
    )

    assert response.status_code == 429
