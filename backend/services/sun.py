"""NTAG 424 DNA Secure Dynamic Messaging (SUN) verification, per NXP AN12196.

A tap on an `nfc_sun` checkpoint opens `/n?e=<PICCData>&c=<SDMMAC>`: `e` is the tag's UID and
read counter, AES-128-CBC encrypted under the SDMMetaReadKey; `c` is an AES-CMAC under a session
key derived from the SDMFileReadKey, the UID and the counter, truncated to 8 bytes. A valid MAC
proves the tag itself produced this counter value. Whether the counter rose since the last
accepted tap is the caller's business: it needs storage, and this module does no I/O.

Errors carry a stable `code` and no behaviour:

    SunError (sun_error)                    base class, a ValueError
    ├── BadLength (bad_length)              `e`, `c`, a UID or a key of the wrong size
    ├── NotHex (not_hex)                    `e` or `c` has a character outside 0-9, a-f, A-F
    ├── BadCounter (bad_counter)            a read counter outside 0..2^24-1
    ├── DecryptFailed (decrypt_failed)      `e` does not decrypt to PICCData with the UID and
    │   │                                   the counter mirrored: a wrong SDMMetaReadKey, a
    │   │                                   tampered `e`, or a tag set up without mirroring
    │   └── BadUidLength (bad_uid_length)   the PICCDataTag announces a UID length other than 7
    └── BadMac (bad_mac)                    `c` does not match: wrong SDMFileReadKey or tampering
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import ClassVar

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

KEY_SIZE = 16
UID_SIZE = 7
PICC_DATA_HEX_DIGITS = 32
SDM_MAC_HEX_DIGITS = 16
MAX_READ_COUNTER = 0xFFFFFF

# PICCDataTag: bit 7 UID mirrored, bit 6 counter mirrored, bits 5-4 reserved (we require 0,
# as in every published example: C7), bits 3-0 the UID length.
_UID_MIRRORED = 0x80
_COUNTER_MIRRORED = 0x40
_RFU_BITS = 0x30
_UID_LENGTH_BITS = 0x0F

_SV2_PREFIX = bytes.fromhex("3CC300010080")
# Mode objects hold no state, so one serves every decryption.
_CBC_ZERO_IV = modes.CBC(bytes(16))
_HEX = re.compile(r"[0-9A-Fa-f]*")


class SunError(ValueError):
    """Base of every error this module raises; `code` is stable and safe to show or store."""

    code: ClassVar[str] = "sun_error"


class BadLength(SunError):
    code = "bad_length"


class NotHex(SunError):
    code = "not_hex"


class BadCounter(SunError):
    code = "bad_counter"


class DecryptFailed(SunError):
    code = "decrypt_failed"


class BadUidLength(DecryptFailed):
    code = "bad_uid_length"


class BadMac(SunError):
    code = "bad_mac"


@dataclass(frozen=True, slots=True)
class PiccData:
    """What a verified tap proves: which tag (7-byte UID) and its SDM read counter."""

    uid: bytes
    read_counter: int


def parse_sun_params(e: str, c: str) -> tuple[bytes, bytes]:
    """Turn the `e` and `c` query values into (encrypted PICCData, SDMMAC) bytes.

    Checks the size before the alphabet so a truncated URL reports `bad_length`. Hex digits may
    be in either case (NXP tags mirror upper case, hand-typed URLs often are not); anything else,
    including the spaces and signs `bytes.fromhex` and `int(..., 16)` would tolerate, is refused.
    """
    return (
        _unhex(e, PICC_DATA_HEX_DIGITS, "e"),
        _unhex(c, SDM_MAC_HEX_DIGITS, "c"),
    )


def decrypt_picc_data(enc: bytes, sdm_meta_read_key: bytes) -> PiccData:
    """Decrypt the 16-byte encrypted PICCData and read the UID and read counter out of it.

    AES-128-CBC with a zero IV under the SDMMetaReadKey (AN12196). The first plaintext byte is the
    PICCDataTag; we insist on UID and counter mirroring and a 7-byte UID, because a patrol tag
    without a counter cannot prove freshness. The counter is 3 bytes little-endian. The remaining
    bytes are the tag's random padding and carry nothing to check, so a wrong key is detected
    here only by chance (a malformed tag byte); the MAC is what catches it for certain.
    """
    if len(enc) != PICC_DATA_HEX_DIGITS // 2:
        raise BadLength(f"encrypted PICCData must be 16 bytes, got {len(enc)}")
    _check_key(sdm_meta_read_key, "SDMMetaReadKey")
    return _parse_picc_data(_decrypt_block(sdm_meta_read_key, enc))


def session_mac_key(sdm_file_read_key: bytes, uid: bytes, counter: int) -> bytes:
    """Derive KSesSDMFileReadMAC = CMAC(SDMFileReadKey, SV2) for one tap (AN12196).

    SV2 = 3C C3 00 01 00 80 || UID || SDMReadCtr (3 bytes, least significant first), zero-padded
    to a whole AES block as the application note prescribes; with a 7-byte UID and a counter it is
    exactly 16 bytes, so the padding adds nothing. The key is fresh per counter value, which is
    why a replayed URL carries a MAC that is valid only for the old counter.
    """
    _check_key(sdm_file_read_key, "SDMFileReadKey")
    if len(uid) != UID_SIZE:
        raise BadLength(f"UID must be {UID_SIZE} bytes, got {len(uid)}")
    if not 0 <= counter <= MAX_READ_COUNTER:
        raise BadCounter(f"read counter must be within 0..{MAX_READ_COUNTER}, got {counter}")
    sv2 = _SV2_PREFIX + uid + counter.to_bytes(3, "little")
    sv2 += bytes(-len(sv2) % 16)
    return _cmac(sdm_file_read_key, sv2)


def sdm_mac(session_key: bytes, mac_input: bytes = b"") -> bytes:
    """Compute the 8-byte SDMMAC the tag mirrors as `c`.

    AES-CMAC under the session key over the MAC input, which is empty for `?e=..&c=..` (the
    SDMMACInputOffset equals the SDMMACOffset when no file data is mirrored); otherwise it is the
    ASCII text of the URL from SDMMACInputOffset up to the MAC. NXP truncates the 16-byte CMAC
    by keeping the odd-indexed bytes 1, 3, ..., 15 (AN12196), not the first eight.
    """
    _check_key(session_key, "session key")
    return _cmac(session_key, mac_input)[1::2]


def verify_sun(e_hex: str, c_hex: str, meta_key: bytes, file_key: bytes) -> PiccData:
    """Check one tap's `e` and `c` and return the tag's UID and read counter.

    Raises a SunError subclass for anything else. The MAC is computed even when the PICCData is
    malformed (over a dummy UID and counter) and compared in constant time, so the response time
    tells an attacker neither which check failed nor how many MAC bytes were right.
    """
    enc, mac = parse_sun_params(e_hex, c_hex)
    _check_key(meta_key, "SDMMetaReadKey")
    _check_key(file_key, "SDMFileReadKey")
    problem: DecryptFailed | None = None
    try:
        picc = _parse_picc_data(_decrypt_block(meta_key, enc))
    except DecryptFailed as exc:
        problem = exc
        picc = PiccData(uid=bytes(UID_SIZE), read_counter=0)
    expected = sdm_mac(session_mac_key(file_key, picc.uid, picc.read_counter))
    matches = hmac.compare_digest(expected, mac)
    if problem is not None:
        raise problem
    if not matches:
        raise BadMac("SDMMAC does not match this PICCData and SDMFileReadKey")
    return picc


def _unhex(value: str, digits: int, name: str) -> bytes:
    if len(value) != digits:
        raise BadLength(f"{name} must be {digits} hex digits, got {len(value)}")
    if _HEX.fullmatch(value) is None:
        raise NotHex(f"{name} must contain only hex digits")
    return bytes.fromhex(value)


def _check_key(key: bytes, name: str) -> None:
    if len(key) != KEY_SIZE:
        raise BadLength(f"{name} must be {KEY_SIZE} bytes (AES-128), got {len(key)}")


def _parse_picc_data(plain: bytes) -> PiccData:
    tag = plain[0]
    mirrored = _UID_MIRRORED | _COUNTER_MIRRORED
    if tag & mirrored != mirrored or tag & _RFU_BITS:
        raise DecryptFailed(
            f"PICCDataTag {tag:02X} is not UID + counter mirroring: wrong key, tampered data, "
            "or a tag configured without mirroring"
        )
    if tag & _UID_LENGTH_BITS != UID_SIZE:
        raise BadUidLength(f"PICCDataTag {tag:02X} announces a UID length other than {UID_SIZE}")
    return PiccData(
        uid=plain[1 : 1 + UID_SIZE],
        read_counter=int.from_bytes(plain[1 + UID_SIZE : 4 + UID_SIZE], "little"),
    )


def _decrypt_block(key: bytes, block: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), _CBC_ZERO_IV).decryptor()
    return decryptor.update(block) + decryptor.finalize()


def _cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()
