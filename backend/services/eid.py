"""Eddystone-EID computation and resolution, per google/eddystone eid-computation.md.

A `ble_eid` patrol tag broadcasts an 8-byte ephemeral identifier that changes every 2^K seconds
and can only be computed with the tag's 16-byte identity key, so a sighting proves the tag was in
radio range during that rotation period. The beacon keeps its own 32-bit seconds counter; the
caller maps wall-clock time to that counter (offset recorded at registration) and this module,
which does no I/O, checks an EID against the periods around it.

Errors carry a stable `code` and no behaviour:

    EidError (eid_error)            base class, a ValueError
    ├── BadLength (bad_length)      an identity key that is not 16 bytes, an EID that is not 8
    ├── BadExponent (bad_exponent)  a rotation exponent K outside 0..15
    ├── BadCounter (bad_counter)    a beacon time counter outside 0..2^32-1
    └── BadWindow (bad_window)      a negative resolution window
"""

from __future__ import annotations

import hmac
from typing import ClassVar

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_SIZE = 16
EID_SIZE = 8
MAX_EXPONENT = 15
MAX_COUNTER = 0xFFFFFFFF

_SALT = 0xFF
# Mode objects hold no state, so one serves every encryption.
# One block under ECB is the raw AES permutation the spec asks for, not a mode of use.
_ECB = modes.ECB()  # noqa: S305


class EidError(ValueError):
    """Base of every error this module raises; `code` is stable and safe to show or store."""

    code: ClassVar[str] = "eid_error"


class BadLength(EidError):
    code = "bad_length"


class BadExponent(EidError):
    code = "bad_exponent"


class BadCounter(EidError):
    code = "bad_counter"


class BadWindow(EidError):
    code = "bad_window"


def temporary_key(ik: bytes, counter: int) -> bytes:
    """Compute the temporary key for the 65,536-second span that holds `counter`.

    AES-128-ECB under the identity key of 11 zero bytes, the salt 0xFF, 2 zero bytes and the top
    16 bits of the counter, big-endian. It changes only every 2^16 s, which is why resolution can
    reuse it across neighbouring rotation periods.
    """
    _check_key(ik)
    _check_counter(counter)
    return _temporary_key(ik, counter)


def compute_eid(ik: bytes, k: int, counter: int) -> bytes:
    """Compute the 8-byte EID a beacon with identity key `ik` and exponent `k` shows at `counter`.

    The first 8 bytes of AES-128-ECB under the temporary key of 11 zero bytes, K, and the counter
    with its K low bits cleared (32-bit big-endian): every counter in one 2^K-second period gives
    the same EID.
    """
    _check_key(ik)
    _check_exponent(k)
    _check_counter(counter)
    return _eid(_temporary_key(ik, counter), k, counter)


def resolve_eid(eid: bytes, ik: bytes, k: int, counter_now: int, window: int = 1) -> int | None:
    """Tell which rotation period, relative to the one holding `counter_now`, showed `eid`.

    Returns 0 for the current period, -1 for the previous, +1 for the next and so on up to
    ±`window`, or None when no period in the window matches: a stale or replayed EID, a foreign
    tag, or a beacon clock that drifted further than the window allows. Every candidate is
    computed and compared in constant time, so timing does not reveal which period matched.
    Periods that would fall outside the 32-bit counter are skipped, not wrapped.
    """
    if len(eid) != EID_SIZE:
        raise BadLength(f"EID must be {EID_SIZE} bytes, got {len(eid)}")
    _check_key(ik)
    _check_exponent(k)
    _check_counter(counter_now)
    if window < 0:
        raise BadWindow(f"window must be 0 or more periods, got {window}")
    period = 1 << k
    temporary_keys: dict[int, bytes] = {}
    matched: int | None = None
    for offset in range(-window, window + 1):
        counter = counter_now + offset * period
        if not 0 <= counter <= MAX_COUNTER:
            continue
        span = counter >> 16
        if span not in temporary_keys:
            temporary_keys[span] = _temporary_key(ik, counter)
        same = hmac.compare_digest(_eid(temporary_keys[span], k, counter), eid)
        if same and (matched is None or abs(offset) < abs(matched)):
            matched = offset
    return matched


def _temporary_key(ik: bytes, counter: int) -> bytes:
    block = bytes(11) + bytes([_SALT]) + bytes(2) + (counter >> 16).to_bytes(2, "big")
    return _aes_block(ik, block)


def _eid(tk: bytes, k: int, counter: int) -> bytes:
    quantum = counter >> k << k
    block = bytes(11) + bytes([k]) + quantum.to_bytes(4, "big")
    return _aes_block(tk, block)[:EID_SIZE]


def _aes_block(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), _ECB).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _check_key(ik: bytes) -> None:
    if len(ik) != KEY_SIZE:
        raise BadLength(f"identity key must be {KEY_SIZE} bytes (AES-128), got {len(ik)}")


def _check_exponent(k: int) -> None:
    if not 0 <= k <= MAX_EXPONENT:
        raise BadExponent(f"rotation exponent K must be within 0..{MAX_EXPONENT}, got {k}")


def _check_counter(counter: int) -> None:
    if not 0 <= counter <= MAX_COUNTER:
        raise BadCounter(f"beacon time counter must be within 0..{MAX_COUNTER}, got {counter}")
