"""Money as integer cents: turning what staff type into cents."""

from decimal import Decimal


def euros_to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())
