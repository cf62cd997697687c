"""The photo store: uploads streamed to disk while hashed, checked and derived off the event loop,
kept by SHA-256; and who may see which photo.

Layout under the media directory (shared storage when several processes run):

    originals/ab/<sha256>              the bytes as uploaded, never rewritten (evidence)
    derived/ab/<sha256>.display.jpg    long side <= 1600 px, no metadata
    derived/ab/<sha256>.thumb.jpg      long side <= 320 px, no metadata
    tmp/                               uploads in flight; a refused one leaves nothing behind

Files are written to tmp/ and renamed into place, and the database row comes last: a photo
exists once its row does, and a crash half-way leaves at most files the next upload replaces.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from backend import images
from backend.errors import Forbidden, HashMismatch, NotFound, PayloadTooLarge, ValidationFailed
from backend.images import CONTENT_TYPES, Derived, ImageKind
from backend.models.incidents import IncidentPhoto
from backend.models.media import Media, MediaUpload
from backend.models.parcels import Parcel
from backend.models.passes import ContractorPass
from backend.models.patrol import ScanPhoto
from backend.models.visitors import Visit, Visitor
from backend.schemas.media import ImageOut, MediaOut
from backend.services.permissions import MANAGERS, STAFF, Actor
from backend.settings import Settings

Variant = Literal["display", "thumb", "original"]
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def checked_sha256(value: str) -> str:
    """A SHA-256 from an address, lower-cased; anything else is a clear 422."""
    if not _SHA256.match(value):
        raise ValidationFailed.field("sha256", "sha256")
    return value.lower()


@dataclass(slots=True)
class MediaStore:
    root: Path
    max_bytes: int
    workers: int
    _limiter: anyio.CapacityLimiter | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaStore:
        root = Path(settings.media_dir) if settings.media_dir else settings.data_dir / "media"
        return cls(root, settings.media_max_bytes, settings.media_workers)

    def original(self, sha256: str) -> Path:
        return self.root / "originals" / sha256[:2] / sha256

    def display(self, sha256: str) -> Path:
        return self.root / "derived" / sha256[:2] / f"{sha256}.display.jpg"

    def thumb(self, sha256: str) -> Path:
        return self.root / "derived" / sha256[:2] / f"{sha256}.thumb.jpg"

    def path(self, sha256: str, variant: Variant) -> Path:
        if variant == "display":
            return self.display(sha256)
        if variant == "thumb":
            return self.thumb(sha256)
        return self.original(sha256)

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        # Decoding holds up to ~150 MB per photo: at most `workers` at once, whatever arrives.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.workers)
        return self._limiter


def urls(sha256: str) -> dict[str, str]:
    """Where a photo's variants are served (`thumb_url`, `display_url`, `original_url`); who
    may fetch each is decided there (routes/media.py)."""
    base = f"/api/media/{sha256}"
    return {
        "thumb_url": f"{base}/thumb",
        "display_url": f"{base}/display",
        "original_url": f"{base}/original",
    }


def media_out(media: Media) -> MediaOut:
    at = urls(media.sha256)
    return MediaOut(
        sha256=media.sha256,
        kind=media.kind,
        content_type=CONTENT_TYPES[media.kind],
        size=media.size,
        width=media.width,
        height=media.height,
        display=ImageOut(
            width=media.display_width, height=media.display_height, url=at["display_url"]
        ),
        thumb=ImageOut(width=media.thumb_width, height=media.thumb_height, url=at["thumb_url"]),
        original_url=at["original_url"],
        uploaded_at=media.uploaded_at,
    )


def _require_uploader(actor: Actor) -> None:
    assert actor.user is not None
    if not actor.is_superuser and not actor.site_ids(STAFF):
        raise Forbidden("only staff upload photos")


async def holds(actor: Actor, sha256: str) -> bool:
    """Whether the actor sent these bytes themselves (or may see everything)."""
    if actor.is_superuser:
        return True
    return await MediaUpload.exists(media_id=sha256, user_id=actor.user_id)


def _write_atomically(target: Path, data: bytes, tmp: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp, prefix="derived-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _process(store: MediaStore, upload: Path, sha256: str, kind: ImageKind) -> Derived:
    """In a worker thread: check and derive, then put the three files in place."""
    derived = images.derive(upload, kind)
    _write_atomically(store.display(sha256), derived.display, store.tmp)
    _write_atomically(store.thumb(sha256), derived.thumb, store.tmp)
    original = store.original(sha256)
    original.parent.mkdir(parents=True, exist_ok=True)
    # The evidence reaches the disk before anyone is told it is safe to delete the phone's copy.
    with upload.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(upload, original)
    return derived


async def _stream_to_file(
    store: MediaStore, chunks: AsyncIterator[bytes], target: Path, declared: ImageKind | None
) -> tuple[str, int, ImageKind]:
    """Write the body to `target` while hashing it; the kind is decided from its first bytes
    before the rest is read. Returns (sha256, size, kind)."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    kind: ImageKind | None = None
    with target.open("wb") as f:
        async for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > store.max_bytes:
                raise PayloadTooLarge(f"over {store.max_bytes} bytes", limit=store.max_bytes)
            if kind is None:
                head += chunk[: images.SNIFF_BYTES]
                if len(head) >= images.SNIFF_BYTES:
                    kind = images.identify(head[: images.SNIFF_BYTES], declared)
            digest.update(chunk)
            # A small write to the page cache; decoding and fsync run in a worker thread.
            f.write(chunk)
    if kind is None:
        kind = images.identify(head, declared)
    return digest.hexdigest(), size, kind


