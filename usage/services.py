"""Card services: claiming a card, allocating and importing eSIM profiles.

The ledger (top-ups, usage, expiry) lives in usage/ledger.py.
"""

import csv
import hashlib
import hmac
import io
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from usage.iccid import activation_code_parse, iccid_is_valid, iccid_normalise
from usage.models import Card

# Failed claims allowed per window before further attempts are refused. Per IP is looser than per
# user because hotel and café networks put many travellers behind one address.

INVENTORY_MAX_ROWS = 200_000
INVENTORY_COLUMNS = ("iccid", "activation_code", "claim_code")


class CardClaimRefused(Exception):
    """One message for every wrong pair, so nobody learns which half was wrong."""

    def __init__(self) -> None:
        super().__init__(
            gettext_lazy(
                "We could not add this card. Check the ICCID and the claim code printed with it, "
                "and try again."
            )
        )


class CardClaimRateLimited(Exception):
    def __init__(self) -> None:
        super().__init__(
            gettext_lazy(
                "Too many attempts to add a card. Please wait an hour and try again, or contact support."
            )
        )


class EsimOutOfStock(Exception):
    def __init__(self) -> None:
        super().__init__(
            gettext_lazy("No new eSIM is available right now. Please try again later or contact support.")
        )


def claim_code_normalise(code: str) -> str:
    return "".join(char for char in (code or "").upper() if char.isalnum())


def claim_code_hash(code: str) -> str:
    """HMAC-SHA256 keyed by SECRET_KEY: a leaked table of hashes cannot be reversed offline."""
    return hmac.new(
        str(settings.SECRET_KEY).encode(), claim_code_normalise(code).encode(), hashlib.sha256
    ).hexdigest()


def card_claim(*, user: AbstractBaseUser, iccid: str, claim_code: str) -> Card:
    """Gives `user` the card printed with this ICCID and claim code.

    Refused with the same CardClaimRefused for an unknown ICCID, a wrong code, a card without a code
    and a card someone else owns. The claim page limits wrong pairs per account and per address
    (settings.ACCOUNT_RATE_LIMITS "card_claim_failed").
    """
    now = timezone.now()

    iccid = iccid_normalise(iccid)
    offered_hash = claim_code_hash(claim_code)
    with transaction.atomic():
        card = Card.objects.select_for_update().filter(iccid=iccid).first() if iccid_is_valid(iccid) else None
        matches = (
            card is not None
            and bool(card.claim_code_hash)
            and hmac.compare_digest(card.claim_code_hash, offered_hash)
            and card.owner_id in (None, user.pk)
        )
        if not matches:
            card = None
        elif card is not None and card.owner_id is None:
            card.owner_id = user.pk
            card.allocated_at = card.allocated_at or now
            card.save(update_fields=["owner", "allocated_at"])
    if card is None:
        raise CardClaimRefused()
    return card


def cards_release(*, owner: AbstractBaseUser) -> int:
    """The owner deletes their account: their cards are released from it (each keeps its ledger).
    Returns how many were released."""
    return Card.objects.filter(owner_id=owner.pk).update(owner=None, label="")


def esim_allocate(*, user: AbstractBaseUser) -> Card:
    """Takes a free eSIM profile from the inventory for `user` (who is buying a plan without a card).

    SKIP LOCKED lets concurrent buyers take different profiles instead of queueing on the same row.
    """
    with transaction.atomic():
        card = (
            Card.objects.select_for_update(skip_locked=True)
            .filter(
                kind=Card.Kind.ESIM, owner__isnull=True, allocated_at__isnull=True, suspended_at__isnull=True
            )
            .exclude(activation_code="")
            .order_by("id")
            .first()
        )
        if card is None:
            raise EsimOutOfStock()
        card.owner_id = user.pk
        card.allocated_at = timezone.now()
        card.save(update_fields=["owner", "allocated_at"])
    return card


def esim_inventory_count_free() -> int:
    return (
        Card.objects.filter(kind=Card.Kind.ESIM, owner__isnull=True, allocated_at__isnull=True)
        .exclude(activation_code="")
        .count()
    )


