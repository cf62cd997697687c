"""Validation and normalisation of mainland China vehicle plate numbers (GA 36-2018).

A guard types the plate of a car at the gate, or a camera reads it; this module checks it and
returns one spelling per plate, so the same car typed as `京A·12345`, `京a 12345` or `京A-12345`
is the same record. It does no I/O.

A plate is a province abbreviation, the letter of the issuing authority (A-Z without I and O,
which read as 1 and 0) and a serial, again without I and O:

    ordinary            京A12345    5 letters or digits
    new_energy_small    沪AD12345   D (battery electric) or F (other) first, then a letter or
                                    digit, then 4 digits; newer number series also use A B C E
                                    for battery electric and G H J K for the others
    new_energy_large    粤B12345D   5 digits, then D or F
    trailer             苏E1234挂   4 letters or digits, then 挂
    coach               京A1234学   4 letters or digits, then 学 (driving school)
    police              京A1234警   4 letters or digits, then 警
    hong_kong, macao    粤Z1234港   4 letters or digits, then 港 or 澳; only 粤Z issues these

Embassy (使) and consulate (领) plates, military plates (two letters and five digits) and
armed-police plates (WJ) are refused as `unsupported_kind` rather than half-validated: their
formats changed over the years and are rare at a residential gate. A guard records any plate
this module refuses, foreign and temporary ones included, through `override_plate`.

Errors carry a stable `code` and no behaviour:

    PlateError (plate_error)                base class, a ValueError
    ├── Empty (empty)                       nothing but spaces and separators
    ├── BadProvince (bad_province)          the first character is no province abbreviation
    ├── BadAuthority (bad_authority)        the second is not a letter A-Z other than I and O
    ├── BadFormat (bad_format)              the rest fits no plate kind; or, for an override,
    │                                       not 2 to 12 printable characters
    └── UnsupportedKind (unsupported_kind)  an embassy, consulate, military or armed-police plate
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
AUTHORITY_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
BATTERY_ELECTRIC_LETTERS = "DABCE"
OTHER_NEW_ENERGY_LETTERS = "FGHJK"
CROSS_BORDER_ISSUER = "粤Z"
OVERRIDE_LENGTHS = range(2, 13)

# Middle-dot look-alikes that input methods produce, and `.`, which phone keyboards offer
# where they lack `·`; all are decoration between the authority letter and the serial.
_SEPARATORS = str.maketrans("", "", "·・•‧∙⋅.-‐–—")
_SERIAL = "[A-HJ-NP-Z0-9]"
_ORDINARY = re.compile(f"{_SERIAL}{{5}}")
_WITH_SUFFIX = re.compile(f"{_SERIAL}{{4}}[挂学警港澳]")
_NEW_ENERGY_SMALL = re.compile(
    f"[{BATTERY_ELECTRIC_LETTERS}{OTHER_NEW_ENERGY_LETTERS}]{_SERIAL}[0-9]{{4}}"
)
_NEW_ENERGY_LARGE = re.compile("[0-9]{5}[DF]")
_UNSUPPORTED_MARKS = frozenset("使领")
_MILITARY_OR_ARMED_POLICE = re.compile("WJ.*|[A-Z]{2}[0-9]{5}")


class PlateError(ValueError):
    """Base of every error this module raises; `code` is stable and safe to show or store."""

    code: ClassVar[str] = "plate_error"


class Empty(PlateError):
    code = "empty"


class BadProvince(PlateError):
    code = "bad_province"


class BadAuthority(PlateError):
    code = "bad_authority"


class BadFormat(PlateError):
    code = "bad_format"


class UnsupportedKind(PlateError):
    code = "unsupported_kind"


class PlateKind(StrEnum):
    ORDINARY = "ordinary"
    NEW_ENERGY_SMALL = "new_energy_small"
    NEW_ENERGY_LARGE = "new_energy_large"
    TRAILER = "trailer"
    COACH = "coach"
    POLICE = "police"
    HONG_KONG = "hong_kong"
    MACAO = "macao"


_SUFFIX_KINDS = {
    "挂": PlateKind.TRAILER,
    "学": PlateKind.COACH,
    "警": PlateKind.POLICE,
    "港": PlateKind.HONG_KONG,
    "澳": PlateKind.MACAO,
}


@dataclass(frozen=True, slots=True)
class Plate:
    """A valid plate: its normalised number, province abbreviation and kind."""

    number: str
    province: str
    kind: PlateKind


def normalise_plate(text: str) -> str:
    """Drop spaces and separators, turn full-width characters to ASCII and letters upper case."""
    compact = "".join(unicodedata.normalize("NFKC", text).split())
    return compact.translate(_SEPARATORS).upper()


def validate_plate(text: str) -> Plate:
    """Check a mainland plate and return it normalised with its province and kind.

    Checks run left to right so the error names the first wrong part. Letters that look like
    I or O are refused, not read as 1 or 0: guessing would file a car under another's plate.
    """
    number = normalise_plate(text)
    if not number:
        raise Empty("the plate is empty")
    if _UNSUPPORTED_MARKS.intersection(number) or _MILITARY_OR_ARMED_POLICE.fullmatch(number):
        raise UnsupportedKind("embassy, consulate and military plates go through the override")
    province = number[0]
    if province not in PROVINCES:
        raise BadProvince("the plate does not start with a province abbreviation")
    if len(number) < 2:
        raise BadFormat("the plate ends after the province")
    if number[1] not in AUTHORITY_LETTERS:
        raise BadAuthority("the second character must be a letter A-Z other than I and O")
    return Plate(number=number, province=province, kind=_kind(number))


def override_plate(text: str) -> str:
    """Normalise a plate the validator refuses, for a guard's manual override.

    Foreign, temporary and special plates have no format we can check; all we insist on is a
    plausible length and nothing unprintable, so the record stays searchable and displayable.
    """
    number = normalise_plate(text)
    if len(number) not in OVERRIDE_LENGTHS or not number.isprintable():
        raise BadFormat("an overridden plate has 2 to 12 printable characters")
    return number


def _kind(number: str) -> PlateKind:
    serial = number[2:]
    if _ORDINARY.fullmatch(serial):
        return PlateKind.ORDINARY
    if _NEW_ENERGY_SMALL.fullmatch(serial):
        return PlateKind.NEW_ENERGY_SMALL
    if _NEW_ENERGY_LARGE.fullmatch(serial):
        return PlateKind.NEW_ENERGY_LARGE
    if _WITH_SUFFIX.fullmatch(serial):
        kind = _SUFFIX_KINDS[serial[-1]]
        cross_border = kind in (PlateKind.HONG_KONG, PlateKind.MACAO)
        if cross_border and not number.startswith(CROSS_BORDER_ISSUER):
            raise BadFormat("only 粤Z plates end in 港 or 澳")
        return kind
    raise BadFormat(
        "after the authority letter a plate has 5 letters or digits, 6 for new energy, "
        "or 4 and a suffix"
    )
