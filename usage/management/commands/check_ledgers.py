from django.core.management.base import BaseCommand

from usage.ledger import ledgers_check, usage_links_check
from usage.models import Card


class Command(BaseCommand):
    help = (
        "Verify that every card's cached data and expiry equal the fold of its ledger, and that every"
        " usage record belongs to an existing card and points at its card's usage entry; exit 1 if not."
    )

    def handle(self, *args, **options):
        mismatches = ledgers_check()
        links = usage_links_check()
        for mismatch in mismatches:
            self.stdout.write(str(mismatch))
        if links.without_card:
            self.stdout.write(
                f"usage records whose card does not exist: {', '.join(links.without_card_examples)}"
            )
        if links.unlinked:
            self.stdout.write(
                f"usage records without their card's usage ledger entry: {', '.join(links.unlinked_examples)}"
            )
        if not mismatches and not links:
            count = Card.objects.count()
            self.stdout.write(self.style.SUCCESS(f"All {count} cards agree with their ledgers."))
            return
        if mismatches:
            self.stderr.write(self.style.ERROR(f"{len(mismatches)} card(s) disagree with their ledger."))
        if links.without_card:
            # The database does not enforce this link (usage ingest speed): nothing but this check sees it.
            self.stderr.write(
                self.style.ERROR(
                    f"{links.without_card} usage record(s) belong to no card: the card was deleted"
                    " or the records were written past the ORM."
                )
            )
        if links.unlinked:
            self.stderr.write(
                self.style.ERROR(f"{links.unlinked} usage record(s) point at no usage entry of their card.")
            )
        raise SystemExit(1)
