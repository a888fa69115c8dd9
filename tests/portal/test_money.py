import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import BigIntegerField, Value
from django.db.models.functions import Cast

from portal.lib.money import vat_included, vat_included_sql


def test_the_vat_in_a_price_that_includes_20_percent_is_a_sixth_rounded_half_up():
    assert vat_included(1490, 2000) == 248  # 248.33
    assert vat_included(3, 2000) == 1  # 0.5 rounds up
    assert vat_included(0, 2000) == 0


def test_a_credit_note_carries_the_same_vat_with_a_minus_sign():
    assert vat_included(-1490, 2000) == -248
    assert vat_included(-3, 2000) == -1


@pytest.mark.django_db
@pytest.mark.parametrize("rate", [0, 550, 1000, 2000])
def test_the_revenue_reports_sql_gives_the_same_vat_as_the_invoices(rate):
    amounts = [*range(0, 130), 1490, 99_999, 1_000_001]
    expressions = {
        f"vat_{amount}": vat_included_sql(
            Cast(Value(amount), BigIntegerField()), Cast(Value(rate), BigIntegerField())
        )
        for amount in amounts
    }
    row = ContentType.objects.annotate(**expressions).values(*expressions).first()
    assert {name: int(value) for name, value in row.items()} == {
        f"vat_{amount}": vat_included(amount, rate) for amount in amounts
    }


@pytest.mark.django_db
def test_the_sql_text_of_the_postgresql_export_gives_the_same_vat(settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the COPY export runs on PostgreSQL only")
    from portal.lib.money import vat_included_sql_text

    amounts = [*range(-130, 130), 1490, -1490, 99_999]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(vat_included_sql_text(f"({amount})::bigint", "2000") for amount in amounts)
        )
        row = cursor.fetchone()
    assert list(row) == [vat_included(amount, 2000) for amount in amounts]
