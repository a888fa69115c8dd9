"""The installable app: service worker, manifest, offline page, and what a device keeps (issue 13)."""

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.usage.card_factories import OwnedCardFactory

pytestmark = pytest.mark.django_db
SW = Path(__file__).resolve().parents[2] / "static" / "sw.js"


def test_the_service_worker_is_the_static_file_served_from_the_root_for_the_whole_site(client):
    response = client.get(reverse("service_worker"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    assert response.content == SW.read_bytes()
    assert reverse("service_worker") == "/sw.js"


def test_the_service_worker_knows_the_offline_address_and_never_caches_pages():
    source = SW.read_text()

    assert f'var OFFLINE_URL = "{reverse("offline")}";' in source
    assert 'credentials: "omit"' in source  # the offline page is fetched as nobody
    # Pages are only ever answered from the network, or with the offline page when it fails.
    assert "cache.put(request" in source and source.count("cache.put(") == 2


def test_every_page_links_the_manifest_and_the_manifest_names_icons_that_exist(client):
    html = client.get(reverse("account_login")).content.decode()
    assert f'<link rel="manifest" href="{reverse("web_manifest")}">' in html

    manifest = client.get(reverse("web_manifest"))
    data = json.loads(manifest.content)

    assert manifest["Content-Type"] == "application/manifest+json"
    assert data["start_url"] == "/" and data["display"] == "standalone"
    assert {icon["purpose"] for icon in data["icons"]} == {"any", "maskable"}
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon["src"]


def test_the_offline_page_is_the_same_for_everyone_and_has_no_inline_script(client, owner):
    client.force_login(owner)

    response = client.get(reverse("offline"))
    html = response.content.decode()

    assert response.status_code == 200
    assert "You are offline — on Wi-Fi you can renew." in html
    assert owner.email not in html and "csrfmiddlewaretoken" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_the_dashboard_keeps_a_snapshot_of_data_left_and_validity_only(client, owner):
    card = OwnedCardFactory(owner=owner, label="Alice's phone")
    client.force_login(owner)

    html = client.get(reverse("usage:dashboard")).content.decode()

    assert '<html lang="en" class="no-js" data-sw="/sw.js" data-offline="keep">' in html
    raw = re.search(r'<script id="offline-snapshot" type="application/json">(.*?)</script>', html).group(1)
    snapshot = json.loads(raw)
    [kept] = snapshot["cards"]
    assert set(kept) == {"name", "expires_at", "line_today", "line_dated", "line_expired"}
    assert re.fullmatch(
        r"Last known, as of \d\d:\d\d: 3\.2 GB left, valid until .+ \(Monaco time\)", kept["line_today"]
    )
    for private in (owner.email, owner.phone, owner.name, card.label, card.iccid):
        assert private not in raw


def test_pages_for_nobody_signed_in_tell_the_device_to_forget_the_snapshot(client):
    html = client.get(reverse("account_login")).content.decode()

    assert 'data-offline="forget"' in html
    assert "offline-snapshot" not in html


def test_logging_out_tells_the_browser_to_clear_what_it_kept(client, owner):
    client.force_login(owner)
    html = client.get(reverse("usage:dashboard")).content.decode()
    assert re.search(r'<form method="post" action="/accounts/logout/" data-offline-forget>', html)

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get(reverse("usage:dashboard")).status_code == 302
