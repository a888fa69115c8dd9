"""Card-scoped renew links: the link in every alert and reminder that renews one card without a login.

The holder of a live link sees that card's data left and expiry and can pay for it, and nothing
else: no profile, no other card, no orders, no wallet, no saved payment method. A payment through
one is a normal order of the card's owner (receipt and confirmation go to the owner's channels).

Why a random token stored as its hash, not `django.core.signing`: revocation, the payment budget
and "logged out everywhere" need a row per link anyway, and once there is a row a signature adds
nothing a lookup does not give. 128 random bits make 22 characters, half a signed value's length:
it matters in a 160-character SMS. The database holds only SHA-256 of the token, so a read of it (a
backup, a support screen) cannot open anyone's renew page, and nothing depends on SECRET_KEY
(rotating it after a leak does not kill the links in messages already sent). A token is compared by
its hash through a unique index: no timing to learn from.

The token appears in the address once: the first request swaps it for a cookie scoped to /renew/
and redirects to an address without it, so it does not linger in the address bar, the history of a
borrowed phone or a Referer header (every renew page also sends `Referrer-Policy: no-referrer`).
Logs redact it (portal.lib.redact).
"""

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import Order, RenewLink
from billing.selectors import UNPAID_CLOSED_STATUSES
from plans.models import Plan
from usage.alerts import renew_url
from usage.models import Card

logger = logging.getLogger(__name__)

RENEW_LINK_LIFETIME = timedelta(hours=72)
# Orders one link may start that can still be paid (pending or paid): a traveller renews once, maybe
# twice; an abandoned checkout frees its slot when it expires or is cancelled.
RENEW_LINK_MAX_PAYMENTS = 2
TOKEN_BYTES = 16
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
# The cookie that carries the scope after the first visit: to /renew/ only, and idle for at most this.
SCOPE_COOKIE = "renew_scope"
SCOPE_COOKIE_SALT = "billing.renew_links.scope"
SCOPE_IDLE = timedelta(minutes=30)


class Refusal:
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"
    OWNER_CHANGED = "owner_changed"
    LOGGED_OUT = "logged_out"
    SUSPENDED = "suspended"


REFUSAL_MESSAGES = {
    Refusal.UNKNOWN: _("This renew link is not valid. Check that it was copied whole, or log in to renew."),
    Refusal.EXPIRED: _(
        "This renew link has expired (links last 72 hours). Log in to renew, or use the link in your latest message."
    ),
    Refusal.REVOKED: _(
        "This renew link was cancelled. Log in to renew, or use the link in your latest message."
    ),
    Refusal.USED_UP: _(
        "This renew link has already been used for as many payments as it allows. Log in to renew."
    ),
    Refusal.OWNER_CHANGED: _("This renew link is no longer valid. Log in to renew."),
    Refusal.LOGGED_OUT: _(
        "This renew link was cancelled when the account was logged out everywhere. Log in to renew."
    ),
    Refusal.SUSPENDED: _("This card is suspended. Please contact support."),
}


class RenewLinkRefused(services.BillingError):
    def __init__(self, refusal: str) -> None:
        self.refusal = refusal
        super().__init__(str(REFUSAL_MESSAGES[refusal]))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def renew_link_create(*, card: Card, purpose: str, now: datetime) -> tuple[RenewLink, str]:
    """A new link for the card's current owner. Returns it and its token (shown once, never stored)."""
    if card.owner_id is None:
        raise ValueError("A renew link needs a card with an owner.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = RenewLink.objects.create(
        card=card,
        owner_id=card.owner_id,
        token_hash=token_hash(token),
        purpose=purpose[:40],
        created_at=now,
        expires_at=now + RENEW_LINK_LIFETIME,
        max_payments=RENEW_LINK_MAX_PAYMENTS,
    )
    logger.info("Renew link %s created for card %s (%s)", link.pk, card.pk, purpose)
    return link, token


