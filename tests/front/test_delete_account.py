import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from billing.models import Order
from front.services import account_delete
from notices.models import Notification
from tests.accounts.factories import OrderFactory, UserFactory
from usage.models import Card

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "a long travel password 42"


@pytest.fixture
def traveller():
    user = UserFactory(
        email="anna@example.com",
        phone="+377612345678",
        phone_verified=True,
        notify_sms=True,
        name="Anna Traveller",
        password=PASSWORD,
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def order(traveller):
    return OrderFactory(customer=traveller)


def delete(client, **data):
    return client.post(reverse("front:account_delete"), {"action": "delete", "confirm": "on", **data})


def test_deleting_the_account_erases_personal_details_in_place(
    client, traveller, order, sms_outbox, django_capture_on_commit_callbacks
):
    client.force_login(traveller)

    with django_capture_on_commit_callbacks(execute=True):
        response = delete(client, password=PASSWORD)

    assert response.status_code == 302
    traveller.refresh_from_db()
    assert traveller.email is None
    assert traveller.phone is None
    assert traveller.name == ""
    assert traveller.is_active is False
    assert traveller.anonymised_at is not None
    assert not traveller.has_usable_password()
    assert not EmailAddress.objects.filter(user=traveller).exists()


def test_orders_stay_for_finance_but_no_longer_name_the_person(client, traveller, order):
    client.force_login(traveller)

    delete(client, password=PASSWORD)

    kept = Order.objects.get(pk=order.pk)
    assert kept.number == order.number
    assert kept.amount_charged_cents == order.amount_charged_cents
    assert kept.customer_id == traveller.pk  # the anonymised row, which holds nothing personal
    assert (kept.customer_email, kept.customer_phone) == ("", "")


def test_cards_are_released_from_the_person(client, traveller, order):
    client.force_login(traveller)

    delete(client, password=PASSWORD)

    card = Card.objects.get(pk=order.card_id)
    assert card.owner is None
    assert card.data_remaining == order.card.data_remaining  # the card itself is untouched


def test_a_confirmation_goes_to_the_old_address_and_then_the_address_is_forgotten(
    client, traveller, sms_outbox, django_capture_on_commit_callbacks
):
    client.force_login(traveller)

    with django_capture_on_commit_callbacks(execute=True):
        delete(client, password=PASSWORD)

    assert [m.to for m in mail.outbox] == [["anna@example.com"]]
    assert mail.outbox[0].subject == "Your account has been deleted"
    assert [s.to for s in sms_outbox] == ["+377612345678"]
    assert set(Notification.objects.values_list("status", "recipient")) == {("sent", "")}


def test_the_deleted_person_can_no_longer_log_in(client, traveller):
    client.force_login(traveller)
    delete(client, password=PASSWORD)

    response = client.post(reverse("account_login"), {"login": "anna@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_the_email_and_phone_are_free_for_a_new_account(client, traveller, sms_outbox):
    client.force_login(traveller)
    delete(client, password=PASSWORD)

    response = client.post(
        reverse("account_signup"),
        {
            "email": "anna@example.com",
            "phone_country": "MC",
            "phone_number": "06 12 34 56 78",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    assert User.objects.filter(email="anna@example.com", phone="+377612345678").count() == 1


def test_a_wrong_password_deletes_nothing(client, traveller):
    client.force_login(traveller)

    response = delete(client, password="not my password")

    assert response.status_code == 200
    assert "not correct" in str(response.context["form"].errors["password"])
    traveller.refresh_from_db()
    assert traveller.email == "anna@example.com"
    assert traveller.is_active


def test_the_confirmation_box_must_be_ticked(client, traveller):
    client.force_login(traveller)

    response = client.post(reverse("front:account_delete"), {"action": "delete", "password": PASSWORD})

    assert response.status_code == 200
    assert User.objects.get(pk=traveller.pk).anonymised_at is None


def test_a_traveller_can_confirm_with_a_code_sent_by_sms(client, traveller, sms_outbox):
    client.force_login(traveller)

    client.post(reverse("front:account_delete"), {"action": "send_code"})
    [sms] = sms_outbox
    code = re.search(r"\b(\d{6})\b", sms.body).group(1)
    response = delete(client, code=code)

    assert response.status_code == 302
    assert User.objects.get(pk=traveller.pk).anonymised_at is not None


def test_a_wrong_code_deletes_nothing(client, traveller, sms_outbox):
    client.force_login(traveller)
    client.post(reverse("front:account_delete"), {"action": "send_code"})
    code = re.search(r"\b(\d{6})\b", sms_outbox[0].body).group(1)

    response = delete(client, code="000000" if code != "000000" else "111111")

    assert response.status_code == 200
    assert User.objects.get(pk=traveller.pk).anonymised_at is None


def test_without_a_verified_phone_the_code_comes_by_email(client, sms_outbox):
    user = UserFactory(email="mail@example.com", phone=None, password=PASSWORD)
    client.force_login(user)

    client.post(reverse("front:account_delete"), {"action": "send_code"})

    assert sms_outbox == []
    assert re.search(r"\b\d{6}\b", mail.outbox[0].body)


def test_codes_cannot_be_asked_for_endlessly(client, traveller, sms_outbox):
    client.force_login(traveller)

    for _ in range(5):
        client.post(reverse("front:account_delete"), {"action": "send_code"})

    assert len(sms_outbox) == 3


def test_staff_accounts_are_not_deleted_from_the_profile(client):
    staff = UserFactory(is_staff=True, password=PASSWORD)
    client.force_login(staff)

    response = delete(client, password=PASSWORD)

    assert response.status_code == 302
    assert User.objects.get(pk=staff.pk).anonymised_at is None


def test_an_account_is_deleted_only_once(traveller):
    account_delete(user=traveller)

    with pytest.raises(ValueError, match="already been deleted"):
        account_delete(user=traveller)


class BrokenSMSBackend:
    def send(self, message):
        from notices.sms import SMSError

        raise SMSError("provider down")


def test_a_failed_code_sms_is_explained_not_a_crash(client, traveller, settings):
    settings.SMS_BACKEND = "tests.front.test_delete_account.BrokenSMSBackend"
    client.force_login(traveller)

    response = client.post(reverse("front:account_delete"), {"action": "send_code"}, follow=True)

    assert response.status_code == 200
    assert "could not send you a code" in response.content.decode()


@pytest.mark.parametrize("with_password", [True, False])
def test_the_delete_page_offers_the_right_way_to_confirm(client, traveller, with_password):
    if not with_password:
        traveller.set_unusable_password()
        traveller.save()
    client.force_login(traveller)

    page = client.get(reverse("front:account_delete")).content.decode()

    assert ('name="password"' in page) is with_password
    assert "Send me a code" in page or "Confirm with a code instead" in page
    assert "the payment methods you saved with our payment provider are deleted there" in page


def test_a_code_stops_working_after_three_wrong_tries(client, traveller, sms_outbox):
    client.force_login(traveller)
    client.post(reverse("front:account_delete"), {"action": "send_code"})
    code = re.search(r"\b(\d{6})\b", sms_outbox[0].body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        delete(client, code=wrong)

    response = delete(client, code=code)

    assert response.status_code == 200
    assert User.objects.get(pk=traveller.pk).anonymised_at is None


def test_password_guessing_on_the_delete_page_is_limited(client, traveller):
    client.force_login(traveller)
    for _ in range(10):
        assert delete(client, password="guess").status_code == 200

    response = delete(client, password="guess again")

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")


def test_deleting_the_account_deletes_the_stripe_customers_and_their_saved_payment_methods(
    client, traveller, fake_stripe, django_capture_on_commit_callbacks
):
    from billing import stripe_client
    from billing.models import AutoRenewal

    order = OrderFactory(customer=traveller)
    customer = order.stripe_customer_id = stripe_client.customer_create(user=traveller, order=order)
    order.save()
    AutoRenewal.objects.create(
        card=order.card,
        user=traveller,
        plan=order.plan,
        enabled=True,
        stripe_customer_id=customer,
        stripe_payment_method_id="pm_fake_saved",
    )
    OrderFactory(customer=traveller, stripe_customer_id="cus_gone_already")  # deleted at Stripe before
    OrderFactory(stripe_customer_id="cus_someone_else")
    client.force_login(traveller)

    with django_capture_on_commit_callbacks(execute=True):
        response = delete(client, password=PASSWORD)

    assert response.status_code == 302
    deleted = sorted(call.path for call in fake_stripe.calls_to("DELETE", r"/v1/customers/.*"))
    assert deleted == sorted(["/v1/customers/cus_gone_already", f"/v1/customers/{customer}"])
    assert customer not in fake_stripe.customers
    assert not AutoRenewal.objects.filter(user=traveller).exists()
    # The receipts keep naming the customer, for finance's reconciliation with Stripe.
    assert Order.objects.get(pk=order.pk).stripe_customer_id == customer


def test_in_demo_mode_deleting_the_account_calls_no_payment_provider(
    client, traveller, fake_stripe, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENTS_DEMO_MODE = True  # the fake still listens: any call would be recorded
    OrderFactory(customer=traveller, stripe_customer_id="cus_from_before_demo_mode")
    client.force_login(traveller)

    with django_capture_on_commit_callbacks(execute=True):
        response = delete(client, password=PASSWORD)

    assert response.status_code == 302
    assert fake_stripe.calls == []
