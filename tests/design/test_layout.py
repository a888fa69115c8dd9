import re
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

CSS = Path(settings.BASE_DIR, "static", "css", "portal.css")


def test_the_login_page_wears_the_product_layout(client, db):
    response = client.get(reverse("account_login"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="skip-link" href="#main"' in html
    assert 'class="site-header"' in html
    assert re.search(r'<label for="id_login">', html), "the login field has a visible label"
    assert 'class="btn btn-primary btn-block"' in html
    assert 'name="language"' in html and 'name="next"' in html


def test_a_signed_in_customer_sees_the_navigation_and_a_log_out_button(client, owner):
    client.force_login(owner)

    html = client.get(reverse("usage:dashboard")).content.decode()

    assert f'href="{reverse("usage:dashboard")}" aria-current="page"' in html
    assert f'action="{reverse("account_logout")}"' in html
    assert "Log out" in html
    assert f'href="{reverse("account_login")}"' not in html


def test_the_language_switcher_posts_to_the_accounts_view(client, db):
    html = client.get(reverse("account_login")).content.decode()

    assert f'action="{reverse("accounts:set_language")}"' in html
    for code in ("en", "zh-hans", "fr", "it"):
        assert f'value="{code}"' in html


def test_an_unknown_address_gets_the_friendly_404_page(client, db):
    response = client.get("/this-page-does-not-exist/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert 'class="site-header"' in response.content.decode()


def test_the_500_page_renders_without_a_request_or_the_database(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        html = render_to_string("500.html")

    assert "Something went wrong on our side" in html
    assert "portal.css" in html


def test_the_stylesheet_loads_nothing_from_other_hosts():
    css = CSS.read_text()

    assert "@import" not in css
    assert "@font-face" not in css
    for url in re.findall(r"url\(([^)]*)\)", css):
        assert url.strip("\"'").startswith("data:"), url


def test_page_templates_have_no_inline_styles_or_scripts():
    # Emails are exempt: mail clients need inline styles and no CSP applies to them.
    templates = Path(settings.BASE_DIR, "templates")
    for template in templates.rglob("*.html"):
        if template.relative_to(templates).parts[0] == "emails":
            continue
        text = template.read_text()
        assert not re.search(r"<style\b|\sstyle=\"", text), f"{template}: inline style"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{template}: inline script"
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f"{template}: third-party host"


def test_a_form_sent_without_its_security_token_gets_a_plain_explanation(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(reverse("account_login"), {"login": "a@example.com"})

    assert response.status_code == 403
    html = response.content.decode()
    assert "Nothing was changed" in html
    assert 'class="site-header"' in html


def test_a_denied_page_explains_itself_in_the_product_look(rf, db):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied
    from django.views.defaults import permission_denied

    request = rf.get("/somewhere/")
    request.user = AnonymousUser()
    response = permission_denied(request, PermissionDenied())

    assert response.status_code == 403
    assert "You are not allowed to see this page" in response.content.decode()
