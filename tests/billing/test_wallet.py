import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import Wallet, WalletEntry
from billing.selectors import wallet_balance_cents
from billing.wallet import WalletError, wallet_credit_goodwill, wallet_move


def test_every_movement_is_an_entry_and_the_balance_follows(owner, outsider):
    now = timezone.now()
    wallet_credit_goodwill(user=owner, amount_cents=1000, staff_user=outsider, reason="Late renewal", now=now)
    wallet_move(user=owner, amount_cents=-300, kind=WalletEntry.Kind.ADJUSTMENT, now=now)

    entries = list(WalletEntry.objects.order_by("id").values_list("amount_cents", "balance_after_cents"))
    assert entries == [(1000, 1000), (-300, 700)]
    assert wallet_balance_cents(user=owner) == 700


def test_the_wallet_never_goes_negative(owner):
    wallet_move(user=owner, amount_cents=100, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())

    with pytest.raises(WalletError):
        wallet_move(user=owner, amount_cents=-101, kind=WalletEntry.Kind.ADJUSTMENT, now=timezone.now())

    assert wallet_balance_cents(user=owner) == 100


def test_the_database_refuses_a_negative_balance_too(owner):
    wallet = Wallet.objects.create(user=owner)

    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(balance_cents=-1)


def test_goodwill_needs_a_reason(owner, outsider):
    with pytest.raises(WalletError):
        wallet_credit_goodwill(
            user=owner, amount_cents=100, staff_user=outsider, reason=" ", now=timezone.now()
        )


def test_a_customer_without_a_wallet_has_nothing(owner):
    assert wallet_balance_cents(user=owner) == 0


def test_the_wallet_page_lists_the_travellers_movements_only(owner_client, owner, outsider):
    wallet_move(user=owner, amount_cents=1250, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    wallet_move(user=outsider, amount_cents=9999, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())

    page = owner_client.get(reverse("billing:wallet")).content.decode()

    assert "€12.50" in page
    assert "Goodwill credit" in page
    assert "€99.99" not in page
