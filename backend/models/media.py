"""Photos kept as evidence: the original by its SHA-256, its derivatives' sizes, who holds it."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from backend.images import ImageKind
from backend.models.users import User


class Media(Model):
    # Content-addressed: the original's SHA-256 (lower-case hex) names it on disk and in the API.
    sha256 = fields.CharField(max_length=64, primary_key=True)
    kind = fields.CharEnumField(ImageKind, max_length=8)
    size = fields.BigIntField()  # bytes of the original, kept untouched
    # The original's pixels as meant to be seen (EXIF orientation applied).
    width = fields.IntField()
    height = fields.IntField()
    display_width = fields.IntField()
    display_height = fields.IntField()
    thumb_width = fields.IntField()
    thumb_height = fields.IntField()
    uploaded_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="media", on_delete=fields.RESTRICT
    )
    uploaded_at = fields.DatetimeField()

    uploaded_by_id: int

    class Meta:
        table = "media"


class MediaUpload(Model):
    # Someone who sent these bytes: they may refer to the photo in a report (knowing its hash
    # alone is not enough, or a hash printed on a PDF would open another site's photo).
    id = fields.IntField(primary_key=True)
    media: fields.ForeignKeyRelation[Media] = fields.ForeignKeyField(
        "models.Media", related_name="uploads", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="media_uploads", on_delete=fields.RESTRICT
    )
    at = fields.DatetimeField()

    media_id: str
    user_id: int

    class Meta:
        table = "media_uploads"
        unique_together = (("media", "user"),)
