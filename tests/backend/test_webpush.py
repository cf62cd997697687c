"""Sending one web push with pywebpush to a real push service on 127.0.0.1 that checks the VAPID
token, the encryption and the headers, and answers what each test needs."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from backend.webpush import (
    MAX_BODY_BYTES,
    MAX_PAYLOAD_BYTES,
    BadSubscription,
    Outcome,
    SendResult,
    Subscription,
    Urgency,
    VapidKeys,
    check_contact,
    check_endpoint,
    check_keys,
    generate_vapid_keys,
    parse_retry_after,
    send,
    vapid_keys_from_private,
)
from tests.push_service import PushService, TestSubscription

CONTACT = "mailto:security@example.com"


@pytest.fixture
def service() -> Iterator[PushService]:
    with PushService() as s:
        yield s


@pytest.fixture(scope="module")
def keys() -> VapidKeys:
    return generate_vapid_keys()


def sub_of(test_sub: TestSubscription) -> Subscription:
    return Subscription(test_sub.endpoint, test_sub.p256dh, test_sub.auth)


def push(
    keys: VapidKeys,
    subs: list[TestSubscription],
    payload: bytes = b'{"title": "hello"}',
    **kw: object,
) -> list[SendResult]:
    async def go() -> list[SendResult]:
        signer = keys.signer()
        async with aiohttp.ClientSession() as session:
            return [
                await send(
                    session,
                    sub_of(s),
                    payload,
                    signer,
                    contact=CONTACT,
                    ttl=kw.get("ttl", 3600),  # type: ignore[arg-type]
                    urgency=kw.get("urgency", Urgency.normal),  # type: ignore[arg-type]
                    topic=kw.get("topic", ""),  # type: ignore[arg-type]
                )
                for s in subs
            ]

    return asyncio.run(go())


def test_generated_keys_are_a_p256_pair(keys: VapidKeys) -> None:
    assert len(keys.private_raw) == 32 and len(keys.public_raw) == 65
    assert keys.public_raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keys.public_raw)
    assert vapid_keys_from_private(keys.private_raw) == keys
    assert "=" not in keys.public_key and len(base64.urlsafe_b64decode(keys.public_key + "=")) == 65
    assert generate_vapid_keys().public_raw != keys.public_raw


def test_a_push_arrives_encrypted_signed_and_with_ttl_and_urgency(
    service: PushService, keys: VapidKeys
) -> None:
    sub = service.subscribe(server_key=keys.public_key)
    message = {"title": "快递到了", "body": "取件码 7K3M9Q", "url": "/parcels/1"}
    (result,) = push(
        keys,
        [sub],
        json.dumps(message, ensure_ascii=False).encode(),
        ttl=7200,
        urgency=Urgency.high,
        topic="parcel-1",
    )
    assert result == SendResult(Outcome.delivered, 201)
    assert service.refused == []
    (got,) = service.for_subscription(sub)
    assert got.json() == message  # decrypted with the subscription's private key
    assert got.headers["ttl"] == "7200"
    assert got.headers["urgency"] == "high"
    assert got.headers["topic"] == "parcel-1"
    assert got.headers["content-encoding"] == "aes128gcm"
    assert got.claims["aud"] == service.origin and got.claims["sub"] == CONTACT


def test_each_push_service_gets_its_own_audience(keys: VapidKeys) -> None:
    # pywebpush writes `aud` into the claims dict: a reused dict would carry the first service's
    # origin to the second, which refuses it.
    with PushService() as one, PushService() as two:
        subs = [one.subscribe(), two.subscribe(), one.subscribe()]
        results = push(keys, subs)
        assert [r.outcome for r in results] == [Outcome.delivered] * 3
        assert one.refused == [] and two.refused == []
        assert {r.claims["aud"] for r in two.received} == {two.origin}


def test_the_service_refuses_a_token_signed_with_another_key(
    service: PushService, keys: VapidKeys
) -> None:
    sub = service.subscribe(server_key=keys.public_key)
    (result,) = push(generate_vapid_keys(), [sub])
    assert result.outcome == Outcome.failed and result.status == 403
    assert service.received == []


@pytest.mark.parametrize(
    ("statuses", "retry_after", "outcome"),
    [
        ((201,), None, Outcome.delivered),
        ((404,), None, Outcome.gone),
        ((410,), None, Outcome.gone),
        ((429,), "120", Outcome.retry),
        ((500,), None, Outcome.retry),
        ((503,), "7", Outcome.retry),
        ((400,), None, Outcome.failed),
        ((413,), None, Outcome.failed),
    ],
)
def test_every_answer_is_classified(
    service: PushService,
    keys: VapidKeys,
    statuses: tuple[int, ...],
    retry_after: str | None,
    outcome: Outcome,
) -> None:
    sub = service.subscribe()
    service.answer(sub, *statuses, retry_after=retry_after)
    (result,) = push(keys, [sub])
    assert result.outcome == outcome and result.status == statuses[0]
    assert result.retry_after == (float(retry_after) if retry_after else None)


def test_an_unreachable_push_service_is_retried(keys: VapidKeys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        fake = TestSubscription(
            "x",
            f"http://127.0.0.1:{port}/push/x",
            ec.generate_private_key(ec.SECP256R1()),
            b"0123456789abcdef",
            None,
        )
        (result,) = push(keys, [fake])
    assert result.outcome == Outcome.retry and result.status is None
    assert result.error.startswith("network")


def test_a_payload_over_the_limit_is_never_sent(service: PushService, keys: VapidKeys) -> None:
    sub = service.subscribe()
    fits, too_big = b"x" * MAX_PAYLOAD_BYTES, b"x" * (MAX_PAYLOAD_BYTES + 1)
    ok, refused = push(keys, [sub, sub], fits), push(keys, [sub], too_big)[0]
    assert ok[0].outcome == Outcome.delivered and ok[1].outcome == Outcome.delivered
    assert len(service.received[0].payload) == MAX_PAYLOAD_BYTES  # the largest that fits
    assert refused.outcome == Outcome.failed and refused.status is None
    assert "too large" in refused.error
    assert len(service.received) == 2  # the big one never left
    assert MAX_BODY_BYTES == 4096


def test_retry_after_as_seconds_or_a_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after(format_datetime(now + timedelta(minutes=2), usegmt=True), now) == 120
    assert parse_retry_after(format_datetime(now - timedelta(minutes=2), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def _point() -> str:
    from cryptography.hazmat.primitives import serialization

    raw = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(raw).decode()


def test_subscription_keys_are_checked() -> None:
    good_p, good_a = _point(), base64.urlsafe_b64encode(b"k" * 16).decode()
    p, a = check_keys(good_p, good_a)
    assert "=" not in p + a  # canonical: unpadded
    compressed = base64.urlsafe_b64encode(b"\x02" + b"\x01" * 32).decode()
    off_curve = base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode()
    cases = [
        (compressed, good_a, "keys.p256dh"),
        (off_curve, good_a, "keys.p256dh"),
        (good_p[:-4], good_a, "keys.p256dh"),
        (good_p.replace("-", "+").replace("_", "/") + "!", good_a, "keys.p256dh"),
        (good_p, base64.urlsafe_b64encode(b"k" * 15).decode(), "keys.auth"),
        (good_p, "not base64 at all!", "keys.auth"),
    ]
    for p256dh, auth, where in cases:
        with pytest.raises(BadSubscription) as caught:
            check_keys(p256dh, auth)
        assert (caught.value.field, caught.value.code) == (where, "bad_push_key")


@pytest.mark.parametrize(
    ("endpoint", "allow_http", "code"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", False, None),
        ("https://updates.push.services.mozilla.com/wpush/v2/x", False, None),
        ("http://127.0.0.1:9999/push/x", True, None),
        ("http://127.0.0.1:9999/push/x", False, "endpoint_not_https"),
        ("http://push.example.com/x", False, "endpoint_not_https"),
        ("https://127.0.0.1/push/x", False, "bad_endpoint"),
        ("https://localhost/push/x", False, "bad_endpoint"),
        ("https://user:pw@push.example.com/x", False, "bad_endpoint"),
        ("ftp://push.example.com/x", False, "bad_endpoint"),
        ("not a url", False, "bad_endpoint"),
        ("https://push.example.com:99999/x", False, "bad_endpoint"),
        ("https://push.example.com/" + "x" * 1100, False, "bad_endpoint"),
    ],
)
def test_endpoints_are_checked(endpoint: str, allow_http: bool, code: str | None) -> None:
    if code is None:
        assert check_endpoint(endpoint, allow_http=allow_http) == endpoint
        return
    with pytest.raises(BadSubscription) as caught:
        check_endpoint(endpoint, allow_http=allow_http)
    assert (caught.value.field, caught.value.code) == ("endpoint", code)


def test_the_contact_is_mailto_or_https() -> None:
    assert check_contact("mailto:ops@example.com")
    assert check_contact("https://example.com/contact")
    for bad in ("ops@example.com", "http://example.com", "mailto:nobody"):
        with pytest.raises(ValueError):
            check_contact(bad)
