"""Issue 12 (10): a password refused at sign-up is explained in the language of the page."""

import re

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_translations")]

EXPECTED = {
    "zh-hans": ["密码太短，至少需要 8 个字符。", "这个密码太常见了。"],  # noqa: RUF001
    "fr": [
        "Ce mot de passe est trop court. Il doit contenir au minimum 8 caractères.",
        "Ce mot de passe est trop courant.",
    ],
    "it": [
        "Questa password è troppo corta. Deve contenere almeno 8 caratteri.",
        "Questa password è troppo comune.",
    ],
}


def errors_in(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", page)]


@pytest.mark.parametrize("language", ["zh-hans", "fr", "it"])
def test_a_short_common_password_is_refused_in_the_language_of_the_page(client, language):
    client.cookies["django_language"] = language
    short = client.post(
        reverse("account_signup"),
        {"phone_country": "MC", "phone_number": "06 12 34 56 78", "password1": "abc", "password2": "abc"},
    )
    common = client.post(
        reverse("account_signup"),
        {
            "phone_country": "MC",
            "phone_number": "06 12 34 56 78",
            "password1": "password",
            "password2": "passwore",
        },
    )

    errors = errors_in(short.content.decode()) + errors_in(common.content.decode())
    for message in EXPECTED[language]:
        assert message in errors
    english = re.compile(r"\b(This|Your|must|same|too short|too common)\b")
    assert not [error for error in errors if english.search(error)], errors
