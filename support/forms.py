from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Order
from support.models import Ticket
from usage.models import Card


class TicketForm(forms.Form):
    topic = forms.ChoiceField(label=_("What is it about?"), choices=Ticket.Topic.choices)
    card = forms.ModelChoiceField(
        label=_("Card (optional)"), queryset=Card.objects.none(), required=False, empty_label=_("None")
    )
    order = forms.ModelChoiceField(
        label=_("Order (optional)"),
        queryset=Order.objects.none(),
        required=False,
        to_field_name="number",
        empty_label=_("None"),
    )
    body = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 6}), max_length=5000)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the traveller's own cards and orders can be chosen; anything else is an invalid choice.
        self.fields["card"].queryset = Card.objects.filter(owner=user)
        self.fields["order"].queryset = Order.objects.filter(customer=user).exclude(number=None)
        self.fields["card"].label_from_instance = lambda card: (
            f"{card.label} ({card.iccid})" if card.label else card.iccid
        )
        self.fields["order"].label_from_instance = lambda order: f"{order.number} — {order.plan_name}"


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
