from django import template

from usage.models import Card
from usage.selectors import card_name as card_display_name

register = template.Library()


@register.filter
def card_name(card: Card | None) -> str:
    """{{ card|card_name }} → "Léa's phone", or "eSIM …000023" for a card without a name."""
    if card is None:
        return ""
    return card_display_name(card)
