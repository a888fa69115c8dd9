"""Flash messages in the language of the page that shows them, not of the request that added them.

A message usually outlives its request (added before a redirect), and the next page may be in
another language: signing in switches to the traveller's own language, and anyone may switch with
the language picker. So a message is added as `in_page_language(lambda: _("…") % {…})`; when the
request ends, `TranslatedMessageStorage` keeps its text in every language of settings.LANGUAGES,
and the page shows the one it is in. accounts.adapter does the same for allauth's messages.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.messages.storage.fallback import FallbackStorage
from django.utils import translation
from django.utils.functional import Promise, lazy


def in_page_language(render: Callable[[], str]) -> str:
    """A message text made again in whatever language is active when it is shown (a lazy str: a
    Promise at run time, as django-stubs types `lazy(..., str)`)."""
    return lazy(render, str)()


class MessageInEveryLanguage(dict):
    """{language code: text}; a dict so that the cookie and session storages serialise it as JSON."""

    def __str__(self) -> str:
        language = translation.get_language() or settings.LANGUAGE_CODE
        for code in (language, language.split("-")[0], settings.LANGUAGE_CODE):
            if code in self:
                return self[code]
        return next(iter(self.values()), "")


def message_in_every_language(text: Promise) -> MessageInEveryLanguage:
    texts = MessageInEveryLanguage()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(text)
    return texts


class TranslatedMessageStorage(FallbackStorage):
    """Django's default storage (cookie, then session), keeping lazy messages in every language."""

    def _prepare_messages(self, messages):  # type: ignore[no-untyped-def]
        for message in messages:
            text = message.message
            message._prepare()
            if isinstance(text, Promise):
                message.message = message_in_every_language(text)

    def _get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        messages, all_retrieved = super()._get(*args, **kwargs)
        for message in messages or []:
            if isinstance(message.message, dict):
                message.message = MessageInEveryLanguage(message.message)
        return messages, all_retrieved
