import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.usage.card_factories import InventoryCardFactory, OwnedCardFactory
from usage.services import CardClaimRefused, card_claim, claim_code_hash

# settings.ACCOUNT_RATE_LIMITS "card_claim_failed": wrong pairs an hour per account and per address.
CLAIM_FAILURES_PER_USER = 10
CLAIM_FAILURES_PER_IP = 30

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Messages are compared in English; a request in another test may have left another language active.
    with translation.override("en"):
        yield


GENERIC = "We could not add this card. Check the ICCID and the claim code printed with it, and try again."


def test_the_right_pair_gives_the_card_to_the_customer(owner):
    card = InventoryCardFactory(claim_code="K7QX9P")

    claimed = card_claim(user=owner, iccid=card.iccid, claim_code="K7QX9P")

    card.refresh_from_db()
    assert claimed == card
    assert card.owner == owner
    assert card.allocated_at is not None


def test_the_claim_code_is_stored_only_as_an_hmac():
    card = InventoryCardFactory(claim_code="K7QX9P")
    assert card.claim_code_hash == claim_code_hash("K7QX9P")
    assert "K7QX9P" not in card.claim_code_hash
    assert len(card.claim_code_hash) == 64


def test_spaces_case_and_dashes_in_what_people_type_do_not_matter(owner):
    card = InventoryCardFactory(claim_code="K7QX9P")
    grouped_iccid = " ".join(card.iccid[i : i + 4] for i in range(0, len(card.iccid), 4))

    card_claim(user=owner, iccid=grouped_iccid, claim_code="k7q-x9p")

    card.refresh_from_db()
    assert card.owner == owner


def _refusal_message(user, iccid, claim_code) -> str:
    with pytest.raises(CardClaimRefused) as refused:
        card_claim(user=user, iccid=iccid, claim_code=claim_code)
    return str(refused.value)


def test_every_wrong_pair_gets_the_same_generic_error(owner, outsider):
    mine = InventoryCardFactory(claim_code="K7QX9P")
    theirs = OwnedCardFactory(owner=outsider, claim_code_hash=claim_code_hash("THEIRS1"))
    no_code = InventoryCardFactory(claim_code_hash="")

    messages = {
        "wrong code": _refusal_message(owner, mine.iccid, "WRONG1"),
        "unknown card": _refusal_message(owner, "89014103211118510720", "K7QX9P"),
        "someone else's card, right code": _refusal_message(owner, theirs.iccid, "THEIRS1"),
        "card without a code": _refusal_message(owner, no_code.iccid, ""),
        "invalid ICCID": _refusal_message(owner, "123", "K7QX9P"),
    }

    assert set(messages.values()) == {GENERIC}


def test_a_card_owned_by_someone_else_stays_theirs(owner, outsider):
    theirs = OwnedCardFactory(owner=outsider, claim_code_hash=claim_code_hash("THEIRS1"))

    with pytest.raises(CardClaimRefused):
        card_claim(user=owner, iccid=theirs.iccid, claim_code="THEIRS1")

    theirs.refresh_from_db()
    assert theirs.owner == outsider


def test_claiming_my_own_card_again_is_harmless(owner):
    card = InventoryCardFactory(claim_code="K7QX9P")
    card_claim(user=owner, iccid=card.iccid, claim_code="K7QX9P")

    assert card_claim(user=owner, iccid=card.iccid, claim_code="K7QX9P") == card


def claim(client, card, code):
    return client.post(reverse("usage:card_claim"), {"iccid": card.iccid, "claim_code": code})


def signed_in(user, address: str) -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def test_after_too_many_wrong_tries_even_the_right_pair_is_refused_for_that_user(owner, outsider):
    card = InventoryCardFactory(claim_code="K7QX9P")
    guesser = signed_in(owner, "198.51.100.1")
    for attempt in range(CLAIM_FAILURES_PER_USER):
        assert claim(guesser, card, f"GUESS{attempt:03d}").status_code == 200

    assert claim(guesser, card, "K7QX9P").status_code == 429
    card.refresh_from_db()
    assert card.owner is None

    # Another customer is not held back by someone else's guessing.
    assert claim(signed_in(outsider, "198.51.100.2"), card, "K7QX9P").status_code == 302
    card.refresh_from_db()
    assert card.owner == outsider


