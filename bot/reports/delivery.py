"""Queueing a report to a chat: a readable message, the chart as a photo, the full report as an HTML
file — three outbox rows written together, so a report is never half-queued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.delivery.outbox import ROUTINE_LANE, enqueue_file, enqueue_message
from bot.render import Renderer
from bot.reports.builder import Report, render_full_html, render_summary
from bot.reports.chart import render_chart_png
from storage.models import Outbox

__all__ = ["RenderedReport", "already_queued", "queue_report", "render_report"]


@dataclass(frozen=True)
class RenderedReport:
    report: Report
    text: str
    chart_png: bytes
    html: str
    chart_caption: str
    document_caption: str


def render_report(report: Report, renderer: Renderer, lang: str | None = None) -> RenderedReport:
    """Summary text, chart and HTML document of ``report`` in ``lang`` (default: the deployment's)."""
    lang = renderer.lang(lang)
    chart = render_chart_png(report.figures, lang)
    name = renderer.text(f"report.{report.kind}_name", lang)
    return RenderedReport(
        report=report,
        text=render_summary(report, renderer, lang),
        chart_png=chart,
        html=render_full_html(report, renderer, lang, chart_png=chart),
        chart_caption=renderer.text("report.chart_caption", lang, name=name, label=report.period.label),
        document_caption=renderer.text("report.document_caption", lang, name=name, label=report.period.label),
    )


def already_queued(session: Session, dedupe_key: str) -> bool:
    return session.exec(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key)).first() is not None


def queue_report(session: Session, rendered: RenderedReport, chat_id: int, now: datetime, *,
                 dedupe_key: str | None = None, lane: int = ROUTINE_LANE,
                 reply_to_message_id: int | None = None) -> bool:
    """Queue message + chart + HTML file; False (nothing queued) when ``dedupe_key`` was used."""
    report = rendered.report
    purpose = f"{report.kind}_report"
    row = enqueue_message(session, chat_id, rendered.text, now=now, lane=lane, purpose=purpose,
                          dedupe_key=dedupe_key, reply_to_message_id=reply_to_message_id)
    if row is None:
        return False
    enqueue_file(session, chat_id, "sendPhoto", f"{report.file_stem}.png", rendered.chart_png, now=now,
                 caption=rendered.chart_caption, lane=lane, purpose=purpose,
                 dedupe_key=f"{dedupe_key}:chart" if dedupe_key else None)
    enqueue_file(session, chat_id, "sendDocument", f"{report.file_stem}.html", rendered.html.encode("utf-8"),
                 now=now, caption=rendered.document_caption, lane=lane, purpose=purpose,
                 dedupe_key=f"{dedupe_key}:html" if dedupe_key else None)
    return True
