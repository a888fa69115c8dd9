"""Flash messages speak the language of the page that shows them, not of the request that added them."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from portal.lib.messages import MessageInEveryLanguage, TranslatedMessageStorage, in_page_language
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a long travel password 42"


@pytest.fixture
def traveller():
    user = UserFactory(email="mei@example.com", password=PASSWORD, language="")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_signed_in_in_english_the_message_shows_in_chinese_after_switching(client, traveller):
    signed_in = client.post(
        reverse("account_login"), {"login": traveller.email, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert signed_in.status_code == 302

    client.post(reverse("accounts:set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(signed_in["Location"], follow=True)

    assert page.context["LANGUAGE_CODE"] == "zh-hans"
    assert shown_messages(page) == ["以 mei@example.com 成功登录。"]
    assert "Successfully signed in" not in page.content.decode()


def test_a_traveller_whose_account_is_in_chinese_reads_the_sign_in_message_in_chinese(client, traveller):
    traveller.language = "zh-hans"
    traveller.save(update_fields=["language"])

    page = client.post(
        reverse("account_login"),
        {"login": traveller.email, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en",  # the sign-in page was in English; the next page is in Chinese
        follow=True,
    )

    assert shown_messages(page) == ["以 mei@example.com 成功登录。"]


def test_the_portals_own_messages_follow_the_page_too(client, traveller):
    client.force_login(traveller)
    client.post(reverse("accounts:set_language"), {"language": "en", "next": "/"})
    client.post(reverse("accounts:profile"), {"language": "en", "notify_email": "on"})

    client.post(reverse("accounts:set_language"), {"language": "fr", "next": "/"})
    page = client.get(reverse("accounts:profile"))

    assert shown_messages(page) == ["Vos préférences sont enregistrées."]


def test_a_message_is_kept_in_every_language_and_an_eager_one_as_it_was():
    request = RequestFactory().get("/")
    request.session = {}
    storage = TranslatedMessageStorage(request)
    storage.add(20, in_page_language(lambda: str(translation.gettext("Your preferences are saved."))))
    storage.add(20, "Already a plain string")

    storage._prepare_messages(storage._queued_messages)

    lazy_one, plain_one = storage._queued_messages
    assert isinstance(lazy_one.message, MessageInEveryLanguage)
    assert lazy_one.message["it"] == "Le tue preferenze sono state salvate."
    with translation.override("zh-hans"):
        assert str(lazy_one) == lazy_one.message["zh-hans"] != "Your preferences are saved."
    assert plain_one.message == "Already a plain string"
    assert list(get_messages(request)) == []  # nothing was attached to the request itself


def eager_messages() -> list[str]:
    """messages.<level>(request, _("…")…) anywhere in the apps: translated before the page is known."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for path in root.glob("[a-z]*/**/*.py"):
        if path.parts[len(root.parts)] in {"tests", "bench", "node_modules", "var"} or ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "messages"
                and node.func.attr in {"debug", "info", "success", "warning", "error", "add_message"}
            ):
                continue
            text = node.args[-1] if node.func.attr != "add_message" else node.args[2]
            inner = text.left if isinstance(text, ast.BinOp) else text
            if isinstance(inner, ast.Call) and getattr(inner.func, "id", "") in {"_", "gettext", "ngettext"}:
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_flash_message_is_translated_before_the_page_that_shows_it_is_known():
    assert eager_messages() == []
