"""People and their memberships: creating accounts, roles at sites, deactivation."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from backend.errors import (
    Conflict,
    Forbidden,
    LastAdmin,
    NotFound,
    UsernameTaken,
    ValidationFailed,
)
from backend.http import ClientInfo
from backend.models.organizations import Unit
from backend.models.sessions import Session
from backend.models.users import Membership, Role, User
from backend.schemas.users import (
    MembershipIn,
    MembershipPatch,
    MembershipQuery,
    NewMembership,
    UserIn,
    UserPatch,
    UserQuery,
)
from backend.services import audit
from backend.services.auth import hash_password, verify_password
from backend.services.listing import paginate, patch_changes, snapshot
from backend.services.organizations import active_site
from backend.services.permissions import MANAGERS, Actor, require_site
from backend.settings import Settings

_USER_FIELDS = ("username", "display_name", "phone", "locale", "is_active")


async def _visible_user(actor: Actor, user_id: int, roles: tuple[Role, ...] = MANAGERS) -> User:
    """The user if the actor manages a site they belong to (or is them, or a superuser)."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("user")
    if actor.is_superuser or actor.user_id == user.id:
        return user
    sites = await Membership.filter(user_id=user.id, is_active=True).values_list(
        "site_id", flat=True
    )
    if not set(sites) & actor.site_ids():
        raise NotFound("user")
    if not set(sites) & actor.site_ids(roles):
        raise Forbidden("user")
    return user


async def list_users(actor: Actor, listing: UserQuery) -> tuple[list[User], int]:
    query = User.all()
    roles = Membership.all() if listing.former else Membership.filter(is_active=True)
    if listing.site_id is not None:
        require_site(actor, listing.site_id, MANAGERS)
        ids = roles.filter(site_id=listing.site_id).values("user_id")
        query = query.filter(id__in=Subquery(ids))
    elif not actor.is_superuser:
        managed = actor.site_ids(MANAGERS)
        if not managed:
            raise Forbidden("manages no site")
        ids = roles.filter(site_id__in=managed).values("user_id")
        query = query.filter(id__in=Subquery(ids))
    return await paginate(query, listing, ("username", "display_name", "phone"), order="username")


async def get_user(actor: Actor, user_id: int) -> User:
    return await _visible_user(actor, user_id)


async def create_user(actor: Actor, data: UserIn, info: ClientInfo, settings: Settings) -> User:
    if data.membership is None:
        if not actor.is_superuser:
            raise ValidationFailed.field("membership", "membership_required")
    else:
        require_site(actor, data.membership.site_id, (Role.admin,))
        await _check_membership(data.membership.site_id, data.membership)
    password_hash = await hash_password(data.password, settings)
    async with in_transaction():
        if await User.exists(username=data.username):
            raise UsernameTaken(username=data.username)
        try:
            user = await User.create(
                username=data.username,
                display_name=data.display_name,
                phone=data.phone,
                locale=data.locale,
                password_hash=password_hash,
            )
        except IntegrityError as exc:
            raise UsernameTaken(username=data.username) from exc
        site_id = None
        if data.membership is not None:
            site_id = data.membership.site_id
            await _add_membership(
                actor, info, user, site_id, data.membership.role, data.membership.unit_id
            )
        await audit.record(
            actor,
            info,
            "user.created",
            "user",
            user.id,
            site_id=site_id,
            after=snapshot(user, _USER_FIELDS),
        )
    return user


async def _keep_an_admin(user_id: int, site_ids: list[int]) -> None:
    """Refuse a change that would leave one of these sites with no active admin but `user_id`:
    nobody could manage its people any more (only a platform operator could repair it)."""
    for site_id in site_ids:
        others = await Membership.filter(
            site_id=site_id, role=Role.admin, is_active=True, user__is_active=True
        ).exclude(user_id=user_id)
        if not others:
            raise LastAdmin(f"site {site_id} would have no admin", site_id=site_id)


async def update_user(
    actor: Actor, user_id: int, patch: UserPatch, info: ClientInfo, settings: Settings
) -> User:
    user = await _visible_user(actor, user_id, (Role.admin,))
    is_self = actor.user_id == user.id
    manages = actor.is_superuser or (not is_self)
    if user.is_superuser and not actor.is_superuser:
        raise Forbidden("superuser accounts are managed by superusers")
    if patch.is_active is not None and not manages:
        raise Forbidden("cannot deactivate yourself")
    must_prove = patch.password is not None and is_self and not actor.is_superuser
    if must_prove and not (
        patch.current_password is not None
        and await verify_password(user.password_hash, patch.current_password)
    ):
        raise ValidationFailed.field("current_password", "wrong_password")
    new_hash = await hash_password(patch.password, settings) if patch.password else None
    changes = patch_changes(user, patch, exclude={"password", "current_password"})
    if patch.is_active is False and user.is_active:
        held = await Membership.filter(user_id=user.id, role=Role.admin, is_active=True)
        await _keep_an_admin(user.id, [m.site_id for m in held])
    before = snapshot(user, tuple(changes))
    for name, value in changes.items():
        setattr(user, name, value)
    after = snapshot(user, tuple(changes))
    if new_hash:
        user.password_hash = new_hash
        after["password"] = "changed"
    async with in_transaction():
        await user.save()
        if patch.is_active is False or new_hash:
            # A deactivated account or a changed password ends every other session at once.
            ended = Session.filter(user_id=user.id, revoked_at=None)
            if is_self and actor.session_id is not None:
                ended = ended.exclude(id=actor.session_id)
            await ended.update(revoked_at=datetime.now(UTC))
        await audit.record(actor, info, "user.updated", "user", user.id, before=before, after=after)
    return user


