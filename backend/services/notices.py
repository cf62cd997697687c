"""Push notices: VAPID keys, subscriptions and settings, the queue, and the worker that sends it.

A notice is queued (`notify`, `alert_supervisors`) in the transaction that caused it, with one
delivery per subscription of its recipient, and never sent inside a request. The worker
(`Sender`, run by the `send_notices` job in every app process) claims due deliveries in one
statement, picking them on PostgreSQL with `SELECT … FOR UPDATE SKIP LOCKED`, so processes share
the queue and each delivery goes out once (SQLite has one process and one writer). A claim moves
the delivery's next attempt a lease ahead, so a worker that dies mid-send leaves it for another.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

import aiohttp
import orjson
from py_vapid import Vapid02
from tortoise.transactions import in_transaction

from backend.errors import NotFound, PushNotConfigured, ValidationFailed
from backend.http import ClientInfo
from backend.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalog, translate
from backend.models.notices import (
    DeliveryStatus,
    Notice,
    NoticeDelivery,
    NoticePreference,
    NoticeUrgency,
    PushSubscription,
    VapidKey,
)
from backend.models.organizations import Site
from backend.models.users import Membership, Role, User
from backend.schemas.notices import NoticeSettingsOut, NoticeSettingsPatch, SubscriptionIn
from backend.sealing import Sealer
from backend.services.bulk import db_datetimes, dialect_of
from backend.services.permissions import Actor
from backend.settings import Settings
from backend.webpush import (
    MAX_PAYLOAD_BYTES,
    BadSubscription,
    Outcome,
    SendResult,
    Subscription,
    Urgency,
    VapidKeys,
    check_endpoint,
    check_keys,
    generate_vapid_keys,
    send,
    vapid_keys_from_private,
)

Category = Literal["parcels", "alerts"]
ALERT_ROLES = (Role.supervisor,)
# A claimed delivery not settled within this is claimed again (its worker is presumed dead).
CLAIM_LEASE = timedelta(minutes=5)
MAX_RETRY_DELAY = timedelta(hours=1)
_IN_FLIGHT = 32  # concurrent posts per worker
_BATCHES_PER_RUN = 20
_RECORD_EVERY = 100  # outcomes recorded together (each database round trip waits for the GIL)
_REQUEST_SECONDS = 10.0


def vapid_purpose(public_key: str) -> str:
    # Binds the sealed private key to its public key: it cannot be swapped onto another row.
    return f"vapid:{public_key}"


def allow_http(settings: Settings) -> bool:
    return settings.push_allow_http and settings.environment != "production"


# --- VAPID keys --------------------------------------------------------------------------------


async def create_vapid_key(sealer: Sealer, *, rotate: bool = False) -> tuple[VapidKey, bool]:
    """The current key pair, made if there is none (or a new one with `rotate`); returns it and
    whether it was made now. Subscriptions keep the key they were made with."""
    async with in_transaction():
        current = await VapidKey.filter(is_current=True).select_for_update().first()
        if current is not None and not rotate:
            return current, False
        keys = generate_vapid_keys()
        await VapidKey.filter(is_current=True).update(is_current=False)
        row = await VapidKey.create(
            public_key=keys.public_key,
            private_key_sealed=sealer.seal(keys.private_raw, vapid_purpose(keys.public_key)),
            is_current=True,
            created_at=datetime.now(UTC),
        )
    return row, True


async def current_vapid_key() -> VapidKey:
    row = await VapidKey.filter(is_current=True).first()
    if row is None:
        raise PushNotConfigured("no VAPID key: run `anbao vapid`")
    return row


def open_vapid_key(row: VapidKey, sealer: Sealer) -> VapidKeys:
    raw = sealer.open(row.private_key_sealed, vapid_purpose(row.public_key))
    keys = vapid_keys_from_private(raw)
    if keys.public_key != row.public_key:
        raise ValueError("the sealed VAPID key does not match its public key")
    return keys


# --- subscriptions and settings ----------------------------------------------------------------


async def subscribe(
    actor: Actor, data: SubscriptionIn, settings: Settings, info: ClientInfo
) -> PushSubscription:
    """Register (or refresh) one browser's subscription for the signed-in person.

    The same endpoint again updates it in place: a browser that renews its keys, or a shared
    gate-house phone now used by someone else, keeps one row.
    """
    assert actor.user is not None
    try:
        endpoint = check_endpoint(data.endpoint, allow_http=allow_http(settings))
        p256dh, auth = check_keys(data.keys.p256dh, data.keys.auth)
    except BadSubscription as exc:
        raise ValidationFailed.field(exc.field, exc.code) from None
    if data.application_server_key is not None:
        key = await VapidKey.get_or_none(public_key=data.application_server_key.rstrip("="))
        if key is None:
            raise ValidationFailed.field("application_server_key", "not_found")
    else:
        key = await current_vapid_key()
    now = datetime.now(UTC)
    async with in_transaction():
        row = await PushSubscription.filter(endpoint=endpoint).select_for_update().first()
        if row is None:
            row = await PushSubscription.create(
                user_id=actor.user.id,
                endpoint=endpoint,
                p256dh=p256dh,
                auth=auth,
                vapid_key_id=key.id,
                user_agent=info.user_agent,
                created_at=now,
            )
        else:
            row.user_id, row.p256dh, row.auth = actor.user.id, p256dh, auth
            row.vapid_key_id, row.user_agent = key.id, info.user_agent
            await row.save(
                update_fields=["user_id", "p256dh", "auth", "vapid_key_id", "user_agent"]
            )
    return row


async def list_subscriptions(actor: Actor) -> list[PushSubscription]:
    assert actor.user is not None
    return await PushSubscription.filter(user_id=actor.user.id).order_by("id")


async def unsubscribe(actor: Actor, subscription_id: int) -> None:
    assert actor.user is not None
    deleted = await PushSubscription.filter(id=subscription_id, user_id=actor.user.id).delete()
    if not deleted:
        raise NotFound("subscription")


async def get_settings(actor: Actor) -> NoticeSettingsOut:
    assert actor.user is not None
    row = await NoticePreference.get_or_none(user_id=actor.user.id)
    if row is None:
        return NoticeSettingsOut(parcels=True, alerts=True)
    return NoticeSettingsOut(parcels=row.parcels, alerts=row.alerts)


async def update_settings(actor: Actor, patch: NoticeSettingsPatch) -> NoticeSettingsOut:
    assert actor.user is not None
    changes = patch.model_dump(exclude_unset=True, exclude_none=True)
    async with in_transaction():
        row = await NoticePreference.filter(user_id=actor.user.id).select_for_update().first()
        if row is None:
            row = NoticePreference(user_id=actor.user.id, parcels=True, alerts=True)
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = datetime.now(UTC)
        await row.save()
    return NoticeSettingsOut(parcels=row.parcels, alerts=row.alerts)


# --- queueing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One notice as the service worker shows it; `data` is for the page it opens."""

    kind: str
    title: str
    body: str
    url: str
    tag: str = ""  # a newer notification with the same tag replaces the older one on screen
    data: dict[str, Any] = field(default_factory=dict)
    urgency: Urgency = Urgency.normal
    topic: str = ""  # the push service keeps only the newest undelivered one per topic

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "tag": self.tag,
            "data": self.data,
        }
        # Room for the notice id the sender adds; what cannot fit is cut, never the whole.
        room = MAX_PAYLOAD_BYTES - 64
        if len(orjson.dumps(body)) > room:
            body["data"] = {}
        while len(orjson.dumps(body)) > room and body["body"]:
            body["body"] = body["body"][: len(body["body"]) * 3 // 4]
        return body


def language_of(user: User) -> str:
    return user.locale if user.locale in LANGUAGES else DEFAULT_LANGUAGE


async def recipients(user_ids: Iterable[int], category: Category) -> list[User]:
    """Active people among these who have not turned this kind of notice off."""
    ids = set(user_ids)
    if not ids:
        return []
    off = set(
        await NoticePreference.filter(user_id__in=ids, **{category: False}).values_list(
            "user_id", flat=True
        )
    )
    return await User.filter(id__in=ids - off, is_active=True).order_by("id")


async def notify(
    users: Sequence[User],
    build: Callable[[User], Message],
    *,
    site_id: int | None,
    ref: str = "",
    ttl_seconds: int,
    now: datetime | None = None,
) -> list[Notice]:
    """Queue a notice for each person, with a delivery per subscription; call inside the
    transaction that caused it (it commits or rolls back with it). `build` makes each person's
    message (in their language)."""
    if not users:
        return []
    now = now or datetime.now(UTC)
    notices = []
    for user in users:
        message = build(user)
        notices.append(
            await Notice.create(
                user_id=user.id,
                site_id=site_id,
                kind=message.kind,
                ref=ref,
                payload=message.payload(),
                urgency=NoticeUrgency(message.urgency.value),
                ttl_seconds=ttl_seconds,
                topic=message.topic,
                created_at=now,
            )
        )
    by_user = {n.user_id: n for n in notices}
    subscriptions = await PushSubscription.filter(user_id__in=list(by_user)).values_list(
        "id", "user_id"
    )
    if subscriptions:
        await NoticeDelivery.bulk_create(
            [
                NoticeDelivery(
                    notice_id=by_user[user_id].id,
                    subscription_id=sub_id,
                    status=DeliveryStatus.pending,
                    next_attempt_at=now,
                )
                for sub_id, user_id in subscriptions
            ]
        )
    return notices


async def alert_supervisors(
    site_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    settings: Settings | None = None,
    url: str = "/board",
    ref: str = "",
    urgency: Urgency = Urgency.high,
) -> int:
    """Queue an alert to the supervisors of a site (those who keep alerts on); returns how many.

    `kind` names the texts `notice.alert.<kind>.title` and `.body` in the catalogs, formatted
    with `payload` and `site` (the site's name); a kind without texts gets the generic ones.
    `payload` also travels to the page as the notice's data. Call inside the transaction of the
    change the alert is about (for incidents, fire equipment and the like too).
    """
    site = await Site.get_or_none(id=site_id)
    if site is None:
        return 0
    supervisor_ids = cast(
        list[int],
        await Membership.filter(
            site_id=site_id, role__in=list(ALERT_ROLES), is_active=True
        ).values_list("user_id", flat=True),
    )
    users = await recipients(supervisor_ids, "alerts")
    params = {**payload, "site": site.name}

    def build(user: User) -> Message:
        language = language_of(user)
        texts = catalog(language)
        key = f"notice.alert.{kind}"
        if f"{key}.title" not in texts:
            key = "notice.alert"
        return Message(
            kind=f"alert.{kind}",
            title=translate(language, f"{key}.title", **params),
            body=translate(language, f"{key}.body", **params),
            url=url,
            tag=f"alert-{kind}-{site_id}",
            data={"site_id": site_id, **payload},
            urgency=urgency,
            topic=f"alert-{kind}-{site_id}"[:32] if kind.replace("_", "").isalnum() else "",
        )

    ttl = settings.push_ttl_seconds if settings is not None else 86_400
    notices = await notify(
        users, build, site_id=site_id, ref=ref or f"alert:{kind}", ttl_seconds=ttl
    )
    return len(notices)


# --- the worker --------------------------------------------------------------------------------


@dataclass(slots=True)
class SendReport:
    attempted: int = 0
    delivered: int = 0
    gone: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    # `ref` of each notice that reached a device in this run (e.g. "parcel:<id>").
    delivered_refs: list[str] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        for name in ("attempted", "delivered", "gone", "retried", "failed", "expired"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.delivered_refs += other.delivered_refs


def retry_delay(settings: Settings, attempts: int, retry_after: float | None) -> timedelta:
    """Exponential backoff from `push_retry_seconds`, at most an hour; never before the push
    service's Retry-After."""
    backoff = timedelta(seconds=settings.push_retry_seconds * 2 ** max(attempts - 1, 0))
    delay = min(backoff, MAX_RETRY_DELAY)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


# Claiming in one statement: the due rows' lease moves ahead as they are picked, so a claim is
# one round trip. On PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED: senders in other
# processes take other rows instead of waiting. SQLite has one process (and one writer).
_CLAIM = (
    'UPDATE "notice_deliveries" SET "next_attempt_at" = {0}, "attempts" = "attempts" + 1, '
    '"sent_by" = {1} WHERE "id" IN (SELECT "id" FROM "notice_deliveries" '
    'WHERE "status" = \'pending\' AND "next_attempt_at" <= {2} '
    'ORDER BY "next_attempt_at", "id" LIMIT {3}{4}) RETURNING "id"'
)
_CLAIM_SQL = {
    "sqlite": _CLAIM.format("?", "?", "?", "?", ""),
    "postgres": _CLAIM.format("$1", "$2", "$3", "$4", " FOR UPDATE SKIP LOCKED"),
}


_DUE_SQL = (
    'SELECT d."id", d."attempts", d."subscription_id", s."endpoint", s."p256dh", s."auth", '
    's."vapid_key_id", n."id" AS "notice_id", n."payload", n."ttl_seconds", n."urgency", '
    'n."topic", n."ref", n."created_at" FROM "notice_deliveries" d '
    'JOIN "notices" n ON n."id" = d."notice_id" '
    'LEFT JOIN "push_subscriptions" s ON s."id" = d."subscription_id" WHERE d."id" {}'
)


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed delivery and what sending it needs."""

    id: int
    attempts: int
    subscription_id: int | None
    endpoint: str | None  # None: the subscription was removed since
    p256dh: str
    auth: str
    vapid_key_id: int | None
    notice_id: int
    payload: dict[str, Any]
    ttl_seconds: int
    urgency: str
    topic: str
    ref: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Due:
        # SQLite hands JSON and datetimes over as text; asyncpg as text and datetime.
        payload, created = row["payload"], row["created_at"]
        return cls(
            id=int(row["id"]),
            attempts=int(row["attempts"]),
            subscription_id=row["subscription_id"],
            endpoint=row["endpoint"],
            p256dh=row["p256dh"] or "",
            auth=row["auth"] or "",
            vapid_key_id=row["vapid_key_id"],
            notice_id=int(row["notice_id"]),
            payload=orjson.loads(payload) if isinstance(payload, str | bytes) else payload,
            ttl_seconds=int(row["ttl_seconds"]),
            urgency=str(row["urgency"]),
            topic=row["topic"] or "",
            ref=row["ref"] or "",
            created_at=datetime.fromisoformat(created) if isinstance(created, str) else created,
        )


class Sender:
    """Claims due deliveries and sends them; one per app process (several share the queue)."""

    def __init__(
        self,
        settings: Settings,
        sealer: Sealer,
        *,
        name: str = "",
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.settings = settings
        self.sealer = sealer
        self.name = name or f"sender-{uuid.uuid4().hex[:8]}"
        self._session = session
        self._signers: dict[int, Vapid02] = {}

    async def run(self, now: Callable[[], datetime] | None = None) -> SendReport:
        """Send until nothing is due (or a bounded number of batches); returns what happened.

        A stream, not batch after batch: one task claims the next batch while the posts of the
        last are in flight, and outcomes are recorded in small groups as they come, so the push
        service never waits for our database.
        """
        clock = now or (lambda: datetime.now(UTC))
        report = SendReport()
        # Room for two batches: the next claim is made while a whole batch still waits.
        todo: asyncio.Queue[Due | None] = asyncio.Queue(maxsize=2 * self.settings.push_batch_size)
        done: list[tuple[Due, SendResult | None]] = []

        first = await self.claim(clock(), self.settings.push_batch_size)
        if not first:
            return report  # the usual case every few seconds: no session, nothing else

        async def claimer() -> None:
            ids = first
            for _ in range(_BATCHES_PER_RUN):
                for row in await self._load(ids):
                    await todo.put(row)
                ids = await self.claim(clock(), self.settings.push_batch_size)
                if not ids:
                    break
            for _ in range(_IN_FLIGHT):
                await todo.put(None)  # each poster stops (a failure cancels them instead)

        async def poster(session: aiohttp.ClientSession) -> None:
            while (row := await todo.get()) is not None:
                done.append((row, await self._send_one(session, row, clock())))
                if len(done) >= _RECORD_EVERY:
                    chunk = done[:]
                    done.clear()
                    report.add(await self._record(chunk, clock()))

        session = self._session or aiohttp.ClientSession()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(claimer())
                for _ in range(_IN_FLIGHT):
                    group.create_task(poster(session))
            if done:
                report.add(await self._record(done, clock()))
        finally:
            if self._session is None:
                await session.close()
        return report

    async def claim(self, now: datetime, limit: int) -> list[int]:
        """Take up to `limit` due deliveries for this worker in one statement; on PostgreSQL
        rows another worker is claiming are skipped, not waited for."""
        db = NoticeDelivery._meta.db
        dialect = dialect_of(NoticeDelivery)
        as_db = db_datetimes(NoticeDelivery)
        rows = await db.execute_query_dict(
            _CLAIM_SQL[dialect], [as_db(now + CLAIM_LEASE), self.name, as_db(now), limit]
        )
        return sorted(int(r["id"]) for r in rows)

    async def _load(self, ids: list[int]) -> list[Due]:
        """The claimed deliveries with what sending needs, in one query (no ORM objects: the
        sender is a hot path)."""
        db = NoticeDelivery._meta.db
        if dialect_of(NoticeDelivery) == "postgres":
            rows = await db.execute_query_dict(_DUE_SQL.format("= ANY($1::bigint[])"), [ids])
        else:
            marks = ",".join("?" * len(ids))
            rows = await db.execute_query_dict(_DUE_SQL.format(f"IN ({marks})"), ids)
        due = [Due.from_row(r) for r in rows]
        for key_id in {d.vapid_key_id for d in due if d.vapid_key_id is not None}:
            if key_id not in self._signers:
                key = await VapidKey.get(id=key_id)
                self._signers[key_id] = open_vapid_key(key, self.sealer).signer()
        return sorted(due, key=lambda d: d.id)

    async def _send_one(
        self, session: aiohttp.ClientSession, due: Due, now: datetime
    ) -> SendResult | None:
        """What the push service said; None when the notice outlived its TTL unsent."""
        if due.endpoint is None or due.vapid_key_id is None:
            return SendResult(Outcome.gone, error="the subscription was removed")
        age = (now - due.created_at).total_seconds()
        if age > due.ttl_seconds and (due.ttl_seconds > 0 or due.attempts > 1):
            return None
        return await send(
            session,
            Subscription(due.endpoint, due.p256dh, due.auth),
            orjson.dumps({**due.payload, "id": due.notice_id}),
            self._signers[due.vapid_key_id],
            contact=self.settings.push_contact,
            ttl=max(0, due.ttl_seconds - int(age)),
            urgency=Urgency(due.urgency),
            topic=due.topic,
            request_seconds=_REQUEST_SECONDS,
        )

    async def _record(
        self, outcomes: list[tuple[Due, SendResult | None]], now: datetime
    ) -> SendReport:
        report = SendReport(attempted=len(outcomes))
        delivered: dict[int | None, list[int]] = {}
        delivered_subs: set[int] = set()
        refs: set[str] = set()
        gone_subs: set[int] = set()
        # No transaction: each statement is a fact on its own, and every round trip from a
        # busy event loop waits for the GIL, so a group costs two or three of them.
        for row, result in outcomes:
            if result is None:
                await NoticeDelivery.filter(id=row.id).update(
                    status=DeliveryStatus.expired, last_error="its TTL passed unsent"
                )
                report.expired += 1
                continue
            if result.outcome == Outcome.delivered:
                delivered.setdefault(result.status, []).append(row.id)
                if row.subscription_id is not None:
                    delivered_subs.add(row.subscription_id)
                if row.ref:
                    refs.add(row.ref)
                report.delivered += 1
                continue
            values: dict[str, Any] = {
                "last_status": result.status,
                "last_error": result.error[:255],
            }
            if result.outcome == Outcome.gone:
                values["status"] = DeliveryStatus.gone
                if row.subscription_id is not None:
                    gone_subs.add(row.subscription_id)
                report.gone += 1
            elif result.outcome == Outcome.retry and row.attempts < self.settings.push_max_attempts:
                delay = retry_delay(self.settings, row.attempts, result.retry_after)
                values["next_attempt_at"] = now + delay
                report.retried += 1
            else:
                if result.outcome == Outcome.retry:
                    values["last_error"] = f"gave up after {row.attempts} attempts: {result.error}"[
                        :255
                    ]
                values["status"] = DeliveryStatus.failed
                report.failed += 1
            await NoticeDelivery.filter(id=row.id).update(**values)
        for status, ids in delivered.items():
            await NoticeDelivery.filter(id__in=ids).update(
                status=DeliveryStatus.delivered, delivered_at=now, last_status=status
            )
        if delivered_subs:
            await PushSubscription.filter(id__in=list(delivered_subs)).update(last_success_at=now)
        if gone_subs:
            # The push service says the browser unsubscribed (or the app was removed).
            await PushSubscription.filter(id__in=list(gone_subs)).delete()
        report.delivered_refs = sorted(refs)
        return report


async def pending_count() -> int:
    return await NoticeDelivery.filter(status=DeliveryStatus.pending).count()
