"""The parcel room: intake (online, in batches, or offline through sync), the pickup code and
pass, notices to residents, pickup, return to sender, reminders, and the shelf check.

Every step is audited with who and when: `parcel.received`, `parcel.notified` (by the sender,
no person), `parcel.reminded`, `parcel.picked_up`, `parcel.returned`, `parcel.shelf_check`.

The pickup code is 6 characters from an alphabet without look-alikes (no 0/O, 1/I/L), drawn at
random and unique among a site's waiting parcels: 31^6 (about 8.9e8) codes, so guessing one
takes hundreds of millions of tries, and wrong codes are throttled per guard and per site. Staff
never see codes: a code (or the resident's signed pickup pass) is the resident's proof.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.errors import (
    AlreadyPickedUp,
    AnbaoError,
    Forbidden,
    Inactive,
    InvalidPass,
    MutationIdConflict,
    NotFound,
    ParcelReturned,
    PassExpired,
    PickupThrottled,
    ValidationFailed,
    WrongPickupCode,
)
from backend.http import ClientInfo
from backend.i18n import translate
from backend.models.organizations import Site, Unit
from backend.models.parcels import WAITING, Parcel, ParcelStatus, PickupMethod
from backend.models.sessions import LoginThrottle
from backend.models.sync import ChangeOp
from backend.models.users import Membership, Role, User
from backend.schemas.parcels import (
    FindIn,
    FindOut,
    Misplaced,
    MyParcelsQuery,
    ParcelBatchIn,
    ParcelIn,
    ParcelOut,
    ParcelQuery,
    PassCode,
    PickupIn,
    PickupPassOut,
    RecipientOut,
    ShelfCheckIn,
    ShelfCheckOut,
    ShelfDiff,
)
from backend.services import audit, notices
from backend.services.changes import record_changes
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site
from backend.settings import Settings
from backend.webpush import Urgency

ENTITY = "parcel"  # in the staff change feed, without codes
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
_PASS_PREFIX = "pp1"
_THROTTLE_WINDOW = timedelta(minutes=15)
_LOCK_SECONDS = 60
_MAX_LOCK_SECONDS = 3600
SYSTEM = ClientInfo(request_id="job", address="", user_agent="", language="en", is_https=False)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """As typed or read aloud: case, spaces, dashes and full-width characters do not matter."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(c for c in folded if c.isalnum())


def _label_key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


# --- outputs ---------------------------------------------------------------------------------


def parcel_out(p: Parcel, unit_label: str, *, with_code: bool = False) -> ParcelOut:
    return ParcelOut(
        id=p.id,
        site_id=p.site_id,
        unit_id=p.unit_id,
        unit_label=unit_label,
        recipient_id=p.recipient_id,
        recipient_name=p.recipient_name,
        carrier=p.carrier,
        tracking_number=p.tracking_number,
        label_sha256=p.label_sha256,
        shelf=p.shelf,
        perishable=p.perishable,
        fragile=p.fragile,
        oversized=p.oversized,
        note=p.note,
        status=p.status,
        received_at=p.received_at,
        received_by_id=p.received_by_id,
        notified_at=p.notified_at,
        reminders=p.reminders,
        picked_up_at=p.picked_up_at,
        pickup_method=p.pickup_method,
        collected_by_name=p.collected_by_name,
        collector_photo_sha256=p.collector_photo_sha256,
        proof_sha256=p.proof_sha256,
        proof_kind=p.proof_kind,
        returned_at=p.returned_at,
        return_reason=p.return_reason,
        pickup_code=p.active_code if with_code else None,
    )


async def _labels(parcels: Iterable[Parcel]) -> dict[int, str]:
    ids = {p.unit_id for p in parcels}
    if not ids:
        return {}
    return dict(await Unit.filter(id__in=ids).values_list("id", "label"))


async def _outs(parcels: Sequence[Parcel], *, with_code: bool = False) -> list[ParcelOut]:
    labels = await _labels(parcels)
    return [parcel_out(p, labels.get(p.unit_id, ""), with_code=with_code) for p in parcels]


async def _record(parcels: Sequence[Parcel]) -> None:
    """The parcels' new state in the staff change feed (without codes: pulls by staff carry
    every audience, so residents read theirs through `/api/me/parcels` instead)."""
    labels = await _labels(parcels)
    by_site: dict[int, list[Parcel]] = defaultdict(list)
    for p in parcels:
        by_site[p.site_id].append(p)
    for site_id, rows in by_site.items():
        await record_changes(
            site_id,
            ENTITY,
            [
                (p.id, ChangeOp.upsert, parcel_out(p, labels[p.unit_id]).model_dump(mode="json"))
                for p in rows
            ],
        )


