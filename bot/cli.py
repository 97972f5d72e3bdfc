"""``liuyan``: the console entry point (the commands are listed in the README).

Bad input ends with one clear line and a non-zero exit, never a trace: a config error names its key.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from telegram.error import InvalidToken

from bot.config import Config, ConfigError, format_error, load_config
from bot.logs import setup_logging
from storage.db import DatabaseStartError

PLACEHOLDER_TOKENS = frozenset({"", "change-me"})

EXIT_CONFIG = 2
EXIT_USAGE = 2
EXIT_RUNTIME = 1


def _parse_now(value: str | None, tz) -> datetime | None:  # type: ignore[no-untyped-def]
    if value is None:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"liuyan: --now: not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liuyan", description="网民留言办理机器人 · citizens' messages bot")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    parser.add_argument("--log-format", choices=["text", "json"], default="text",
                        help="log lines as text (default) or one JSON object a line, for a log collector")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="the service: bot + intake API + scheduler")
    run.add_argument("--config", required=True, help="path of liuyan.toml")

    deliver = sub.add_parser("deliver", help="only the delivery worker: send the outbox (beside `run`)")
    deliver.add_argument("--config", required=True)
    deliver.add_argument("--wake-fd", type=int, default=None, help=argparse.SUPPRESS)
    deliver.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)

    sweep = sub.add_parser("sweep", help="one pass of all time-driven work as of NOW, then exit")
    sweep.add_argument("--config", required=True)
    sweep.add_argument("--now", help="ISO 8601 instant (default: the current time)")
    sweep.add_argument("--no-send", action="store_true", help="queue only; the running service sends")

    digest = sub.add_parser("digest", help="build the weekly or monthly report")
    digest.add_argument("period", choices=["weekly", "monthly"])
    digest.add_argument("--config", required=True)
    digest.add_argument("--now", help="ISO 8601 instant the report is made at")
    digest.add_argument("--send", action="store_true", help="send it to the leaders' chat")
    digest.add_argument("--out", help="write the full report as HTML to this file")

    demo = sub.add_parser("demo", help="everything offline: Bot API stand-in, sample data, web chat")
    demo.add_argument("--port", type=int, default=8000, help="port of the demo's web page (default 8000)")
    demo.add_argument("--dir", default="liuyan-demo", help="folder for the demo's config and database")
    demo.add_argument("--speed", type=float, default=1.0, help="how fast the scenario runs (2 = twice)")
    demo.add_argument("--duration", type=float, default=None,
                      help="stop after this many seconds (default: run until Ctrl-C)")
    demo.add_argument("--config", default=None,
                      help="rehearse your own regions and roster offline (its Telegram, database, API and "
                           "webhooks are not used)")

    doctor = sub.add_parser("doctor", help="check config, database, Telegram token, chats, calendar, API port")
    doctor.add_argument("--config", required=True)

    imp = sub.add_parser("import", help="import the message board's exports (.xlsx, .csv, .jsonl)")
    imp.add_argument("files", nargs="+", metavar="FILE", help="exports to import, in order")
    imp.add_argument("--config", required=True)
    imp.add_argument("--history", action="store_true",
                     help="the office's past messages: stored for reports and learning, nothing sent")
    imp.add_argument("--dry-run", action="store_true", help="read and check everything, store nothing")

    export = sub.add_parser("export", help="write the ledger (台账) as .xlsx or .csv")
    export.add_argument("--config", required=True)
    export.add_argument("--out", required=True, help="ledger.xlsx or ledger.csv")
    export.add_argument("--from", dest="start", metavar="DATE", help="first day received (YYYY-MM-DD)")
    export.add_argument("--to", dest="end", metavar="DATE", help="day after the last (YYYY-MM-DD)")

    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.add_argument("--config", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose=args.verbose, json_lines=args.log_format == "json")
    try:
        if args.command == "demo":
            from bot.demo.runner import run_demo

            return asyncio.run(run_demo(port=args.port, folder=Path(args.dir), speed=args.speed,
                                        duration=args.duration, config_path=args.config))
        if args.command == "doctor":
            return _doctor(args.config)
        config = load_config(args.config)
        if args.command == "run":
            refuse_placeholder_secrets(config)
    except ConfigError as err:
        print(format_error(err), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
    try:
        return _dispatch(args, config)
    except KeyboardInterrupt:
        return 0
    except DatabaseStartError as err:
        print(err.line, file=sys.stderr)
        return err.exit_status
    except InvalidToken:
        print(f"config error: telegram.token: the Bot API at {config.telegram.api_url} refused it; "
              "check telegram.token or LIUYAN_TELEGRAM_TOKEN", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:
        logging.getLogger("liuyan").debug("failed", exc_info=True)
        print(f"liuyan: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_RUNTIME


def refuse_placeholder_secrets(config: Config) -> None:
    """The service will not start with the intake API guarded by an empty or example token."""
    if config.api.token.strip().lower() in PLACEHOLDER_TOKENS:
        raise ConfigError("api.token", "is a placeholder; set a long random string here or in LIUYAN_API_TOKEN "
                                       "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")


def _doctor(path: str) -> int:
    from bot.doctor import render_lines, run_checks
    from bot.render import Renderer

    try:
        config = load_config(path)
    except ConfigError as err:
        print(f"fail config: {format_error(err)}")
        return EXIT_RUNTIME
    renderer = Renderer(config.language, config.schedule.tz)
    units = len(config.units)
    print("ok   config: " + renderer.text("doctor.config_ok_plain", path=path, regions=len(config.regions),
                                           units=units, officers=len(config.officers)))
    today = datetime.now(config.schedule.tz).date()
    checks = asyncio.run(run_checks(config, today))
    for line in render_lines(checks, renderer):
        print(line)
    return EXIT_RUNTIME if any(c.status == "fail" for c in checks) else 0


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    from bot.app_context import AppContext

    if args.command == "db":
        AppContext.create(config).db.dispose()
        print("database schema is up to date")
        return 0
    if args.command == "import":
        from bot.platform.importer import run_import

        s = AppContext.create(config)
        try:
            return run_import(s, [Path(f) for f in args.files], history=args.history, dry_run=args.dry_run)
        finally:
            s.db.dispose()
    if args.command == "export":
        from bot.platform.exporter import run_export

        return run_export(config, Path(args.out), args.start, args.end)
    if args.command == "run":
        from bot.service import Service

        asyncio.run(Service.create(config).run_forever())
        return 0
    if args.command == "deliver":
        from bot.delivery.process import run_child

        return asyncio.run(run_child(config, args.wake_fd, args.parent))
    if args.command == "sweep":
        from scheduler.cli import run_sweep

        return asyncio.run(run_sweep(config, _parse_now(args.now, config.schedule.tz), send=not args.no_send))
    if args.command == "digest":
        from scheduler.cli import run_digest

        return asyncio.run(run_digest(config, args.period, _parse_now(args.now, config.schedule.tz),
                                      send=args.send, out=args.out))
    raise AssertionError(args.command)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
