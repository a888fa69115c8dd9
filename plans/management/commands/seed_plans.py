from django.core.management.base import BaseCommand

from plans.services import plans_seed_catalogue


class Command(BaseCommand):
    help = "Creates the day, week and month plans if they are missing (safe to run again)."

    def handle(self, *args, **options):
        plans = plans_seed_catalogue()
        self.stdout.write(f"{len(plans)} plans in the catalogue: " + ", ".join(plan.code for plan in plans))