# --- intake ----------------------------------------------------------------------------------


async def _residents_of(unit_ids: Iterable[int]) -> dict[int, list[int]]:
    """Active residents of each unit: {unit id: [user ids]}."""
    rows = await Membership.filter(
        unit_id__in=list(set(unit_ids)), role=Role.resident, is_active=True, user__is_active=True
    ).values_list("unit_id", "user_id")
    out: dict[int, list[int]] = defaultdict(list)
    for unit_id, user_id in rows:
        out[unit_id].append(user_id)
    return out


async def _resolve(
    site_id: int, data: ParcelIn, labels: dict[int, dict[str, Unit]]
) -> tuple[Unit, User | None]:
    """The unit and, if known, the resident a parcel is for; a clear field error otherwise.
    `labels` keeps each site's units by number across the parcels of one call."""
    unit: Unit | None = None
    recipient: User | None = None
    if data.unit_id is not None:
        unit = await Unit.get_or_none(id=data.unit_id, site_id=site_id, is_active=True)
        if unit is None:
            raise ValidationFailed.field("unit_id", "unknown_unit")
    elif data.unit:
        if site_id not in labels:
            units = await Unit.filter(site_id=site_id, is_active=True)
            labels[site_id] = {_label_key(u.label): u for u in units}
        unit = labels[site_id].get(_label_key(data.unit))
        if unit is None:
            raise ValidationFailed.field("unit", "unknown_unit")
    if data.recipient_id is not None:
        units_of = cast(
            list[int],
            await Membership.filter(
                user_id=data.recipient_id, site_id=site_id, role=Role.resident, is_active=True
            ).values_list("unit_id", flat=True),
        )
        if unit is None:
            if len(set(units_of)) != 1:
                code = "not_a_resident" if not units_of else "unit_ambiguous"
                raise ValidationFailed.field("recipient_id", code)
            unit = await Unit.get(id=units_of[0])
        elif unit.id not in units_of:
            raise ValidationFailed.field("recipient_id", "not_a_resident")
        recipient = await User.get(id=data.recipient_id)
    elif data.recipient_name:
        found = await Membership.filter(
            site_id=site_id,
            role=Role.resident,
            is_active=True,
            user__display_name__iexact=data.recipient_name,
            **({"unit_id": unit.id} if unit is not None else {}),
        ).values_list("user_id", "unit_id")
        if unit is None:
            if not found:
                raise ValidationFailed.field("recipient_name", "unknown_unit")
            if len({u for _, u in found}) > 1:
                raise ValidationFailed.field("recipient_name", "unit_ambiguous")
            unit = await Unit.get(id=found[0][1])
        if len({u for u, _ in found}) == 1:
            recipient = await User.get(id=found[0][0])
    if unit is None:
        raise ValidationFailed.field("unit", "unknown_unit")
    return unit, recipient


def _arrival_message(
    parcel: Parcel, code: str, *, reminder: bool, days: int = 0
) -> Callable[[User], notices.Message]:
    def build(user: User) -> notices.Message:
        language = notices.language_of(user)
        kind = "parcel_reminder" if reminder else "parcel_arrived"
        body = translate(language, f"notice.{kind}.body", code=code, days=days)
        extras = [translate(language, "notice.parcel.shelf", shelf=parcel.shelf)] * bool(
            parcel.shelf
        ) + [parcel.carrier] * bool(parcel.carrier)
        return notices.Message(
            kind="parcel.reminder" if reminder else "parcel.arrived",
            title=translate(language, f"notice.{kind}.title"),
            body=" · ".join([body, *extras]),
            url=f"/parcels/{parcel.id}",
            tag=f"parcel-{parcel.id}",
            data={
                "parcel_id": str(parcel.id),
                "site_id": parcel.site_id,
                "pickup_code": code,
                "shelf": parcel.shelf,
                "carrier": parcel.carrier,
                "perishable": parcel.perishable,
            },
            urgency=Urgency.high if parcel.perishable else Urgency.normal,
        )

    return build


