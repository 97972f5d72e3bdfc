"""The workflow layer: the only code that changes items.

Every step is a function ``step(session, wf, ...)`` run in the caller's transaction
(``db.run(claim, wf, item_id, actor, now)``): it asks the pure rules whether the change is allowed,
then writes the item, an event and the outbox rows that announce it. ``wf`` is the
:class:`~bot.workflow.context.WorkflowContext`, the rules compiled from the config once.

Where things are, by subject:

- ``context``: :class:`Actor` (who acts, from where) and :class:`WorkflowContext`.
- ``intake``: a citizen message becomes an item (:class:`Incoming`, ``intake``).
- ``claims``: ``claim`` and ``reply``.  ``routing``: ``route``.  ``supervision``: ``supervise``.
- ``reading``: ``show`` and ``mine``.  ``citizens``: ``rate``.
- ``deadlines``: priority, complex items, extensions, ``/due`` and ``/overdue``.
- ``leaders``: the sensitive alert and the early warning (both at intake), ``/report``.
- ``buttons``: the table of inline buttons and ``press``.
- shared by the steps: ``items`` (reading an item, the event log), ``cards``, ``answers`` (what is
  said back, refusals, ``/help``), ``roster`` (regions, officers, their chats).
"""

from bot.workflow.context import SYSTEM, Actor, WorkflowContext
from bot.workflow.intake import Incoming

__all__ = ["SYSTEM", "Actor", "Incoming", "WorkflowContext"]
