"""Validation and masking of visitors' identity document numbers (PIPL personal information).

A guard registering a visitor types or scans a document number; this module checks it is well
formed and returns it normalised, so typos are caught at the gate and one person's number is
stored one way. It does no I/O. Every number here is personal information under the PIPL: error
messages never repeat the input, `ResidentId` prints only a masked number, and anything shown on
a screen or written to a log should go through `mask_id`.

The 18-character number (GB 11643-1999) is 6 digits of address code, 8 of birth date (YYYYMMDD),
3 of sequence (the last odd for men) and an ISO 7064 MOD 11-2 check character. The same layout
serves the residence permits of Hong Kong, Macao and Taiwan residents (address code 810000,
820000, 830000) and, since December 2023, the Foreigners' Permanent Residence ID Card: a leading
9, the two-digit province code of the issuing office, a three-digit nationality code, then birth
date, sequence and check character as above.

Errors carry a stable `code` and no behaviour:

    IdentityError (identity_error)          base class, a ValueError
    ├── BadLength (bad_length)              too short or too long for the kind of document
    │   └── OldFormat (old_format)          a 15-digit first-generation number, invalid since 2013
    ├── BadCharacters (bad_characters)      a character the kind of document never contains
    ├── BadChecksum (bad_checksum)          the check character does not match: a typo
    ├── BadBirthDate (bad_birth_date)       not a real date, before 1900, or in the future
    ├── BadRegion (bad_region)              the first two digits are no province-level code
    └── BadFormat (bad_format)              right length and characters, wrong layout
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import ClassVar, assert_never

RESIDENT_ID_LENGTH = 18
OLD_RESIDENT_ID_LENGTH = 15
EARLIEST_BIRTH_YEAR = 1900

# GB/T 2260 province-level codes: the 31 mainland provinces, autonomous regions and
# municipalities, 71 Taiwan, and 81/82/83 which only the residence permits of Hong Kong, Macao
# and Taiwan residents carry.
MAINLAND_PROVINCE_CODES = frozenset(
    {
        *("11", "12", "13", "14", "15"),
        *("21", "22", "23"),
        *("31", "32", "33", "34", "35", "36", "37"),
        *("41", "42", "43", "44", "45", "46"),
        *("50", "51", "52", "53", "54"),
        *("61", "62", "63", "64", "65"),
    }
)
RESIDENT_REGION_CODES = MAINLAND_PROVINCE_CODES | {"71", "81", "82", "83"}
# The 2023 Foreigners' Permanent Residence ID starts with this digit; the two digits after it
# are the mainland province whose immigration office issued it, so it begins 91..96, not "91".
FOREIGN_PERMANENT_RESIDENT_PREFIX = "9"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11
_CHECK_CHARACTERS = "10X98765432"
# Birth dates are calendar dates in China, which has kept UTC+8 all year since 1991.
_CHINA = timezone(timedelta(hours=8))

# [0-9] rather than \d: \d also matches Arabic-Indic and other Unicode digits.
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_OLD_RESIDENT_ID = re.compile(r"[0-9]{15}")
_ALPHANUMERIC = re.compile(r"[A-Z0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_HK_MACAO_PERMIT = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")

PASSPORT_LENGTHS = range(5, 21)
HK_MACAO_PERMIT_LENGTHS = (9, 11)
TAIWAN_PERMIT_LENGTHS = (8,)
OTHER_DOCUMENT_LENGTHS = range(1, 41)


class IdentityError(ValueError):
    """Base of every error this module raises; `code` is stable and safe to show or store."""

    code: ClassVar[str] = "identity_error"


class BadLength(IdentityError):
    code = "bad_length"


class OldFormat(BadLength):
    code = "old_format"


class BadCharacters(IdentityError):
    code = "bad_characters"


class BadChecksum(IdentityError):
    code = "bad_checksum"


class BadBirthDate(IdentityError):
    code = "bad_birth_date"


class BadRegion(IdentityError):
    code = "bad_region"


class BadFormat(IdentityError):
    code = "bad_format"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class DocumentKind(StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"  # 港澳居民来往内地通行证
    TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证
    OTHER = "other"


@dataclass(frozen=True, slots=True, repr=False)
class ResidentId:
    """A valid 18-character number, normalised, with the birth date and sex it encodes.

    Birth date and sex are personal information too: they are here because some callers need
    them (an age check, a form), not to be logged or stored by default.
    """

    number: str
    birth_date: date
    sex: Sex

    def __repr__(self) -> str:
        # Values end up in logs through f-strings and tracebacks; print only what a log may hold.
        return f"ResidentId(number={mask_id(self.number)!r})"


def validate_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Check an 18-character resident ID number and return it normalised with what it encodes.

    Spaces anywhere are dropped (numbers are often typed in groups), full-width digits become
    ASCII (a Chinese input method in full-width mode), and a final x becomes X. The checksum is
    checked before the region and birth date: it catches every single mistyped character and
    every swap of two neighbouring digits, so a typo reports `bad_checksum`, and `bad_region` or
    `bad_birth_date` mean a number that was never issued. `today` is the date in China by
    default; tests pass one.
    """
    number = _compact(text).upper()
    if len(number) != RESIDENT_ID_LENGTH:
        if len(number) == OLD_RESIDENT_ID_LENGTH and _OLD_RESIDENT_ID.fullmatch(number):
            raise OldFormat("15-digit resident ID numbers are no longer valid; ask for the card")
        raise BadLength(f"a resident ID number has {RESIDENT_ID_LENGTH} characters")
    if _RESIDENT_ID.fullmatch(number) is None:
        raise BadCharacters("a resident ID number is 17 digits and a digit or X")
    if resident_id_check_character(number[:17]) != number[17]:
        raise BadChecksum("the check character does not match; a character is mistyped")
    _check_region(number)
    if today is None:
        today = datetime.now(_CHINA).date()
    birth_date = _birth_date(number[6:14], today)
    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    return ResidentId(number=number, birth_date=birth_date, sex=sex)


