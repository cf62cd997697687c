"""The one error hierarchy: every failure a client can see, with its HTTP status and stable code.

    AnbaoError (500 internal_error)
    ├── BadRequest (400 bad_request)
    │   ├── MalformedJson (400 malformed_json)
    │   ├── BadCursor (400 bad_cursor)                   a sync cursor this server never gave
    │   ├── UnknownMutation (400 unknown_mutation)
    │   ├── ValidationFailed (422 validation_failed)      details.fields: one entry per bad field
    │   └── PasswordTooWeak (422 password_too_weak)
    ├── NotAuthenticated (401 not_authenticated)
    │   ├── InvalidCredentials (401 invalid_credentials)
    │   └── SessionRevoked (401 session_revoked)         revoked, expired or device signed out
    ├── Forbidden (403 forbidden)
    │   ├── CsrfFailed (403 csrf_failed)
    │   └── DeviceMismatch (403 device_mismatch)         a push for another device
    ├── NotFound (404 not_found)
    │   └── RouteNotFound (404 route_not_found)
    ├── MethodNotAllowed (405 method_not_allowed)
    ├── Conflict (409 conflict)
    │   ├── UsernameTaken (409 username_taken)
    │   ├── DuplicateName (409 duplicate_name)
    │   ├── Inactive (409 inactive)                      the target or its parent is deactivated
    │   └── MutationIdConflict (409 mutation_id_conflict) a mutation id already used by someone else
    ├── PayloadTooLarge (413 body_too_large)
    │   └── BatchTooLarge (413 batch_too_large)          details.limit mutations per push
    ├── UnsupportedMediaType (415 unsupported_media_type)
    ├── Throttled (429 login_throttled)                   details.retry_after in seconds
    └── ServiceUnavailable (503 service_unavailable)
        ├── DatabaseUnavailable (503 database_unavailable)
        └── NotMigrated (503 not_migrated)

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


class Inactive(Conflict):
    code = "inactive"


class MutationIdConflict(Conflict):
    code = "mutation_id_conflict"


class PayloadTooLarge(AnbaoError):
    status = 413
    code = "body_too_large"


class BatchTooLarge(PayloadTooLarge):
    code = "batch_too_large"


class UnsupportedMediaType(AnbaoError):
    status = 415
    code = "unsupported_media_type"


class Throttled(AnbaoError):
    status = 429
    code = "login_throttled"


class ServiceUnavailable(AnbaoError):
    status = 503
    code = "service_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"


class NotMigrated(ServiceUnavailable):
    code = "not_migrated"


def all_error_classes() -> list[type[AnbaoError]]:
    """Every class of the hierarchy, for the docs and the catalog tests."""
    found: list[type[AnbaoError]] = []
    pending: list[type[AnbaoError]] = [AnbaoError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: (c.status, c.code))
