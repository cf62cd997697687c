"""Photos: upload by SHA-256 (streamed, idempotent), ask whether the server has one, fetch the
display image, the thumbnail or the original."""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, Response

from backend.api import Call, Router
from backend.images import CONTENT_TYPES, DERIVED_TYPE
from backend.schemas.media import MediaOut
from backend.services import media as svc
from backend.services.media import MediaStore, Variant

router = Router("media")
# The upload route reads its own body with its own limit (ANBAO_MEDIA_MAX_BYTES), so the
# app-wide JSON body limit does not apply under this prefix.
UPLOAD_PREFIX = "/api/media/"


def store(call: Call) -> MediaStore:
    """The app's photo store, made on first use (its worker limiter needs the event loop)."""
    state = call.request.app.state
    if getattr(state, "media_store", None) is None:
        state.media_store = MediaStore.from_settings(call.settings)
    found: MediaStore = state.media_store
    return found


def _length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@router.route(
    "PUT",
    "/api/media/{sha256}",
    summary="Upload a photo named by the SHA-256 of its bytes (201 new, 200 already here)",
    response=MediaOut,
    status=201,
)
async def upload(call: Call) -> Response:
    """The body is the photo's bytes (JPEG, PNG, WebP or HEIC; the type is read from them, and a
    declared `Content-Type` must agree). It is streamed to disk while hashed, never held whole,
    and refused with 413 past ANBAO_MEDIA_MAX_BYTES. A photo the caller sent before answers 200
    at once (ask first with HEAD); an interrupted upload is simply sent again."""
    headers = call.request.headers
    try:
        out, created = await svc.upload(
            call.actor,
            store(call),
            call.path["sha256"],
            headers.get("content-type", ""),
            _length(headers.get("content-length")),
            call.request.stream(),
        )
    except ClientDisconnect:
        # The phone lost its connection half-way: nothing was kept and it sends the photo
        # again later. Routine on a patrol, so no error is logged; nobody reads this answer.
        return Response(status_code=400)
    return Response(
        out.model_dump_json(), status_code=201 if created else 200, media_type="application/json"
    )


@router.get(
    "/api/media/{sha256}",
    summary="A photo's record; HEAD answers whether the server has it for the caller",
    response=MediaOut,
)
async def get_media(call: Call) -> MediaOut:
    """404 until the caller has uploaded it (or it belongs to an incident they may see)."""
    return svc.media_out(await svc.visible(call.actor, call.path["sha256"]))


def _file(
    call: Call, variant: Variant, media_type: str = DERIVED_TYPE, filename: str | None = None
) -> FileResponse:
    # A photo never changes under its name: cached privately for good.
    sha = call.path["sha256"].lower()
    return FileResponse(
        store(call).path(sha, variant),
        media_type=media_type,
        filename=filename,
        headers={
            "Cache-Control": "private, max-age=31536000, immutable",
            "ETag": f'"{sha}-{variant}"',
        },
    )


@router.get(
    "/api/media/{sha256}/display",
    summary="The display image (JPEG, long side <= 1600 px, no metadata)",
    media_type=DERIVED_TYPE,
)
async def display(call: Call) -> FileResponse:
    await svc.visible(call.actor, call.path["sha256"], "display")
    return _file(call, "display")


@router.get(
    "/api/media/{sha256}/thumb",
    summary="The thumbnail (JPEG, long side <= 320 px, no metadata)",
    media_type=DERIVED_TYPE,
)
async def thumb(call: Call) -> FileResponse:
    await svc.visible(call.actor, call.path["sha256"], "thumb")
    return _file(call, "thumb")


@router.get(
    "/api/media/{sha256}/original",
    summary="The original bytes as uploaded, kept as evidence (supervisors, admins, uploader)",
    media_type="application/octet-stream",
)
async def original(call: Call) -> FileResponse:
    """Served as an attachment of the type its content has; it may carry EXIF and GPS data."""
    found = await svc.visible(call.actor, call.path["sha256"], "original")
    kind = found.kind
    return _file(call, "original", CONTENT_TYPES[kind], f"{found.sha256}.{kind.value}")