def renew_link_url(token: str) -> str:
    return settings.SITE_URL + reverse("billing:renew_link_open", args=[token])


def renew_link_url_for_notice(card: Card, kind: str) -> str:
    """usage.alerts' RenewUrlFor: a fresh link per alert (shared by its email and SMS)."""
    if card.owner_id is None:
        return renew_url(card)
    _link, token = renew_link_create(card=card, purpose=kind, now=timezone.now())
    return renew_link_url(token)


def renew_link_find(*, token: str) -> RenewLink | None:
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        return None
    return RenewLink.objects.select_related("card", "owner").filter(token_hash=token_hash(token)).first()


def renew_link_orders(*, link: RenewLink) -> QuerySet[Order]:
    return Order.objects.filter(renew_link=link)


def renew_link_payments_left(*, link: RenewLink) -> int:
    counted = renew_link_orders(link=link).exclude(status__in=UNPAID_CLOSED_STATUSES).count()
    return max(link.max_payments - counted, 0)


def renew_link_refusal(*, link: RenewLink | None, now: datetime, for_payment: bool = False) -> str:
    """Why this link cannot be used now ("" when it can). Bound to the card and its owner at creation."""
    if link is None:
        return Refusal.UNKNOWN
    if link.revoked_at is not None:
        return Refusal.REVOKED
    if now >= link.expires_at:
        return Refusal.EXPIRED
    owner = link.owner
    if link.card.owner_id != link.owner_id or not owner.is_active or owner.anonymised_at is not None:
        return Refusal.OWNER_CHANGED
    ended = getattr(owner, "sessions_ended_at", None)
    if ended is not None and ended >= link.created_at:
        return Refusal.LOGGED_OUT
    if for_payment:
        if link.card.suspended_at is not None:
            return Refusal.SUSPENDED
        if renew_link_payments_left(link=link) <= 0:
            return Refusal.USED_UP
    return ""


def renew_link_opened(*, link: RenewLink, now: datetime) -> None:
    RenewLink.objects.filter(pk=link.pk).update(opened_count=F("opened_count") + 1, last_opened_at=now)


def renew_link_revoke(*, link: RenewLink, reason: str, now: datetime) -> RenewLink:
    if link.revoked_at is None:
        RenewLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason=reason[:100]
        )
        link.refresh_from_db()
    return link


def renew_links_revoke_for_card(*, card: Card, reason: str, now: datetime) -> int:
    """Every live link of a card (the owner asks, support acts on a lost phone)."""
    return RenewLink.objects.filter(card=card, revoked_at__isnull=True, expires_at__gt=now).update(
        revoked_at=now, revoke_reason=reason[:100]
    )


def renew_link_order_create(
    *, link_id: int, plan: Plan, now: datetime, start_now_text: str = "", start_now_language: str = ""
) -> Order:
    """An order of the card's owner for this card, paid through the link: no credit, no promotion,
    no saved payment method. The link row is locked so two tabs cannot overspend its budget."""
    with transaction.atomic():
        link = RenewLink.objects.select_for_update().get(pk=link_id)
        link = RenewLink.objects.select_related("card", "owner").get(pk=link.pk)
        refusal = renew_link_refusal(link=link, now=now, for_payment=True)
        if refusal:
            raise RenewLinkRefused(refusal)
        order = services.order_create(
            user=link.owner,
            plan=plan,
            card=link.card,
            now=now,
            apply_wallet=False,
            save_payment_method=False,
            start_now_text=start_now_text,
            start_now_language=start_now_language,
        )
        order.renew_link = link
        order.save(update_fields=["renew_link"])
    logger.info("Order %s created through renew link %s", order.number, link.pk)
    return order


def renew_link_order_get(*, link: RenewLink, number: str) -> Order | None:
    """An order made through this very link; any other order is not the holder's to see."""
    return renew_link_orders(link=link).filter(number=number).first()
