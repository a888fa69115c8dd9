"""The ledger, wallet entries and audit trail refuse changes in PostgreSQL itself, not only in Python."""

import pytest
from django.db import IntegrityError, connection, transaction

from audit.models import AuditEntry
from billing.models import Wallet, WalletEntry
from tests.accounts.factories import UserFactory
from tests.usage.card_factories import OwnedCardFactory
from usage.models import LedgerEntry

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _sql_refused(statement: str, *params) -> str:
    """Run raw SQL as a shell user would; return PostgreSQL's refusal."""
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    return str(refused.value)


@pytest.fixture
def ledger_entry():
    card = OwnedCardFactory()
    return LedgerEntry.objects.create(
        card=card, kind="adjustment", data_delta=5, data_after=5, reason="goodwill"
    )


def test_a_ledger_entry_cannot_be_changed_or_deleted_even_with_raw_sql(ledger_entry):
    message = _sql_refused("UPDATE usage_ledgerentry SET data_delta = 500 WHERE id = %s", ledger_entry.pk)
    assert "usage_ledgerentry is append-only: rows cannot be changed" in message
    message = _sql_refused("DELETE FROM usage_ledgerentry WHERE id = %s", ledger_entry.pk)
    assert "rows cannot be deleted" in message
    ledger_entry.refresh_from_db()
    assert ledger_entry.data_delta == 5


def test_a_wallet_entry_cannot_be_changed_even_with_raw_sql():
    wallet = Wallet.objects.create(user=UserFactory(), balance_cents=100)
    entry = WalletEntry.objects.create(
        wallet=wallet, kind="goodwill", amount_cents=100, balance_after_cents=100
    )

    message = _sql_refused("UPDATE billing_walletentry SET amount_cents = 9999 WHERE id = %s", entry.pk)

    assert "billing_walletentry is append-only" in message


def test_the_audit_trail_outlives_a_removed_staff_account_but_cannot_be_rewritten():
    staff, other = UserFactory(is_staff=True), UserFactory(is_staff=True)
    entry = AuditEntry.objects.create(
        actor=staff, actor_label="agent@example.com", action="card.adjust", object_type="card", object_id="1"
    )

    message = _sql_refused(
        "UPDATE support_auditentry SET reason = 'nothing happened' WHERE id = %s", entry.pk
    )
    assert "support_auditentry is append-only: rows cannot be changed" in message
    message = _sql_refused("UPDATE support_auditentry SET actor_id = %s WHERE id = %s", other.pk, entry.pk)
    assert "actor_id may only be cleared" in message

    staff.delete()  # ON DELETE SET NULL: the one change the trail accepts

    entry.refresh_from_db()
    assert (entry.actor_id, entry.actor_label, entry.action) == (None, "agent@example.com", "card.adjust")
