"""Run the Bot API stand-in on its own: ``python -m bot.standin [--port 8081]``.

Useful when the bot under test runs in another process (benchmarks, manual trials). It prints the
``base_url`` to give the bot and serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio

from .server import BotApiStandin


async def _serve(args: argparse.Namespace) -> None:
    async with BotApiStandin(
        port=args.port,
        strict_chats=args.strict_chats,
        enforce_limits=not args.no_limits,
        privacy_mode=args.privacy_mode,
    ) as api:
        print(f"Bot API stand-in: base_url={api.base_url} base_file_url={api.base_file_url}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.standin", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--strict-chats", action="store_true", help="unknown chats answer 'chat not found'")
    parser.add_argument("--no-limits", action="store_true", help="do not enforce flood limits")
    parser.add_argument("--privacy-mode", action="store_true", help="deliver only commands/replies/mentions from groups")
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