async def _notify_arrival(parcels: Sequence[Parcel], settings: Settings) -> None:
    residents = await _residents_of(p.unit_id for p in parcels)
    for p in parcels:
        wanted = [p.recipient_id] if p.recipient_id is not None else residents.get(p.unit_id, [])
        users = await notices.recipients(wanted, "parcels")
        await notices.notify(
            users,
            _arrival_message(p, p.code, reminder=False),
            site_id=p.site_id,
            ref=f"parcel:{p.id}",
            ttl_seconds=settings.push_ttl_seconds,
        )


async def receive_parcels(
    actor: Actor,
    items: Sequence[tuple[int, ParcelIn]],
    info: ClientInfo,
    settings: Settings,
) -> list[dict[str, Any] | AnbaoError]:
    """Register parcels given as (site id, parcel); each succeeds or fails on its own. Call inside
    a transaction (the sync push's, or the plain API's): the notices to residents are queued in
    it and go out once it commits."""
    assert actor.user is not None
    now = datetime.now(UTC)
    site_ids = {s for s, _ in items}
    sites = dict(await Site.filter(id__in=site_ids).values_list("id", "is_active"))
    taken_ids = {
        str(i)
        for i in await Parcel.filter(id__in=[d.id for _, d in items]).values_list("id", flat=True)
    }
    codes: dict[int, set[str]] = defaultdict(set)
    for site_id, code in await Parcel.filter(
        site_id__in=site_ids, active_code__not_isnull=True
    ).values_list("site_id", "active_code"):
        codes[site_id].add(code)
    outcomes: list[dict[str, Any] | AnbaoError] = []
    made: list[Parcel] = []
    labels: dict[int, dict[str, Unit]] = {}
    for site_id, data in items:
        try:
            require_site(actor, site_id, STAFF)
            if site_id not in sites:
                raise NotFound("site")
            if not sites[site_id]:
                raise Inactive("site")
            if str(data.id) in taken_ids:
                raise MutationIdConflict("parcel id in use")
            unit, recipient = await _resolve(site_id, data, labels)
        except AnbaoError as exc:
            outcomes.append(exc)
            continue
        taken_ids.add(str(data.id))
        code = new_code()
        while code in codes[site_id]:
            code = new_code()
        codes[site_id].add(code)
        parcel = await Parcel.create(
            id=data.id,
            site_id=site_id,
            unit_id=unit.id,
            recipient_id=recipient.id if recipient else None,
            recipient_name=data.recipient_name or (recipient.display_name if recipient else ""),
            carrier=data.carrier,
            tracking_number=data.tracking_number,
            label_sha256=data.label_sha256,
            shelf=data.shelf,
            perishable=data.perishable,
            fragile=data.fragile,
            oversized=data.oversized,
            note=data.note,
            status=ParcelStatus.received,
            code=code,
            active_code=code,
            received_by_id=actor.user.id,
            device_id=actor.device_id,
            client_time=(data.client_time or now).astimezone(UTC),
            received_at=now,
        )
        await audit.record(
            actor,
            info,
            "parcel.received",
            "parcel",
            parcel.id,
            site_id=site_id,
            after={
                "unit": unit.label,
                "carrier": parcel.carrier,
                "tracking_number": parcel.tracking_number,
                "shelf": parcel.shelf,
            },
        )
        made.append(parcel)
        outcomes.append(parcel_out(parcel, unit.label).model_dump(mode="json"))
    if made:
        await _record(made)
        await _notify_arrival(made, settings)
    return outcomes


async def receive_parcel(
    actor: Actor, site_id: int, data: ParcelIn, info: ClientInfo, settings: Settings
) -> ParcelOut:
    async with in_transaction():
        (outcome,) = await receive_parcels(actor, [(site_id, data)], info, settings)
        if isinstance(outcome, AnbaoError):
            raise outcome
    return ParcelOut.model_validate(outcome)


async def receive_batch(
    actor: Actor, site_id: int, batch: ParcelBatchIn, info: ClientInfo, settings: Settings
) -> list[ParcelOut]:
    """A courier's drop, all or nothing: one bad parcel refuses the lot, naming each bad one."""
    require_site(actor, site_id, STAFF)
    items = [
        (
            site_id,
            p.model_copy(
                update={"carrier": p.carrier or batch.carrier, "shelf": p.shelf or batch.shelf}
            ),
        )
        for p in batch.parcels
    ]
    if len({p.id for _, p in items}) != len(items):
        raise ValidationFailed.field("parcels", "duplicate_key")
    fields: list[dict[str, Any]] = []
    async with in_transaction():
        outcomes = await receive_parcels(actor, items, info, settings)
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, ValidationFailed):
                for f in outcome.details.get("fields", []):
                    fields.append({**f, "field": f"parcels.{i}.{f['field']}"})
            elif isinstance(outcome, MutationIdConflict):
                fields.append({"field": f"parcels.{i}.id", "code": "identifier_taken"})
            elif isinstance(outcome, AnbaoError):
                raise outcome
        if fields:
            # Raised inside the transaction: nothing of the batch stays, no notice goes out.
            raise ValidationFailed(f"{len(fields)} bad parcels", fields=fields)
    return [ParcelOut.model_validate(o) for o in outcomes]


