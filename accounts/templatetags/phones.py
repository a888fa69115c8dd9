from django import template

from accounts.phone import phone_display

register = template.Library()


@register.filter
def phone(value: str | None) -> str:
    """+377612345678 → +377 6 12 34 56 78."""
    return phone_display(value)
