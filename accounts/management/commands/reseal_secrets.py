from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.lib import secret_box

FIELDS = {"totp": "secret", "recovery_codes": "seed"}


class Command(BaseCommand):
    help = (
        "Seal every stored authenticator secret again under the current SECRET_KEY (after a key "
        "rotation, while the old key is still in SECRET_KEY_FALLBACKS)."
    )

    def handle(self, *args, **options) -> None:
        resealed = 0
        with transaction.atomic():
            for authenticator in Authenticator.objects.select_for_update().filter(type__in=FIELDS):
                field = FIELDS[authenticator.type]
                try:
                    authenticator.data[field] = secret_box.reseal(authenticator.data[field])
                except secret_box.SecretBoxError as error:
                    raise CommandError(
                        f"authenticator {authenticator.pk}: {error}; nothing changed"
                    ) from None
                authenticator.save(update_fields=["data"])
                resealed += 1
        self.stdout.write(f"{resealed} secrets sealed under the current SECRET_KEY.")
