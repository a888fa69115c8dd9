"""One search box for support: a customer by email, phone, name, ICCID, order number or Stripe id."""

import re

import phonenumbers
from django.conf import settings
from django.db.models import Q, QuerySet

from billing.models import Order, Refund
from usage.models import Card

STRIPE_ID_PREFIXES = ("pi_", "cs_", "ch_", "cus_", "re_", "py_", "pm_", "in_", "dp_", "du_")
ORDER_NUMBER = re.compile(r"^[A-Za-z]{2}-\d{4}-\d+$")


def phone_e164(term: str) -> str | None:
    """'+377 6 12 34 56 78', '06 12 34 56 78', '00377612345678' -> '+37761234567' (or None)."""
    cleaned = term.strip()
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not re.fullmatch(r"[+\d][\d\s().\-/]{5,}", cleaned):
        return None
    try:
        number = phonenumbers.parse(cleaned, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def customer_search_filter(term: str) -> Q:
    term = term.strip()
    query = Q(email__icontains=term) | Q(name__icontains=term) | Q(emailaddress__email__iexact=term)
    phone = phone_e164(term)
    if phone:
        query |= Q(phone=phone)
    digits = re.sub(r"[\s-]", "", term)
    if digits.isdigit() and len(digits) >= 8:
        query |= Q(pk__in=Card.objects.filter(iccid__contains=digits).values("owner"))
    if ORDER_NUMBER.match(term):
        query |= Q(pk__in=Order.objects.filter(number__iexact=term).values("customer"))
    if term.startswith(STRIPE_ID_PREFIXES):
        orders = Order.objects.filter(
            Q(stripe_payment_intent_id=term)
            | Q(stripe_checkout_session_id=term)
            | Q(stripe_charge_id=term)
            | Q(stripe_customer_id=term)
            | Q(pk__in=Refund.objects.filter(stripe_refund_id=term).values("order"))
        )
        query |= Q(pk__in=orders.values("customer"))
    return query


def customers_search(queryset: QuerySet, term: str) -> QuerySet:
    if not term.strip():
        return queryset
    return queryset.filter(customer_search_filter(term)).distinct()
