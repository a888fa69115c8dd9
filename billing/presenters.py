"""How an order reads to its customer: the live state on the status page, the list and the JSON poll."""

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.conf import settings
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from modeltranslation.utils import build_localized_fieldname

from billing.models import Order, Refund
from portal.lib.display import format_gb, format_monaco_datetime, format_money
from usage.models import LedgerEntry
from usage.network import (
    NetworkProgress,
    NetworkState,
    Step,
    entry_network_progress,
    network_note,
    network_steps,
    step_time,
)

PAYMENT_METHOD_LABELS = {
    "card": gettext_lazy("Card"),
    "apple_pay": gettext_lazy("Apple Pay"),
    "google_pay": gettext_lazy("Google Pay"),
    "link": gettext_lazy("Link"),
    "paypal": gettext_lazy("PayPal"),
    "alipay": gettext_lazy("Alipay"),
    "wechat_pay": gettext_lazy("WeChat Pay"),
    "wallet": gettext_lazy("Account credit"),
    "promotion": gettext_lazy("Promotion (nothing to pay)"),
    "demo": gettext_lazy("Demo payment, no money taken"),
}


@dataclass(frozen=True)
class PlanName:
    text: str
    # True: the name the plan had when sold (the order's snapshot). False: an order older than the
    # snapshot of every language, named by the plan's name in that language today.
    as_sold: bool


def order_plan_name(order: Order, language: str | None = None) -> PlanName:
    """The plan of an order, named as sold, in `language` (default: the active one)."""
    language = language or get_language() or settings.LANGUAGE_CODE
    if order.plan_names.get(language):
        return PlanName(order.plan_names[language], as_sold=True)
    if order.plan_names or language == settings.LANGUAGE_CODE:
        # Sold with no name in that language (the plan had none): the one it was sold under.
        return PlanName(order.plan_names.get(settings.LANGUAGE_CODE) or order.plan_name, as_sold=True)
    translated = (
        getattr(order.plan, build_localized_fieldname("name", language), None) if order.plan_id else None
    )
    if translated and translated != order.plan_name:
        return PlanName(translated, as_sold=False)
    return PlanName(order.plan_name, as_sold=True)


def payment_method_label(method_type: str) -> str:
    if not method_type:
        return _("Online payment")
    return str(PAYMENT_METHOD_LABELS.get(method_type, method_type.replace("_", " ").title()))


def order_steps(*, order: Order, topup: LedgerEntry | None, network: NetworkProgress) -> list[Step]:
    paid = Step("paid", _("Paid"), order.paid_at is not None, step_time(order.paid_at))
    return [paid, *network_steps(changed_at=topup.created_at if topup else None, network=network)]


@dataclass(frozen=True)
class OrderProgress:
    # waiting | checking | renewing | done | failed | closed | refund_pending | refunded |
    # refund_failed | disputed
    state: str
    status: str
    status_label: str
    message: str
    expires_at: datetime | None
    expires_at_display: str
    data_available_display: str
    finished: bool
    receipt_url: str
    pay_url: str
    esim_url: str = ""
    steps: tuple[Step, ...] = ()
    network_note: str = ""
    network_state: str = ""

    def as_json(self) -> dict:
        return {
            "state": self.state,
            "status": self.status,
            "status_label": self.status_label,
            "message": self.message,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "expires_at_display": self.expires_at_display,
            "data_available_display": self.data_available_display,
            "finished": self.finished,
            "receipt_url": self.receipt_url,
            "pay_url": self.pay_url,
            "esim_url": self.esim_url,
            "steps": [step.as_json() for step in self.steps],
            "network_note": self.network_note,
            "network_state": self.network_state,
        }


ACTIVE_NETWORK_STATES = (NetworkState.WAITING, NetworkState.SENDING)


def topups_by_order(order_ids: list[int]) -> dict[int, LedgerEntry]:
    return {
        cast(int, entry.order_id): entry  # the filter: top-ups of these orders
        for entry in LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TOPUP, order_id__in=order_ids)
    }


def _latest_refund(order: Order) -> Refund | None:
    """The refund the customer asked about last (a dispute's money is the bank's business)."""
    refunds = [refund for refund in order.refunds.all() if refund.source != Refund.Source.DISPUTE]
    return max(refunds, key=lambda refund: (refund.created_at, refund.pk)) if refunds else None


def _refund_destination(refund: Refund) -> str:
    if refund.destination == Refund.Destination.WALLET:
        return _("your account credit")
    return _("your payment method")


