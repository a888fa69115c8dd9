"""Issue 14 (3): a signed-in page view reads its session from the cache, not the database, and
the language middleware does not load the user when the session already holds the language; every
way of ending a session still ends it."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from accounts.middleware import LANGUAGE_SESSION_KEY, UserLanguageMiddleware

pytestmark = pytest.mark.django_db


def signed_in_client(client, user):
    client.force_login(user)
    client.get(reverse("web_manifest"))  # the first page view keeps the saved language in the session
    return client


def test_a_signed_in_page_view_makes_no_session_query(client, owner, django_assert_num_queries):
    signed_in_client(client, owner)
    # Before: the session row, then the user for the language (and the staff check). Now the user only.
    with django_assert_num_queries(1) as queries:
        response = client.get(reverse("web_manifest"))
    assert response.status_code == 200
    assert "django_session" not in queries.captured_queries[0]["sql"]


def test_the_session_survives_a_cache_flush(client, owner):
    signed_in_client(client, owner)
    cache.clear()
    response = client.get(reverse("billing:orders"))
    assert response.status_code == 200


def test_the_page_is_in_the_language_the_session_holds(client, owner):
    owner.language = "fr"
    owner.save(update_fields=["language"])
    signed_in_client(client, owner)
    assert client.session[LANGUAGE_SESSION_KEY] == "fr"
    assert client.get(reverse("web_manifest"), headers={"accept-language": "en"}).json()["lang"] == "fr"


def test_the_language_middleware_does_not_load_the_user_when_the_session_holds_the_language():
    request = RequestFactory().get("/")
    request.session = {SESSION_KEY: "1", LANGUAGE_SESSION_KEY: "zh-hans"}
    loads = []
    request.user = SimpleLazyObject(lambda: loads.append("user"))
    seen = []
    middleware = UserLanguageMiddleware(
        lambda request: seen.append(translation.get_language()) or HttpResponse()
    )
    with translation.override("en"):
        middleware(request)
    assert (loads, seen, request.LANGUAGE_CODE) == ([], ["zh-hans"], "zh-hans")


def test_the_language_middleware_loads_nothing_for_a_visitor_who_is_not_signed_in():
    request = RequestFactory().get("/")
    request.session = {}
    loads = []
    request.user = SimpleLazyObject(lambda: loads.append("user"))
    UserLanguageMiddleware(lambda request: HttpResponse())(request)
    assert loads == []


def test_the_language_switcher_changes_the_language_the_session_holds(client, owner):
    signed_in_client(client, owner)
    client.post(reverse("accounts:set_language"), {"language": "it", "next": "/"})
    assert client.session[LANGUAGE_SESSION_KEY] == "it"
    assert client.get(reverse("web_manifest"), headers={"accept-language": "en"}).json()["lang"] == "it"


def test_the_profile_changes_the_language_the_session_holds(client, owner):
    signed_in_client(client, owner)
    data = {"name": "Alice", "language": "zh-hans", "notify_email": "on"}
    response = client.post(reverse("accounts:profile"), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert client.session[LANGUAGE_SESSION_KEY] == "zh-hans"


def orders_page_status(client) -> int:
    return client.get(reverse("billing:orders")).status_code


def test_logging_out_ends_the_session_in_the_cache_and_the_database(client, owner):
    signed_in_client(client, owner)
    session_key = client.session.session_key
    stolen = client.cookies["sessionid"].value
    client.post(reverse("account_logout"))
    assert not Session.objects.filter(session_key=session_key).exists()
    client.cookies["sessionid"] = stolen  # a copy of the cookie taken before logging out
    assert orders_page_status(client) == 302


def test_a_password_change_ends_the_other_sessions(client, owner, django_user_model):
    signed_in_client(client, owner)
    user = django_user_model.objects.get(pk=owner.pk)
    user.set_password("a new horse battery staple")
    user.save()
    assert orders_page_status(client) == 302


def test_logging_out_everywhere_ends_a_session_read_from_the_cache(client, owner, django_user_model):
    from django.test import Client

    other_device = signed_in_client(Client(), owner)
    signed_in_client(client, owner)
    client.post(reverse("accounts:logout_everywhere"))
    assert orders_page_status(other_device) == 302


def test_deleting_the_account_ends_its_sessions(client, owner):
    from django.test import Client

    from front.services import account_delete

    other_device = signed_in_client(Client(), owner)
    assert orders_page_status(other_device) == 200
    account_delete(user=owner)
    assert orders_page_status(other_device) == 302
