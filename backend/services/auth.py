"""Sign-in, sessions, device tokens, CSRF tokens and login throttling."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from backend.errors import (
    Forbidden,
    InvalidCredentials,
    NotAuthenticated,
    NotFound,
    PasswordTooWeak,
    SessionRevoked,
    Throttled,
)
from backend.http import ClientInfo
from backend.models.devices import Device, DeviceKind
from backend.models.sessions import LoginThrottle, Session
from backend.models.users import User
from backend.services import audit
from backend.services.permissions import Actor, load_roles
from backend.settings import Settings

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("anbao-timing-equaliser")
_TOUCH_EVERY = timedelta(seconds=60)
_MAX_LOCK = 3600


def utcnow() -> datetime:
    return datetime.now(UTC)


async def hash_password(password: str, settings: Settings) -> str:
    if len(password) < settings.password_min_length:
        raise PasswordTooWeak(min_length=settings.password_min_length)
    # argon2 is deliberately slow: keep it off the event loop.
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    return "s_" + secrets.token_urlsafe(32)


def new_device_token() -> str:
    return "d_" + secrets.token_urlsafe(32)


def csrf_token(settings: Settings, session_token_hash: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + session_token_hash.encode(), hashlib.sha256).hexdigest()


@dataclass(slots=True)
class LoginResult:
    token: str
    csrf_token: str
    session: Session
    user: User
    device: Device | None
    actor: Actor


async def _throttle_rows(keys: list[str]) -> list[LoginThrottle]:
    return await LoginThrottle.filter(key__in=keys)


def _retry_after(rows: list[LoginThrottle], now: datetime) -> int:
    waits = [
        math.ceil((row.locked_until - now).total_seconds())
        for row in rows
        if row.locked_until is not None and row.locked_until > now
    ]
    return max(waits, default=0)


async def _record_failure(keys: dict[str, int], now: datetime, settings: Settings) -> int:
    """Count a failure under each key; returns the seconds to wait if a lock now applies."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    async with in_transaction():
        for key, limit in keys.items():
            row = await LoginThrottle.filter(key=key).select_for_update().first()
            if row is None:
                row = LoginThrottle(key=key, failures=0, window_started_at=now)
            if now - row.window_started_at > window:
                row.failures, row.window_started_at = 0, now
            row.failures += 1
            if row.failures >= limit:
                seconds = min(settings.login_lockout_seconds * 2**row.lockouts, _MAX_LOCK)
                row.locked_until = now + timedelta(seconds=seconds)
                row.lockouts += 1
                row.failures = 0
            await row.save()
    return _retry_after(await _throttle_rows(list(keys)), now)


async def login(
    username: str,
    password: str,
    device_uid: uuid.UUID | None,
    device_name: str,
    info: ClientInfo,
    settings: Settings,
) -> LoginResult:
    username = username.strip().lower()
    now = utcnow()
    keys = {
        f"account:{username}": settings.login_max_failures_per_account,
        f"address:{info.address}": settings.login_max_failures_per_address,
    }
    wait = _retry_after(await _throttle_rows(list(keys)), now)
    if wait > 0:
        raise Throttled(retry_after=wait)

    user = await User.get_or_none(username=username)
    if user is not None and user.is_active:
        ok = await verify_password(user.password_hash, password)
    else:
        await verify_password(_DUMMY_HASH, password)  # same cost whether or not the user exists
        ok = False
    if not ok:
        wait = await _record_failure(keys, now, settings)
        await audit.record(
            None,
            info,
            "auth.login_failed",
            "user",
            username,
            site_id=None,
            after={"address": info.address},
        )
        if wait > 0:
            raise Throttled(retry_after=wait)
        raise InvalidCredentials()
    assert user is not None

    token = new_session_token()
    async with in_transaction():
        await LoginThrottle.filter(key=f"account:{username}").delete()
        device = await _bind_device(user, device_uid, device_name, now)
        session = await Session.create(
            token_hash=token_hash(token),
            user=user,
            device=device,
            last_seen_at=now,
            expires_at=now + timedelta(days=settings.session_ttl_days),
            client_address=info.address[:64],
            user_agent=info.user_agent,
        )
        actor = Actor(
            user=user,
            device=device,
            session_id=session.id,
            session_token_hash=session.token_hash,
            roles=await load_roles(user),
        )
        await audit.record(
            actor,
            info,
            "auth.login",
            "session",
            session.id,
            after={"device_id": device and device.id},
        )
    return LoginResult(
        token, csrf_token(settings, session.token_hash), session, user, device, actor
    )


