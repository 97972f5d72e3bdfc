"""Which events of the item log are announced to webhooks, and the body each call carries.

Every change of an item is logged by :func:`bot.workflow.items.log_events`; when the deployment has
``[[webhooks]]``, that function hands the events it just wrote to :class:`Announcer`, which queues
one outbox row per event and receiver in the same transaction (so an event is announced exactly
when it is committed, and a crash loses neither). The body is built then, with the item as it
stands right after the event, shown exactly as ``GET /api/v1/messages/{id}`` shows it, and stored
in the row: every retry sends the same bytes.

Nothing is announced about a history item (imported from the office's past); once something is
done to one it is live, and that event is announced like any other.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.delivery import webhooks
from bot.delivery.outbox import enqueue_webhooks
from storage.models import Item

if TYPE_CHECKING:
    from bot.app_context import AppContext

# The log's actions a receiver hears of, by the name it hears them as. Routing decided at intake
# is part of ``created``; a sensitive item's alert follows its ``created`` as ``sensitive``.
ANNOUNCED: dict[str, str] = {
    "received": "created",
    "routed": "routed",
    "rerouted": "routed",
    "claimed": "claimed",  # also an assignment (/assign)
    "released": "released",  # a claim that lapsed
    "replied": "replied",
    "rated": "rated",
    "reopened": "reopened",
    "closed": "closed",
    "overdue": "overdue",  # the scheduler's escalation of an open item past its deadline
}


def announced(item: Item | None, action: str, detail: dict[str, Any]) -> tuple[str, ...]:
    """The names an event is announced as (none for most: notes, history, priority, ...)."""
    name = ANNOUNCED.get(action)
    if name is None or item is None or getattr(item, "history", False):
        return ()
    if action == "claimed" and detail.get("duplicate_of") is not None:
        return ()  # a repeat handed at intake to whoever holds its first item: ``created`` shows it
    if action == "received" and item.sensitive:
        return (name, "sensitive")
    return (name,)


class Announcer:
    """The deployment's receivers, and how to show an item (the API's own function)."""

    def __init__(self, services: AppContext, render: Callable[..., dict[str, Any]]) -> None:
        self._services = weakref.ref(services)
        self._render = render
        self.hooks = services.config.webhooks
        self.tz = services.config.schedule.tz
        self.wanted_names = frozenset().union(*(h.events or webhooks.EVENTS for h in self.hooks))

    def wants(self, entries: Sequence[tuple[Item | None, str, dict[str, Any]]]) -> bool:
        return any(self.wanted_names.intersection(announced(item, action, detail))
                   for item, action, detail in entries)

    def queue(self, session: Session, entries: Sequence[tuple[Item | None, str, dict[str, Any]]],
              event_ids: Sequence[int], now: datetime) -> None:
        """Queue the calls announcing ``entries`` (just written as the events ``event_ids``)."""
        services = self._services()
        if services is None:
            return
        at = now.astimezone(self.tz).isoformat()
        calls: list[tuple[int, str, int | None]] = []
        for (item, action, detail), event_row in zip(entries, event_ids, strict=True):
            names = announced(item, action, detail)
            if not names or item is None:
                continue
            shown: dict[str, Any] | None = None
            for name in names:
                for hook in self.hooks:
                    if hook.events is not None and name not in hook.events:
                        continue
                    if shown is None:
                        shown = self._render(services, _whole(session, item), now)
                    text = webhooks.body(event_row, name, hook.url, at, shown)
                    calls.append((webhooks.url_key(hook.url), webhooks.row_payload(hook.url, text), item.id))
        enqueue_webhooks(session, calls, now=now)


def _whole(session: Session, item: Any) -> Item:
    """The item itself: a pass over many items may log events with only some of its columns."""
    return item if isinstance(item, Item) else session.get_one(Item, item.id)


_ANNOUNCERS: weakref.WeakKeyDictionary[Engine, Announcer] = weakref.WeakKeyDictionary()


def attach(services: AppContext) -> None:
    """Announce the events written through ``services``' database (a deployment with webhooks)."""
    from bot.web.intake import item_json  # the API module imports the workflow: not at load time

    engine = services.db.engine
    if services.config.webhooks:
        _ANNOUNCERS[engine] = Announcer(services, item_json)
    else:
        _ANNOUNCERS.pop(engine, None)


def announcer(session: Session) -> Announcer | None:
    """The announcer of the database this session writes to, if its deployment has webhooks."""
    if not _ANNOUNCERS:
        return None
    bind = session.get_bind()
    return _ANNOUNCERS.get(bind) if isinstance(bind, Engine) else None
