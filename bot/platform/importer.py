"""``liuyan import FILE… [--history] [--dry-run]``: the platform's exports into the store.

New rows go through the intake step the API uses (routing, triage, cards and alerts queued for the
running service to send), a batch at a time; with ``--history`` they are stored as the office's past
instead (:mod:`bot.workflow.history`: nothing is said about them). A row whose ``external_id`` is
stored already, or came earlier in this run, is counted as known and skipped. Each bad row is
printed with its row number and reason and stores nothing; the other rows go on. stdout carries
what an operator must read (bad rows, ignored columns, files that cannot be read) and ends with the
summary line; progress goes to stderr (a bar on a terminal, a plain line now and then otherwise).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.app_context import AppContext
from bot.platform.readers import UnreadableFile
from bot.platform.rows import ImportRow, RowError, read_messages
from bot.workflow.history import IMPORT, PastMessage, import_history
from bot.workflow.intake import intake
from storage.models import Item

BATCH = 500  # rows per transaction: short enough not to hold the writers up, long enough to be fast

EXIT_OK, EXIT_REJECTED, EXIT_UNREADABLE = 0, 1, 2


@dataclass
class ImportTotals:
    imported: int = 0
    known: int = 0
    rejected: int = 0
    unreadable: int = 0  # files

    def summary(self) -> str:
        return f"imported {self.imported}, known {self.known}, rejected {self.rejected}"

    def exit_status(self) -> int:
        if self.unreadable:
            return EXIT_UNREADABLE
        return EXIT_REJECTED if self.rejected else EXIT_OK


class Progress:
    """Rows done, rows per second and the time left: one redrawn line on a terminal, a plain line
    every few seconds otherwise (a log or a pipe gets no carriage returns)."""

    WIDTH = 24
    PLAIN_EVERY = 5.0
    TTY_EVERY = 0.1

    def __init__(self, name: str, expected: int | None, stream: TextIO) -> None:
        self.name, self.expected, self.stream = name, expected, stream
        self.tty = stream.isatty()
        self.started = self.last = time.monotonic()
        self.done = 0

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self.last >= (self.TTY_EVERY if self.tty else self.PLAIN_EVERY):
            self.last = now
            self._show(now, final=False)

    def finish(self) -> None:
        self._show(time.monotonic(), final=True)

    def _show(self, now: float, *, final: bool) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        total = max(self.expected or 0, self.done)
        if final:
            line = f"{self.name}: {self.done} rows in {elapsed:.1f} s ({rate:.0f} rows/s)"
        else:
            left = (total - self.done) / rate if rate > 0 and total else None
            eta = f", ETA {left:.0f} s" if left is not None else ""
            line = f"{self.name}: {self.done}/{total or '?'} rows, {rate:.0f} rows/s{eta}"
        if self.tty:
            share = self.done / total if total else 0.0
            filled = int(self.WIDTH * min(share, 1.0))
            bar = "█" * filled + "·" * (self.WIDTH - filled)
            self.stream.write(f"\r\x1b[2K{line}" if final else f"\r\x1b[2K[{bar}] {share:4.0%} {line}")
            if final:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class Importer:
    """One run of ``liuyan import`` over some files, with its running totals."""

    def __init__(self, s: AppContext, *, history: bool, dry_run: bool, out: TextIO, err: TextIO) -> None:
        self.s, self.history, self.dry_run, self.out, self.err = s, history, dry_run, out, err
        self.totals = ImportTotals()
        self.seen: set[str] = set()
        self.named_columns: set[str] = set()

    def run(self, paths: Sequence[Path]) -> ImportTotals:
        several = len(paths) > 1
        for path in paths:
            self.import_file(Path(path), f"{Path(path).name}: " if several else "")
        print(self.totals.summary(), file=self.out, flush=True)
        return self.totals

    def import_file(self, path: Path, prefix: str) -> None:
        try:
            file = read_messages(path, self.s.config.schedule.tz)
            progress = Progress(path.name, file.expected_rows, self.err)
            pending: list[ImportRow] = []
            for result in file:
                if isinstance(result, RowError):
                    self.totals.rejected += 1
                    print(f"{prefix}{result}", file=self.out, flush=True)
                elif result.message.external_id in self.seen:
                    self.totals.known += 1
                else:
                    self.seen.add(result.message.external_id)
                    pending.append(result)
                    if len(pending) >= BATCH:
                        self._store(pending)
                        pending = []
                progress.advance(1)
            if pending:
                self._store(pending)
            progress.finish()
        except UnreadableFile as exc:
            self.totals.unreadable += 1
            print(f"{path.name}: {exc}", file=self.out, flush=True)
            return
        fresh = [c for c in file.unknown_columns if c not in self.named_columns]
        if fresh:
            self.named_columns.update(fresh)
            print(f"{prefix}ignored columns: {', '.join(fresh)}", file=self.out, flush=True)

    def _store(self, rows: list[ImportRow]) -> None:
        if self.dry_run:
            ids = [r.message.external_id for r in rows]
            known = len(self.s.db.call_read(_stored_ids, ids))
            self.totals.known += known
            self.totals.imported += len(rows) - known
            return
        for attempt in range(3):
            try:
                now = self.s.now()
                if self.history:
                    results = self.s.db.call(import_history, self.s.workflow,
                                             [PastMessage(r.message, r.reply, r.replied_at) for r in rows], now)
                else:
                    results = self.s.db.call(intake, self.s.workflow, [r.message for r in rows], now, IMPORT)
                break
            except IntegrityError:
                # the API stored one of these external_ids at the same moment: the next try sees it
                if attempt == 2:
                    raise
        created = sum(1 for _, new in results if new)
        self.totals.imported += created
        self.totals.known += len(rows) - created


def _stored_ids(session: Session, ids: list[str]) -> set[str]:
    return set(session.exec(select(Item.external_id).where(Item.external_id.in_(ids))))  # type: ignore[attr-defined]


def run_import(s: AppContext, paths: Sequence[Path], *, history: bool = False, dry_run: bool = False,
               out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Import ``paths`` (see the module docstring); returns the exit status: 0, 1 when rows were
    rejected, 2 when a file could not be read (the other files are imported all the same)."""
    importer = Importer(s, history=history, dry_run=dry_run, out=out or sys.stdout, err=err or sys.stderr)
    return importer.run(paths).exit_status()
