"""Who is acting and what they may touch: the one place that turns roles into yes or no.

A site the actor has no membership in answers `NotFound` (it does not exist for them); a site
they belong to without the needed role answers `Forbidden`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.errors import Forbidden, NotFound
from backend.models.devices import Device
from backend.models.users import Membership, Role, User

STAFF = (Role.admin, Role.supervisor, Role.guard)
MANAGERS = (Role.admin, Role.supervisor)


@dataclass(frozen=True, slots=True)
class SiteRole:
    membership_id: int
    site_id: int
    organization_id: int
    role: Role
    unit_id: int | None


@dataclass(slots=True)
class Actor:
    user: User | None = None
    device: Device | None = None
    session_id: int | None = None
    session_token_hash: str | None = None
    via: str = ""  # "cookie" or "bearer"
    roles: list[SiteRole] = field(default_factory=list)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls()

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_device(self) -> bool:
        return self.user is None and self.device is not None

    @property
    def is_superuser(self) -> bool:
        return bool(self.user and self.user.is_superuser)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def device_id(self) -> int | None:
        return self.device.id if self.device else None

    def roles_at(self, site_id: int) -> set[Role]:
        return {r.role for r in self.roles if r.site_id == site_id}

    def site_ids(self, roles: Iterable[Role] | None = None) -> set[int]:
        wanted = set(roles) if roles is not None else None
        return {r.site_id for r in self.roles if wanted is None or r.role in wanted}

    def organization_ids(self, roles: Iterable[Role] | None = None) -> set[int]:
        wanted = set(roles) if roles is not None else None
        return {r.organization_id for r in self.roles if wanted is None or r.role in wanted}

    def unit_ids(self, site_id: int) -> set[int]:
        return {
            r.unit_id
            for r in self.roles
            if r.site_id == site_id and r.role == Role.resident and r.unit_id is not None
        }


_ROLES_SQL = (
    'SELECT m."id", m."site_id", s."organization_id", m."role", m."unit_id" '
    'FROM "memberships" m JOIN "sites" s ON s."id" = m."site_id" '
    'WHERE m."user_id" = {mark} AND m."is_active" AND s."is_active" ORDER BY m."id"'
)


async def load_roles(user: User) -> list[SiteRole]:
    # Every authenticated request asks: one plain query, no model object per membership.
    db = Membership._meta.db
    mark = "$1" if db.capabilities.dialect == "postgres" else "?"
    rows = await db.execute_query(_ROLES_SQL.format(mark=mark), [user.id])
    return [
        SiteRole(membership_id, site_id, organization_id, Role(role), unit_id)
        for membership_id, site_id, organization_id, role, unit_id in rows[1]
    ]


def require_site(actor: Actor, site_id: int, roles: Iterable[Role]) -> None:
    """Pass if the actor holds one of `roles` at the site; else NotFound or Forbidden."""
    if actor.is_superuser:
        return
    held = actor.roles_at(site_id)
    if not held:
        raise NotFound(f"site {site_id} not visible")
    if not held.intersection(roles):
        raise Forbidden(f"needs one of {sorted(roles)} at site {site_id}")


def require_organization_admin(actor: Actor, organization_id: int) -> None:
    if actor.is_superuser:
        return
    if organization_id not in actor.organization_ids():
        raise NotFound(f"organization {organization_id} not visible")
    if organization_id not in actor.organization_ids([Role.admin]):
        raise Forbidden("needs an admin membership in the organization")


def require_superuser(actor: Actor) -> None:
    if not actor.is_superuser:
        raise Forbidden("superuser only")
