"""Rotating the carrier's usage secret without refusing a batch: old and new accepted side by side."""

import pytest
import time_machine
from django.db import transaction

from usage.ledger import card_topup
from usage.models import Card, UsageRecord

from .ledger_factories import CardFactory
from .test_feed import GB, MB, NOW, T0, WEEK, post, rec

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _two_secrets(settings):
    settings.CARRIER_USAGE_SECRET = "new-usage-secret, old-usage-secret"
    settings.CARRIER_USAGE_MAX_BODY_BYTES = 20_000


@pytest.fixture
def card():
    card = CardFactory()
    with transaction.atomic():
        locked = Card.objects.select_for_update().get(pk=card.pk)
        card_topup(card=locked, allowance_bytes=1 * GB, duration=WEEK, start=T0, order_id=card.pk, now=T0)
    card.refresh_from_db()
    return card


@time_machine.travel(NOW, tick=False)
def test_during_a_rotation_batches_signed_with_the_old_or_the_new_secret_are_both_applied(client, card):
    old = post(client, [rec(card, "r-old", MB)], secret="old-usage-secret")
    new = post(client, [rec(card, "r-new", MB)], secret="new-usage-secret")

    assert (old.status_code, new.status_code) == (200, 200)
    card.refresh_from_db()
    assert card.data_remaining == GB - 2 * MB


@time_machine.travel(NOW, tick=False)
def test_during_a_rotation_any_other_secret_is_still_refused(client, card):
    response = post(client, [rec(card, "r1", MB)], secret="new-usage-secret,old-usage-secret")

    assert response.status_code == 401
    assert UsageRecord.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_once_the_old_secret_is_removed_it_no_longer_signs_anything(client, card, settings):
    settings.CARRIER_USAGE_SECRET = "new-usage-secret"

    assert post(client, [rec(card, "r1", MB)], secret="old-usage-secret").status_code == 401
    assert post(client, [rec(card, "r2", MB)], secret="new-usage-secret").status_code == 200


def test_a_list_of_nothing_but_commas_counts_as_not_configured(client, settings):
    settings.CARRIER_USAGE_SECRET = " , ,"

    assert post(client, [], secret="x").status_code == 503