async def upload(
    actor: Actor,
    store: MediaStore,
    sha256: str,
    content_type: str,
    content_length: int | None,
    chunks: AsyncIterator[bytes],
) -> tuple[MediaOut, bool]:
    """Receive a photo named by its SHA-256; returns it and whether it was new.

    Idempotent by content: a photo this person already sent answers at once, without reading
    the body. A photo someone else sent must be sent again (proof that the sender holds the
    bytes, not just their hash); it is checked and recorded for them, and nothing is rewritten.
    """
    sha256 = checked_sha256(sha256)
    _require_uploader(actor)
    assert actor.user is not None
    existing = await Media.get_or_none(sha256=sha256)
    if existing is not None and await holds(actor, sha256):
        return media_out(existing), False
    declared = images.declared_kind(content_type)
    if content_length is not None and content_length > store.max_bytes:
        raise PayloadTooLarge(f"declared {content_length} bytes", limit=store.max_bytes)
    store.tmp.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=store.tmp, prefix="upload-")
    os.close(fd)
    path = Path(name)
    try:
        digest, size, kind = await _stream_to_file(store, chunks, path, declared)
        if digest != sha256:
            raise HashMismatch(f"body hashes to {digest}")
        if existing is None:
            async with store.limiter:
                derived = await anyio.to_thread.run_sync(_process, store, path, sha256, kind)
            return await _record(actor, sha256, size, derived)
    finally:
        path.unlink(missing_ok=True)  # noqa: ASYNC240 - one unlink, nothing to wait for
    await _add_holder(actor, sha256)
    return media_out(existing), False


async def _add_holder(actor: Actor, sha256: str) -> None:
    assert actor.user is not None
    await MediaUpload.bulk_create(
        [MediaUpload(media_id=sha256, user_id=actor.user.id, at=datetime.now(UTC))],
        ignore_conflicts=True,
    )