async def search_recipients(actor: Actor, site_id: int, q: str, limit: int) -> list[RecipientOut]:
    """Units whose number, and residents whose name, contain `q` (intake's recipient search)."""
    require_site(actor, site_id, STAFF)
    units = await Unit.filter(site_id=site_id, is_active=True, label__icontains=q).limit(limit)
    people = (
        await Membership.filter(
            Q(user__display_name__icontains=q) | Q(unit__label__icontains=q),
            site_id=site_id,
            role=Role.resident,
            is_active=True,
            user__is_active=True,
        )
        .select_related("user", "unit")
        .limit(limit)
    )
    out = [
        RecipientOut(
            unit_id=m.unit.id,
            unit_label=m.unit.label,
            user_id=m.user.id,
            display_name=m.user.display_name,
        )
        for m in people
        if m.unit is not None
    ]
    out += [
        RecipientOut(unit_id=u.id, unit_label=u.label, user_id=None, display_name="") for u in units
    ]
    out.sort(key=lambda r: (r.unit_label, r.user_id is not None, r.display_name))
    return out[:limit]


# --- reading -----------------------------------------------------------------------------------


async def list_parcels(
    actor: Actor, site_id: int, q: ParcelQuery, settings: Settings, now: datetime
) -> tuple[list[ParcelOut], int]:
    require_site(actor, site_id, STAFF)
    query = Parcel.filter(site_id=site_id)
    if q.status == "waiting" or q.overdue:
        query = query.filter(status__in=list(WAITING))
    elif q.status is not None:
        query = query.filter(status=q.status)
    if q.overdue:
        query = query.filter(received_at__lte=now - timedelta(days=settings.parcel_reminder_days))
    if q.unit_id is not None:
        query = query.filter(unit_id=q.unit_id)
    if q.shelf is not None:
        query = query.filter(shelf=q.shelf)
    if q.q:
        query = query.filter(
            Q(tracking_number__icontains=q.q)
            | Q(recipient_name__icontains=q.q)
            | Q(unit__label__icontains=q.q)
        )
    total = await query.count()
    order = "received_at" if q.overdue else "-received_at"
    rows = await query.order_by(order).offset(q.offset).limit(q.limit)
    return await _outs(rows), total


async def get_parcel(actor: Actor, parcel_id: str) -> ParcelOut:
    """Staff of the site see any parcel; a resident sees their unit's, with its code."""
    parcel = await Parcel.get_or_none(id=parcel_id)
    if parcel is None:
        raise NotFound("parcel")
    if not actor.is_superuser and not actor.roles_at(parcel.site_id).intersection(STAFF):
        if parcel.unit_id not in actor.unit_ids(parcel.site_id):
            raise NotFound("parcel")
        return (await _outs([parcel], with_code=True))[0]
    return (await _outs([parcel]))[0]


def _resident_units(actor: Actor) -> list[int]:
    return sorted({r.unit_id for r in actor.roles if r.role == Role.resident and r.unit_id})


async def my_parcels(actor: Actor, q: MyParcelsQuery) -> tuple[list[ParcelOut], int]:
    units = _resident_units(actor)
    if not units:
        return [], 0
    query = Parcel.filter(unit_id__in=units)
    if q.state == "waiting":
        query = query.filter(status__in=list(WAITING)).order_by("received_at")
    else:
        query = query.filter(status__not_in=list(WAITING)).order_by("-received_at")
    total = await query.count()
    rows = await query.offset(q.offset).limit(q.limit)
    return await _outs(rows, with_code=True), total


# --- the pickup pass (the resident's QR) -------------------------------------------------------


