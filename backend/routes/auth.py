"""Sign-in, sign-out, who am I, and my sessions."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response

from backend.api import Call, Router
from backend.credentials import CSRF_COOKIE, SESSION_COOKIE, same_origin
from backend.errors import CsrfFailed
from backend.models.organizations import Site, Unit
from backend.schemas.auth import (
    DeviceBrief,
    LoginIn,
    LoginOut,
    Me,
    MembershipBrief,
    SessionOut,
    SiteBrief,
    UnitBrief,
    UserBrief,
)
from backend.services import auth
from backend.services.permissions import Actor

router = Router("auth")


async def me_for(actor: Actor, csrf: str | None) -> Me:
    sites = {s.id: s for s in await Site.filter(id__in=[r.site_id for r in actor.roles])}
    unit_ids = [r.unit_id for r in actor.roles if r.unit_id is not None]
    units = {u.id: u for u in await Unit.filter(id__in=unit_ids)} if unit_ids else {}
    memberships = [
        MembershipBrief(
            id=r.membership_id,
            role=r.role,
            site=SiteBrief.model_validate(sites[r.site_id]),
            unit=UnitBrief.model_validate(units[r.unit_id]) if r.unit_id in units else None,
        )
        for r in actor.roles
    ]
    return Me(
        user=UserBrief.model_validate(actor.user) if actor.user else None,
        memberships=memberships,
        device=DeviceBrief.model_validate(actor.device) if actor.device else None,
        session_id=actor.session_id,
        csrf_token=csrf,
    )


def _secure(call: Call) -> bool:
    mode = call.settings.cookie_secure
    return mode == "always" or (mode == "auto" and call.request.url.scheme == "https")


@router.post("/api/auth/login", summary="Sign in", auth="public", body=LoginIn, response=LoginOut)
async def login(call: Call) -> Response:
    """Checks the password (throttled per account and per address) and opens a session."""
    if not same_origin(call.request):
        raise CsrfFailed("cross-site sign-in")
    body: LoginIn = call.body
    result = await auth.login(
        body.username,
        body.password,
        body.device.uid if body.device else None,
        body.device.name if body.device else "",
        call.info,
        call.settings,
    )
    me = await me_for(result.actor, result.csrf_token)
    out = LoginOut(**me.model_dump(), token=result.token, expires_at=result.session.expires_at)
    response = Response(out.model_dump_json(), media_type="application/json")
    max_age = call.settings.session_ttl_days * 86400
    secure = _secure(call)
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        result.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return response


@router.post("/api/auth/logout", summary="Sign out of this session", response=None)
async def logout(call: Call) -> Response:
    await auth.logout(call.actor, call.info)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/api/auth/me", summary="Who the credential belongs to", auth="any", response=Me)
async def me(call: Call) -> BaseModel:
    csrf = None
    if call.actor.session_token_hash and call.actor.via == "cookie":
        csrf = auth.csrf_token(call.settings, call.actor.session_token_hash)
    return await me_for(call.actor, csrf)


@router.get("/api/auth/sessions", summary="My open sessions", response=list[SessionOut])
async def sessions(call: Call) -> list[SessionOut]:
    rows = await auth.list_sessions(call.actor)
    return [
        SessionOut(
            id=s.id,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            client_address=s.client_address,
            user_agent=s.user_agent,
            device=DeviceBrief.model_validate(s.device) if s.device else None,
            current=s.id == call.actor.session_id,
        )
        for s in rows
    ]


@router.delete(
    "/api/auth/sessions/{session_id:int}", summary="Revoke one of my sessions", response=None
)
async def revoke_session(call: Call) -> None:
    await auth.revoke_session(call.actor, call.path["session_id"], call.info)