def test_guessing_from_one_address_with_many_accounts_is_limited_per_ip(django_user_model):
    card = InventoryCardFactory(claim_code="K7QX9P")
    for guess in range(CLAIM_FAILURES_PER_IP):
        user = django_user_model.objects.create_user(
            email=f"guesser{guess // 5}-{guess}@example.com", password="x"
        )
        assert claim(signed_in(user, "203.0.113.9"), card, f"GUESS{guess:03d}").status_code == 200

    fresh = django_user_model.objects.create_user(email="fresh@example.com", password="x")
    assert claim(signed_in(fresh, "203.0.113.9"), card, "K7QX9P").status_code == 429
    # The same customer from another network is fine.
    assert claim(signed_in(fresh, "198.51.100.7"), card, "K7QX9P").status_code == 302


def test_addresses_in_one_ipv6_64_share_one_limit(django_user_model):
    card = InventoryCardFactory(claim_code="K7QX9P")
    for guess in range(CLAIM_FAILURES_PER_IP):
        user = django_user_model.objects.create_user(email=f"v6guesser{guess}@example.com", password="x")
        assert (
            claim(signed_in(user, f"2001:db8:1:2::{guess + 1:x}"), card, f"GUESS{guess:03d}").status_code
            == 200
        )

    fresh = django_user_model.objects.create_user(email="fresh@example.com", password="x")
    assert claim(signed_in(fresh, "2001:db8:1:2:ffff::1"), card, "K7QX9P").status_code == 429
    assert claim(signed_in(fresh, "2001:db8:1:3::1"), card, "K7QX9P").status_code == 302


def test_the_daily_limit_holds_when_the_hours_pass(owner):
    from datetime import UTC, datetime, timedelta

    import time_machine

    card = InventoryCardFactory(claim_code="K7QX9P")
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        for hour in range(2):
            clock.move_to(start + timedelta(hours=hour, minutes=1))
            for attempt in range(CLAIM_FAILURES_PER_USER):
                claim(
                    signed_in(owner, f"198.51.100.{hour * 20 + attempt + 1}"), card, f"G{hour}{attempt:03d}"
                )
        clock.move_to(start + timedelta(hours=3))

        assert claim(signed_in(owner, "192.0.2.1"), card, "K7QX9P").status_code == 429


def test_the_claim_page_adds_the_card_and_opens_it(client, owner):
    card = InventoryCardFactory(claim_code="K7QX9P")
    client.force_login(owner)

    response = client.post(
        reverse("usage:card_claim"), {"iccid": card.iccid, "claim_code": "K7QX9P"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("usage:card_detail", args=[card.pk])
    assert f"Card {card.iccid} is now in your account." in response.content.decode()


def test_the_claim_page_shows_the_generic_error_for_a_wrong_pair(client, owner):
    card = InventoryCardFactory(claim_code="K7QX9P")
    client.force_login(owner)

    response = client.post(reverse("usage:card_claim"), {"iccid": card.iccid, "claim_code": "NOPE00"})

    assert response.status_code == 200
    assert GENERIC in response.content.decode()
    card.refresh_from_db()
    assert card.owner is None


def test_the_claim_page_answers_429_once_the_limit_is_reached(client, owner):
    card = InventoryCardFactory(claim_code="K7QX9P")
    client.force_login(owner)
    for attempt in range(CLAIM_FAILURES_PER_USER):
        client.post(reverse("usage:card_claim"), {"iccid": card.iccid, "claim_code": f"GUESS{attempt:03d}"})

    response = client.post(reverse("usage:card_claim"), {"iccid": card.iccid, "claim_code": "K7QX9P"})

    assert response.status_code == 429
    assert "Too many attempts to add a card" in response.content.decode()
    card.refresh_from_db()
    assert card.owner is None


def test_a_mistyped_iccid_is_caught_by_the_form_without_using_an_attempt(client, owner):
    client.force_login(owner)

    for _ in range(CLAIM_FAILURES_PER_USER + 2):
        response = client.post(
            reverse("usage:card_claim"), {"iccid": "89014103211118510721", "claim_code": "X"}
        )

    assert response.status_code == 200
    assert "This is not a valid ICCID" in response.content.decode()


def test_the_claim_page_needs_a_login(client):
    response = client.get(reverse("usage:card_claim"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