def _pass_mac(settings: Settings, body: str) -> str:
    key = hmac.new(
        settings.secret_key.get_secret_value().encode(), b"anbao:pickup-pass", hashlib.sha256
    ).digest()
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def make_pass(settings: Settings, user_id: int, expires_at: datetime) -> str:
    body = f"{_PASS_PREFIX}.{user_id}.{int(expires_at.timestamp())}"
    return f"{body}.{_pass_mac(settings, body)}"


def read_pass(settings: Settings, token: str, now: datetime) -> int:
    """The user id a genuine, unexpired pass names."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _PASS_PREFIX:
        raise InvalidPass("not a pickup pass")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_pass_mac(settings, body), parts[3]):
        raise InvalidPass("pickup pass altered or not ours")
    user_id, expires = int(parts[1]), int(parts[2])
    if expires < now.timestamp():
        raise PassExpired(
            "pickup pass expired", expired_at=datetime.fromtimestamp(expires, UTC).isoformat()
        )
    return user_id


async def pickup_pass(actor: Actor, settings: Settings, now: datetime) -> PickupPassOut:
    """The resident's pass (a QR the guard scans) and the codes of their waiting parcels."""
    assert actor.user is not None
    units = _resident_units(actor)
    if not units:
        raise Forbidden("only residents have a pickup pass")
    expires_at = now + timedelta(seconds=settings.parcel_pass_ttl_seconds)
    waiting = await Parcel.filter(unit_id__in=units, status__in=list(WAITING)).order_by(
        "received_at"
    )
    return PickupPassOut(
        token=make_pass(settings, actor.user.id, expires_at),
        expires_at=expires_at.replace(microsecond=0),
        codes=[
            PassCode(
                parcel_id=p.id,
                site_id=p.site_id,
                code=p.active_code or p.code,
                shelf=p.shelf,
                received_at=p.received_at,
            )
            for p in waiting
        ],
    )


async def _pass_holder(
    settings: Settings, token: str, site_id: int, now: datetime
) -> tuple[User, list[int]]:
    user_id = read_pass(settings, token, now)
    user = await User.get_or_none(id=user_id, is_active=True)
    units = cast(
        list[int | None],
        await Membership.filter(
            user_id=user_id, site_id=site_id, role=Role.resident, is_active=True
        ).values_list("unit_id", flat=True),
    )
    if user is None or not units:
        raise InvalidPass("the pass holder is no resident here")
    return user, [u for u in units if u is not None]


# --- throttling wrong codes --------------------------------------------------------------------


def _throttle_keys(actor: Actor, site_id: int, settings: Settings) -> dict[str, int]:
    return {
        f"pickup:guard:{actor.user_id}": settings.pickup_max_failures_per_guard,
        f"pickup:site:{site_id}": settings.pickup_max_failures_per_site,
    }


async def _locked_for(keys: Iterable[str], now: datetime) -> int:
    rows = await LoginThrottle.filter(key__in=list(keys), locked_until__gt=now)
    return max(
        (math.ceil((r.locked_until - now).total_seconds()) for r in rows if r.locked_until),
        default=0,
    )


async def _check_throttle(keys: dict[str, int], now: datetime) -> None:
    wait = await _locked_for(keys, now)
    if wait > 0:
        raise PickupThrottled(retry_after=wait)


async def _count_failure(keys: dict[str, int], now: datetime) -> int:
    """Count a wrong code under each key (in its own transaction, so the refusal that follows
    cannot roll it back); returns the tries left before a lock, 0 if locked now."""
    left = []
    async with in_transaction():
        for key, limit in keys.items():
            row = await LoginThrottle.filter(key=key).select_for_update().first()
            if row is None:
                row = LoginThrottle(key=key, failures=0, window_started_at=now)
            if now - row.window_started_at > _THROTTLE_WINDOW:
                row.failures, row.window_started_at = 0, now
            row.failures += 1
            if row.failures >= limit:
                seconds = min(_LOCK_SECONDS * 2**row.lockouts, _MAX_LOCK_SECONDS)
                row.locked_until = now + timedelta(seconds=seconds)
                row.lockouts += 1
                row.failures = 0
                left.append(0)
            else:
                left.append(limit - row.failures)
            await row.save()
    return min(left)


async def _refuse_code(keys: dict[str, int], now: datetime, refusal: AnbaoError) -> AnbaoError:
    left = await _count_failure(keys, now)
    if left == 0:
        return PickupThrottled(retry_after=await _locked_for(keys, now))
    refusal.details.setdefault("attempts_left", left)
    return refusal