async def _bind_device(
    user: User, device_uid: uuid.UUID | None, name: str, now: datetime
) -> Device | None:
    if device_uid is None:
        return None
    device = await Device.get_or_none(uid=device_uid)
    if device is not None and (device.revoked_at is not None or device.kind != DeviceKind.phone):
        # A revoked id is never reused: the phone gets a fresh one in the answer.
        device = None
        device_uid = uuid.uuid4()
    if device is None:
        return await Device.create(
            uid=device_uid, kind=DeviceKind.phone, name=name[:120], user=user, last_seen_at=now
        )
    # A shared gate-house phone belongs to whoever signed in on it last.
    device.user_id = user.id
    device.name = name[:120] or device.name
    device.last_seen_at = now
    await device.save(update_fields=["user_id", "name", "last_seen_at"])
    return device


@cache
def _session_sql(dialect: str) -> str:
    parts = []
    for alias, model in (("s", Session), ("u", User), ("d", Device)):
        parts += [f'{alias}."{c}" AS "{alias}__{c}"' for c in sorted(model._meta.db_fields)]
    mark = "$1" if dialect == "postgres" else "?"
    return (
        f'SELECT {", ".join(parts)} FROM "sessions" s JOIN "users" u ON u."id" = s."user_id" '
        f'LEFT JOIN "devices" d ON d."id" = s."device_id" WHERE s."token_hash" = {mark}'
    )


async def _session_with_user(digest: str) -> Session | None:
    """The session with this token hash, its user and device loaded: one plain query (every
    authenticated request makes it), the rows turned into models as the ORM would."""
    db = Session._meta.db
    _, rows = await db.execute_query(_session_sql(db.capabilities.dialect), [digest])
    if not rows:
        return None
    parts: dict[str, dict[str, Any]] = {"s": {}, "u": {}, "d": {}}
    for key, value in dict(rows[0]).items():
        alias, _, column = key.partition("__")
        parts[alias][column] = value
    session = Session._init_from_db(**parts["s"])
    session.user = User._init_from_db(**parts["u"])
    session.device = None if parts["d"]["id"] is None else Device._init_from_db(**parts["d"])
    return session


async def authenticate(token: str) -> Actor:
    """The actor behind a session or device token; raises if it is unknown, revoked or expired."""
    digest = token_hash(token)
    now = utcnow()
    if token.startswith("d_"):
        device = await Device.get_or_none(token_hash=digest)
        if device is None:
            raise NotAuthenticated("unknown device token")
        if device.revoked_at is not None:
            raise SessionRevoked("device revoked")
        if device.last_seen_at is None or now - device.last_seen_at > _TOUCH_EVERY:
            await Device.filter(id=device.id).update(last_seen_at=now)
        return Actor(device=device, via="bearer")
    found = await _session_with_user(digest)
    if found is None:
        raise NotAuthenticated("unknown session token")
    session = found
    if (
        session.revoked_at is not None
        or session.expires_at <= now
        or not session.user.is_active
        or (session.device is not None and session.device.revoked_at is not None)
    ):
        raise SessionRevoked("session ended")
    if now - session.last_seen_at > _TOUCH_EVERY:
        await Session.filter(id=session.id).update(last_seen_at=now)
    return Actor(
        user=session.user,
        device=session.device,
        session_id=session.id,
        session_token_hash=session.token_hash,
        roles=await load_roles(session.user),
    )


async def logout(actor: Actor, info: ClientInfo) -> None:
    if actor.session_id is None:
        raise Forbidden("not a session")
    async with in_transaction():
        await Session.filter(id=actor.session_id).update(revoked_at=utcnow())
        await audit.record(actor, info, "auth.logout", "session", actor.session_id)


async def list_sessions(actor: Actor) -> list[Session]:
    assert actor.user is not None
    return (
        await Session.filter(user_id=actor.user.id, revoked_at=None, expires_at__gt=utcnow())
        .select_related("device")
        .order_by("-last_seen_at")
    )


async def revoke_session(actor: Actor, session_id: int, info: ClientInfo) -> None:
    assert actor.user is not None
    session = await Session.get_or_none(id=session_id, user_id=actor.user.id)
    if session is None:
        raise NotFound("session")
    if session.revoked_at is None:
        async with in_transaction():
            await Session.filter(id=session.id).update(revoked_at=utcnow())
            await audit.record(actor, info, "auth.session_revoked", "session", session.id)
