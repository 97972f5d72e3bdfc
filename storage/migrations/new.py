"""``python -m storage.migrations.new "message" [--rev-id 0002]``: write the next revision.

It builds a scratch SQLite database at the current head (revisions only, no shortcut), lets Alembic
compare it with the models and writes the difference as ``versions/<rev>_<message>.py``. Read the
result before committing: autogenerate does not see renames, and data moves need hand-written steps.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.migrations.new")
    parser.add_argument("message", help="what the revision changes, e.g. 'add reports table'")
    parser.add_argument("--rev-id", help="revision id (default: the next number, e.g. 0002)")
    args = parser.parse_args(argv)

    from alembic import command
    from alembic.script import ScriptDirectory

    import bot.workflow  # noqa: F401  (modules outside storage/ may import table modules)
    from storage.db import make_engine
    from storage.migrations import alembic_config, load_models

    load_models()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        cfg = alembic_config(url)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                script = ScriptDirectory.from_config(cfg)
                rev_id = args.rev_id or f"{len(list(script.walk_revisions())) + 1:04d}"
                result = command.revision(cfg, args.message, autogenerate=True, rev_id=rev_id)
        finally:
            engine.dispose()
    scripts = result if isinstance(result, list) else [result]
    for s in scripts:
        if s is not None:
            print(f"wrote {s.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