async def _by_code(
    actor: Actor, site_id: int, typed: str, settings: Settings, now: datetime
) -> Parcel:
    """The waiting parcel with this code; a wrong or used code counts against the guard and the
    site."""
    keys = _throttle_keys(actor, site_id, settings)
    await _check_throttle(keys, now)
    code = normalize_code(typed)
    parcel = None
    if len(code) == CODE_LENGTH:
        parcel = await Parcel.get_or_none(site_id=site_id, active_code=code)
    if parcel is not None:
        await LoginThrottle.filter(key=f"pickup:guard:{actor.user_id}").delete()
        return parcel
    used = None
    if len(code) == CODE_LENGTH:
        used = (
            await Parcel.filter(site_id=site_id, code=code, active_code__isnull=True)
            .order_by("-received_at")
            .first()
        )
    refusal: AnbaoError = WrongPickupCode("no waiting parcel has this code")
    if used is not None and used.status == ParcelStatus.picked_up:
        refusal = AlreadyPickedUp(status=used.status.value, picked_up_at=str(used.picked_up_at))
    elif used is not None:
        refusal = ParcelReturned(status=used.status.value)
    raise await _refuse_code(keys, now, refusal)


# --- pickup and return -------------------------------------------------------------------------


async def find(
    actor: Actor, site_id: int, body: FindIn, settings: Settings, now: datetime
) -> FindOut:
    """What a guard sees after typing a code or scanning a pass: the parcels it opens."""
    require_site(actor, site_id, STAFF)
    if (body.code is None) == (body.token is None):
        raise ValidationFailed.field("code", "code_or_pass")
    if body.code is not None:
        parcel = await _by_code(actor, site_id, body.code, settings, now)
        return FindOut(
            method=PickupMethod.code,
            resident_id=None,
            resident_name="",
            parcels=await _outs([parcel]),
        )
    assert body.token is not None
    user, units = await _pass_holder(settings, body.token, site_id, now)
    rows = await Parcel.filter(
        site_id=site_id, unit_id__in=units, status__in=list(WAITING)
    ).order_by("received_at")
    return FindOut(
        method=PickupMethod.qr,
        resident_id=user.id,
        resident_name=user.display_name,
        parcels=await _outs(rows),
    )


def _closed_error(parcel: Parcel) -> AnbaoError | None:
    if parcel.status == ParcelStatus.picked_up:
        return AlreadyPickedUp(status=parcel.status.value, picked_up_at=str(parcel.picked_up_at))
    if parcel.status == ParcelStatus.returned:
        return ParcelReturned(status=parcel.status.value)
    return None


async def pick_up(
    actor: Actor,
    parcel_id: str,
    body: PickupIn,
    info: ClientInfo,
    settings: Settings,
    now: datetime,
) -> ParcelOut:
    """Hand a parcel over: with its code, the resident's pass, or (a supervisor) a reason."""
    parcel = await Parcel.get_or_none(id=parcel_id)
    if parcel is None:
        raise NotFound("parcel")
    require_site(actor, parcel.site_id, STAFF)
    if body.code is not None and body.token is not None:
        raise ValidationFailed.field("code", "code_or_pass")
    if body.collected_by_name and body.collector_photo_sha256 is None:
        raise ValidationFailed.field("collector_photo_sha256", "photo_required")
    if body.proof_sha256 is not None and body.proof_kind is None:
        raise ValidationFailed.field("proof_kind", "missing")
    method: PickupMethod
    if body.code is not None:
        keys = _throttle_keys(actor, parcel.site_id, settings)
        await _check_throttle(keys, now)
        closed = _closed_error(parcel)
        if closed is not None:
            raise closed
        if normalize_code(body.code) != parcel.active_code:
            raise await _refuse_code(keys, now, WrongPickupCode("not this parcel's code"))
        await LoginThrottle.filter(key=f"pickup:guard:{actor.user_id}").delete()
        method = PickupMethod.code
    elif body.token is not None:
        _, units = await _pass_holder(settings, body.token, parcel.site_id, now)
        if parcel.unit_id not in units:
            raise WrongPickupCode("the pass holder is no resident of this parcel's unit")
        method = PickupMethod.qr
    else:
        if not body.reason:
            raise ValidationFailed.field("reason", "override_reason_required")
        require_site(actor, parcel.site_id, MANAGERS)
        method = PickupMethod.override
    async with in_transaction():
        parcel = await Parcel.filter(id=parcel.id).select_for_update().get()
        closed = _closed_error(parcel)
        if closed is not None:
            raise closed  # another guard was quicker
        before = {"status": parcel.status.value}
        await Parcel.filter(id=parcel.id).update(
            status=ParcelStatus.picked_up,
            active_code=None,
            picked_up_at=now,
            handed_over_by_id=actor.user_id,
            pickup_method=method,
            collected_by_name=body.collected_by_name,
            collector_photo_sha256=body.collector_photo_sha256,
            proof_sha256=body.proof_sha256,
            proof_kind=body.proof_kind,
        )
        await parcel.refresh_from_db()
        await audit.record(
            actor,
            info,
            "parcel.picked_up",
            "parcel",
            parcel.id,
            site_id=parcel.site_id,
            before=before,
            after={
                "status": parcel.status.value,
                "method": method.value,
                "collected_by_name": body.collected_by_name,
                "reason": body.reason,
                "proof_sha256": body.proof_sha256,
            },
        )
        await _record([parcel])
    return (await _outs([parcel]))[0]


