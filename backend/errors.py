"""The one error hierarchy: every failure a client can see, with its HTTP status and stable code.

    AnbaoError (500 internal_error)
    ├── BadRequest (400 bad_request)
    │   ├── MalformedJson (400 malformed_json)
    │   ├── BadCursor (400 bad_cursor)                   a sync cursor this server never gave
    │   ├── UnknownMutation (400 unknown_mutation)
    │   ├── ValidationFailed (422 validation_failed)      details.fields: one entry per bad field
    │   ├── PasswordTooWeak (422 password_too_weak)
    │   ├── InvalidPass (422 pass_invalid)               a pass or invite code forged or altered
    │   ├── WrongPickupCode (422 wrong_pickup_code)      a parcel code that opens nothing (counted)
    │   ├── HashMismatch (422 hash_mismatch)             uploaded bytes do not hash to the address
    │   ├── ImageUnreadable (422 image_unreadable)       a truncated or corrupt image
    │   ├── ImageTooLarge (422 image_too_large)          too many pixels (details.max_pixels)
    │   ├── PolyglotRefused (422 image_polyglot)         an image that is also an archive
    │   └── MediaMissing (422 media_missing)             photos not uploaded yet (details.missing)
    ├── NotAuthenticated (401 not_authenticated)
    │   ├── InvalidCredentials (401 invalid_credentials)
    │   └── SessionRevoked (401 session_revoked)         revoked, expired or device signed out
    ├── Forbidden (403 forbidden)
    │   ├── CsrfFailed (403 csrf_failed)
    │   ├── DeviceMismatch (403 device_mismatch)         a push for another device
    │   ├── EscortOnly (403 escort_only)                 only the escorting guard ends the visit
    │   └── NotUnitApprover (403 not_unit_approver)      stamping a unit's pass needs its approver
    ├── NotFound (404 not_found)
    │   └── RouteNotFound (404 route_not_found)
    ├── MethodNotAllowed (405 method_not_allowed)
    ├── Conflict (409 conflict)
    │   ├── UsernameTaken (409 username_taken)
    │   ├── DuplicateName (409 duplicate_name)
    │   ├── Inactive (409 inactive)                      the target or its parent is deactivated
    │   ├── MutationIdConflict (409 mutation_id_conflict) a mutation id already used by someone else
    │   ├── InvalidState (409 invalid_state)             its state forbids it (details.status)
    │   │   ├── NotCheckedIn (409 not_checked_in)        checking out a visit that never checked in
    │   │   ├── AlreadyPickedUp (409 already_picked_up)  the parcel left with someone already
    │   │   └── ParcelReturned (409 parcel_returned)     the parcel went back to the carrier
    │   ├── ActivePassExists (409 active_pass_exists)    one active contractor pass per person
    │   └── PassRefused (409 pass_refused)               a genuine pass refused, by reason:
    │       ├── PassExpired (409 pass_expired)
    │       ├── PassNotYetValid (409 pass_not_yet_valid)
    │       ├── PassRevoked (409 pass_revoked)
    │       ├── PassUsed (409 pass_used)
    │       ├── PassWrongSite (409 pass_wrong_site)
    │       ├── PassNotApproved (409 pass_not_approved)
    │       └── ZoneNotAllowed (409 zone_not_allowed)
    ├── PayloadTooLarge (413 body_too_large)
    │   └── BatchTooLarge (413 batch_too_large)          details.limit mutations per push
    ├── UnsupportedMediaType (415 unsupported_media_type)
    │   ├── UnsupportedImage (415 unsupported_image)     not JPEG, PNG, WebP or HEIC (details.kind)
    │   │   └── HeicUnsupported (415 heic_unsupported)   no HEIC decoder on this server
    │   └── ContentTypeMismatch (415 content_type_mismatch) the declared type is not the content's
    ├── Throttled (429 login_throttled)                   details.retry_after in seconds
    │   └── PickupThrottled (429 pickup_throttled)       too many wrong parcel codes
    └── ServiceUnavailable (503 service_unavailable)
        ├── DatabaseUnavailable (503 database_unavailable)
        ├── NotMigrated (503 not_migrated)
        └── PushNotConfigured (503 push_not_configured)  no VAPID key yet: run `anbao vapid`

Errors carry data (status, code, details), no behaviour. The message shown to a person comes
from the locale catalogs (`backend/locales/*.json`) keyed by `code`, so clients may also map
the code to their own text.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AnbaoError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, detail: str | None = None, **details: Any) -> None:
        # `detail` is for logs and tests; what clients see is the catalog message for `code`.
        super().__init__(detail or self.code)
        self.details: dict[str, Any] = details


class BadRequest(AnbaoError):
    status = 400
    code = "bad_request"


class MalformedJson(BadRequest):
    status = 400
    code = "malformed_json"


class BadCursor(BadRequest):
    code = "bad_cursor"


class UnknownMutation(BadRequest):
    code = "unknown_mutation"


class ValidationFailed(BadRequest):
    status = 422
    code = "validation_failed"

    @classmethod
    def field(cls, name: str, code: str) -> ValidationFailed:
        """One bad field, named with a catalog code (`field.<code>`) for its message."""
        return cls(f"{name}: {code}", fields=[{"field": name, "code": code}])


class PasswordTooWeak(BadRequest):
    status = 422
    code = "password_too_weak"


class InvalidPass(BadRequest):
    status = 422
    code = "pass_invalid"


class WrongPickupCode(BadRequest):
    status = 422
    code = "wrong_pickup_code"


class HashMismatch(BadRequest):
    status = 422
    code = "hash_mismatch"


class ImageUnreadable(BadRequest):
    status = 422
    code = "image_unreadable"


class ImageTooLarge(BadRequest):
    status = 422
    code = "image_too_large"


class PolyglotRefused(BadRequest):
    status = 422
    code = "image_polyglot"


class MediaMissing(BadRequest):
    status = 422
    code = "media_missing"


class NotAuthenticated(AnbaoError):
    status = 401
    code = "not_authenticated"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class SessionRevoked(NotAuthenticated):
    code = "session_revoked"


class Forbidden(AnbaoError):
    status = 403
    code = "forbidden"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class DeviceMismatch(Forbidden):
    code = "device_mismatch"


class EscortOnly(Forbidden):
    code = "escort_only"


class NotUnitApprover(Forbidden):
    code = "not_unit_approver"


class NotFound(AnbaoError):
    status = 404
    code = "not_found"


class RouteNotFound(NotFound):
    code = "route_not_found"


class MethodNotAllowed(AnbaoError):
    status = 405
    code = "method_not_allowed"


class Conflict(AnbaoError):
    status = 409
    code = "conflict"


class UsernameTaken(Conflict):
    code = "username_taken"


class DuplicateName(Conflict):
    code = "duplicate_name"


class LastAdmin(Conflict):
    code = "last_admin"


class Inactive(Conflict):
    code = "inactive"


class MutationIdConflict(Conflict):
    code = "mutation_id_conflict"


class InvalidState(Conflict):
    code = "invalid_state"


class NotCheckedIn(InvalidState):
    code = "not_checked_in"


class AlreadyPickedUp(InvalidState):
    code = "already_picked_up"


class ParcelReturned(InvalidState):
    code = "parcel_returned"


class ActivePassExists(Conflict):
    code = "active_pass_exists"


class PassRefused(Conflict):
    code = "pass_refused"


class PassExpired(PassRefused):
    code = "pass_expired"


class PassNotYetValid(PassRefused):
    code = "pass_not_yet_valid"


class PassRevoked(PassRefused):
    code = "pass_revoked"


class PassUsed(PassRefused):
    code = "pass_used"


class PassWrongSite(PassRefused):
    code = "pass_wrong_site"


class PassNotApproved(PassRefused):
    code = "pass_not_approved"


class ZoneNotAllowed(PassRefused):
    code = "zone_not_allowed"


class PayloadTooLarge(AnbaoError):
    status = 413
    code = "body_too_large"


class BatchTooLarge(PayloadTooLarge):
    code = "batch_too_large"


class UnsupportedMediaType(AnbaoError):
    status = 415
    code = "unsupported_media_type"


class UnsupportedImage(UnsupportedMediaType):
    code = "unsupported_image"


class HeicUnsupported(UnsupportedImage):
    code = "heic_unsupported"


class ContentTypeMismatch(UnsupportedMediaType):
    code = "content_type_mismatch"


class Throttled(AnbaoError):
    status = 429
    code = "login_throttled"


class PickupThrottled(Throttled):
    code = "pickup_throttled"


class ServiceUnavailable(AnbaoError):
    status = 503
    code = "service_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"


class NotMigrated(ServiceUnavailable):
    code = "not_migrated"


class PushNotConfigured(ServiceUnavailable):
    code = "push_not_configured"


def all_error_classes() -> list[type[AnbaoError]]:
    """Every class of the hierarchy, for the docs and the catalog tests."""
    found: list[type[AnbaoError]] = []
    pending: list[type[AnbaoError]] = [AnbaoError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: (c.status, c.code))
