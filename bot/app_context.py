"""What every entry point shares: config, database, renderer, workflow, delivery and the clock.

``act`` is the one way async code runs a workflow step: in a database thread, in one transaction,
then the delivery worker is woken to send what the step queued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.config import Config
from bot.render import Renderer
from bot.web.health import Health
from bot.workflow import WorkflowContext
from bot.workflow.roster import sync_roster
from bot.workflow.webhook_events import attach as attach_webhooks
from storage.db import Database, open_database

T = TypeVar("T")


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    config: Config
    db: Database
    renderer: Renderer
    workflow: WorkflowContext  # the rules compiled from the config, passed to every workflow step
    clock: Callable[[], datetime] = wall_clock
    delivery: Any = None  # DeliveryWorker once started
    extras: dict[str, Any] = field(default_factory=dict)
    health: Health = field(default_factory=Health)  # what /readyz and /metrics report of this process

    @classmethod
    def create(cls, config: Config, *, db: Database | None = None,
               clock: Callable[[], datetime] = wall_clock) -> AppContext:
        """Open the database, create or upgrade the schema, mirror the roster."""
        if db is None:
            database = open_database(config.database.url)
        else:
            database = db
            database.create_schema()
        renderer = Renderer(config.language, config.schedule.tz)
        workflow = WorkflowContext(config, renderer)
        database.call(sync_roster, workflow)
        workflow.learner.load(database)  # the stored routing model suggests until retrained
        services = cls(config=config, db=database, renderer=renderer, workflow=workflow, clock=clock)
        attach_webhooks(services)  # the events its workflow logs are announced to [[webhooks]]
        return services

    def now(self) -> datetime:
        return self.clock()

    async def act(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a workflow step in one transaction, then wake the delivery worker."""
        try:
            return await self.db.run(fn, *args, **kwargs)
        finally:
            if self.delivery is not None:
                self.delivery.wake()