def resident_id_check_character(body: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of 17 ASCII digits."""
    if len(body) != 17:
        raise BadLength("the body of a resident ID number has 17 digits")
    if _DIGITS.fullmatch(body) is None:
        raise BadCharacters("the body of a resident ID number has only digits")
    total = sum(int(digit) * weight for digit, weight in zip(body, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def validate_document(kind: DocumentKind, text: str, *, today: date | None = None) -> str:
    """Check a document number of the given kind and return it normalised.

    Spaces are dropped, full-width characters become ASCII and letters upper case, except for
    `other`, whose rules we do not know: it only loses surrounding spaces. Hong Kong and Macao
    permits are H or M and 8 digits, with 2 more digits (the issue count) on older ones; Taiwan
    permits are 8 digits.
    """
    match kind:
        case DocumentKind.RESIDENT_ID:
            return validate_resident_id(text, today=today).number
        case DocumentKind.PASSPORT:
            number = _compact(text).upper()
            _check_length(number, PASSPORT_LENGTHS, "a passport number has 5 to 20 characters")
            _check_characters(number, _ALPHANUMERIC, "a passport number has letters and digits")
            return number
        case DocumentKind.HK_MACAO_PERMIT:
            number = _compact(text).upper()
            _check_length(number, HK_MACAO_PERMIT_LENGTHS, "a permit number has 9 or 11 characters")
            _check_characters(number, _ALPHANUMERIC, "a permit number has letters and digits")
            if _HK_MACAO_PERMIT.fullmatch(number) is None:
                raise BadFormat("a Hong Kong or Macao permit number is H or M and 8 or 10 digits")
            return number
        case DocumentKind.TAIWAN_PERMIT:
            number = _compact(text)
            _check_length(number, TAIWAN_PERMIT_LENGTHS, "a Taiwan permit number has 8 digits")
            _check_characters(number, _DIGITS, "a Taiwan permit number has only digits")
            return number
        case DocumentKind.OTHER:
            number = unicodedata.normalize("NFKC", text).strip()
            _check_length(number, OTHER_DOCUMENT_LENGTHS, "a number has 1 to 40 characters")
            if not number.isprintable():
                raise BadCharacters("a document number has only printable characters")
            return number
        case _:
            assert_never(kind)


def mask_id(number: str) -> str:
    """Mask a document number for display: `110105********002X`, `E1*****78`.

    Numbers of 15 or more characters keep the first 6 and the last 4, which for a resident ID
    are the address code and the end of the sequence, hiding the birth date; 8 to 14 characters
    (passports, permits) keep the first 2 and the last 2; anything shorter is all stars, since
    the few characters left visible would be most of it. Spaces are dropped first. Never raises:
    a display helper must not break a page over odd input.
    """
    compact = "".join(number.split())
    if len(compact) >= 15:
        head, tail = 6, 4
    elif len(compact) >= 8:
        head, tail = 2, 2
    else:
        return "*" * len(compact)
    return compact[:head] + "*" * (len(compact) - head - tail) + compact[-tail:]


def _compact(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _check_length(number: str, allowed: Container[int], message: str) -> None:
    if len(number) not in allowed:
        raise BadLength(message)


def _check_characters(number: str, pattern: re.Pattern[str], message: str) -> None:
    if pattern.fullmatch(number) is None:
        raise BadCharacters(message)


def _check_region(number: str) -> None:
    if number.startswith(FOREIGN_PERMANENT_RESIDENT_PREFIX):
        if number[1:3] not in MAINLAND_PROVINCE_CODES:
            raise BadRegion("a permanent residence ID names no mainland province of issue")
    elif number[:2] not in RESIDENT_REGION_CODES:
        raise BadRegion("the first two digits are no province-level region code")


def _birth_date(yyyymmdd: str, today: date) -> date:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise BadBirthDate("the birth date part is not a real date") from None
    if born.year < EARLIEST_BIRTH_YEAR:
        raise BadBirthDate(f"the birth date part is before {EARLIEST_BIRTH_YEAR}")
    if born > today:
        raise BadBirthDate("the birth date part is in the future")
    return born