def order_progress(
    *,
    order: Order,
    now: datetime,
    topup: LedgerEntry | None = None,
    topup_loaded: bool = False,
    receipt_visible: bool = True,
    with_steps: bool = False,
) -> OrderProgress:
    """`receipt_visible=False` for the holder of a renew link: the receipt goes to the card's owner.
    `with_steps` adds each step with its time, the network's included (one more query).
    `topup_loaded`: the caller looked the top-up up already (`topups_by_order`), `None` means none."""
    Status = Order.Status
    if order.fulfilled_at is not None and topup is None and not topup_loaded:
        topup = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TOPUP, order_id=order.pk).first()
    expires_at = topup.expires_after if topup else None
    expires_display = format_monaco_datetime(expires_at) if expires_at else ""
    data_display = format_gb(topup.data_after) if topup else ""
    receipt_url = reverse("billing:receipt", args=[order.number]) if order.paid_at and receipt_visible else ""
    pay_url = order.checkout_url if order.status == Status.PENDING else ""
    network = entry_network_progress(entry=topup, now=now) if with_steps else None
    status_label = str(order.get_status_display())
    refund = _latest_refund(order) if order.paid_at else None

    if order.status == Status.PENDING and order.flag_reason == Order.FlagReason.PAYMENT_MISMATCH:
        # Stripe says it was paid, but not what the order says: never ask to pay again.
        state, pay_url = "checking", ""
        status_label = _("Being checked")
        message = _(
            "Payment received — it is being checked. We will contact you; there is nothing more to pay."
        )
    elif order.status == Status.PENDING:
        state, message = "waiting", _("Waiting for the payment to be confirmed…")
    elif order.status == Status.DISPUTED:
        state, message = (
            "disputed",
            _("This payment is disputed with your bank. Our support team will contact you."),
        )
    elif refund is not None and refund.is_in_flight:
        state, status_label = "refund_pending", _("Refund pending")
        message = _(
            "A refund of %(amount)s is on its way to %(destination)s. Banks can take up to 10 days to show it."
        ) % {
            "amount": format_money(refund.amount_cents, refund.currency),
            "destination": _refund_destination(refund),
        }
    elif refund is not None and refund.status in (Refund.Status.FAILED, Refund.Status.CANCELED):
        state, status_label = "refund_failed", _("Refund failed")
        message = _(
            "The refund of %(amount)s could not be completed. Your plan stays as it was; our support team "
            "will contact you."
        ) % {"amount": format_money(refund.amount_cents, refund.currency)}
    elif order.status == Status.PAID:
        state, message = "renewing", _("Payment received. Renewing your card…")
    elif (
        order.status == Status.FULFILLED
        and with_steps
        and network is not None
        and network.state == NetworkState.CONFIRMED
    ):
        state = "done"
        message = _("Done, and confirmed by the network — valid until %(expiry)s, %(data)s available.") % {
            "expiry": expires_display,
            "data": data_display,
        }
    elif order.status == Status.FULFILLED:
        state = "done"
        message = _("Done — valid until %(expiry)s, %(data)s available.") % {
            "expiry": expires_display,
            "data": data_display,
        }
    elif order.status == Status.FAILED:
        state, message = "failed", _("The payment did not go through. Nothing was charged.")
    elif order.status == Status.EXPIRED:
        state, message = "closed", _("The payment was not completed in time. Nothing was charged.")
    elif order.status == Status.CANCELLED:
        state, message = "closed", _("You cancelled this order. Nothing was charged.")
    else:
        state = "refunded"
        message = _("%(amount)s of %(paid)s refunded.") % {
            "amount": format_money(order.refunded_amount_cents, order.currency),
            "paid": format_money(order.paid_cents, order.currency),
        }
    return OrderProgress(
        state=state,
        status=order.status,
        status_label=str(status_label),
        message=str(message),
        expires_at=expires_at,
        expires_at_display=expires_display,
        data_available_display=data_display,
        # A renewal the network has not confirmed yet is still worth watching.
        finished=state not in ("waiting", "renewing")
        and not (state == "done" and network is not None and network.state in ACTIVE_NETWORK_STATES),
        receipt_url=receipt_url,
        pay_url=pay_url,
        # A new eSIM's card exists once the order is renewed: then the page offers to install it.
        esim_url=reverse("usage:card_esim", args=[order.card_id])
        if order.new_esim and order.card_id and order.fulfilled_at and receipt_visible
        else "",
        # A payment being checked has no steps to show: it is paid at Stripe, not here yet.
        steps=tuple(order_steps(order=order, topup=topup, network=network))
        if network and state != "checking"
        else (),
        network_note=network_note(network) if network and order.fulfilled_at else "",
        network_state=network.state if network else "",
    )
