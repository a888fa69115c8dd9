import logging
from itertools import product

import pytest
from django.utils import timezone

from billing.models import Order
from billing.services import ORDER_TRANSITIONS, OrderTransitionRefused, order_create, order_transition

Status = Order.Status

# DOMAIN.md "Orders and payment", written out by hand so a change to the map has to change this too.
ALLOWED = {
    (Status.PENDING, Status.PAID),
    (Status.PENDING, Status.FAILED),
    (Status.PENDING, Status.EXPIRED),
    (Status.PENDING, Status.CANCELLED),
    (Status.PAID, Status.FULFILLED),
    (Status.PAID, Status.REFUNDED),
    (Status.PAID, Status.PARTIALLY_REFUNDED),
    (Status.FULFILLED, Status.REFUNDED),
    (Status.FULFILLED, Status.PARTIALLY_REFUNDED),
    (Status.PARTIALLY_REFUNDED, Status.REFUNDED),
    # Any paid state can be disputed.
    (Status.PAID, Status.DISPUTED),
    (Status.FULFILLED, Status.DISPUTED),
    (Status.PARTIALLY_REFUNDED, Status.DISPUTED),
    (Status.REFUNDED, Status.DISPUTED),
    # A refund that succeeded and failed later: back to what the order was without it.
    (Status.PARTIALLY_REFUNDED, Status.FULFILLED),
    (Status.PARTIALLY_REFUNDED, Status.PAID),
    (Status.REFUNDED, Status.PARTIALLY_REFUNDED),
    (Status.REFUNDED, Status.FULFILLED),
    (Status.REFUNDED, Status.PAID),
    # A dispute closed: won, back to the earlier state; lost, refunded as a refund would be; or the
    # payment was refunded in full while the dispute was open.
    (Status.DISPUTED, Status.PAID),
    (Status.DISPUTED, Status.FULFILLED),
    (Status.DISPUTED, Status.PARTIALLY_REFUNDED),
    (Status.DISPUTED, Status.REFUNDED),
}
EVERY_PAIR = list(product(Status.values, Status.values))


@pytest.fixture
def order(owner, card, week_plan):
    return order_create(user=owner, plan=week_plan, card=card, now=timezone.now())


def test_the_transition_map_is_exactly_the_domain_rules():
    assert {
        (source, target) for source, targets in ORDER_TRANSITIONS.items() for target in targets
    } == ALLOWED


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_an_allowed_transition_changes_the_status(order, source, target):
    Order.objects.filter(pk=order.pk).update(status=source)
    order.refresh_from_db()

    order_transition(order=order, to=target, now=timezone.now())

    order.refresh_from_db()
    assert order.status == target


@pytest.mark.parametrize(("source", "target"), sorted(set(EVERY_PAIR) - ALLOWED))
def test_any_other_transition_is_refused_and_logged(order, source, target, caplog):
    Order.objects.filter(pk=order.pk).update(status=source)
    order.refresh_from_db()

    with caplog.at_level(logging.WARNING, logger="billing.services"), pytest.raises(OrderTransitionRefused):
        order_transition(order=order, to=target, now=timezone.now())

    order.refresh_from_db()
    assert order.status == source
    assert f"refused transition {source} -> {target}" in caplog.text


def test_a_transition_records_when_it_happened(order):
    now = timezone.now()
    order_transition(order=order, to=Status.PAID, now=now)
    order_transition(order=order, to=Status.FULFILLED, now=now)

    order.refresh_from_db()
    assert order.paid_at == now
    assert order.fulfilled_at == now
