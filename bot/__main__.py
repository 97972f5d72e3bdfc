"""``python -m bot`` does what the ``liuyan`` console script does."""

from bot.cli import main

raise SystemExit(main())
