from django.core.management.base import BaseCommand

from usage.ledger import ledgers_check
from usage.models import Card


class Command(BaseCommand):
    help = "Verify that every card's cached data and expiry equal the fold of its ledger; exit 1 if not."

    def handle(self, *args, **options):
        mismatches = ledgers_check()
        if not mismatches:
            count = Card.objects.count()
            self.stdout.write(self.style.SUCCESS(f"All {count} cards agree with their ledgers."))
            return
        for mismatch in mismatches:
            self.stdout.write(str(mismatch))
        self.stderr.write(self.style.ERROR(f"{len(mismatches)} card(s) disagree with their ledger."))
        raise SystemExit(1)