@dataclass
class InventoryImportResult:
    created: int = 0
    rows: int = 0
    # (line number in the file, message)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _inventory_rows(file: IO[Any]) -> tuple[list[tuple[int, dict]], list[tuple[int, str]]]:
    raw = file.read()
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [(0, _("The file is not UTF-8 text. Export the CSV as UTF-8 and try again."))]
    reader = csv.DictReader(io.StringIO(raw))
    headers = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in INVENTORY_COLUMNS if column not in headers]
    if missing:
        return [], [
            (
                1,
                _("The first line must name the columns %(expected)s; missing: %(missing)s.")
                % {"expected": ", ".join(INVENTORY_COLUMNS), "missing": ", ".join(missing)},
            )
        ]
    reader.fieldnames = headers
    rows: list[tuple[int, dict]] = []
    for row in reader:
        if len(rows) >= INVENTORY_MAX_ROWS:
            return [], [
                (reader.line_num, _("The file has more than %(max)d rows.") % {"max": INVENTORY_MAX_ROWS})
            ]
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue  # blank line
        rows.append(
            (reader.line_num, {column: (row.get(column) or "").strip() for column in INVENTORY_COLUMNS})
        )
    return rows, []


def esim_inventory_import(*, file: IO[Any]) -> InventoryImportResult:
    """Imports eSIM profiles from a CSV (iccid, activation_code, claim_code): all rows or none.

    Every row is checked first and every problem is reported with its line number; only a file
    without a single problem is written, in one transaction.
    """
    try:
        rows, errors = _inventory_rows(file)
    except csv.Error as error:
        return InventoryImportResult(
            errors=[(0, _("The file is not a valid CSV: %(error)s") % {"error": error})]
        )
    result = InventoryImportResult(rows=len(rows), errors=errors)
    if errors:
        return result
    if not rows:
        result.errors.append((0, _("The file has no profiles.")))
        return result

    seen: dict[str, int] = {}
    for line, row in rows:
        iccid = iccid_normalise(row["iccid"])
        row["iccid"] = iccid
        if not iccid_is_valid(iccid):
            result.errors.append(
                (
                    line,
                    _("“%(iccid)s” is not a valid ICCID (18 to 22 digits with a correct check digit).")
                    % {"iccid": row["iccid"]},
                )
            )
        elif iccid in seen:
            result.errors.append(
                (
                    line,
                    _("ICCID %(iccid)s is repeated (first on line %(first)d).")
                    % {"iccid": iccid, "first": seen[iccid]},
                )
            )
        else:
            seen[iccid] = line
        parsed = activation_code_parse(row["activation_code"])
        if parsed is None or not parsed[1]:
            result.errors.append(
                (line, _("The activation code must look like LPA:1$smdp.example.com$MATCHING-ID."))
            )
        if len(claim_code_normalise(row["claim_code"])) < 6:
            result.errors.append((line, _("The claim code must have at least 6 letters or digits.")))

    existing: set[str] = set()
    iccids = list(seen)
    for start in range(0, len(iccids), 1000):
        existing.update(
            Card.objects.filter(iccid__in=iccids[start : start + 1000]).values_list("iccid", flat=True)
        )
    for iccid in sorted(existing, key=seen.__getitem__):
        result.errors.append(
            (seen[iccid], _("ICCID %(iccid)s is already in the inventory.") % {"iccid": iccid})
        )
    if result.errors:
        result.errors.sort(key=lambda error: error[0])
        return result

    now = timezone.now()
    cards = [
        Card(
            iccid=row["iccid"],
            kind=Card.Kind.ESIM,
            activation_code=row["activation_code"],
            claim_code_hash=claim_code_hash(row["claim_code"]),
            created_at=now,
        )
        for _line, row in rows
    ]
    try:
        with transaction.atomic():
            Card.objects.bulk_create(cards, batch_size=1000)
    except IntegrityError:
        # Another import added some of these ICCIDs since the check above; nothing was written.
        result.errors.append(
            (
                0,
                _(
                    "Some of these ICCIDs were added by another import meanwhile. Nothing was imported; try again."
                ),
            )
        )
        return result
    result.created = len(cards)
    return result
