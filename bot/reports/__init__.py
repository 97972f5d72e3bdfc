"""Leaders' reports: handling figures per region, hot issues, key items, the weekly roundup and the
monthly report (issue 5).

- :mod:`bot.reports.figures`: per-region figures of a period from SQL aggregates (never loads items).
- :mod:`bot.reports.hot_issues`: similar messages clustered (rjieba title words + body shingles).
- :mod:`bot.reports.key_items`: the items leaders should read, chosen by weight.
- :mod:`bot.reports.chart`: the per-region bar chart as PNG, with a CJK font shipped by a package.
- :mod:`bot.reports.builder`: the weekly and monthly reports, their Telegram summary and HTML.
- :mod:`bot.reports.delivery`: queueing a report (message + chart + HTML file) to a chat.

Nothing here changes an item; queueing goes through the outbox like every other message.
"""


def preload() -> None:
    """Load the word cutter's dictionary, which the intake's early warning and every report need
    (rjieba, 0.1 s, ~30 MB). The service calls this in a thread after start-up.

    matplotlib and the CJK font (~40 MB, ~0.5 s) are left to the first report that draws a chart:
    an idle service should stay small, and a report has time to spare for them.
    """
    from bot.reports.hot_issues import title_terms

    title_terms("预加载")
