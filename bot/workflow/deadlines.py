"""Workflow steps for deadlines (filled in by its issue); registers its buttons and intake hooks."""

from __future__ import annotations
