import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from usage.demo import SPARE_CLAIM_CODE, SPARE_ICCID
from usage.ledger import ledgers_check
from usage.models import Card
from usage.services import card_claim, esim_allocate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development_mode(settings):
    settings.DEBUG = True  # seed_demo refuses to run in production mode


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_demo_traveller_has_an_active_esim_with_some_data_used(django_user_model):
    seed()

    traveller = django_user_model.objects.get(email="demo@example.com")
    card = Card.objects.get(owner=traveller)
    now = timezone.now()
    assert card.state_at(now) == Card.State.ACTIVE
    assert card.period_allowance == 5_000_000_000
    assert 0 < card.data_remaining < card.period_allowance
    assert card.usage_records.exists()
    assert card.usage_updated_at is not None
    assert card.activation_code.startswith("LPA:1$")


def test_seeding_again_adds_nothing():
    seed()
    counts = (Card.objects.count(), sum(card.ledger_entries.count() for card in Card.objects.all()))

    seed()

    assert (Card.objects.count(), sum(card.ledger_entries.count() for card in Card.objects.all())) == counts
    assert ledgers_check() == []


def test_the_printed_spare_card_can_be_added_and_new_esims_are_in_stock(django_user_model):
    output = seed()

    assert SPARE_ICCID in output and SPARE_CLAIM_CODE in output
    traveller = django_user_model.objects.get(email="demo@example.com")
    assert card_claim(user=traveller, iccid=SPARE_ICCID, claim_code=SPARE_CLAIM_CODE).owner == traveller
    assert esim_allocate(user=traveller).kind == Card.Kind.ESIM


def test_after_a_restart_the_start_offers_a_card_that_can_still_be_added(
    django_user_model, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    seed()
    traveller = django_user_model.objects.get(email="demo@example.com")
    card_claim(user=traveller, iccid=SPARE_ICCID, claim_code=SPARE_CLAIM_CODE)

    output = seed()  # the next `dev.py run`

    assert SPARE_ICCID not in output and SPARE_CLAIM_CODE not in output
    banner = (tmp_path / "demo-logins.txt").read_text()  # what dev.py shows once the server answers
    assert SPARE_ICCID not in banner
    [line] = [line for line in output.splitlines() if "Card to add" in line]
    iccid, claim_code = (
        line.split("ICCID ")[1].split()[0].rstrip(","),
        line.split("claim code ")[1].split()[0],
    )
    assert line in banner
    outsider = django_user_model.objects.create_user(email="zoe@example.com", password="x")
    assert card_claim(user=outsider, iccid=iccid, claim_code=claim_code).owner == outsider
