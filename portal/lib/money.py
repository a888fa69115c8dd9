"""Money as integer cents: turning what staff type into cents, and the VAT included in a price."""

from decimal import Decimal

from django.db.models import Expression, F


def euros_to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def vat_included(gross_cents: int, rate_bp: int) -> int:
    """VAT included in a gross amount: gross * rate / (1 + rate), rounded half away from zero.

    `rate_bp` is in basis points (2000 = 20 %). Negative for a negative amount (credit notes). The
    revenue report sums the same formula in SQL (`vat_included_sql`), so both agree to the cent.
    """
    if gross_cents < 0:
        return -vat_included(-gross_cents, rate_bp)
    return (gross_cents * rate_bp * 2 + (10000 + rate_bp)) // (2 * (10000 + rate_bp))


def vat_included_sql(gross: Expression | F, rate_bp: Expression | F) -> Expression:
    """`vat_included` as a database expression over non-negative bigint columns (same rounding)."""
    return (gross * rate_bp * 2 + (rate_bp + 10000)) / ((rate_bp + 10000) * 2)


def vat_included_sql_text(gross: str, rate_bp: str) -> str:
    """`vat_included` as SQL text over two SQL expressions (the PostgreSQL CSV export writes its
    lines in one statement), symmetric around zero as it is."""
    return (
        f"(CASE WHEN {gross} < 0 THEN -1 ELSE 1 END) * ((abs({gross}) * {rate_bp} * 2"
        f" + (10000 + {rate_bp})) / (2 * (10000 + {rate_bp})))"
    )
