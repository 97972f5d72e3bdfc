"""Deadline commands (/priority, /extend, /due, /overdue): filled in with issue 4."""

from __future__ import annotations

from typing import Any

# (command, handler) pairs, registered by handlers/__init__.py; menu text is ``menu.<command>_plain``
COMMANDS: tuple[tuple[str, Any], ...] = ()
