"""The workflow layer: the only code that changes items (see :mod:`bot.workflow.core`).

Capabilities beyond the core live in sibling modules (deadlines and extensions, leaders' alerts and
supervision) as functions taking ``(session, workflow, ...)``; each registers the buttons it owns.
"""

from bot.workflow.core import (
    SYSTEM,
    Actor,
    Incoming,
    Workflow,
    build_sensitivity,
    button_action,
)

__all__ = ["SYSTEM", "Actor", "Incoming", "Workflow", "build_sensitivity", "button_action"]
