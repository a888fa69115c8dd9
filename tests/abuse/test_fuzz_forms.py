"""Hostile input to every form: odd Unicode (NUL, lone surrogates as raw bytes, RTL, emoji), huge
values, negative and enormous numbers, wrong content types. The answer is a page or a 4xx saying
what is wrong, never a 500; a refused submission stores nothing.
"""

from dataclasses import dataclass, field
from urllib.parse import quote_from_bytes

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import User
from billing.models import Order, WebhookEvent
from support.models import ExportJob, Ticket, TicketMessage
from tests.abuse.conftest import client_for, fuzz, odd_number, odd_text
from usage.models import Card

pytestmark = pytest.mark.django_db

values = st.one_of(
    odd_text, odd_number.map(str), st.sampled_from(["", "on", "true", "new", "pay", "2026-11-25"])
)
dates = st.one_of(
    values, st.dates().map(str), st.sampled_from(["9999-12-31", "0001-01-01", "2026-02-30", "1-1-1"])
)
content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=zz",
    ]
)


@dataclass(frozen=True)
class Target:
    name: str
    role: str  # "anonymous", "owner" or a staff role
    url: str  # may name {owner_card}, {owner_pending}, {owner_ticket}
    fields: dict = field(default_factory=dict)


TARGETS = [
    Target(
        "signup",
        "anonymous",
        "/accounts/signup/",
        {
            "email": values,
            "phone_country": values,
            "phone_number": values,
            "password1": values,
            "password2": values,
        },
    ),
    Target(
        "login", "anonymous", "/accounts/login/", {"login": values, "password": values, "country": values}
    ),
    Target(
        "request login code",
        "anonymous",
        "/accounts/login/code/",
        {"email": values, "phone_country": values, "phone_number": values},
    ),
    Target(
        "password reset",
        "anonymous",
        "/accounts/password/reset/",
        {"email": values, "phone_country": values, "phone_number": values},
    ),
    Target("admin login", "anonymous", "/admin/login/?next=/admin/", {"login": values, "password": values}),
    Target(
        "profile",
        "owner",
        "/account/",
        {"name": values, "language": values, "notify_email": values, "notify_sms": values},
    ),
    Target("language", "owner", "/account/language/", {"language": values, "next": values}),
    Target(
        "delete account",
        "owner",
        "/account/delete/",
        {"password": values, "code": values, "confirm": values, "action": values},
    ),
    Target(
        "checkout",
        "owner",
        "/checkout/",
        {
            "plan": st.one_of(values, st.just("week")),
            "card": st.one_of(values, st.just("{owner_card}")),
            "promo_code": values,
            "apply_wallet": values,
        },
    ),
    Target("demo payment", "owner", "/orders/{owner_pending}/demo-payment/", {"outcome": values}),
    Target(
        "auto-renew",
        "owner",
        "/cards/{owner_card}/auto-renew/",
        {"enabled": values, "plan": values, "consent": values},
    ),
    Target("card claim", "owner", "/cards/add/", {"iccid": values, "claim_code": values}),
    Target(
        "support ticket",
        "owner",
        "/support/new/",
        {"topic": values, "card": values, "order": values, "body": values},
    ),
    Target("support reply", "owner", "/support/{owner_ticket}/", {"body": values}),
    Target("confirm login code", "anonymous", "/accounts/login/code/confirm/", {"code": values}),
    Target("confirm reset code", "anonymous", "/accounts/password/reset/confirm/", {"code": values}),
    Target(
        "verify phone",
        "anonymous",
        "/accounts/phone/verify/",
        {"code": values, "action": values, "phone_country": values, "phone_number": values},
    ),
    Target("reauthenticate", "owner", "/accounts/reauthenticate/", {"password": values}),
    Target(
        "change password",
        "owner",
        "/accounts/password/change/",
        {"oldpassword": values, "password1": values, "password2": values},
    ),
    Target(
        "email addresses",
        "owner",
        "/accounts/email/",
        {"email": values, "action_add": values, "action_remove": values},
    ),
    Target(
        "change phone", "owner", "/accounts/phone/change/", {"phone_country": values, "phone_number": values}
    ),
    Target(
        "finance export",
        "finance",
        "/support/finance/export/",
        {"start": dates, "end": dates, "statuses": values, "file_format": values},
    ),
]


def counts() -> tuple:
    return (
        User.objects.count(),
        Order.objects.count(),
        Ticket.objects.count(),
        TicketMessage.objects.count(),
        ExportJob.objects.count(),
        WebhookEvent.objects.count(),
        Card.objects.filter(owner__isnull=False).count(),
    )


def form_body(data: dict) -> bytes:
    # Encoded by hand: lone surrogates go out as the raw (invalid UTF-8) bytes a broken client sends.
    return "&".join(
        f"{key}={quote_from_bytes(value.encode('utf-8', 'surrogatepass'))}" for key, value in data.items()
    ).encode()


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
@fuzz
@given(data=st.data())
def test_a_form_never_answers_500_and_a_refusal_stores_nothing(world, target, data):
    cache.clear()  # rate limits would otherwise answer 429 before the form is even read
    user = {"anonymous": None, "owner": world.owner.user, "finance": world.finance}[target.role]
    browser = client_for(user)
    url = target.url.format(
        owner_card=world.owner.card.pk,
        owner_pending=world.owner.pending.number,
        owner_ticket=world.owner.ticket.pk,
    )
    submitted = {
        name: data.draw(strategy, label=name).replace("{owner_card}", str(world.owner.card.pk))
        for name, strategy in target.fields.items()
    }
    submitted = {
        name: value for name, value in submitted.items() if data.draw(st.integers(0, 9), label=f"send {name}")
    }
    content_type = data.draw(content_types, label="content type")
    before = counts()

    response = browser.generic("POST", url, form_body(submitted), content_type=content_type)

    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400 or (response.status_code == 200 and target.name not in ("profile",)):
        assert counts() == before, (response.status_code, submitted)


@fuzz
@given(start=dates, end=dates)
def test_the_revenue_report_takes_any_dates_without_breaking(world, start, end):
    response = client_for(world.finance).get("/support/finance/revenue/", {"start": start, "end": end})

    assert response.status_code in (200, 400)


@fuzz
@given(plan=values, card=values, promo=values, order=values)
def test_query_strings_of_customer_pages_never_break_them(world, plan, card, promo, order):
    browser = client_for(world.owner.user)
    for url, query in [
        ("/plans/", {"card": card}),
        ("/checkout/", {"plan": plan, "card": card, "promo_code": promo}),
        ("/support/new/", {"card": card, "order": order}),
        ("/support/finance/export/", {"job": card}),
    ]:
        cache.clear()
        response = browser.get(url, {key: value.replace("\x00", "\\0") for key, value in query.items()})
        assert response.status_code < 500
    query_with_nul = browser.get("/checkout/", {"plan": plan + "\x00", "card": card + "\x00"})
    assert query_with_nul.status_code < 500


@fuzz
@given(content=st.binary(max_size=2000) | odd_text.map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_the_esim_inventory_import_takes_any_file_without_breaking(world, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = Card.objects.count()
    upload = SimpleUploadedFile("profiles.csv", b"iccid,activation_code,claim_code\n" + content, "text/csv")

    response = client_for(world.admin).post("/staff/esim-inventory/import/", {"file": upload})

    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert Card.objects.count() == before