async def return_parcel(
    actor: Actor, parcel_id: str, reason: str, info: ClientInfo, now: datetime
) -> ParcelOut:
    """Send a waiting parcel back to the carrier (refused, or waited too long)."""
    parcel = await Parcel.get_or_none(id=parcel_id)
    if parcel is None:
        raise NotFound("parcel")
    require_site(actor, parcel.site_id, STAFF)
    async with in_transaction():
        parcel = await Parcel.filter(id=parcel.id).select_for_update().get()
        closed = _closed_error(parcel)
        if closed is not None:
            raise closed
        before = {"status": parcel.status.value}
        parcel.status = ParcelStatus.returned
        parcel.active_code = None
        parcel.returned_at = now
        parcel.returned_by_id = actor.user_id
        parcel.return_reason = reason
        await parcel.save()
        await audit.record(
            actor,
            info,
            "parcel.returned",
            "parcel",
            parcel.id,
            site_id=parcel.site_id,
            before=before,
            after={"status": parcel.status.value, "reason": reason},
        )
        await _record([parcel])
    return (await _outs([parcel]))[0]


# --- what the sender and the jobs do -----------------------------------------------------------


async def mark_notified(refs: Iterable[str], now: datetime) -> int:
    """Parcels whose notice reached a device become `notified` (audited, by no person)."""
    ids = [r.split(":", 1)[1] for r in refs if r.startswith("parcel:")]
    if not ids:
        return 0
    async with in_transaction():
        rows = await Parcel.filter(id__in=ids, status=ParcelStatus.received).select_for_update()
        for p in rows:
            p.status, p.notified_at = ParcelStatus.notified, now
            await p.save(update_fields=["status", "notified_at"])
            await audit.record(
                None,
                SYSTEM,
                "parcel.notified",
                "parcel",
                p.id,
                site_id=p.site_id,
                before={"status": ParcelStatus.received.value},
                after={"status": ParcelStatus.notified.value},
            )
        if rows:
            await _record(rows)
    return len(rows)


async def send_reminders(settings: Settings, now: datetime) -> int:
    """Remind the recipients of parcels waiting `parcel_reminder_days` (again every as many days).
    Call inside a transaction."""
    due = now - timedelta(days=settings.parcel_reminder_days)
    rows = await Parcel.filter(
        Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=due),
        status__in=list(WAITING),
        received_at__lte=due,
    ).order_by("received_at")
    residents = await _residents_of(p.unit_id for p in rows)
    for p in rows:
        wanted = [p.recipient_id] if p.recipient_id is not None else residents.get(p.unit_id, [])
        users = await notices.recipients(wanted, "parcels")
        days = (now - p.received_at).days
        await notices.notify(
            users,
            _arrival_message(p, p.code, reminder=True, days=days),
            site_id=p.site_id,
            ref=f"parcel-reminder:{p.id}",
            ttl_seconds=settings.push_ttl_seconds,
        )
        p.last_reminded_at, p.reminders = now, p.reminders + 1
        await p.save(update_fields=["last_reminded_at", "reminders"])
        await audit.record(
            None,
            SYSTEM,
            "parcel.reminded",
            "parcel",
            p.id,
            site_id=p.site_id,
            after={"reminders": p.reminders, "notices": len(users), "waiting_days": days},
        )
    return len(rows)


# --- the shelf check ---------------------------------------------------------------------------


