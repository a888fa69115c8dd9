"""VAT numbers on invoice requests: format and check digits per country (python-stdnum), never VIES."""

import pytest

from billing.forms import InvoiceRequestForm
from billing.models import Invoice
from billing.vat_ids import VatIdInvalid, vat_id_check


@pytest.mark.parametrize(
    ("country", "typed", "printed"),
    [
        ("FR", "FR 40 303 265 045", "FR40303265045"),
        ("FR", "40303265045", "FR40303265045"),  # the prefix is added for the country
        ("IT", "IT 00743110157", "IT00743110157"),
        ("MC", "FR 53 000004605", "FR53000004605"),  # Monaco issues French-format numbers
        ("DE", "DE 136,695 976", "DE136695976"),
        ("GR", "EL 094259216", "EL094259216"),
    ],
)
def test_a_well_formed_number_is_accepted_and_printed_with_its_prefix(country, typed, printed):
    checked = vat_id_check(country=country, raw=typed)

    assert checked.value == printed
    assert checked.check == Invoice.VatIdCheck.FORMAT


@pytest.mark.parametrize(
    ("country", "typed", "message"),
    [
        ("FR", "FR 41 303 265 045", "check digits"),
        ("IT", "IT00743110158", "check digits"),
        ("DE", "DE136695977", "check digits"),
        ("MC", "FR40303265045", "not a valid VAT number"),  # a French company's number, not Monaco's
        ("FR", "IT00743110157", "starts with IT"),
        ("DE", "DE12", "not a valid VAT number"),
    ],
)
def test_a_wrong_number_is_refused_with_a_reason(country, typed, message):
    with pytest.raises(VatIdInvalid, match=message):
        vat_id_check(country=country, raw=typed)


def test_a_chinese_company_without_a_vat_number_is_fine():
    checked = vat_id_check(country="CN", raw="  ")

    assert (checked.value, checked.check) == ("", Invoice.VatIdCheck.NONE)


def test_a_chinese_unified_social_credit_code_is_checked():
    assert vat_id_check(country="CN", raw="91110000600037341L").check == Invoice.VatIdCheck.FORMAT
    with pytest.raises(VatIdInvalid):
        vat_id_check(country="CN", raw="91110000600037341X")


def test_a_country_without_a_format_check_keeps_the_number_marked_unchecked():
    checked = vat_id_check(country="US", raw="12-3456789")

    assert (checked.value, checked.check) == ("12-3456789", Invoice.VatIdCheck.UNCHECKED)
    with pytest.raises(VatIdInvalid):
        vat_id_check(country="US", raw="12 <script>")


def _form(**fields) -> InvoiceRequestForm:
    data = {
        "name": "Rossi Viaggi Srl",
        "address": "Via Roma 1\n16121 Genova",
        "country": "IT",
        "confirm": "on",
    }
    return InvoiceRequestForm({**data, **fields})


def test_the_form_accepts_an_italian_company_and_refuses_a_mistyped_number():
    good = _form(vat_id="IT 00743110157")
    bad = _form(vat_id="IT 00743110158")

    assert good.is_valid(), good.errors
    assert good.cleaned_data["vat_id"] == "IT00743110157"
    assert not bad.is_valid()
    assert "check digits" in bad.errors["vat_id"][0]


def test_the_form_refuses_an_unknown_country():
    form = _form(country="XX")

    assert not form.is_valid()
    assert "country" in form.errors
