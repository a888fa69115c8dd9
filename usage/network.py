"""How a ledger change stands with the mobile network, in words: for the order and card pages.

"It took" means the network took it: a change is renewed in the portal, sent to the carrier, and
confirmed when the carrier acknowledges its provisioning event (usage.provisioning). Not confirmed
within CONFIRMATION_BOUND, the order is flagged for support and the traveller is told so.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from portal.lib.display import format_monaco_compact
from usage.models import LedgerEntry, ProvisioningEvent
from usage.provisioning import CONFIRMATION_BOUND, State


class NetworkState:
    WAITING = "waiting"  # recorded, not sent yet
    SENDING = "sending"  # sent, no acknowledgement yet (retrying)
    CONFIRMED = "confirmed"  # the carrier acknowledged it
    SEPARATE = "separate"  # no carrier configured here: the network is updated separately
    LATE = "late"  # not acknowledged within CONFIRMATION_BOUND: support is told
    FAILED = "failed"  # gave up after MAX_ATTEMPTS


@dataclass(frozen=True)
class NetworkProgress:
    state: str
    sent_at: datetime | None
    confirmed_at: datetime | None
    attempts: int

    @property
    def settled(self) -> bool:
        """Nothing more to wait for on the page (confirmed, or not ours to confirm)."""
        return self.state in (NetworkState.CONFIRMED, NetworkState.SEPARATE)


def network_progress(*, event: ProvisioningEvent | None, now: datetime) -> NetworkProgress:
    """Where a ledger change stands with the network, as the traveller and support see it."""
    if event is None:
        return NetworkProgress(state=NetworkState.WAITING, sent_at=None, confirmed_at=None, attempts=0)
    sent_at = event.first_attempted_at
    if event.state == State.SENT:
        state = NetworkState.CONFIRMED
    elif event.state == State.NOT_SENT:
        state = NetworkState.SEPARATE
    elif event.state == State.FAILED:
        state = NetworkState.FAILED
    elif now - event.created_at >= CONFIRMATION_BOUND:
        state = NetworkState.LATE
    elif event.attempts:
        state = NetworkState.SENDING
    else:
        state = NetworkState.WAITING
    return NetworkProgress(state=state, sent_at=sent_at, confirmed_at=event.sent_at, attempts=event.attempts)


def entry_network_progress(*, entry: LedgerEntry | None, now: datetime) -> NetworkProgress:
    event = ProvisioningEvent.objects.filter(ledger_entry=entry).first() if entry is not None else None
    return network_progress(event=event, now=now)


@dataclass(frozen=True)
class Step:
    """One step of an order on its way to the network: paid, renewed, sent, confirmed."""

    key: str
    label: str
    done: bool
    at_display: str = ""
    note: str = ""

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "done": self.done,
            "at": self.at_display,
            "note": self.note,
        }


def step_time(value: datetime | None) -> str:
    return format_monaco_compact(value) if value else ""


def network_note(network: NetworkProgress) -> str:
    """What the traveller is told about the network's side, in one sentence."""
    if network.state == NetworkState.SEPARATE:
        return _(
            "The mobile network is updated separately from this portal; your phone may take a few minutes "
            "to see the new data."
        )
    if network.state == NetworkState.LATE:
        return _(
            "The network has not confirmed the change yet, so your phone may not see the new data until it "
            "does. We keep sending it, and our support team has been told and is on it. You do not need to "
            "pay again."
        )
    if network.state == NetworkState.FAILED:
        return _(
            "We could not reach the network. Our support team has been told and will make sure your card "
            "gets its new data. You do not need to pay again."
        )
    if network.state == NetworkState.SENDING:
        return _("Sent to the network, waiting for its confirmation (attempt %(attempt)s)…") % {
            "attempt": network.attempts
        }
    if network.state == NetworkState.WAITING:
        return _("Sending to the network…")
    return ""


def network_steps(*, changed_at: datetime | None, network: NetworkProgress) -> list[Step]:
    """Renewed in the portal, sent to the network, confirmed by the network (or: updated separately)."""
    steps = [Step("renewed", _("Renewed in the portal"), changed_at is not None, step_time(changed_at))]
    if network.state == NetworkState.SEPARATE:
        steps.append(Step("network", _("Network"), True, note=_("Updated separately from this portal")))
        return steps
    steps.append(
        Step("sent", _("Sent to the network"), network.sent_at is not None, step_time(network.sent_at))
    )
    confirmed = network.state == NetworkState.CONFIRMED
    steps.append(Step("confirmed", _("Confirmed by the network"), confirmed, step_time(network.confirmed_at)))
    return steps
