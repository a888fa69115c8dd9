"""Every URL the resolver knows, as anonymous, customer, outsider, support and finance.

Path parameters are filled with real ids: the customer's own objects and another customer's. Nobody
gets a 500; nobody sees another customer's page; anonymous visitors are sent to the login page.
"""

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from tests.abuse.conftest import client_for

pytestmark = pytest.mark.django_db

OBJECT_PARAMETERS = {"card_id", "number", "ticket_id", "job_id"}
LOGIN_PATHS = ("/accounts/login/", "/admin/login/")
# Open to everyone: the plans, help, and the two machine endpoints (signed, POST only).
PUBLIC = {"plans:list", "usage:help", "usage:carrier_usage", "billing:stripe_webhook"}
# Card-scoped renew links (billing.renew_links): no login; without the link's scope they refuse.
RENEW_SCOPED = {
    "billing:renew_link_open",
    "billing:renew",
    "billing:renew_forget",
    "billing:renew_order_status",
    "billing:renew_order_status_json",
    "billing:renew_demo_checkout",
}
# Site-wide files of the installable app: the same for everyone, nothing personal in them.
PWA = {"service_worker", "web_manifest", "offline"}


@dataclass(frozen=True)
class Page:
    url: str
    name: str
    owner: str | None  # "owner", "other", "finance", "admin" or None: whose object is in the address
    is_admin: bool


