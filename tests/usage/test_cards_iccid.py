import pytest

from usage.iccid import (
    activation_code_parse,
    iccid_is_valid,
    iccid_normalise,
    iccid_with_check_digit,
    luhn_is_valid,
)

# The ICCID printed in ITU-T E.118's Wikipedia example; its last digit is the Luhn check digit.
KNOWN_GOOD = "89014103211118510720"


def test_a_published_iccid_passes_the_luhn_check():
    assert luhn_is_valid(KNOWN_GOOD)
    assert iccid_is_valid(KNOWN_GOOD)


@pytest.mark.parametrize("position", [0, 5, 10, 19])
def test_changing_any_single_digit_breaks_the_check(position):
    digit = KNOWN_GOOD[position]
    changed = KNOWN_GOOD[:position] + str((int(digit) + 1) % 10) + KNOWN_GOOD[position + 1 :]
    assert not iccid_is_valid(changed)


def test_swapping_two_adjacent_digits_breaks_the_check():
    swapped = KNOWN_GOOD[:3] + KNOWN_GOOD[4] + KNOWN_GOOD[3] + KNOWN_GOOD[5:]
    assert swapped != KNOWN_GOOD
    assert not iccid_is_valid(swapped)


@pytest.mark.parametrize("length", [18, 19, 20, 21, 22])
def test_it_accepts_18_to_22_digits_with_a_check_digit(length):
    iccid = iccid_with_check_digit("8937" + "1" * (length - 5))
    assert len(iccid) == length
    assert iccid_is_valid(iccid)


@pytest.mark.parametrize("length", [17, 23])
def test_it_refuses_too_short_or_too_long_numbers_even_with_a_good_check_digit(length):
    iccid = iccid_with_check_digit("8937" + "1" * (length - 5))
    assert luhn_is_valid(iccid)
    assert not iccid_is_valid(iccid)


def test_it_refuses_letters():
    assert not iccid_is_valid("8901410321111851072A")


def test_spaces_and_dashes_typed_by_people_are_removed():
    assert iccid_normalise(" 8901 4103-2111 1851 0720 ") == KNOWN_GOOD


def test_an_activation_code_splits_into_smdp_address_and_matching_id():
    assert activation_code_parse("LPA:1$smdp.example.net$K2-1A2B3C-XYZ") == (
        "smdp.example.net",
        "K2-1A2B3C-XYZ",
    )


@pytest.mark.parametrize(
    "code", ["", "LPA:2$smdp.example.net$X", "smdp.example.net$X", "LPA:1$$X", "LPA:1$nodot$X"]
)
def test_a_malformed_activation_code_is_refused(code):
    assert activation_code_parse(code) is None
