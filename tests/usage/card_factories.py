"""Factories for the card, claim, eSIM and dashboard tests (owned by the cards engineer)."""

from datetime import timedelta

import factory
from django.utils import timezone

from tests.accounts.factories import UserFactory
from usage.iccid import iccid_with_check_digit
from usage.models import Card, LedgerEntry, UsageRecord
from usage.services import claim_code_hash

GB = 1_000_000_000


class OwnedCardFactory(factory.django.DjangoModelFactory):
    """An eSIM in use: 5 GB week plan started two days ago, 3.2 GB left."""

    class Meta:
        model = Card

    iccid = factory.Sequence(lambda n: iccid_with_check_digit(f"89377{n + 500_000:013d}"))
    kind = Card.Kind.ESIM
    activation_code = factory.Sequence(lambda n: f"LPA:1$smdp.example.net$MC-{n:06d}-ACTIVATE")
    owner = factory.SubFactory(UserFactory)
    period_allowance = 5 * GB
    data_remaining = 3_200_000_000
    period_started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=5))
    usage_updated_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=35))


class InventoryCardFactory(factory.django.DjangoModelFactory):
    """A free eSIM profile in stock, with claim code "CLAIM-<n>"."""

    class Meta:
        model = Card

    class Params:
        claim_code = factory.Sequence(lambda n: f"CLAIM{n:05d}")

    iccid = factory.Sequence(lambda n: iccid_with_check_digit(f"89377{n + 800_000:013d}"))
    kind = Card.Kind.ESIM
    activation_code = factory.Sequence(lambda n: f"LPA:1$smdp.example.net$STOCK-{n:06d}")
    owner = None
    claim_code_hash = factory.LazyAttribute(lambda card: claim_code_hash(card.claim_code))


def usage_entry(card: Card) -> LedgerEntry:
    """A `usage` ledger entry for records stored directly by a test (it changes no balance)."""
    return LedgerEntry.objects.create(
        card=card,
        kind=LedgerEntry.Kind.USAGE,
        data_delta=0,
        data_after=card.data_remaining,
        expires_before=card.expires_at,
        expires_after=card.expires_at,
    )


class UsageRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageRecord

    record_id = factory.Sequence(lambda n: f"test-usage-{n}")
    card = factory.SubFactory(OwnedCardFactory)
    ledger_entry = factory.LazyAttribute(lambda record: usage_entry(record.card))
    start = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    end = factory.LazyAttribute(lambda record: record.start + timedelta(minutes=30))
    bytes = 50_000_000
