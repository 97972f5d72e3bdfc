"""Leaders' reports: handling figures per region, hot issues, key items, the weekly roundup and the
monthly report (issue 5).

- :mod:`bot.reports.figures`: per-region figures of a period from SQL aggregates (never loads items).
- :mod:`bot.reports.hot_issues`: similar messages clustered (jieba title words + body shingles).
- :mod:`bot.reports.key_items`: the items leaders should read, chosen by weight.
- :mod:`bot.reports.chart`: the per-region bar chart as PNG, with a CJK font shipped by a package.
- :mod:`bot.reports.builder`: the weekly and monthly reports, their Telegram summary and HTML.
- :mod:`bot.reports.delivery`: queueing a report (message + chart + HTML file) to a chat.

Nothing here changes an item; queueing goes through the outbox like every other message.
"""


def preload() -> None:
    """Load what a report's first build would otherwise load on the spot: the builder's modules,
    matplotlib with the CJK font, and jieba's dictionary (together ~2 s). The service calls this
    in a thread after start-up, so Monday's roundup and a leader's ``/report`` do not pay it."""
    from bot.reports import builder, delivery  # noqa: F401 - imported for their side effect
    from bot.reports.chart import _font_family
    from bot.reports.hot_issues import title_terms

    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    _font_family()
    title_terms("预加载")
