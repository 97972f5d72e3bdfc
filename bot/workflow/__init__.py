"""The workflow layer: the only code that changes items (see :mod:`bot.workflow.core`).

Capabilities beyond the core live in sibling modules (deadlines and extensions, leaders' alerts and
supervision) as functions taking ``(session, workflow, ...)``; each registers the buttons it owns.
"""

from bot.workflow.core import (
    SYSTEM,
    Actor,
    Incoming,
    Workflow,
    after_intake,
    build_sensitivity,
    button_action,
)
from bot.workflow import deadlines, leaders  # noqa: E402,F401  (register their buttons and hooks)

__all__ = ["SYSTEM", "Actor", "Incoming", "Workflow", "after_intake", "build_sensitivity", "button_action"]
