import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.phone import PhoneNumberField, country_choices, phone_display, phone_parse


@pytest.mark.parametrize(
    ("typed", "country", "stored"),
    [
        ("+377 6 12 34 56 78", "MC", "+377612345678"),
        ("+377 6 12 34 56 78", "FR", "+377612345678"),
        ("0033 6 12 34 56 78", "MC", "+33612345678"),
        ("06 12 34 56 78", "MC", "+377612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+86 138 0013 8000", "MC", "+8613800138000"),
        ("  +33-6-12-34-56-78 ", "MC", "+33612345678"),
        ("(06) 12.34.56.78", "FR", "+33612345678"),
    ],
)
def test_what_travellers_type_is_stored_in_e164(typed, country, stored):
    assert phone_parse(typed, country) == stored


def test_monaco_is_the_default_country(settings):
    settings.PHONE_DEFAULT_REGION = "MC"

    assert phone_parse("06 12 34 56 78") == "+377612345678"


@pytest.mark.parametrize("typed", ["", "12", "hello", "+377 6 12", "+1 555 0000 0000 0000", "0033"])
def test_a_bad_number_is_refused_with_a_clear_message(typed):
    with pytest.raises(ValidationError) as caught:
        phone_parse(typed, "MC")

    assert "not a valid phone number" in caught.value.messages[0]


def test_a_landline_is_refused_because_it_cannot_receive_codes():
    with pytest.raises(ValidationError) as caught:
        phone_parse("+377 98 98 80 00", "MC")  # a Monaco fixed line

    assert "cannot receive text messages" in caught.value.messages[0]


@pytest.mark.parametrize("language", ["fr", "it", "zh-hans"])
def test_the_message_is_in_the_travellers_language(language):
    with pytest.raises(ValidationError) as english:
        phone_parse("12", "MC")
    with translation.override(language):
        with pytest.raises(ValidationError) as translated:
            phone_parse("12", "MC")
        message = str(translated.value.messages[0])  # lazy: read it while the language is active

    assert message.strip()
    assert message != str(english.value.messages[0])


def test_the_field_reads_the_picked_country_and_the_number():
    field = PhoneNumberField()

    assert field.clean(["FR", "06 12 34 56 78"]) == "+33612345678"
    assert field.clean(["MC", "06 12 34 56 78"]) == "+377612345678"


def test_the_field_accepts_a_single_string_as_allauth_passes_it():
    assert PhoneNumberField().clean("+377 6 12 34 56 78") == "+377612345678"


def test_an_optional_empty_field_is_empty():
    assert PhoneNumberField(required=False).clean(["MC", ""]) == ""


def test_a_required_empty_field_says_so():
    with pytest.raises(ValidationError, match="required"):
        PhoneNumberField(required=True).clean(["MC", ""])


def test_the_country_list_starts_with_monaco_and_is_named_in_the_active_language():
    with translation.override("fr"):
        french = dict(country_choices())
        first = country_choices()[0]
    with translation.override("zh-hans"):
        chinese = dict(country_choices())

    assert first == ("MC", "Monaco (+377)")
    assert french["DE"] == "Allemagne (+49)"
    assert chinese["MC"] == "摩纳哥 (+377)"


def test_a_stored_number_is_shown_back_readably():
    assert phone_display("+377612345678") == "+377 6 12 34 56 78"


def test_phone_display_leaves_an_email_address_or_an_unparsable_value_as_it_was():
    # Templates pass a recipient that may be either through the one `phone` filter.
    assert phone_display("traveller@example.com") == "traveller@example.com"
    assert phone_display("+12") == "+12"
    assert phone_display("+377640123456") == "+377 6 40 12 34 56"
