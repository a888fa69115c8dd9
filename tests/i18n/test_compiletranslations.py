import gettext

import polib
import pytest
from django.core.management import CommandError, call_command


def _write_catalogue(locale_dir, language: str) -> None:
    catalogue = polib.POFile()
    catalogue.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": language,
        "Plural-Forms": "nplurals=2; plural=(n > 1);",
    }
    catalogue.append(polib.POEntry(msgid="Renew", msgstr="Renouveler"))
    catalogue.append(polib.POEntry(msgid="Expired", msgstr="Expirée", flags=["fuzzy"]))
    catalogue.append(polib.POEntry(msgid="Untranslated", msgstr=""))
    catalogue.append(
        polib.POEntry(
            msgid="%(count)s card",
            msgid_plural="%(count)s cards",
            msgstr_plural={0: "%(count)s carte", 1: "%(count)s cartes"},
        )
    )
    folder = locale_dir / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalogue.save(str(folder / "django.po"))


def test_it_compiles_translated_entries_and_leaves_out_fuzzy_ones(settings, tmp_path):
    settings.LOCALE_PATHS = [tmp_path]
    _write_catalogue(tmp_path, "fr")

    call_command("compiletranslations")

    with open(tmp_path / "fr" / "LC_MESSAGES" / "django.mo", "rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)
    # Called through other names so that makemessages does not collect these test strings.
    translate, translate_plural = compiled.gettext, compiled.ngettext
    assert translate("Renew") == "Renouveler"
    assert translate("Expired") == "Expired", "a fuzzy guess must never reach users"
    assert translate("Untranslated") == "Untranslated"
    assert translate_plural("%(count)s card", "%(count)s cards", 2) == "%(count)s cartes"
    assert not list(tmp_path.rglob("*.partial")), "no half-written file is left behind"


def test_it_compiles_only_the_locales_asked_for(settings, tmp_path):
    settings.LOCALE_PATHS = [tmp_path]
    _write_catalogue(tmp_path, "fr")
    _write_catalogue(tmp_path, "it")

    call_command("compiletranslations", locale=["it"])

    assert (tmp_path / "it" / "LC_MESSAGES" / "django.mo").exists()
    assert not (tmp_path / "fr" / "LC_MESSAGES" / "django.mo").exists()


def test_it_fails_loudly_when_there_is_nothing_to_compile(settings, tmp_path):
    settings.LOCALE_PATHS = [tmp_path]

    with pytest.raises(CommandError, match=r"No \.po files"):
        call_command("compiletranslations")
