"""manage.py simulate_usage: plausible carrier usage for the demo cards, through the real feed.

Hourly records since the start of each card's current period (at most --days back): little at
night, more in the evening, each card on its own pace. Record ids are derived from the card and
the hour, and each hour's amount from a seeded generator, so running it again only adds the hours
that have passed since.
"""

import math
import random
from datetime import datetime, timedelta
from typing import cast

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.lib.display import monaco_zone
from usage.feeds import usage_records_apply
from usage.models import Card

# Relative appetite by hour of the day in Monaco (a traveller: maps and messages by day, video at night).
HOURLY_WEIGHT = [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 1.1,
                 1.3, 1.2, 1.0, 1.0, 1.1, 1.3, 1.6, 1.9, 2.0, 1.7, 1.1, 0.5]  # fmt: skip
MEAN_WEIGHT = sum(HOURLY_WEIGHT) / 24


class Command(BaseCommand):
    help = "Feed realistic usage records for demo cards (active cards with an owner, or --iccid)."

    def add_arguments(self, parser):
        parser.add_argument("--iccid", action="append", default=[], help="Only this card (repeatable).")
        parser.add_argument("--days", type=int, default=14, help="How far back to start at most.")
        parser.add_argument("--seed", type=int, default=377, help="Same seed, same usage.")
        parser.add_argument(
            "--pace",
            type=float,
            default=None,
            help="Share of the period's data a card uses over the whole period (default: 0.3-0.9 per card).",
        )

    def handle(self, *args, **options):
        now = timezone.now()
        cards = Card.objects.filter(expires_at__gt=now, period_started_at__isnull=False)
        if options["iccid"]:
            cards = cards.filter(iccid__in=options["iccid"])
            if not cards.exists():
                raise CommandError("None of those cards is active.")
        else:
            cards = cards.filter(owner__isnull=False, suspended_at__isnull=True)
        records = []
        for card in cards:
            records.extend(
                _card_usage(card, now=now, days=options["days"], seed=options["seed"], pace=options["pace"])
            )
        result = usage_records_apply(records=records, now=now)
        self.stdout.write(
            f"Simulated {len(records)} hourly records for {cards.count()} card(s): {result.applied} new,"
            f" {len(result.duplicates)} already there, {len(result.failures)} refused."
        )


def _card_usage(card: Card, *, now: datetime, days: int, seed: int, pace: float | None) -> list[dict]:
    pace = pace if pace is not None else random.Random(f"{seed}:{card.iccid}").uniform(0.3, 0.9)
    # Only cards in a period are simulated (the command's query): both times are set.
    expires_at, period_started_at = cast(datetime, card.expires_at), cast(datetime, card.period_started_at)
    period_hours = max((expires_at - period_started_at).total_seconds() / 3600, 1)
    bytes_per_hour = pace * card.period_allowance / period_hours / MEAN_WEIGHT
    zone = monaco_zone()
    hour = max(period_started_at, now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    records = []
    while hour + timedelta(hours=1) <= now:
        if hour >= period_started_at:
            rng = random.Random(f"{seed}:{card.iccid}:{hour.isoformat()}")
            weight = HOURLY_WEIGHT[hour.astimezone(zone).hour]
            if rng.random() < min(0.95, 0.35 + weight / 2):  # idle hours happen, more so at night
                amount = int(bytes_per_hour * weight * math.exp(rng.gauss(0, 0.5) - 0.125))
                start = hour + timedelta(minutes=rng.randint(0, 20))
                records.append(
                    {
                        "record_id": f"sim:{card.iccid}:{hour:%Y%m%dT%H}",
                        "iccid": card.iccid,
                        "start": start.isoformat(),
                        "end": (start + timedelta(minutes=rng.randint(5, 39))).isoformat(),
                        "bytes": max(amount, 0),
                    }
                )
        hour += timedelta(hours=1)
    return records
