import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from tests.fixtures.mfa import totp_enrol
from tests.usage.card_factories import InventoryCardFactory, OwnedCardFactory
from usage.iccid import iccid_with_check_digit
from usage.models import Card
from usage.services import (
    EsimOutOfStock,
    card_claim,
    claim_code_hash,
    esim_allocate,
    esim_inventory_import,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Messages are compared in English; a request in another test may have left another language active.
    with translation.override("en"):
        yield


ICCID_A = iccid_with_check_digit("893770000000000011")
ICCID_B = iccid_with_check_digit("893770000000000012")
ICCID_C = iccid_with_check_digit("893770000000000013")


def csv_file(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def test_a_clean_file_imports_every_profile_as_free_stock():
    result = esim_inventory_import(
        file=csv_file(
            "iccid,activation_code,claim_code",
            f"{ICCID_A},LPA:1$smdp.example.net$AAA-111,CLAIMA1",
            f"{ICCID_B},LPA:1$smdp.example.net$BBB-222,CLAIMB2",
        )
    )

    assert result.ok
    assert result.created == 2
    card = Card.objects.get(iccid=ICCID_A)
    assert card.owner is None
    assert card.activation_code == "LPA:1$smdp.example.net$AAA-111"
    assert card.claim_code_hash == claim_code_hash("CLAIMA1")


def test_an_imported_profile_can_be_claimed_with_its_printed_code(owner):
    esim_inventory_import(
        file=csv_file("iccid,activation_code,claim_code", f"{ICCID_A},LPA:1$smdp.example.net$AAA-111,CLAIMA1")
    )
    assert card_claim(user=owner, iccid=ICCID_A, claim_code="CLAIMA1").owner == owner


def test_one_bad_row_imports_nothing_and_names_the_line():
    result = esim_inventory_import(
        file=csv_file(
            "iccid,activation_code,claim_code",
            f"{ICCID_A},LPA:1$smdp.example.net$AAA-111,CLAIMA1",
            f"{ICCID_B[:-1]}{(int(ICCID_B[-1]) + 1) % 10},LPA:1$smdp.example.net$BBB-222,CLAIMB2",
            f"{ICCID_C},LPA:1$smdp.example.net$CCC-333,CLAIMC3",
        )
    )

    assert not result.ok
    assert result.created == 0
    assert [line for line, _message in result.errors] == [3]
    assert "is not a valid ICCID" in result.errors[0][1]
    assert Card.objects.count() == 0


def test_every_problem_is_reported_at_once():
    InventoryCardFactory(iccid=ICCID_C)

    result = esim_inventory_import(
        file=csv_file(
            "ICCID, Activation_Code ,claim_code",
            f"{ICCID_A},LPA:1$smdp.example.net$AAA-111,CLAIMA1",
            f"{ICCID_A},LPA:1$smdp.example.net$AAA-112,CLAIMA2",
            f"{ICCID_B},not-an-activation-code,CLAIMB2",
            f"{ICCID_C},LPA:1$smdp.example.net$CCC-333,C3",
        )
    )

    messages = dict(result.errors)
    assert "repeated (first on line 2)" in messages[3]
    assert "activation code must look like" in messages[4]
    assert len([line for line, _ in result.errors if line == 5]) == 2  # short code, ICCID already in stock
    assert Card.objects.count() == 1


def test_a_file_without_the_expected_columns_is_refused():
    result = esim_inventory_import(file=csv_file("iccid;activation;code", f"{ICCID_A};x;y"))
    assert not result.ok
    assert "missing" in result.errors[0][1]
    assert Card.objects.count() == 0


def test_a_file_that_is_not_utf8_is_refused():
    result = esim_inventory_import(
        file=io.BytesIO("iccid,activation_code,claim_code\n\xff\xfe".encode("latin-1"))
    )
    assert not result.ok
    assert "not UTF-8" in result.errors[0][1]


def test_allocation_gives_a_free_profile_to_the_buyer(owner):
    OwnedCardFactory()  # someone else's card is never stock
    InventoryCardFactory(activation_code="")  # a physical SIM is not an eSIM profile
    free = InventoryCardFactory()

    card = esim_allocate(user=owner)

    assert card == free
    card.refresh_from_db()
    assert card.owner == owner
    assert card.allocated_at is not None


def test_two_buyers_get_two_different_profiles(owner, outsider):
    InventoryCardFactory.create_batch(2)

    first = esim_allocate(user=owner)
    second = esim_allocate(user=outsider)

    assert first != second


def test_allocation_fails_clearly_when_the_stock_is_empty(owner):
    InventoryCardFactory(owner=None, allocated_at="2026-01-01T00:00Z")

    with pytest.raises(EsimOutOfStock, match="No new eSIM is available right now"):
        esim_allocate(user=owner)


@pytest.fixture
def stock_keeper(django_user_model):
    user = totp_enrol(
        django_user_model.objects.create_user(email="stock@example.com", password="x", is_staff=True)
    )
    user.user_permissions.add(Permission.objects.get(codename="add_card", content_type__app_label="usage"))
    return user


def upload(lines: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile("profiles.csv", ("\n".join(lines) + "\n").encode(), content_type="text/csv")


def test_staff_import_the_stock_from_the_import_page(client, stock_keeper):
    client.force_login(stock_keeper)
    url = reverse("usage:esim_inventory_import")

    response = client.post(
        url,
        {
            "file": upload(
                ["iccid,activation_code,claim_code", f"{ICCID_A},LPA:1$smdp.example.net$AAA-111,CLAIMA1"]
            )
        },
        follow=True,
    )

    assert "1 eSIM profiles imported." in response.content.decode()
    assert "1 free eSIM profile in stock." in response.content.decode()


def test_the_import_page_lists_the_bad_lines_and_imports_nothing(client, stock_keeper):
    client.force_login(stock_keeper)

    response = client.post(
        reverse("usage:esim_inventory_import"),
        {
            "file": upload(
                ["iccid,activation_code,claim_code", "12345,LPA:1$smdp.example.net$AAA-111,CLAIMA1"]
            )
        },
    )

    body = response.content.decode()
    assert "Nothing was imported" in body
    assert "Line 2:" in body
    assert Card.objects.count() == 0


def test_customers_and_staff_without_the_permission_cannot_import(client, owner, django_user_model):
    url = reverse("usage:esim_inventory_import")
    client.force_login(owner)
    assert client.get(url).status_code == 302  # to the admin login

    clerk = totp_enrol(
        django_user_model.objects.create_user(email="clerk@example.com", password="x", is_staff=True)
    )
    client.force_login(clerk)
    assert client.get(url).status_code == 403
