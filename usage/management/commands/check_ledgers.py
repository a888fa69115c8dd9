from django.core.management.base import BaseCommand

from usage.ledger import ledgers_check, usage_links_check
from usage.models import Card


class Command(BaseCommand):
    help = (
        "Verify that every card's cached data and expiry equal the fold of its ledger, and that every"
        " usage record points at its card's usage entry; exit 1 if not."
    )

    def handle(self, *args, **options):
        mismatches = ledgers_check()
        unlinked, examples = usage_links_check()
        for mismatch in mismatches:
            self.stdout.write(str(mismatch))
        if unlinked:
            self.stdout.write(f"usage records without their card's usage ledger entry: {', '.join(examples)}")
        if not mismatches and not unlinked:
            count = Card.objects.count()
            self.stdout.write(self.style.SUCCESS(f"All {count} cards agree with their ledgers."))
            return
        if mismatches:
            self.stderr.write(self.style.ERROR(f"{len(mismatches)} card(s) disagree with their ledger."))
        if unlinked:
            self.stderr.write(
                self.style.ERROR(f"{unlinked} usage record(s) point at no usage entry of their card.")
            )
        raise SystemExit(1)
