"""Photo (media) schemas."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator

from backend.images import ImageKind
from backend.schemas.common import Output

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def _sha256(value: str) -> str:
    if not _SHA256.match(value):
        raise ValueError("sha256: expected 64 hexadecimal characters")
    return value.lower()


# A photo's name everywhere: the SHA-256 of its original bytes, lower-case hex.
Sha256 = Annotated[str, AfterValidator(_sha256)]


class ImageOut(Output):
    width: int
    height: int
    url: str


class MediaOut(Output):
    sha256: str
    kind: ImageKind
    content_type: str
    size: int  # bytes of the original
    width: int  # of the original, upright
    height: int
    display: ImageOut  # JPEG, long side <= 1600 px, no metadata
    thumb: ImageOut  # JPEG, long side <= 320 px, no metadata
    original_url: str  # the bytes as uploaded, kept as evidence
    uploaded_at: datetime
