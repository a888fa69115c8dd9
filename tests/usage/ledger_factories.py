"""Factories for the ledger, feed, alert and provisioning tests (owned by the ledger engineer)."""

import factory

from tests.accounts.factories import UserFactory
from usage.iccid import iccid_with_check_digit
from usage.models import Card


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    iccid = factory.Sequence(lambda n: iccid_with_check_digit(f"89377{n:013d}"))
    owner = factory.SubFactory(UserFactory)
    label = ""
