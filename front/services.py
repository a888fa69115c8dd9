"""Writes that span several apps on the traveller's behalf. Each app erases or changes only what it
holds, through one named call; this is the one place that calls them together."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_anonymise
from billing.services import customer_data_erase
from usage.services import cards_release


@transaction.atomic
def account_delete(*, user: User, now: datetime | None = None) -> User:
    """Delete an account in place: personal details erased, records finance must keep stay.

    accounts erases the person (and refuses a staff or already deleted account, before anything
    else changes); billing keeps orders and the wallet without the email and phone, removes
    auto-renewals and deletes the Stripe customers after commit; usage releases the cards.
    """
    now = now or timezone.now()
    user_anonymise(user=user, now=now)
    customer_data_erase(user=user)
    cards_release(owner=user)
    return user
