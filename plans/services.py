# ruff: noqa: RUF001 - Chinese text uses full-width punctuation on purpose
from typing import Any

from django.db import transaction

from plans.models import Plan
from portal.lib.units import BYTES_PER_GB as GB

# Prices include 20 % VAT. Names and descriptions in every portal language (modeltranslation fields).
CATALOGUE: list[dict[str, Any]] = [
    {
        "code": "day-1gb",
        "period": Plan.Period.DAY,
        "data_bytes": 1 * GB,
        "price_cents": 490,
        "display_order": 10,
        "name": {"en": "Day Pass", "zh_hans": "一日畅游", "fr": "Pass Jour", "it": "Pass Giornaliero"},
        "description": {
            "en": "1 GB for 24 hours: enough for maps, messages and a few photos.",
            "zh_hans": "24 小时内 1 GB 流量：足够使用地图、聊天和分享几张照片。",
            "fr": "1 Go pendant 24 heures : de quoi utiliser les cartes, la messagerie et partager quelques photos.",
            "it": "1 GB per 24 ore: abbastanza per mappe, messaggi e qualche foto.",
        },
    },
    {
        "code": "week-5gb",
        "period": Plan.Period.WEEK,
        "data_bytes": 5 * GB,
        "price_cents": 1490,
        "display_order": 20,
        "name": {"en": "Week Pass", "zh_hans": "一周畅游", "fr": "Pass Semaine", "it": "Pass Settimanale"},
        "description": {
            "en": "5 GB for 7 days: a week on the Riviera with navigation, social media and video calls.",
            "zh_hans": "7 天内 5 GB 流量：在里维埃拉度过一周，导航、社交媒体和视频通话都够用。",
            "fr": "5 Go pendant 7 jours : une semaine sur la Riviera avec navigation, réseaux sociaux et appels vidéo.",
            "it": "5 GB per 7 giorni: una settimana in Riviera tra navigazione, social e videochiamate.",
        },
    },
    {
        "code": "month-20gb",
        "period": Plan.Period.MONTH,
        "data_bytes": 20 * GB,
        "price_cents": 3490,
        "display_order": 30,
        "name": {"en": "Month Pass", "zh_hans": "一月畅游", "fr": "Pass Mois", "it": "Pass Mensile"},
        "description": {
            "en": "20 GB for 30 days: for long stays, remote work and streaming.",
            "zh_hans": "30 天内 20 GB 流量：适合长期停留、远程办公和观看视频。",
            "fr": "20 Go pendant 30 jours : pour les longs séjours, le télétravail et le streaming.",
            "it": "20 GB per 30 giorni: per soggiorni lunghi, lavoro da remoto e streaming.",
        },
    },
]


@transaction.atomic
def plans_seed_catalogue() -> list[Plan]:
    """Creates the day, week and month plans if they are missing; never overwrites staff edits."""
    plans = []
    for entry in CATALOGUE:
        defaults = {
            "period": entry["period"],
            "data_bytes": entry["data_bytes"],
            "price_cents": entry["price_cents"],
            "currency": "EUR",
            "vat_rate_bp": 2000,
            "covers_monaco": True,
            "covers_french_riviera": True,
            "covers_ligurian_coast": True,
            "is_active": True,
            "display_order": entry["display_order"],
        }
        for language, text in entry["name"].items():
            defaults[f"name_{language}"] = text
        for language, text in entry["description"].items():
            defaults[f"description_{language}"] = text
        plan, _created = Plan.objects.get_or_create(code=entry["code"], defaults=defaults)
        plans.append(plan)
    return plans
