"""DOMAIN.md "Renewal": applied once per paid order, from paid_at, carrying data over before expiry."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from billing.models import Order
from billing.services import FulfilmentNotReady, order_create, order_fulfil, order_mark_paid
from notices import sms
from notices.models import Notification
from tests.billing.factories import GB
from usage.models import LedgerEntry, ProvisioningEvent

PAID = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)


def paid_order(owner, card, plan, *, paid_at=PAID, now=None):
    order = order_create(user=owner, plan=plan, card=card, now=paid_at - timedelta(minutes=2))
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=paid_at)
    return order


def test_renewing_before_expiry_extends_it_and_carries_the_data_over(owner, card, week_plan):
    card.expires_at = PAID + timedelta(days=2)
    card.data_remaining = 1 * GB
    card.save()
    order = paid_order(owner, card, week_plan)

    order_fulfil(order_id=order.pk, now=PAID + timedelta(seconds=1))

    card.refresh_from_db()
    assert card.expires_at == PAID + timedelta(days=9)
    assert card.data_remaining == 6 * GB


def test_renewing_after_expiry_starts_a_new_period_from_the_payment(owner, card, week_plan):
    card.expires_at = PAID - timedelta(days=1)
    card.data_remaining = 1 * GB  # not swept yet: forfeited all the same
    card.save()
    order = paid_order(owner, card, week_plan)

    order_fulfil(order_id=order.pk, now=PAID + timedelta(seconds=1))

    card.refresh_from_db()
    assert card.expires_at == PAID + timedelta(days=7)
    assert card.data_remaining == 5 * GB


def test_a_late_worker_renews_from_the_payment_time(owner, card, week_plan):
    card.expires_at = PAID + timedelta(minutes=30)
    card.data_remaining = 1 * GB
    card.save()
    order = paid_order(owner, card, week_plan)

    # The worker runs two hours late, after the card's old expiry: the traveller loses nothing.
    order_fulfil(order_id=order.pk, now=PAID + timedelta(hours=2))

    card.refresh_from_db()
    assert card.expires_at == PAID + timedelta(minutes=30) + timedelta(days=7)
    assert card.data_remaining == 6 * GB


def test_a_late_worker_on_an_expired_card_starts_the_period_at_payment(owner, card, week_plan):
    card.expires_at = PAID - timedelta(days=3)
    card.save()
    order = paid_order(owner, card, week_plan)

    order_fulfil(order_id=order.pk, now=PAID + timedelta(hours=5))

    card.refresh_from_db()
    assert card.expires_at == PAID + timedelta(days=7)


def test_fulfilling_twice_renews_once_and_confirms_once(owner, card, week_plan):
    card.expires_at = PAID + timedelta(days=1)
    card.save()
    order = paid_order(owner, card, week_plan)

    order_fulfil(order_id=order.pk, now=PAID)
    order_fulfil(order_id=order.pk, now=PAID + timedelta(seconds=5))

    card.refresh_from_db()
    assert card.expires_at == PAID + timedelta(days=8)
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1
    assert len(mail.outbox) == 1


def test_it_writes_a_topup_entry_and_a_provisioning_event(owner, card, week_plan):
    order = paid_order(owner, card, week_plan)

    order_fulfil(order_id=order.pk, now=PAID)

    entry = LedgerEntry.objects.get(order_id=order.pk)
    assert entry.kind == "topup"
    assert ProvisioningEvent.objects.filter(ledger_entry=entry).exists()


def test_an_unpaid_order_is_not_fulfilled(owner, card, week_plan):
    order = order_create(user=owner, plan=week_plan, card=card, now=PAID)

    with pytest.raises(FulfilmentNotReady):
        order_fulfil(order_id=order.pk, now=PAID)

    assert not LedgerEntry.objects.filter(order_id=order.pk).exists()


def test_an_order_refunded_before_fulfilment_is_not_renewed(owner, card, week_plan):
    order = paid_order(owner, card, week_plan)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)

    order_fulfil(order_id=order.pk, now=PAID)

    assert not LedgerEntry.objects.filter(order_id=order.pk).exists()


def test_the_confirmation_goes_by_sms_too_when_chosen_in_the_travellers_language(owner, card, week_plan):
    owner.language = "fr"
    owner.notify_sms = True
    owner.phone_verified = True
    owner.save()
    order = paid_order(owner, card, week_plan)

    order_fulfil(order_id=order.pk, now=PAID)

    [email] = mail.outbox
    [text] = sms.outbox
    assert text.to == "+37761234567"
    assert order.number in text.body
    assert order.number in email.body
    assert text.body.endswith(f"/o/{order.number}")  # the short link to the receipt
    assert set(Notification.objects.values_list("channel", "language")) == {("email", "fr"), ("sms", "fr")}


def test_a_repeated_payment_notice_leaves_the_paid_time_alone(owner, card, week_plan):
    order = order_create(user=owner, plan=week_plan, card=card, now=PAID)

    order_mark_paid(order_id=order.pk, paid_at=PAID, now=PAID)
    order_mark_paid(order_id=order.pk, paid_at=PAID + timedelta(minutes=5), now=PAID + timedelta(minutes=5))

    order.refresh_from_db()
    assert order.paid_at == PAID
    assert order.status == Order.Status.FULFILLED


def test_a_phone_only_traveller_gets_the_confirmation_by_sms(owner, card, week_plan):
    # Signed up before phone-only accounts defaulted to SMS: "by email" stored, no address.
    owner.email, owner.notify_email, owner.notify_sms, owner.phone_verified = None, True, False, True
    owner.save()
    order = paid_order(owner, card, week_plan)

    order_fulfil(order_id=order.pk, now=PAID)

    assert mail.outbox == []
    [text] = sms.outbox
    assert text.to == "+37761234567"
    assert order.number in text.body
