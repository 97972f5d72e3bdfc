"""``/metrics`` (Prometheus text format) and ``/readyz``: what an operator's monitoring polls.

Neither needs the API token: they say how much waits and whether the service works, nothing of
any message. Figures that live in the database (items per status, the outbox's backlog) are read
at scrape time, so every process serving the API reports the same truth; figures that live in the
process (429s since start, the first sweep, the delivery worker's last poll) come from
:class:`Health`, one per running service (a delivery child reports its own each second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func
from sqlmodel import Session, select

from bot.rules.states import Status
from storage.db import DatabaseUnavailable
from storage.models import Item, Outbox

DELIVERY_POLL_STALE_SECONDS = 120.0


class _DeliveryCollector:
    """``liuyan_telegram_429_total`` as the delivery worker (in this process or its child) counts it."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def collect(self) -> Any:
        delivery = self.health.delivery
        yield CounterMetricFamily("liuyan_telegram_429", "Flood-limit answers (429) from the Bot API since the "
                                  "process started", value=getattr(delivery, "rate_limited", 0) or 0)


@dataclass
class Health:
    """What this process has done lately: the first sweep (noted by the scheduler) and the delivery
    worker it runs (``delivery``: its ``polled_at`` and ``rate_limited`` are read when asked)."""

    started_at: float = field(default_factory=time.monotonic)
    first_sweep_at: float | None = None
    delivery: Any = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.registry.register(_DeliveryCollector(self))
        self.outbox_pending = Gauge("liuyan_outbox_pending", "Outbox rows waiting to be sent",
                                    registry=self.registry)
        self.outbox_oldest = Gauge("liuyan_outbox_oldest_seconds", "Age of the oldest waiting outbox row "
                                   "(0 when nothing waits)", registry=self.registry)
        self.items = Gauge("liuyan_items", "Items by status", ["status"], registry=self.registry)

    def note_sweep(self) -> None:
        if self.first_sweep_at is None:
            self.first_sweep_at = time.monotonic()

    def delivery_polled_within(self, seconds: float) -> bool:
        polled = getattr(self.delivery, "polled_at", None)
        return polled is not None and time.monotonic() - polled <= seconds


def _database_figures(session: Session) -> tuple[int, datetime | None, dict[str, int]]:
    pending, oldest = session.exec(
        select(func.count(), func.min(Outbox.created_at)).where(Outbox.status == "pending")).one()
    by_status = dict(session.exec(select(Item.status, func.count()).group_by(Item.status)).all())
    return int(pending), oldest, {str(k): int(v) for k, v in by_status.items()}


async def metrics(request: web.Request) -> web.Response:
    from bot.web.intake import SERVICES

    s = request.app[SERVICES]
    health: Health = s.health
    try:
        pending, oldest, by_status = await s.db.read(_database_figures)
    except DatabaseUnavailable as exc:
        return web.json_response({"error": f"database unavailable: {exc}"}, status=503)
    health.outbox_pending.set(pending)
    if oldest is None:
        health.outbox_oldest.set(0)
    else:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        health.outbox_oldest.set(max(0.0, (s.now() - oldest).total_seconds()))
    for status in Status:
        health.items.labels(status=status.value).set(by_status.get(status.value, 0))
    return web.Response(body=generate_latest(health.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def readyz(request: web.Request) -> web.Response:
    from bot.web.intake import SERVICES

    s = request.app[SERVICES]
    health: Health = s.health
    missing: list[str] = []
    if not await s.db.aping():
        missing.append("the database does not answer")
    if health.first_sweep_at is None:
        missing.append("the first sweep has not run yet")
    if not health.delivery_polled_within(DELIVERY_POLL_STALE_SECONDS):
        missing.append("the delivery worker has not polled the outbox in the last 2 minutes")
    body: dict[str, Any] = {"status": "ready"} if not missing else {"status": "not ready", "not_ready": missing}
    from bot.web.intake import json_answer

    return json_answer(body, status=200 if not missing else 503)


def health_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/readyz", readyz)