async def _record(actor: Actor, sha256: str, size: int, derived: Derived) -> tuple[MediaOut, bool]:
    assert actor.user is not None
    now = datetime.now(UTC)
    try:
        async with in_transaction():
            media = await Media.create(
                sha256=sha256,
                kind=derived.kind,
                size=size,
                width=derived.width,
                height=derived.height,
                display_width=derived.display_size[0],
                display_height=derived.display_size[1],
                thumb_width=derived.thumb_size[0],
                thumb_height=derived.thumb_size[1],
                uploaded_by_id=actor.user.id,
                uploaded_at=now,
            )
            await MediaUpload.create(media_id=sha256, user_id=actor.user.id, at=now)
    except IntegrityError:
        # The same photo arrived twice at once (a retry racing the original): the same bytes
        # are in place either way; the first row stands.
        await _add_holder(actor, sha256)
        return media_out(await Media.get(sha256=sha256)), False
    return media_out(media), True


# Other records that name a photo by its hash (a parcel's label, pickup proof, a visitor's or
# a contractor's photo): staff of their site may see it, as for an incident's photos.
_REFERRERS: tuple[tuple[type[Model], str], ...] = (
    (Parcel, "label_sha256"),
    (Parcel, "collector_photo_sha256"),
    (Parcel, "proof_sha256"),
    (Visit, "photo_sha256"),
    (Visitor, "photo_sha256"),
    (ContractorPass, "photo_sha256"),
)


async def referring_sites(sha256: str) -> set[int]:
    """The sites of the records that show this photo."""
    site_ids: list[int] = await IncidentPhoto.filter(media_id=sha256).values_list(
        "incident__site_id", flat=True
    )  # type: ignore[assignment]
    sites = set(site_ids)
    # A checkpoint's checklist answered with a photo (the photo on a failed item).
    site_ids = await ScanPhoto.filter(media_id=sha256).values_list("scan__site_id", flat=True)  # type: ignore[assignment]
    sites.update(site_ids)
    for model, name in _REFERRERS:
        found: list[int] = await model.filter(**{name: sha256}).values_list(  # type: ignore[assignment]
            "site_id", flat=True
        )
        sites.update(found)
    return sites


async def visible(actor: Actor, sha256: str, variant: Variant = "display") -> Media:
    """A photo the actor may see: one they sent, or one an incident, a parcel, a visit, a
    contractor pass or a checkpoint scan of a site where they are staff shows (the original,
    with its metadata, only for supervisors and admins). A photo nobody has referred to yet is
    visible to those who sent it and nobody else."""
    sha256 = checked_sha256(sha256)
    media = await Media.get_or_none(sha256=sha256)
    if media is None:
        raise NotFound("no such photo")
    if await holds(actor, sha256):
        return media
    sites = await referring_sites(sha256)
    needed = MANAGERS if variant == "original" else STAFF
    if any(actor.roles_at(s) & set(needed) for s in sites):
        return media
    if any(actor.roles_at(s) for s in sites):
        raise Forbidden("needs a staff role at the photo's site")
    raise NotFound("photo not visible")


async def missing_photos(actor: Actor, site_id: int, hashes: list[str]) -> list[str]:
    """Of these photos, those the actor may not attach to a report at this site (not uploaded
    by them, nor already part of an incident there)."""
    rest = await not_held(actor, hashes)
    if not rest or actor.is_superuser:
        return rest
    found: list[str] = await IncidentPhoto.filter(
        media_id__in=rest, incident__site_id=site_id
    ).values_list("media_id", flat=True)  # type: ignore[assignment]
    attached = set(found)
    return [h for h in rest if h not in attached]


async def not_held(actor: Actor, hashes: list[str]) -> list[str]:
    """Of these photos, those the actor did not upload themselves (for a superuser: those that
    do not exist). Knowing a hash is not holding the photo."""
    if not hashes:
        return []
    found: list[str]
    if actor.is_superuser:
        found = await Media.filter(sha256__in=hashes).values_list("sha256", flat=True)  # type: ignore[assignment]
    else:
        assert actor.user is not None
        found = await MediaUpload.filter(media_id__in=hashes, user_id=actor.user.id).values_list(
            "media_id", flat=True
        )  # type: ignore[assignment]
    held = set(found)
    return [h for h in hashes if h not in held]
