"""Signed pass codes (the QR of an invite, a contractor pass or a goods-out pass) and the
goods-out stamp, both keyed from the master key.

A code is text a camera reads and a link carries: `p1.<payload>.<mac>`, the payload being
base64url of compact JSON `{"k": kind, "id": uuid, "s": site, "f": from, "u": until}` (Unix
seconds) so the web app can show the window without asking the server, and the MAC 16 bytes of
HMAC-SHA256 under a key derived from the master key for this purpose alone. The code only proves
that this server issued it for that record and window; whether the record is still good
(revoked, used, approved) is the database's answer when the code is scanned.

Keys rotate like sealed values: the current master key signs, old ones still verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from backend.errors import InvalidPass
from backend.sealing import Sealer

_PREFIX = "p1"
_MAC_BYTES = 16
_MAX_CODE_LENGTH = 400


class PassKind(StrEnum):
    invite = "i"
    contractor = "c"
    goods = "g"


@dataclass(frozen=True, slots=True)
class PassClaims:
    kind: PassKind
    id: uuid.UUID
    site_id: int
    valid_from: datetime
    valid_until: datetime


def _key(master: bytes, purpose: bytes) -> bytes:
    # A label of its own: these keys never equal the sealing or blind-index keys.
    return hmac.new(master, b"anbao:sign:" + purpose, hashlib.sha256).digest()


def _keys(sealer: Sealer, purpose: bytes) -> Iterator[bytes]:
    for master in (sealer.current, *sealer.old):
        yield _key(master, purpose)


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(sealer: Sealer, claims: PassClaims) -> str:
    payload = _b64e(
        orjson.dumps(
            {
                "k": claims.kind.value,
                "id": str(claims.id),
                "s": claims.site_id,
                "f": int(claims.valid_from.timestamp()),
                "u": int(claims.valid_until.timestamp()),
            }
        )
    )
    mac = hmac.new(_key(sealer.current, b"pass"), payload.encode(), hashlib.sha256).digest()
    return f"{_PREFIX}.{payload}.{_b64e(mac[:_MAC_BYTES])}"


def verify(sealer: Sealer, code: str) -> PassClaims:
    """The claims of a code this server issued; `InvalidPass` for anything else.

    Scanners add whitespace and links carry the code after `/pass/`: both are tolerated.
    """
    code = code.strip()
    if "/" in code:
        code = code.rstrip("/").rsplit("/", 1)[-1]
    parts = code.split(".")
    if len(code) > _MAX_CODE_LENGTH or len(parts) != 3 or parts[0] != _PREFIX:
        raise InvalidPass("not a pass code")
    payload, mac_text = parts[1], parts[2]
    try:
        mac = _b64d(mac_text)
    except (ValueError, binascii.Error) as exc:
        raise InvalidPass("malformed") from exc
    if not any(
        hmac.compare_digest(
            mac, hmac.new(key, payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
        )
        for key in _keys(sealer, b"pass")
    ):
        raise InvalidPass("bad signature")
    try:
        data: dict[str, Any] = orjson.loads(_b64d(payload))
        return PassClaims(
            kind=PassKind(data["k"]),
            id=uuid.UUID(data["id"]),
            site_id=int(data["s"]),
            valid_from=datetime.fromtimestamp(int(data["f"]), UTC),
            valid_until=datetime.fromtimestamp(int(data["u"]), UTC),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        # Signed by us but unreadable: only a bug could make one.
        raise InvalidPass("unreadable payload") from exc


def canonical(content: dict[str, Any]) -> bytes:
    """One byte string per content: sorted keys, no spaces, UTF-8."""
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def stamp(sealer: Sealer, content: dict[str, Any]) -> str:
    """The digital stamp over a pass's canonical content (hex HMAC-SHA256)."""
    return hmac.new(_key(sealer.current, b"stamp"), canonical(content), hashlib.sha256).hexdigest()


def stamp_matches(sealer: Sealer, content: dict[str, Any], signature: str) -> bool:
    body = canonical(content)
    return any(
        hmac.compare_digest(hmac.new(key, body, hashlib.sha256).hexdigest(), signature)
        for key in _keys(sealer, b"stamp")
    )