async def shelf_check(
    actor: Actor, site_id: int, body: ShelfCheckIn, info: ClientInfo
) -> ShelfCheckOut:
    """Compare what was counted (or scanned) on each shelf with the waiting parcels on record."""
    require_site(actor, site_id, STAFF)
    if len({s.shelf for s in body.shelves}) != len(body.shelves):
        raise ValidationFailed.field("shelves", "duplicate_key")
    for i, s in enumerate(body.shelves):
        if s.count is None and s.tracking_numbers is None:
            raise ValidationFailed.field(f"shelves.{i}.count", "missing")
    waiting = await Parcel.filter(site_id=site_id, status__in=list(WAITING)).order_by("received_at")
    labels = await _labels(waiting)
    on_shelf: dict[str, list[Parcel]] = defaultdict(list)
    by_number: dict[str, Parcel] = {}
    for p in waiting:
        on_shelf[p.shelf].append(p)
        if p.tracking_number:
            by_number[p.tracking_number.upper()] = p
    diffs = []
    for s in body.shelves:
        expected = on_shelf.get(s.shelf, [])
        missing: list[Parcel] = []
        unexpected: list[str] = []
        misplaced: list[Misplaced] = []
        if s.tracking_numbers is not None:
            seen = {n.strip().upper() for n in s.tracking_numbers if n.strip()}
            missing = [p for p in expected if p.tracking_number.upper() not in seen]
            for number in sorted(seen):
                found = by_number.get(number)
                if found is None:
                    unexpected.append(number)
                elif found.shelf != s.shelf:
                    misplaced.append(
                        Misplaced(
                            tracking_number=found.tracking_number,
                            parcel_id=found.id,
                            shelf_on_record=found.shelf,
                        )
                    )
        counted = s.count if s.count is not None else len(s.tracking_numbers or [])
        diffs.append(
            ShelfDiff(
                shelf=s.shelf,
                expected=len(expected),
                counted=counted,
                difference=counted - len(expected),
                missing=[parcel_out(p, labels.get(p.unit_id, "")) for p in missing],
                unexpected=unexpected,
                misplaced=misplaced,
            )
        )
    counted_shelves = {s.shelf for s in body.shelves}
    not_counted = {k: len(v) for k, v in sorted(on_shelf.items()) if k not in counted_shelves}
    result = ShelfCheckOut(
        matches=not not_counted
        and all(
            d.difference == 0 and not d.missing and not d.unexpected and not d.misplaced
            for d in diffs
        ),
        shelves=diffs,
        not_counted=not_counted,
    )
    await audit.record(
        actor,
        info,
        "parcel.shelf_check",
        "site",
        site_id,
        site_id=site_id,
        after={
            "matches": result.matches,
            "differences": {d.shelf: d.difference for d in diffs if d.difference},
            "not_counted": not_counted,
        },
    )
    return result


# --- the demo ----------------------------------------------------------------------------------


async def add_demo_parcels(site: Site, guard: User, units: dict[str, Unit]) -> int:
    """A few waiting parcels and one picked up, for `anbao demo`; call inside its transaction."""
    now = datetime.now(UTC)
    # unit, carrier, tracking number, shelf, (perishable, fragile, oversized)
    demo = [
        ("3-1-502", "顺丰 SF Express", "SF1402837465", "A1", (True, False, False)),
        ("3-1-502", "京东 JD", "JDX0039281734", "A2", (False, False, False)),
        ("1-2-201", "中通 ZTO", "ZT7361528490", "B1", (False, False, True)),
        ("2-1-301", "圆通 YTO", "YT8890213347", "A1", (False, True, False)),
    ]
    made = []
    for i, (label, carrier, number, shelf, (perishable, fragile, oversized)) in enumerate(demo):
        code = new_code()
        made.append(
            await Parcel.create(
                id=uuid.uuid4(),
                site_id=site.id,
                unit_id=units[label].id,
                carrier=carrier,
                tracking_number=number,
                shelf=shelf,
                perishable=perishable,
                fragile=fragile,
                oversized=oversized,
                status=ParcelStatus.received,
                code=code,
                active_code=code,
                received_by_id=guard.id,
                client_time=now,
                received_at=now - timedelta(hours=20 * i),
            )
        )
    picked = made[-1]
    picked.status, picked.active_code = ParcelStatus.picked_up, None
    picked.picked_up_at, picked.handed_over_by_id = now, guard.id
    picked.pickup_method = PickupMethod.code
    await picked.save()
    await _record(made)
    return len(made)
