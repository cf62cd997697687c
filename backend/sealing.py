"""Sealing secrets at rest (tag keys, visitor ID numbers) under the master key, and keyed
hashes that let sealed values be found without being opened.

A sealed value is text: `s1.<key id>.<base64url(nonce || AES-256-GCM ciphertext+tag)>`. The
purpose (e.g. "tag:42") is bound as associated data, so a value sealed for one record cannot be
copied onto another. The key id names which master key sealed it, so keys can be rotated:
`ANBAO_MASTER_KEY` seals, `ANBAO_MASTER_KEYS_OLD` still opens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "s1"


class SealError(ValueError):
    """A sealed value that is malformed, sealed for another purpose, or under an unknown key."""


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_master_key(text: str) -> bytes:
    """A master key as written in the settings: 32 bytes, base64url."""
    try:
        key = _b64d(text.strip())
    except ValueError as exc:
        raise SealError("the master key is not base64") from exc
    if len(key) != 32:
        raise SealError("the master key must be 32 bytes (base64url of 32 random bytes)")
    return key


def new_master_key() -> str:
    return _b64e(os.urandom(32))


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"anbao-key-id:" + key).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Sealer:
    current: bytes
    old: tuple[bytes, ...] = ()

    def _derived(self, key: bytes, label: bytes) -> bytes:
        return hmac.new(key, b"anbao:" + label, hashlib.sha256).digest()

    def seal(self, plaintext: bytes, purpose: str) -> str:
        nonce = os.urandom(12)
        aead = AESGCM(self._derived(self.current, b"seal"))
        sealed = aead.encrypt(nonce, plaintext, purpose.encode())
        return f"{_PREFIX}.{_key_id(self.current)}.{_b64e(nonce + sealed)}"

    def open(self, token: str, purpose: str) -> bytes:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _PREFIX:
            raise SealError("not a sealed value")
        key = next((k for k in (self.current, *self.old) if _key_id(k) == parts[1]), None)
        if key is None:
            raise SealError("sealed under a key this server does not have")
        try:
            raw = _b64d(parts[2])
        except ValueError as exc:
            raise SealError("not a sealed value") from exc
        if len(raw) < 12 + 16:
            raise SealError("truncated")
        try:
            return AESGCM(self._derived(key, b"seal")).decrypt(raw[:12], raw[12:], purpose.encode())
        except InvalidTag as exc:
            raise SealError("altered, or sealed for another purpose") from exc

    def needs_reseal(self, token: str) -> bool:
        parts = token.split(".")
        return len(parts) != 3 or parts[1] != _key_id(self.current)

    def blind_index(self, value: str, purpose: str) -> str:
        """A keyed hash for finding a sealed value by equality (e.g. an ID number).

        Always under the current key: rotating the master key means re-indexing.
        """
        key = self._derived(self.current, b"index:" + purpose.encode())
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
