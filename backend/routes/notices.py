"""Push notices: the VAPID public key, one's subscriptions (a device each) and notice settings."""

from __future__ import annotations

from backend.api import Call, Router
from backend.models.notices import PushSubscription
from backend.schemas.notices import (
    NoticeSettingsOut,
    NoticeSettingsPatch,
    SubscriptionIn,
    SubscriptionOut,
    VapidKeyOut,
)
from backend.services import notices as svc
from backend.webpush import endpoint_label

router = Router("notices")


async def subscription_out(row: PushSubscription) -> SubscriptionOut:
    await row.fetch_related("vapid_key")
    return SubscriptionOut(
        id=row.id,
        service=endpoint_label(row.endpoint),
        created_at=row.created_at,
        last_success_at=row.last_success_at,
        application_server_key=row.vapid_key.public_key,
    )


@router.get(
    "/api/notices/vapid-key",
    summary="The server's VAPID public key, for subscribing a browser",
    response=VapidKeyOut,
)
async def vapid_key(call: Call) -> VapidKeyOut:
    """`503 push_not_configured` until an operator has run `anbao vapid`."""
    return VapidKeyOut(public_key=(await svc.current_vapid_key()).public_key)


@router.get(
    "/api/notices/subscriptions",
    summary="My push subscriptions (one per browser or device)",
    response=list[SubscriptionOut],
)
async def list_subscriptions(call: Call) -> list[SubscriptionOut]:
    return [await subscription_out(r) for r in await svc.list_subscriptions(call.actor)]


@router.post(
    "/api/notices/subscriptions",
    summary="Register this browser's push subscription (again: updated in place)",
    body=SubscriptionIn,
    response=SubscriptionOut,
    status=201,
)
async def subscribe(call: Call) -> SubscriptionOut:
    """The endpoint must be https (http only in development with `ANBAO_PUSH_ALLOW_HTTP`);
    `keys.p256dh` is a 65-byte uncompressed P-256 point and `keys.auth` 16 bytes, both
    base64url. A malformed one is refused with `422` and nothing is stored."""
    row = await svc.subscribe(call.actor, call.body, call.settings, call.info)
    return await subscription_out(row)


@router.delete(
    "/api/notices/subscriptions/{subscription_id:int}",
    summary="Unsubscribe one of my devices",
)
async def unsubscribe(call: Call) -> None:
    await svc.unsubscribe(call.actor, call.path["subscription_id"])


@router.get(
    "/api/notices/settings",
    summary="Which notices I get (parcels, supervisor alerts)",
    response=NoticeSettingsOut,
)
async def get_settings(call: Call) -> NoticeSettingsOut:
    return await svc.get_settings(call.actor)


@router.patch(
    "/api/notices/settings",
    summary="Turn kinds of notices on or off",
    body=NoticeSettingsPatch,
    response=NoticeSettingsOut,
)
async def update_settings(call: Call) -> NoticeSettingsOut:
    return await svc.update_settings(call.actor, call.body)