# --- memberships -----------------------------------------------------------------------------


async def _check_membership(
    site_id: int, data: NewMembership | MembershipIn | MembershipPatch
) -> None:
    await active_site(site_id)
    if data.role == Role.resident and data.unit_id is None:
        raise ValidationFailed.field("unit_id", "unit_required")
    if data.role not in (Role.resident, None) and data.unit_id is not None:
        raise ValidationFailed.field("unit_id", "unit_not_allowed")
    if data.unit_id is not None and not await Unit.exists(id=data.unit_id, site_id=site_id):
        raise ValidationFailed.field("unit_id", "not_found")


async def _add_membership(
    actor: Actor, info: ClientInfo, user: User, site_id: int, role: Role, unit_id: int | None
) -> Membership:
    membership = await Membership.create(user=user, site_id=site_id, role=role, unit_id=unit_id)
    await audit.record(
        actor,
        info,
        "membership.created",
        "membership",
        membership.id,
        site_id=site_id,
        after={"user_id": user.id, "role": role, "unit_id": unit_id},
    )
    return membership


async def list_memberships(
    actor: Actor, site_id: int, listing: MembershipQuery
) -> tuple[list[Membership], int]:
    require_site(actor, site_id, MANAGERS)
    query = Membership.filter(site_id=site_id)
    if listing.role is not None:
        query = query.filter(role=listing.role)
    return await paginate(query, listing, ("user__username", "user__display_name"))


async def create_membership(
    actor: Actor, site_id: int, data: MembershipIn, info: ClientInfo
) -> Membership:
    require_site(actor, site_id, (Role.admin,))
    await _check_membership(site_id, data)
    user = await User.get_or_none(id=data.user_id, is_active=True)
    if user is None:
        raise ValidationFailed.field("user_id", "not_found")
    async with in_transaction():
        same = await Membership.get_or_none(
            user_id=user.id, site_id=site_id, role=data.role, unit_id=data.unit_id
        )
        if same is not None and same.is_active:
            raise Conflict("membership exists")
        if same is not None:
            # Someone removed earlier and given the same role again: their old membership comes
            # back (one row per person, site, role and unit), audited as a change.
            same.is_active = True
            await same.save(update_fields=["is_active"])
            await audit.record(
                actor,
                info,
                "membership.updated",
                "membership",
                same.id,
                site_id=site_id,
                before={"is_active": False},
                after={"is_active": True},
            )
            return same
        membership = await _add_membership(actor, info, user, site_id, data.role, data.unit_id)
    return membership


async def update_membership(
    actor: Actor, membership_id: int, patch: MembershipPatch, info: ClientInfo
) -> Membership:
    membership = await Membership.get_or_none(id=membership_id)
    if membership is None:
        raise NotFound("membership")
    require_site(actor, membership.site_id, (Role.admin,))
    fields = ("role", "unit_id", "is_active")
    before = snapshot(membership, fields)
    was_admin = membership.is_active and membership.role == Role.admin
    for name, value in patch_changes(membership, patch).items():
        setattr(membership, name, value)
    if was_admin and not (membership.is_active and membership.role == Role.admin):
        await _keep_an_admin(membership.user_id, [membership.site_id])
    merged = MembershipPatch(role=membership.role, unit_id=membership.unit_id)
    if membership.is_active:
        await _check_membership(membership.site_id, merged)
    async with in_transaction():
        await membership.save()
        await audit.record(
            actor,
            info,
            "membership.updated",
            "membership",
            membership.id,
            site_id=membership.site_id,
            before=before,
            after=snapshot(membership, fields),
        )
    return membership


async def create_superuser(
    username: str, display_name: str, password: str, settings: Settings, *, superuser: bool
) -> User:
    """For the CLI: an account with no membership (a superuser, or one an admin places later)."""
    password_hash = await hash_password(password, settings)
    if await User.exists(username=username):
        raise UsernameTaken(username=username)
    return await User.create(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        is_superuser=superuser,
    )
