"""Every string a customer or staff member can read exists in Simplified Chinese, French and Italian."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

LOCALE = Path(settings.BASE_DIR, "locale")
LANGUAGES = ["zh_Hans", "fr", "it"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%%|\{\w*\}")
TAG = re.compile(r"</?[a-z][^>]*>")


def _catalogue(language: str) -> polib.POFile:
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{path} is missing: run makemessages -l {language}"
    return polib.pofile(str(path))


def _live_entries(catalogue: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in catalogue if not entry.obsolete]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_and_none_is_fuzzy(language):
    catalogue = _catalogue(language)
    entries = _live_entries(catalogue)

    untranslated = [entry.msgid for entry in entries if not entry.translated() and "fuzzy" not in entry.flags]
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]

    assert entries, "the catalogue is empty"
    assert not untranslated, f"{len(untranslated)} untranslated in {language}: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {language}: {fuzzy[:10]}"
    assert not catalogue.metadata_is_fuzzy, f"the {language} header is marked fuzzy"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder_and_link(language):
    problems = []
    for entry in _live_entries(_catalogue(language)):
        if entry.msgid_plural:
            pairs = [
                (entry.msgid if index == 0 and len(entry.msgstr_plural) > 1 else entry.msgid_plural, text)
                for index, text in sorted(entry.msgstr_plural.items())
            ]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for source, translated in pairs:
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(translated)):
                problems.append(f"placeholders differ: {source!r} -> {translated!r}")
            if len(TAG.findall(source)) != len(TAG.findall(translated)):
                problems.append(f"HTML tags differ: {source!r} -> {translated!r}")

    assert not problems, "\n".join(problems[:20])


@pytest.mark.skipif(not shutil.which("xgettext"), reason="GNU gettext (xgettext) is not installed")
def test_the_catalogues_hold_every_string_in_the_code(tmp_path):
    # Extract afresh from a copy of the sources and compare with the committed catalogue, so a
    # string added to the code without being translated fails here rather than in front of a user.
    ignored = shutil.ignore_patterns(
        ".venv", "var", ".git", "node_modules", "__pycache__", "*.mo", ".ruff_cache"
    )
    shutil.copytree(settings.BASE_DIR, tmp_path / "src", ignore=ignored)
    environment = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    environment["VAR_DIR"] = str(tmp_path / "var")
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete", "--ignore=var"],
        cwd=tmp_path / "src",
        env=environment,
        check=True,
        capture_output=True,
    )
    fresh = polib.pofile(str(tmp_path / "src" / "locale" / "fr" / "LC_MESSAGES" / "django.po"))

    def keys(catalogue):
        return {(entry.msgctxt or "", entry.msgid) for entry in _live_entries(catalogue)}

    missing = keys(fresh) - keys(_catalogue("fr"))
    assert not missing, (
        f"{len(missing)} strings in the code are not in the catalogues: {sorted(missing)[:10]}"
    )


@pytest.mark.usefixtures("compiled_translations")
class TestCompiledCatalogues:
    def test_django_reads_the_compiled_chinese_french_and_italian_strings(self):
        expected = {"zh-hans": "我的数据卡", "fr": "Vos cartes data", "it": "Le tue schede dati"}
        translate = translation.gettext  # another name, so makemessages does not collect the test string
        for language, text in expected.items():
            with translation.override(language):
                assert translate("Your data cards") == text

    def test_plural_forms_follow_each_language(self):
        message = "%(count)s free eSIM profile in stock."
        plural = "%(count)s free eSIM profiles in stock."
        with translation.override("fr"):
            assert translation.ngettext(message, plural, 1) % {"count": 1} == "1 profil eSIM libre en stock."
            assert translation.ngettext(message, plural, 0) % {"count": 0} == "0 profil eSIM libre en stock."
        with translation.override("it"):
            assert (
                translation.ngettext(message, plural, 0) % {"count": 0}
                == "0 profili eSIM liberi in magazzino."
            )

    def test_a_chinese_browser_gets_the_login_page_in_chinese(self, client, db):
        response = client.get(reverse("account_login"), headers={"accept-language": "zh-CN,zh;q=0.9"})

        html = response.content.decode()
        assert '<html lang="zh-hans"' in html
        assert "跳到主要内容" in html
        assert "帮助与常见问题" in html

    def test_the_saved_language_of_a_customer_wins_over_the_browser(self, client, owner):
        owner.language = "it"
        owner.save(update_fields=["language"])
        client.force_login(owner)

        html = client.get(reverse("usage:dashboard"), headers={"accept-language": "fr"}).content.decode()

        assert '<html lang="it"' in html
        assert "Le tue schede dati" in html
