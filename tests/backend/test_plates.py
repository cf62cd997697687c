"""Mainland vehicle plates: every kind, separators and case, every error, and the override."""

from __future__ import annotations

import pytest

from backend.services import plates
from backend.services.plates import (
    BadAuthority,
    BadFormat,
    BadProvince,
    Empty,
    Plate,
    PlateError,
    PlateKind,
    UnsupportedKind,
    normalise_plate,
    override_plate,
    validate_plate,
)


@pytest.mark.parametrize(
    ("text", "number", "kind"),
    [
        ("京A12345", "京A12345", PlateKind.ORDINARY),
        ("粤BZ9A8Y", "粤BZ9A8Y", PlateKind.ORDINARY),
        ("沪A·D12345", "沪AD12345", PlateKind.NEW_ENERGY_SMALL),
        ("沪AF12345", "沪AF12345", PlateKind.NEW_ENERGY_SMALL),
        ("浙ADA1234", "浙ADA1234", PlateKind.NEW_ENERGY_SMALL),
        ("浙AA12345", "浙AA12345", PlateKind.NEW_ENERGY_SMALL),  # newer battery-electric series
        ("浙AK12345", "浙AK12345", PlateKind.NEW_ENERGY_SMALL),  # newer non-battery series
        ("粤B12345D", "粤B12345D", PlateKind.NEW_ENERGY_LARGE),
        ("粤B12345F", "粤B12345F", PlateKind.NEW_ENERGY_LARGE),
        ("苏E1234挂", "苏E1234挂", PlateKind.TRAILER),
        ("鲁QA123挂", "鲁QA123挂", PlateKind.TRAILER),
        ("京A1234学", "京A1234学", PlateKind.COACH),
        ("京A0001警", "京A0001警", PlateKind.POLICE),
        ("粤Z1234港", "粤Z1234港", PlateKind.HONG_KONG),
        ("粤Z·A123澳", "粤ZA123澳", PlateKind.MACAO),
    ],
)
def test_valid_plates(text: str, number: str, kind: PlateKind) -> None:
    assert validate_plate(text) == Plate(number=number, province=number[0], kind=kind)


@pytest.mark.parametrize(
    "text",
    [
        "京a12345",
        "京A·12345",
        "京A-12345",
        "京A.12345",
        " 京 A 1 2 3 4 5 ",
        "京A・12345",  # katakana middle dot from a Japanese-style input method
        "京A\u300012345",  # ideographic space
        "京Ａ１２３４５",  # full-width
        "京-a·1 2345\n",
    ],
)
def test_separators_spaces_width_and_case_are_normalised(text: str) -> None:
    assert validate_plate(text).number == "京A12345"


def test_every_province_abbreviation_is_accepted() -> None:
    assert len(plates.PROVINCES) == len(set(plates.PROVINCES)) == 31
    for province in plates.PROVINCES:
        assert validate_plate(f"{province}A12345").province == province


def test_every_authority_letter_but_i_and_o_is_accepted() -> None:
    assert set(plates.AUTHORITY_LETTERS) == set("ABCDEFGHJKLMNPQRSTUVWXYZ")
    for letter in plates.AUTHORITY_LETTERS:
        assert validate_plate(f"京{letter}12345").kind is PlateKind.ORDINARY


@pytest.mark.parametrize("text", ["", "   ", "·", " - · - ", "\t\n"])
def test_empty(text: str) -> None:
    with pytest.raises(Empty) as caught:
        validate_plate(text)
    assert caught.value.code == "empty"


@pytest.mark.parametrize("text", ["A12345", "AB12345X", "台A12345", "港A12345", "1A12345", "?"])
def test_bad_province(text: str) -> None:
    with pytest.raises(BadProvince) as caught:
        validate_plate(text)
    assert caught.value.code == "bad_province"


@pytest.mark.parametrize("text", ["京I12345", "京O12345", "京i12345", "京112345", "京京12345"])
def test_bad_authority(text: str) -> None:
    with pytest.raises(BadAuthority) as caught:
        validate_plate(text)
    assert caught.value.code == "bad_authority"


@pytest.mark.parametrize(
    "text",
    [
        "京",  # nothing after the province
        "京A",
        "京A1234",  # too short
        "京A123456",  # 8 characters, not a new-energy serial
        "京AM12345",  # 8 characters; M starts no new-energy serial
        "京A1234567",
        "京AI2345",  # I in the serial
        "京A1234O",  # O in the serial
        "京AL12345",  # L does not start a small new-energy serial
        "京AD1234A",  # small new energy ends in 4 digits
        "粤B12345A",  # large new energy ends in D or F
        "粤B1234DD",
        "京A12345挂",  # a suffix after 5 characters
        "京A123挂4",  # a suffix not at the end
        "京A123学",
        "京Z1234港",  # only 粤Z plates end in 港 or 澳
        "粤A1234澳",
        "京A1234#",
    ],
)
def test_bad_format(text: str) -> None:
    with pytest.raises(BadFormat) as caught:
        validate_plate(text)
    assert caught.value.code == "bad_format"


@pytest.mark.parametrize(
    "text",
    ["使014578", "沪A1234领", "京A1234使", "WJ京12345", "WJ0112345", "VA12345", "KB·12345"],
)
def test_embassy_consulate_and_military_plates_are_unsupported(text: str) -> None:
    with pytest.raises(UnsupportedKind) as caught:
        validate_plate(text)
    assert caught.value.code == "unsupported_kind"


def test_error_messages_do_not_repeat_the_plate() -> None:
    for text in ["京I12345", "台A12345", "京A123456", "沪A1234领"]:
        with pytest.raises(PlateError) as caught:
            validate_plate(text)
        assert text not in str(caught.value)


def test_normalise_plate() -> None:
    assert normalise_plate(" 粤z·1234 港 ") == "粤Z1234港"
    assert normalise_plate("") == ""


# -- the manual override ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("AB-123-CD", "AB123CD"),  # a foreign plate
        ("京A·12345", "京A12345"),
        ("使014·578", "使014578"),
        ("临 京A 1234", "临京A1234"),
        ("ab", "AB"),
        ("1" * 12, "1" * 12),
        ("ＡＢ１２", "AB12"),
    ],
)
def test_override_plate(text: str, number: str) -> None:
    assert override_plate(text) == number


@pytest.mark.parametrize("text", ["", "  ", "·-", "A", "京", "1" * 13, "AB\x00C", "AB\x7f"])
def test_override_plate_refuses(text: str) -> None:
    with pytest.raises(BadFormat) as caught:
        override_plate(text)
    assert caught.value.code == "bad_format"


def test_every_valid_plate_is_also_a_valid_override() -> None:
    for text in ["京A12345", "沪AD12345", "粤B12345D", "苏E1234挂", "粤Z1234港"]:
        assert override_plate(text) == validate_plate(text).number


# -- the error hierarchy ----------------------------------------------------------------------


def test_every_error_has_its_own_code_and_is_drawn_in_the_module_docstring() -> None:
    classes: list[type[PlateError]] = [PlateError, *PlateError.__subclasses__()]
    assert sorted(cls.code for cls in classes) == [
        "bad_authority",
        "bad_format",
        "bad_province",
        "empty",
        "plate_error",
        "unsupported_kind",
    ]
    doc = plates.__doc__ or ""
    for cls in classes:
        assert f"{cls.__name__} ({cls.code})" in doc
        assert issubclass(cls, ValueError)


def test_every_kind_is_drawn_in_the_module_docstring() -> None:
    doc = plates.__doc__ or ""
    for kind in PlateKind:
        assert kind.value in doc
