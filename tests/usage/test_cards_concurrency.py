"""Allocation and claims under concurrency, on PostgreSQL (SQLite has no row locks to test)."""

import pytest

from tests.fixtures.services import run_in_threads
from tests.usage.card_factories import InventoryCardFactory
from usage.models import Card
from usage.services import CardClaimRefused, EsimOutOfStock, card_claim, esim_allocate

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_eight_simultaneous_buyers_get_eight_different_profiles_and_the_ninth_none(django_user_model):
    InventoryCardFactory.create_batch(8)
    buyers = [
        django_user_model.objects.create_user(email=f"buyer{n}@example.com", password="x") for n in range(9)
    ]

    results = run_in_threads(9, lambda index: esim_allocate(user=buyers[index]))

    cards = [result for result in results if isinstance(result, Card)]
    assert len({card.pk for card in cards}) == 8
    assert sum(isinstance(result, EsimOutOfStock) for result in results) == 1
    assert Card.objects.filter(owner__isnull=False).count() == 8


def test_two_people_claiming_the_same_card_at_once_leave_it_with_one_owner(django_user_model):
    card = InventoryCardFactory(claim_code="K7QX9P")
    people = [
        django_user_model.objects.create_user(email=f"person{n}@example.com", password="x") for n in range(2)
    ]

    results = run_in_threads(
        2, lambda index: card_claim(user=people[index], iccid=card.iccid, claim_code="K7QX9P")
    )

    assert sum(isinstance(result, Card) for result in results) == 1
    assert sum(isinstance(result, CardClaimRefused) for result in results) == 1
    card.refresh_from_db()
    assert card.owner in people
