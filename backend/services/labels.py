"""Printable checkpoint labels: a QR code, the checkpoint's name and how to use it, on A4."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from backend.i18n import translate
from backend.models.organizations import Site
from backend.models.patrol import Checkpoint, Tag, TagKind
from backend.services.permissions import MANAGERS, Actor, require_site

# Debian's and other common places for a CJK font that can be embedded; the built-in CID font
# is the fallback (it is not embedded, so the reader's own Chinese font draws it).
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
COLUMNS, ROWS = 2, 4


def _both(key: str) -> str:
    """A label is read by whoever stands there: both languages, Chinese first."""
    return f"{translate('zh-CN', key)} · {translate('en', key)}"


@dataclass(frozen=True, slots=True)
class Label:
    checkpoint: str
    zone: str
    code: str


@cache
def cjk_font(configured: str = "") -> str:
    """Register and name the font for Chinese text: the configured file, a system one, or the
    built-in CID font."""
    for candidate in ([configured] if configured else []) + list(CJK_FONTS):
        if candidate and Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont("AnbaoCJK", candidate, subfontIndex=0))
            return "AnbaoCJK"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _fitted(
    canvas: Canvas, text: str, font: str, size: float, room: float, x: float, y: float
) -> None:
    """Draw text within `room` points: smaller type first, then a shortened text."""
    while size > 6 and pdfmetrics.stringWidth(text, font, size) > room:
        size -= 0.5
    while len(text) > 1 and pdfmetrics.stringWidth(text, font, size) > room:
        text = text[:-2] + "…"
    canvas.setFont(font, size)
    canvas.drawString(x, y, text)


def render_labels(site_name: str, labels: Sequence[Label], font_file: str = "") -> bytes:
    font = cjk_font(font_file)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{site_name} · {_both('label.title')}")
    page_w, page_h = A4
    margin = 10 * mm
    cell_w = (page_w - 2 * margin) / COLUMNS
    cell_h = (page_h - 2 * margin) / ROWS
    for index, label in enumerate(labels):
        slot = index % (COLUMNS * ROWS)
        if index and slot == 0:
            canvas.showPage()
        col, row = slot % COLUMNS, slot // COLUMNS
        x = margin + col * cell_w
        y = page_h - margin - (row + 1) * cell_h
        canvas.setDash(2, 3)
        canvas.rect(x + 2 * mm, y + 2 * mm, cell_w - 4 * mm, cell_h - 4 * mm)  # cut line
        canvas.setDash()
        size = min(cell_h - 22 * mm, cell_w * 0.5)
        widget = QrCodeWidget(label.code, barLevel="M")
        x0, y0, x1, y1 = widget.getBounds()
        drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, canvas, x + 6 * mm, y + 14 * mm)
        canvas.setFont(font, 8)
        canvas.drawString(x + 8 * mm, y + 9 * mm, label.code)
        tx = x + 10 * mm + size
        room = x + cell_w - 5 * mm - tx
        _fitted(canvas, label.checkpoint, font, 13, room, tx, y + cell_h - 20 * mm)
        lines = [label.zone, _both("label.checkpoint"), _both("label.scan_hint"), site_name]
        for i, line in enumerate(lines):
            _fitted(canvas, line, font, 9, room, tx, y + cell_h - 30 * mm - i * 5.5 * mm)
    if not labels:
        canvas.setFont(font, 12)
        canvas.drawString(margin, page_h - margin - 12 * mm, _both("label.none"))
    canvas.showPage()
    canvas.save()
    return out.getvalue()


async def site_labels(
    actor: Actor, site_id: int, checkpoint_ids: list[int] | None
) -> tuple[str, list[Label]]:
    """The active QR tags of a site's active checkpoints, as labels, by checkpoint name."""
    require_site(actor, site_id, MANAGERS)
    site = await Site.get(id=site_id)
    query = Tag.filter(site_id=site_id, kind=TagKind.qr, is_active=True, checkpoint__is_active=True)
    if checkpoint_ids:
        query = query.filter(checkpoint_id__in=checkpoint_ids)
    tags = await query.select_related("checkpoint", "checkpoint__zone")
    labels = []
    for tag in tags:
        cp: Checkpoint = tag.checkpoint  # type: ignore[assignment]
        zone = cp.zone.name if cp.zone_id is not None and cp.zone is not None else ""
        labels.append(Label(cp.name, zone, tag.identifier))
    return site.name, sorted(labels, key=lambda label: (label.zone, label.checkpoint))
