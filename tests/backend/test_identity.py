"""Identity document numbers: GB 11643-1999's worked examples, every error, masking, and typos.

Published numbers: GB 11643-1999 gives two worked examples, 11010519491231002X (Beijing,
Chaoyang district, a woman born 1949-12-31) and 440524188001010014 (Guangdong, Chaoyang county, a
man born 1880-01-01); both are quoted widely. Their check characters are recomputed here with
our own weights (2^(17-i) mod 11), not taken from the module under test. Every other number is
made up and gets its check character from `check_char` below.
"""

from __future__ import annotations

import random
import string
from datetime import date, timedelta

import pytest

from backend.services import identity
from backend.services.identity import (
    BadBirthDate,
    BadCharacters,
    BadChecksum,
    BadFormat,
    BadLength,
    BadRegion,
    DocumentKind,
    IdentityError,
    OldFormat,
    ResidentId,
    Sex,
    mask_id,
    validate_document,
    validate_resident_id,
)

TODAY = date(2025, 6, 1)
GB_EXAMPLE_WOMAN = "11010519491231002X"
GB_EXAMPLE_1880 = "440524188001010014"


def check_char(body: str) -> str:
    """ISO 7064 MOD 11-2, written from the definition rather than from the weight table."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    return "10X98765432"[total % 11]


def with_check(body: str) -> str:
    assert len(body) == 17
    return body + check_char(body)


def validate(text: str) -> ResidentId:
    return validate_resident_id(text, today=TODAY)


# -- published and computed numbers -----------------------------------------------------------


@pytest.mark.parametrize("number", [GB_EXAMPLE_WOMAN, GB_EXAMPLE_1880])
def test_the_gb_11643_examples_have_correct_check_characters(number: str) -> None:
    assert check_char(number[:17]) == number[17]
    assert identity.resident_id_check_character(number[:17]) == number[17]


def test_the_gb_11643_example_validates() -> None:
    resident = validate(GB_EXAMPLE_WOMAN)
    assert resident.number == GB_EXAMPLE_WOMAN
    assert resident.birth_date == date(1949, 12, 31)
    assert resident.sex is Sex.FEMALE


def test_the_1880_example_is_refused_as_born_before_1900() -> None:
    # A valid number in 1999; nobody carrying it visits today, and the rule says year >= 1900.
    with pytest.raises(BadBirthDate):
        validate(GB_EXAMPLE_1880)


@pytest.mark.parametrize(
    ("body", "birth_date", "sex"),
    [
        ("44030419900307123", date(1990, 3, 7), Sex.MALE),
        ("31011520000229004", date(2000, 2, 29), Sex.FEMALE),
        ("65010219000101001", date(1900, 1, 1), Sex.MALE),
        ("81000020100815002", date(2010, 8, 15), Sex.FEMALE),  # Hong Kong residence permit
        ("83000019850101003", date(1985, 1, 1), Sex.MALE),  # Taiwan residence permit
        ("91184019850615001", date(1985, 6, 15), Sex.MALE),  # permanent residence, Beijing
        ("93184019850615002", date(1985, 6, 15), Sex.FEMALE),  # permanent residence, Shanghai
    ],
)
def test_computed_numbers_validate(body: str, birth_date: date, sex: Sex) -> None:
    number = with_check(body)
    resident = validate(number)
    assert resident == ResidentId(number=number, birth_date=birth_date, sex=sex)


def test_a_birth_date_of_today_is_accepted() -> None:
    body = "110105" + TODAY.strftime("%Y%m%d") + "001"
    assert validate(with_check(body)).birth_date == TODAY


def test_today_defaults_to_the_date_in_china() -> None:
    assert validate_resident_id(GB_EXAMPLE_WOMAN).birth_date == date(1949, 12, 31)


# -- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "11010519491231002x",
        "11010519491231002X",
        " 110105 19491231 002x ",
        "110105\u300019491231\u3000002X",  # ideographic spaces
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width, from an input method
    ],
)
def test_spaces_case_and_width_are_normalised(text: str) -> None:
    assert validate(text).number == GB_EXAMPLE_WOMAN


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "1101051949123100", "11010519491231002X1", "X" * 15])
def test_bad_length(text: str) -> None:
    with pytest.raises(BadLength) as caught:
        validate(text)
    assert caught.value.code == "bad_length"


@pytest.mark.parametrize("text", ["110105491231002", "110105 491231 002"])
def test_fifteen_digit_first_generation_numbers_are_old_format(text: str) -> None:
    with pytest.raises(OldFormat) as caught:
        validate(text)
    assert caught.value.code == "old_format"
    assert isinstance(caught.value, BadLength)


@pytest.mark.parametrize(
    "text",
    [
        "1101051949123100X2",  # X before the end
        "11010519491231002Y",
        "A1010519491231002X",
        "11010519491231002-",
        "1101051949123\u0662002X",  # an Arabic-Indic digit, which str.isdigit accepts
    ],
)
def test_bad_characters(text: str) -> None:
    with pytest.raises(BadCharacters) as caught:
        validate(text)
    assert caught.value.code == "bad_characters"


@pytest.mark.parametrize("last", string.digits)
def test_bad_checksum(last: str) -> None:
    with pytest.raises(BadChecksum) as caught:
        validate(GB_EXAMPLE_WOMAN[:17] + last)
    assert caught.value.code == "bad_checksum"


@pytest.mark.parametrize(
    "birth",
    [
        "19991301",  # month 13
        "19990001",  # month 0
        "19990132",  # day 32
        "19990431",  # April has 30 days
        "19990229",  # 1999 is not a leap year
        "19000229",  # nor is 1900 (divisible by 100, not by 400)
        "18991231",  # before 1900
        "00000000",
        "20250602",  # the day after TODAY
        "20300101",
    ],
)
def test_bad_birth_date(birth: str) -> None:
    with pytest.raises(BadBirthDate) as caught:
        validate(with_check("110105" + birth + "001"))
    assert caught.value.code == "bad_birth_date"


def test_a_future_birth_date_is_judged_against_the_given_day() -> None:
    number = with_check("110105" + "20250602" + "001")
    assert validate_resident_id(number, today=date(2025, 6, 2)).birth_date == date(2025, 6, 2)
    with pytest.raises(BadBirthDate):
        validate_resident_id(number, today=date(2025, 6, 1))


@pytest.mark.parametrize(
    "region",
    [
        "000000",
        "100000",
        "160000",
        "240000",
        "380000",
        "470000",
        "550000",
        "660000",
        "720000",
        "840000",
        "990000",
        "971000",  # a permanent residence ID issued by "71": no mainland office
        "981000",  # nor "81"
        "900000",
    ],
)
def test_bad_region(region: str) -> None:
    with pytest.raises(BadRegion) as caught:
        validate(with_check(region + "19900307" + "123"))
    assert caught.value.code == "bad_region"


def test_every_province_level_code_is_accepted() -> None:
    codes = identity.RESIDENT_REGION_CODES
    assert len(identity.MAINLAND_PROVINCE_CODES) == 31
    assert codes == identity.MAINLAND_PROVINCE_CODES | {"71", "81", "82", "83"}
    for code in codes:
        assert validate(with_check(code + "0101" + "19900307" + "123")).number[:2] == code
    for code in identity.MAINLAND_PROVINCE_CODES:
        assert validate(with_check("9" + code + "156" + "19900307" + "123")).number[1:3] == code


def test_the_check_character_helper_refuses_a_wrong_body() -> None:
    with pytest.raises(BadLength):
        identity.resident_id_check_character("1234")
    with pytest.raises(BadCharacters):
        identity.resident_id_check_character("1101051949123100X")


# -- every typo is caught ---------------------------------------------------------------------


def random_body(rng: random.Random) -> str:
    if rng.random() < 0.2:  # a permanent residence ID: 9, province of issue, nationality
        province = rng.choice(sorted(identity.MAINLAND_PROVINCE_CODES))
        prefix = f"9{province}{rng.randrange(1000):03}"
    else:
        province = rng.choice(sorted(identity.RESIDENT_REGION_CODES))
        prefix = f"{province}{rng.randrange(10000):04}"
    born = date(1900, 1, 1) + timedelta(days=rng.randrange((TODAY - date(1900, 1, 1)).days + 1))
    return prefix + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03}"


def test_every_single_character_error_and_neighbour_swap_fails_the_checksum() -> None:
    # MOD 11-2 weights are all non-zero mod 11 and each is twice the next, so changing one digit
    # by 1..9, or swapping two different neighbouring digits, always changes the sum mod 11.
    rng = random.Random(11643)
    for _ in range(300):
        number = with_check(random_body(rng))
        assert validate(number).number == number
        for i in range(18):
            for replacement in "0123456789X" if i == 17 else string.digits:
                if replacement == number[i]:
                    continue
                with pytest.raises(BadChecksum):
                    validate(number[:i] + replacement + number[i + 1 :])
        for i in range(16):
            if number[i] != number[i + 1]:
                with pytest.raises(BadChecksum):
                    validate(number[:i] + number[i + 1] + number[i] + number[i + 2 :])


# -- privacy ----------------------------------------------------------------------------------


def test_the_repr_shows_only_the_masked_number() -> None:
    resident = validate(GB_EXAMPLE_WOMAN)
    text = repr(resident)
    assert text == "ResidentId(number='110105********002X')"
    assert "1949" not in text and "female" not in text
    assert str(resident) == text


def test_error_messages_do_not_repeat_the_number() -> None:
    bad = [GB_EXAMPLE_WOMAN[:17] + "1", GB_EXAMPLE_1880, GB_EXAMPLE_WOMAN[:-1] + "-"]
    for text in bad:
        with pytest.raises(IdentityError) as caught:
            validate(text)
        assert text[:6] not in str(caught.value)
        assert text[6:14] not in str(caught.value)


# -- masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("110105 19491231 002X", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        ("E12345678", "E1*****78"),
        ("H1234567801", "H1*******01"),
        ("12345678", "12****78"),
        ("1234567", "*******"),
        ("AB", "**"),
        ("", ""),
        ("   ", ""),
        ("护照号码很短", "******"),
        ("\x00\x01", "**"),
        ("A" * 40, "AAAAAA" + "*" * 30 + "AAAA"),
    ],
)
def test_mask_id(number: str, masked: str) -> None:
    assert mask_id(number) == masked


def test_mask_id_never_shows_more_than_it_hides_of_a_resident_id() -> None:
    masked = mask_id(GB_EXAMPLE_WOMAN)
    assert "19491231" not in masked and masked.count("*") == 8


# -- other documents --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "normalised"),
    [
        (DocumentKind.RESIDENT_ID, "110105 19491231 002x", GB_EXAMPLE_WOMAN),
        (DocumentKind.PASSPORT, "e12345678", "E12345678"),
        (DocumentKind.PASSPORT, " EA 123 4567 ", "EA1234567"),
        (DocumentKind.PASSPORT, "ABCDE", "ABCDE"),
        (DocumentKind.PASSPORT, "A" * 20, "A" * 20),
        (DocumentKind.PASSPORT, "ｅ１２３４５６７８", "E12345678"),
        (DocumentKind.HK_MACAO_PERMIT, "H12345678", "H12345678"),
        (DocumentKind.HK_MACAO_PERMIT, "m12345678", "M12345678"),
        (DocumentKind.HK_MACAO_PERMIT, "H1234567801", "H1234567801"),
        (DocumentKind.TAIWAN_PERMIT, "1234 5678", "12345678"),
        (DocumentKind.OTHER, "  军官证 No. 12-345  ", "军官证 No. 12-345"),
        (DocumentKind.OTHER, "x", "x"),
        (DocumentKind.OTHER, "y" * 40, "y" * 40),
    ],
)
def test_validate_document(kind: DocumentKind, text: str, normalised: str) -> None:
    assert validate_document(kind, text, today=TODAY) == normalised


def test_validate_document_takes_the_plain_string_kind() -> None:
    assert validate_document(DocumentKind("passport"), "g1234567") == "G1234567"


@pytest.mark.parametrize(
    ("kind", "text", "error"),
    [
        (DocumentKind.RESIDENT_ID, "110105491231002", OldFormat),
        (DocumentKind.RESIDENT_ID, GB_EXAMPLE_WOMAN[:17] + "1", BadChecksum),
        (DocumentKind.PASSPORT, "", BadLength),
        (DocumentKind.PASSPORT, "E123", BadLength),
        (DocumentKind.PASSPORT, "E" * 21, BadLength),
        (DocumentKind.PASSPORT, "E1234-5678", BadCharacters),
        (DocumentKind.PASSPORT, "É12345678", BadCharacters),
        (DocumentKind.HK_MACAO_PERMIT, "H1234567", BadLength),
        (DocumentKind.HK_MACAO_PERMIT, "H123456789", BadLength),
        (DocumentKind.HK_MACAO_PERMIT, "H1234567/", BadCharacters),
        (DocumentKind.HK_MACAO_PERMIT, "A12345678", BadFormat),
        (DocumentKind.HK_MACAO_PERMIT, "HH2345678", BadFormat),
        (DocumentKind.HK_MACAO_PERMIT, "123456789", BadFormat),
        (DocumentKind.TAIWAN_PERMIT, "1234567", BadLength),
        (DocumentKind.TAIWAN_PERMIT, "123456789", BadLength),
        (DocumentKind.TAIWAN_PERMIT, "1234567A", BadCharacters),
        (DocumentKind.OTHER, "", BadLength),
        (DocumentKind.OTHER, "   ", BadLength),
        (DocumentKind.OTHER, "z" * 41, BadLength),
        (DocumentKind.OTHER, "ab\ncd", BadCharacters),
        (DocumentKind.OTHER, "ab\x00", BadCharacters),
    ],
)
def test_validate_document_errors(
    kind: DocumentKind, text: str, error: type[IdentityError]
) -> None:
    with pytest.raises(error) as caught:
        validate_document(kind, text, today=TODAY)
    assert type(caught.value) is error


# -- the error hierarchy ----------------------------------------------------------------------


def all_error_classes() -> list[type[IdentityError]]:
    found: list[type[IdentityError]] = []
    pending: list[type[IdentityError]] = [IdentityError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_has_its_own_code_and_is_drawn_in_the_module_docstring() -> None:
    classes = all_error_classes()
    codes = [cls.code for cls in classes]
    assert sorted(codes) == sorted(
        [
            "identity_error",
            "bad_length",
            "old_format",
            "bad_characters",
            "bad_checksum",
            "bad_birth_date",
            "bad_region",
            "bad_format",
        ]
    )
    doc = identity.__doc__ or ""
    for cls in classes:
        assert f"{cls.__name__} ({cls.code})" in doc
        assert issubclass(cls, ValueError)
