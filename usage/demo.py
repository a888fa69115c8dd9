"""Demo cards for `manage.py seed_demo`: safe to run at every start, never duplicates anything."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.management import call_command, get_commands
from django.db import transaction

from portal.lib.units import BYTES_PER_GB as GB
from usage import ledger
from usage.feeds import usage_records_apply
from usage.iccid import iccid_with_check_digit
from usage.models import Card
from usage.services import claim_code_hash

SMDP = "smdp.demo.monaco-data.example"
TRAVELLER_ICCID = iccid_with_check_digit("893770100000000001")
# A physical SIM "in the traveller's pocket": add it on the dashboard with this printed claim code.
SPARE_ICCID = iccid_with_check_digit("893770100000000002")
SPARE_CLAIM_CODE = "MONACO26"
STOCK_SIZE = 5
SPARE_SERIES_SIZE = 100


def spare_card_printed(number: int) -> tuple[str, str]:
    """The ICCID and claim code of the demo's n-th spare SIM; the next is added once one is claimed."""
    if number == 0:
        return SPARE_ICCID, SPARE_CLAIM_CODE
    return iccid_with_check_digit(f"8937701000000002{number:02d}"), f"MONACO{26 + number}"


@dataclass
class DemoCards:
    traveller_card: Card
    spare_iccid: str
    spare_claim_code: str
    free_profiles: int


def _esim(iccid: str, matching_id: str | None, *, claim_code: str, owner=None) -> tuple[Card, bool]:
    """An eSIM profile, or a physical SIM when there is no matching id."""
    return Card.objects.get_or_create(
        iccid=iccid,
        defaults={
            "kind": Card.Kind.ESIM if matching_id else Card.Kind.SIM,
            "activation_code": f"LPA:1${SMDP}${matching_id}" if matching_id else "",
            "claim_code_hash": claim_code_hash(claim_code),
            "owner": owner,
        },
    )


def _demo_usage(card: Card, *, since: datetime, now: datetime) -> list[dict]:
    """Hourly records with a daytime rhythm (maps in the morning, photos and video in the evening)."""
    rng = random.Random(card.iccid)  # the same demo every time
    records = []
    hour = since.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while hour + timedelta(hours=1) <= now:
        local_hour = (hour.hour + 1) % 24
        weight = 0.1 if local_hour < 7 else 1.0 if local_hour < 18 else 1.8
        used = int(rng.uniform(5, 30) * weight * 1_000_000)
        records.append(
            {
                "record_id": f"demo-{card.iccid}-{hour:%Y%m%d%H}",
                "iccid": card.iccid,
                "start": hour.isoformat(),
                "end": (hour + timedelta(minutes=59)).isoformat(),
                "bytes": used,
            }
        )
        hour += timedelta(hours=1)
    return records


def demo_cards_seed(*, traveller, staff_user, now: datetime) -> DemoCards:
    """The traveller's eSIM on a Week Pass started two days ago with some usage, a spare card to
    claim, and a few free eSIM profiles so "buy a plan with a new eSIM" works offline."""
    with transaction.atomic():
        card, _created = _esim(
            TRAVELLER_ICCID, "DEMO-TRAVELLER-0001", claim_code="DEMOCARD1", owner=traveller
        )
        card = Card.objects.select_for_update().get(pk=card.pk)
        needs_plan = not card.ledger_entries.exists()
        if needs_plan:
            started = now - timedelta(days=2)
            card.allocated_at = card.allocated_at or started
            card.label = card.label or "My iPhone"
            card.save(update_fields=["allocated_at", "label"])
            # No order exists in a fresh demo, so the opening balance is a staff adjustment with a reason.
            ledger.card_adjust(
                card=card,
                data_delta=5 * GB,
                expires_at=started + timedelta(days=7),
                staff_user=staff_user,
                reason="Demo data: a Week Pass (5 GB, 7 days) started two days ago.",
                now=started,
            )
        spare_iccid, spare_claim_code = _spare_card()
        for number in range(1, STOCK_SIZE + 1):
            _esim(
                iccid_with_check_digit(f"8937701000000001{number:02d}"),
                f"DEMO-STOCK-{number:04d}",
                claim_code=f"STOCK{number:04d}",
            )
    if needs_plan:
        if "simulate_usage" in get_commands():
            call_command("simulate_usage", verbosity=0)
        else:
            usage_records_apply(records=_demo_usage(card, since=now - timedelta(days=2), now=now), now=now)
    card.refresh_from_db()
    free = Card.objects.filter(owner__isnull=True, allocated_at__isnull=True, kind=Card.Kind.ESIM).count()
    return DemoCards(
        traveller_card=card, spare_iccid=spare_iccid, spare_claim_code=spare_claim_code, free_profiles=free
    )


def _spare_card() -> tuple[str, str]:
    """A SIM nobody holds yet, printed at every start: once the one printed before was added to an
    account, the next of the series is made, so the start never offers a card that cannot be added."""
    for number in range(SPARE_SERIES_SIZE):
        iccid, claim_code = spare_card_printed(number)
        card, _created = _esim(iccid, None, claim_code=claim_code)
        if card.owner_id is None:
            return iccid, claim_code
    raise RuntimeError(f"All {SPARE_SERIES_SIZE} demo spare SIMs are claimed: reset the demo database.")
