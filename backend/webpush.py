"""Web Push (RFC 8030/8291/8292) with pywebpush: VAPID keys, subscription checks, sending one
message and classifying what the push service answered.

Nothing here touches the database: `services.notices` queues notices and calls `send` from its
worker. pywebpush facts this module is built around: it writes `aud` (and `exp`) into the claims
dict it is given, so every send gets a fresh dict (a reused one carries the first push service's
audience to the next, which answers 403); its default TTL is 0 (the message is dropped unless
the phone is online that instant), so a TTL is always passed; it does not check the 4096-byte
limit, so `send` does before anything goes out.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

# RFC 8030 §7.2: a push service must accept 4096 bytes of payload: the encrypted body. RFC 8291's
# aes128gcm adds a header (16 salt + 4 record size + 1 key id length + 65 key), a padding
# delimiter and a 16-byte tag, so a plaintext may have 4096 - 103 bytes.
MAX_BODY_BYTES = 4096
ENCRYPTION_OVERHEAD = 16 + 4 + 1 + 65 + 1 + 16
MAX_PAYLOAD_BYTES = MAX_BODY_BYTES - ENCRYPTION_OVERHEAD
MAX_ENDPOINT_LENGTH = 1024
# RFC 8030 §5.4: the Topic header is at most 32 characters of the URL-safe base64 alphabet.
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_CONTACT = re.compile(r"^(mailto:[^@\s]+@[^@\s]+|https://[^\s/]+(/\S*)?)$")


class Urgency(StrEnum):
    # RFC 8030 §5.3; a phone in power-saving mode may hold back anything below "normal".
    very_low = "very-low"
    low = "low"
    normal = "normal"
    high = "high"


class Outcome(StrEnum):
    delivered = "delivered"  # the push service took it (201)
    gone = "gone"  # 404/410: the subscription is dead; delete it
    retry = "retry"  # 429, 5xx or the network: try again later (after `retry_after` if given)
    failed = "failed"  # anything else (a bad request, a refused VAPID token, too large)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    status: int | None = None  # the push service's HTTP status, None if none came
    retry_after: float | None = None  # seconds, from the Retry-After header
    error: str = ""


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a browser's `PushSubscription.toJSON()` gives: where to post and whom to encrypt to."""

    endpoint: str
    p256dh: str  # base64url of the browser's 65-byte P-256 public key
    auth: str  # base64url of the 16-byte authentication secret

    def info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True, slots=True)
class VapidKeys:
    private_raw: bytes  # the 32-byte P-256 private scalar
    public_raw: bytes  # the 65-byte uncompressed point the browser gets as applicationServerKey

    @property
    def public_key(self) -> str:
        return b64url(self.public_raw)

    def signer(self) -> Vapid02:
        return Vapid02.from_raw(b64url(self.private_raw).encode())


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Strict base64url (padding optional): anything outside the alphabet is an error."""
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


def generate_vapid_keys() -> VapidKeys:
    key = ec.generate_private_key(ec.SECP256R1())
    return vapid_keys_from_private(key.private_numbers().private_value.to_bytes(32, "big"))


def vapid_keys_from_private(private_raw: bytes) -> VapidKeys:
    if len(private_raw) != 32:
        raise ValueError("a VAPID private key is 32 bytes")
    key = ec.derive_private_key(int.from_bytes(private_raw, "big"), ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidKeys(private_raw, public)


# --- checking what a browser sends -----------------------------------------------------------


class BadSubscription(ValueError):
    """A subscription that cannot be used; `field` and `code` name what is wrong."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def check_endpoint(endpoint: str, *, allow_http: bool) -> str:
    """The endpoint, if a push can go there: https (http only when allowed, for tests on
    127.0.0.1); with https, a host name (push services have one; an IP literal or localhost
    would let a subscription aim our server at the inside of a network)."""
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise BadSubscription("endpoint", "bad_endpoint")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise BadSubscription("endpoint", "bad_endpoint") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username is not None:
        raise BadSubscription("endpoint", "bad_endpoint")
    if parts.scheme == "http":
        if not allow_http:
            raise BadSubscription("endpoint", "endpoint_not_https")
        return endpoint
    if not allow_http and _is_local_host(parts.hostname):
        raise BadSubscription("endpoint", "bad_endpoint")
    return endpoint


def _is_local_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost") or "." not in host:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_keys(p256dh: str, auth: str) -> tuple[str, str]:
    """The keys in canonical form (unpadded base64url) if they are a 65-byte uncompressed P-256
    point on the curve and a 16-byte secret."""
    try:
        point = b64url_decode(p256dh)
        if len(point) != 65 or point[0] != 4:
            raise ValueError("not an uncompressed point")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise BadSubscription("keys.p256dh", "bad_push_key") from None
    try:
        secret = b64url_decode(auth)
    except ValueError:
        raise BadSubscription("keys.auth", "bad_push_key") from None
    if len(secret) != 16:
        raise BadSubscription("keys.auth", "bad_push_key")
    return b64url(point), b64url(secret)


def check_contact(contact: str) -> str:
    """The VAPID `sub` claim: a mailto: or https: address the push service may write to."""
    if not _CONTACT.match(contact):
        raise ValueError("the push contact must be a mailto: or https: address")
    return contact


def origin(endpoint: str) -> str:
    """The VAPID audience of an endpoint: its scheme, host and port."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def endpoint_label(endpoint: str) -> str:
    """The push service's host, for showing which service a device uses (not the secret path)."""
    return urlsplit(endpoint).hostname or ""


# --- sending -----------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(status: int, retry_after: str | None = None) -> SendResult:
    if status in (200, 201, 202):
        return SendResult(Outcome.delivered, status)
    if status in (404, 410):
        return SendResult(Outcome.gone, status, error=f"push service answered {status}")
    if status == 429 or status >= 500:
        return SendResult(
            Outcome.retry,
            status,
            parse_retry_after(retry_after),
            f"push service answered {status}",
        )
    return SendResult(Outcome.failed, status, error=f"push service answered {status}")


async def send(
    session: aiohttp.ClientSession,
    subscription: Subscription,
    payload: bytes,
    signer: Vapid02,
    *,
    contact: str,
    ttl: int,
    urgency: Urgency = Urgency.normal,
    topic: str = "",
    request_seconds: float = 10.0,
) -> SendResult:
    """Encrypt and post one message; never raises for what the push service or network does."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return SendResult(Outcome.failed, error=f"payload of {len(payload)} bytes is too large")
    headers: dict[str, str | int | float] = {"Urgency": urgency.value}
    if topic:
        if not _TOPIC.match(topic):
            return SendResult(Outcome.failed, error="topic is not 1-32 base64url characters")
        headers["Topic"] = topic
    try:
        response = await webpush_async(
            subscription_info=subscription.info(),
            data=payload.decode(),
            vapid_private_key=signer,
            vapid_claims={"sub": contact},  # fresh each time: pywebpush writes aud and exp in
            ttl=ttl,
            headers=headers,
            aiohttp_session=session,
            timeout=request_seconds,  # pywebpush hands it to aiohttp
        )
    except WebPushException as exc:
        response = exc.response
        if response is None:
            return SendResult(Outcome.failed, error=str(exc.message)[:200])
        return classify(int(response.status), response.headers.get("Retry-After"))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return SendResult(Outcome.retry, error=f"network: {type(exc).__name__}: {exc}"[:200])
    assert not isinstance(response, str)
    return classify(int(response.status), response.headers.get("Retry-After"))
