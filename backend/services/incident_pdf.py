"""An incident as a PDF: its facts, description, photos (each with its original's SHA-256) and
timeline, in the reader's language with Chinese text in an embedded CJK font. Rendering is plain
CPU and file work: callers run it in a worker thread."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from backend.i18n import translate
from backend.services.incidents import IncidentDocument
from backend.services.labels import cjk_font
from backend.services.media import MediaStore

_MARGIN = 15 * mm
_PHOTO_MAX_H = 110 * mm


def _styles(font: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=17, leading=22, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=body, fontSize=13, leading=18, spaceBefore=10),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        "hash": ParagraphStyle("hash", fontName="Courier", fontSize=7.5, leading=9),
    }


def render_incident(
    doc: IncidentDocument, store: MediaStore, language: str, font_file: str
) -> bytes:
    font = cjk_font(font_file)
    st = _styles(font)
    d = doc.detail
    tz = ZoneInfo(doc.timezone)

    def t(key: str, **params: object) -> str:
        return translate(language, key, **params)

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if value else ""

    def p(text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), st[style])

    where = [doc.zone_name, doc.checkpoint_name, d.place]
    if d.latitude is not None and d.longitude is not None:
        where.append(f"{d.latitude:.6f}, {d.longitude:.6f}")
    facts = [
        ("incident.pdf.site", doc.site_name),
        ("incident.pdf.type", t(f"incident.type.{d.type.value}")),
        ("incident.pdf.severity", t(f"incident.severity.{d.severity.value}")),
        ("incident.pdf.status", t(f"incident.status.{d.status.value}")),
        ("incident.pdf.location", " · ".join(w for w in where if w)),
        ("incident.pdf.reported_by", d.reporter_name),
        ("incident.pdf.reported_at", when(d.reported_at)),
        ("incident.pdf.received_at", when(d.received_at)),
        ("incident.pdf.assignee", d.assignee_name or ""),
    ]
    width = A4[0] - 2 * _MARGIN
    table = Table(
        [[p(t(k)), p(v)] for k, v in facts], colWidths=[45 * mm, width - 45 * mm], hAlign="LEFT"
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story: list[Flowable] = [
        p(f"{t('incident.pdf.title')} · {doc.site_name}", "title"),
        p(str(d.id), "hash"),
        Spacer(1, 4 * mm),
        table,
        p(t("incident.pdf.description"), "h2"),
        p(d.description),
        p(t("incident.pdf.photos"), "h2"),
    ]
    if not d.photos:
        story.append(p(t("incident.pdf.no_photos")))
    for photo in d.photos:
        path = store.display(photo.sha256)
        caption = t(
            "incident.pdf.photo_caption",
            n=photo.position,
            width=photo.width,
            height=photo.height,
            size=photo.size,
            name=doc.photo_names.get(photo.added_by_id, ""),
            at=when(photo.added_at),
        )
        parts: list[Flowable] = []
        if path.is_file():
            shown_w, shown_h = _fit(photo.width, photo.height, width, _PHOTO_MAX_H)
            parts.append(Image(str(path), width=shown_w, height=shown_h, hAlign="LEFT"))
        parts += [p(caption, "small"), p(f"SHA-256 {photo.sha256}", "hash"), Spacer(1, 4 * mm)]
        story.append(KeepTogether(parts))
    story.append(p(t("incident.pdf.timeline"), "h2"))
    rows = []
    for e in d.timeline:
        what = t(
            f"incident.timeline.{e.kind.value}",
            name=str(e.data.get("assignee_name", "")),
            count=len(e.data.get("photos", [])),
        )
        if e.text:
            what = f"{what}: {e.text}"
        rows.append([p(when(e.at), "small"), p(e.actor_name, "small"), p(what, "small")])
    timeline = Table(rows, colWidths=[42 * mm, 30 * mm, width - 72 * mm], hAlign="LEFT")
    timeline.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [
        timeline,
        Spacer(1, 6 * mm),
        p(t("incident.pdf.generated", at=when(datetime.now(UTC)), name=doc.requested_by), "small"),
    ]
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=f"{t('incident.pdf.title')} {d.id}",
        author=doc.site_name,
    )
    pdf.build(story)
    return out.getvalue()


def _fit(w: int, h: int, room_w: float, room_h: float) -> tuple[float, float]:
    scale = min(room_w / w, room_h / h)
    return w * scale, h * scale
