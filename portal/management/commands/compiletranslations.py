"""Compile locale/*/LC_MESSAGES/*.po into .mo files with polib, so no GNU gettext is needed."""

import os
from pathlib import Path

import polib  # type: ignore[import-untyped]
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def _shown(path: Path) -> Path:
    base = Path(settings.BASE_DIR)
    return path.relative_to(base) if path.is_relative_to(base) else path


class Command(BaseCommand):
    help = "Compile the project's translation catalogues (.po to .mo) without GNU gettext."

    def add_arguments(self, parser):
        parser.add_argument(
            "--locale", "-l", action="append", default=[], help="Only this locale (repeatable)."
        )

    def handle(self, *args, locale: list[str], **options):
        catalogues = sorted(
            po_path
            for locale_dir in settings.LOCALE_PATHS
            for po_path in Path(locale_dir).glob("*/LC_MESSAGES/*.po")
            if not locale or po_path.parent.parent.name in locale
        )
        if not catalogues:
            raise CommandError("No .po files found under LOCALE_PATHS.")
        for po_path in catalogues:
            try:
                catalogue = polib.pofile(str(po_path))
            except (OSError, ValueError) as error:
                raise CommandError(f"{po_path}: {error}") from error
            mo_path = po_path.with_suffix(".mo")
            partial_path = mo_path.with_name(f".{mo_path.name}.{os.getpid()}.partial")
            # polib writes translated, non-fuzzy entries only, like msgfmt without --use-fuzzy.
            catalogue.save_as_mofile(str(partial_path))
            # Running processes may be reading the catalogue: swap the whole file in at once.
            os.replace(partial_path, mo_path)
            self.stdout.write(
                f"{_shown(po_path)}: {len(catalogue.translated_entries())} translated, "
                f"{len(catalogue.untranslated_entries())} untranslated, {len(catalogue.fuzzy_entries())} fuzzy"
            )
        self.stdout.write(self.style.SUCCESS(f"Compiled {len(catalogues)} catalogue(s)."))
