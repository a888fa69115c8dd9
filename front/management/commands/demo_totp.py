import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from front.management.commands.seed_demo import DEMO_TOTP_SECRETS
from portal.lib.totp import PERIOD_SECONDS, totp_code


class Command(BaseCommand):
    help = "Print the current authenticator codes of the demo staff (development only)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_totp shows the published demo secrets' codes; it runs only with DEBUG on."
            )
        left = PERIOD_SECONDS - int(time.time()) % PERIOD_SECONDS
        for email, secret in DEMO_TOTP_SECRETS.items():
            self.stdout.write(f"{email:<22} {totp_code(secret)}")
        self.stdout.write(f"(valid for {left} more seconds; each code works once)")