def _patterns(resolver: URLResolver, namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry


def _parameters(name: str) -> list[set[str]]:
    """The sets of keyword arguments `name` can be reversed with."""
    resolver = get_resolver()
    view_name = name
    namespaces = view_name.split(":")[:-1]
    for namespace in namespaces:
        resolver = resolver.namespace_dict[namespace][1]
    possibilities = resolver.reverse_dict.getlist(view_name.split(":")[-1])
    return [
        set(params)
        for possibility, _pattern, _defaults, _converters in possibilities
        for _bits, params in possibility
    ]


def _admin_values(name: str):
    """Ids for admin URLs: the first object of the model the URL name is about."""
    for model, _model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            first = model._default_manager.order_by("pk").first()
            return [str(first.pk)] if first else []
    return []


def pages(world) -> list[Page]:
    values = {
        "card_id": [(world.owner.card.pk, "owner"), (world.other.card.pk, "other")],
        "number": [
            (world.owner.paid.number, "owner"),
            (world.owner.pending.number, "owner"),
            (world.other.paid.number, "other"),
            (world.other.pending.number, "other"),
        ],
        "ticket_id": [(world.owner.ticket.pk, "owner"), (world.other.ticket.pk, "other")],
        "job_id": [(world.finance_job.pk, "finance"), (world.other_finance_job.pk, "admin")],
    }
    found: dict[str, Page] = {}
    for name, _pattern in _patterns(get_resolver()):
        for parameters in _parameters(name):
            is_admin = name.startswith("admin:")
            if not parameters:
                candidates = [({}, None)]
            elif parameters <= set(values):
                (parameter,) = parameters
                candidates = [({parameter: value}, whose) for value, whose in values[parameter]]
            elif is_admin and parameters == {"app_label"}:
                candidates = [
                    ({"app_label": label}, None)
                    for label in {m._meta.app_label for m in admin.site._registry}
                ]
            elif is_admin and parameters == {"object_id"}:
                candidates = [({"object_id": value}, None) for value in _admin_values(name)]
            elif is_admin and parameters == {"content_type_id", "object_id"}:
                continue  # "view on site" redirects: not a page
            else:
                # Tokens of e-mailed links (password reset, e-mail confirmation): a wrong one.
                candidates = [(dict.fromkeys(parameters, "x1-wrong-token"), None)]
            for kwargs, whose in candidates:
                try:
                    url = reverse(name, kwargs=kwargs)
                except NoReverseMatch:
                    continue
                found.setdefault(url, Page(url=url, name=name, owner=whose, is_admin=is_admin))
    return sorted(found.values(), key=lambda page: page.url)


def crawl(world, user) -> tuple[dict[Page, object], list[str]]:
    browser = client_for(user)
    responses, errors = {}, []
    for page in pages(world):
        try:
            responses[page] = browser.get(page.url)
        except Exception as error:
            errors.append(f"{page.url}: {type(error).__name__}: {error}")
            continue
        # /healthz answers 503 by design when beat has not reported (no beat in tests).
        if responses[page].status_code >= 500 and page.name != "healthz":
            errors.append(f"{page.url}: HTTP {responses[page].status_code}")
    return responses, errors


def text(response) -> str:
    if getattr(response, "streaming", False) or not response.get("Content-Type", "").startswith(
        ("text/", "application/json")
    ):
        return ""
    return response.content.decode()


def test_the_crawl_covers_every_app(world):
    names = {page.name.split(":")[0] for page in pages(world) if ":" in page.name}
    assert {"accounts", "billing", "plans", "usage", "support", "admin"} <= names
    assert len(pages(world)) > 100


def test_anonymous_visitors_get_no_500_and_are_sent_to_log_in_for_anything_private(world):
    responses, errors = crawl(world, None)

    assert errors == []
    for page, response in responses.items():
        private = page.name.split(":")[0] in ("accounts", "billing", "usage", "support")
        if page.name in RENEW_SCOPED:
            assert response.status_code in (403, 404, 405), (page.url, response.status_code)
        elif private and page.name not in PUBLIC:
            assert response.status_code in (302, 405), (page.url, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith(LOGIN_PATHS), (page.url, response["Location"])
        if page.name == "admin:logout":
            assert response.status_code in (302, 405)  # POST only
        elif page.owner or (page.is_admin and page.name != "admin:login"):
            assert response.status_code in (302, 404), page.url
            if response.status_code == 302:
                assert response["Location"].startswith(LOGIN_PATHS), (page.url, response["Location"])


# Pages that exist only once an order is paid: the unpaid order's are 404 to its owner too.
PAID_ONLY = {
    "billing:receipt",
    "billing:receipt_pdf",
    "billing:invoice_request",
    "billing:document_pdf",
    "billing:document_email",
}


@pytest.mark.parametrize("role", ["customer", "outsider"])
def test_customers_get_no_500_and_never_another_customers_page(world, role):
    me, them = (world.owner, world.other) if role == "customer" else (world.other, world.owner)
    mine = "owner" if role == "customer" else "other"
    responses, errors = crawl(world, me.user)

    assert errors == []
    for page, response in responses.items():
        if page.owner in ("owner", "other") and page.owner != mine:
            assert response.status_code == 404, (page.url, response.status_code)
        elif page.name in RENEW_SCOPED:
            # Signed in is not scoped: these pages answer only to the holder of a renew link.
            assert response.status_code in (403, 404, 405), (page.url, response.status_code)
        elif page.owner == mine and not (page.name in PAID_ONLY and me.pending.number in page.url):
            assert response.status_code in (200, 302), (page.url, response.status_code)
        if page.is_admin and page.name not in ("admin:login", "admin:logout"):
            assert response.status_code in (302, 403, 404), (page.url, response.status_code)
        body = text(response)
        for secret in (them.user.email, them.card.iccid, them.paid.number, them.pending.number):
            # A 404 page may echo the address asked for; it must show nothing else of theirs.
            assert secret not in body.replace(page.url, ""), (page.url, secret)


@pytest.mark.parametrize("role", ["support", "finance"])
def test_staff_get_no_500_and_only_what_their_group_allows(world, role):
    user = getattr(world, role)
    responses, errors = crawl(world, user)

    assert errors == []
    by_name = {page.name: response for page, response in responses.items()}
    assert by_name["admin:index"].status_code == 200
    for page, response in responses.items():
        if page.name == "admin:logout":
            assert response.status_code == 405  # POST only
        elif page.name == "admin:app_list":
            assert response.status_code in (200, 404), page.url  # 404: no model of that app is theirs
        elif page.is_admin:
            assert response.status_code in (200, 403), (page.url, response.status_code)
        if page.owner in ("owner", "other"):
            # Customers' pages are for customers; staff see customers through the admin.
            assert response.status_code == 404, (page.url, response.status_code)
    export = by_name["support:finance_export"].status_code
    if role == "finance":
        assert export == 200
        assert by_name["admin:billing_order_changelist"].status_code == 200
    else:
        assert export == 403
        assert by_name["admin:usage_card_changelist"].status_code == 200
    for page, response in responses.items():
        if page.name.startswith("support:finance_export_") and page.owner == "admin":
            assert response.status_code == (404 if role == "finance" else 403)  # not theirs, or not allowed


def test_a_renew_link_holder_gets_that_cards_renew_pages_and_every_other_url_refuses_them(world):
    """The scope of a renew link, over the whole URL conf: only the renew pages answer the holder."""
    from django.utils import timezone

    from billing import renew_links
    from billing.models import Order

    link, token = renew_links.renew_link_create(
        card=world.owner.card, purpose="card_data_90", now=timezone.now()
    )
    browser = client_for(None)
    assert browser.get(reverse("billing:renew_link_open", args=[token])).status_code == 303
    through_link = renew_links.renew_link_order_create(link_id=link.pk, plan=world.plan, now=timezone.now())
    owner = world.owner
    secrets = [owner.user.email, owner.user.phone, owner.card.iccid, owner.paid.number, owner.pending.number]
    secrets += [world.other.user.email, world.other.card.iccid, world.other.paid.number]

    allowed = []
    for page in pages(world):
        response = browser.get(page.url)
        assert response.status_code < 500 or page.name == "healthz", (page.url, response.status_code)
        body = text(response).replace(page.url, "")
        for secret in secrets:
            assert secret not in body, (page.url, secret)
        if page.name in RENEW_SCOPED:
            if response.status_code == 200:
                allowed.append(page.name)
            continue
        assert "3.2 GB" not in body, page.url  # the card's balance shows on the renew pages only
        private = page.name.split(":")[0] in ("accounts", "billing", "usage", "support")
        if page.name == "admin:logout":
            continue  # sends anyone to the admin index, which sends them to log in
        if (
            page.owner
            or (private and page.name not in PUBLIC)
            or (page.is_admin and page.name != "admin:login")
        ):
            assert response.status_code in (302, 404, 405), (page.url, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith(LOGIN_PATHS), (page.url, response["Location"])

    assert "billing:renew" in allowed
    status = browser.get(reverse("billing:renew_order_status", args=[through_link.number]))
    assert status.status_code == 200
    assert Order.objects.filter(renew_link=link).count() == 1


def test_the_number_of_pages_crawled_is_reported(world, capsys):
    # Run last in this module by name order is not guaranteed: compute it here from the page list.
    count = len(pages(world))
    with capsys.disabled():
        print(f"\n[abuse crawl] {count} distinct URLs per role, 5 roles: {count * 5} requests")
    assert count > 100
