"""No SMS pumping: texts go only to numbers that can be a traveller's own mobile, in allowed countries,
never to numbers without an account, within budgets per number and per address.

The numbers are those the penetration test texted: UK personal numbers (+44 70), Iridium (+8816),
international networks (+882), Cuba, Somalia, Sierra Leone.
"""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.phone import phone_sms_allowed

pytestmark = pytest.mark.django_db
PASSWORD = "a long travel password 42"

REFUSED_BY_TYPE = {
    "UK personal number": "+447012345678",
    "UK pager": "+447640123456",
    "UK UAN": "+445512345678",
    "UK premium rate": "+449012345678",
    "UK VoIP": "+445612345678",
    "Iridium satellite": "+881612345678",
    "international network": "+8823421234",
    "international network 883": "+883510012345",
    "Inmarsat": "+870301234567",
    "international freephone": "+80012345678",
    "international premium rate": "+979123456789",
}
REFUSED_BY_COUNTRY = {"Cuba": "+5351234567", "Somalia": "+252612345678", "Sierra Leone": "+23276123456"}
ACCEPTED = {
    "Monaco": "+377612345678",
    "France": "+33612345678",
    "China": "+8613812345678",
    "USA": "+14155550123",
}


def ask_for_a_code(number: str):
    return Client().post(
        reverse("account_request_login_code"), {"phone_country": "MC", "phone_number": number}
    )


def signup(number: str):
    return Client().post(
        reverse("account_signup"),
        {"phone_country": "MC", "phone_number": number, "password1": PASSWORD, "password2": PASSWORD},
    )


@pytest.mark.parametrize("number", REFUSED_BY_TYPE.values(), ids=REFUSED_BY_TYPE.keys())
def test_pumping_numbers_are_refused_at_sign_up_and_get_no_text(number, sms_outbox):
    response = signup(number)

    assert response.status_code == 200
    assert "cannot receive text messages" in str(response.context["form"].errors["phone"])
    assert sms_outbox == []


@pytest.mark.parametrize("number", REFUSED_BY_COUNTRY.values(), ids=REFUSED_BY_COUNTRY.keys())
def test_blocked_countries_are_refused(number, sms_outbox):
    response = ask_for_a_code(number)

    assert response.status_code == 200
    assert "numbers in this country" in str(response.context["form"].errors["phone"])
    assert sms_outbox == []


@pytest.mark.parametrize("number", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_travellers_mobiles_are_accepted(number, sms_outbox):
    response = signup(number)

    assert response.status_code == 302
    assert [sms.to for sms in sms_outbox] == [number]


def test_the_country_policy_is_configurable(settings, sms_outbox):
    settings.SMS_BLOCKED_COUNTRIES = []
    settings.SMS_ALLOWED_COUNTRIES = ["MC", "FR"]

    assert phone_sms_allowed("+5351234567") is False  # Cuba: not on the allowed list
    assert phone_sms_allowed("+8613812345678") is False
    assert phone_sms_allowed("+33612345678") is True
    settings.SMS_ALLOWED_COUNTRIES = []
    assert phone_sms_allowed("+5351234567") is True


def test_a_number_stored_before_the_policy_changed_gets_no_text(settings, sms_outbox):
    from tests.accounts.factories import UserFactory

    UserFactory(phone="+33612345678", phone_verified=True, password=PASSWORD)
    settings.SMS_BLOCKED_COUNTRIES = ["FR"]

    response = Client().post(
        reverse("account_reset_password"),
        {"email": "", "phone_country": "MC", "phone_number": "+33612345678"},
    )

    assert response.status_code == 200
    assert sms_outbox == []


def test_numbers_without_an_account_get_no_text_at_all(sms_outbox):
    for n in range(10):
        ask_for_a_code(f"+3776123456{n:02d}")
        Client().post(
            reverse("account_reset_password"),
            {"email": "", "phone_country": "MC", "phone_number": f"+3776123457{n:02d}"},
        )

    assert sms_outbox == []


def test_a_bad_country_list_stops_the_start_naming_the_variable(tmp_path):
    import os

    from tests.portal.test_production_settings import manage

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": str(tmp_path), "DEBUG": "1"}
    env["SMS_BLOCKED_COUNTRIES"] = "CU,XX"

    result = manage(env, "check")

    assert result.returncode != 0
    assert "SMS_BLOCKED_COUNTRIES: not two-letter country codes phonenumbers knows: XX" in result.stderr


# --- The whole portal's hourly budget --------------------------------------------------------------


@pytest.fixture
def small_hourly_budget(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "sms_global": "3/h/key"}
    settings.SMS_GLOBAL_PER_HOUR = 3


def test_beyond_the_hourly_budget_code_texts_pause_and_staff_are_told(
    small_hourly_budget, sms_outbox, mailoutbox, django_capture_on_commit_callbacks
):
    from tests.support.factories import staff_user

    agent = staff_user("support", email="agent@example.com")
    for n in range(5):  # from five addresses: no per-address limit helps
        with django_capture_on_commit_callbacks(execute=True):
            Client(REMOTE_ADDR=f"10.0.0.{n + 1}").post(
                reverse("account_signup"),
                {
                    "phone_country": "FR",
                    "phone_number": f"061234567{n}",
                    "password1": PASSWORD,
                    "password2": PASSWORD,
                },
            )
    blocked = Client(REMOTE_ADDR="10.0.0.99")
    with django_capture_on_commit_callbacks(execute=True):
        response = blocked.post(
            reverse("account_signup"),
            {
                "phone_country": "FR",
                "phone_number": "0612345679",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
            follow=True,
        )

    assert len(sms_outbox) == 3
    assert "cannot send text messages just now" in response.content.decode()
    alerts = [message for message in mailoutbox if message.to == [agent.email]]
    assert len(alerts) == 1  # once an hour, however many are refused
    assert "SMS budget" in alerts[0].subject


def test_the_portals_own_notices_still_go_out_when_the_budget_is_spent(small_hourly_budget, sms_outbox):
    from notices.sms import send_sms

    for n in range(3):
        send_sms(f"+3361234567{n}", "code", authentication=True)

    send_sms("+33612345670", "Your card is renewed")

    assert [sms.body for sms in sms_outbox][-1] == "Your card is renewed"


def test_the_sending_path_itself_refuses_numbers_outside_the_policy(sms_outbox):
    from notices.sms import SMSRefused, send_sms

    for number in (*REFUSED_BY_TYPE.values(), *REFUSED_BY_COUNTRY.values()):
        with pytest.raises(SMSRefused):
            send_sms(number, "hello")
    assert sms_outbox == []
