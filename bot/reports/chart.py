"""The per-region bar chart of a report, as PNG, with Chinese labels that render.

matplotlib draws empty boxes for Chinese text unless it is given a CJK font. A fresh machine's
``pip install .`` has no system CJK font (Debian's fonts-noto-cjk is an apt package), so the font comes
from a PyPI package listed in pyproject.toml: ``pylopdf-fonts-zh-cn`` ships Noto Sans SC (SIL OFL
1.1, 8 MB, no dependencies). It is used by file path; a CJK font matplotlib already knows (system
fonts, ``mplfonts``) is the fallback. The figure is drawn with the object API on an Agg canvas, never
pyplot, so concurrent renders in worker threads share no global state.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import threading
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from bot.reports.figures import PeriodFigures
from bot.reports.text import catalogue_text

log = logging.getLogger(__name__)

# (package, font file inside it), in order of preference
FONT_PACKAGES: tuple[tuple[str, str], ...] = (
    ("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf"),
    ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf"),
)
_SYSTEM_FONT_HINTS = ("Noto Sans CJK", "Noto Sans SC", "Source Han Sans", "WenQuanYi", "SimHei")

_lock = threading.Lock()

COLOURS = {"received": "#4C72B0", "replied": "#55A868", "overdue": "#C44E52"}


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The CJK font file to draw with: a packaged one first, else one matplotlib already knows."""
    for package, relative in FONT_PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            path = Path(location) / relative
            if path.is_file():
                return path
    from matplotlib import font_manager

    for entry in font_manager.fontManager.ttflist:
        if any(hint in entry.name for hint in _SYSTEM_FONT_HINTS):
            return Path(entry.fname)
    log.warning("no CJK font found: Chinese chart labels will render as boxes "
                "(pip install pylopdf-fonts-zh-cn)")
    return None


@lru_cache(maxsize=1)
def _font_family() -> list[str]:
    """Register the CJK font with matplotlib once; the family list to draw with (CJK first, then
    DejaVu Sans for anything the CJK font lacks)."""
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:
        return ["DejaVu Sans"]
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    return [name, "DejaVu Sans"]


def render_chart_png(figures: PeriodFigures, lang: str = "zh") -> bytes:
    """Horizontal grouped bars per region: received, replied, overdue (counts of the period)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    def t(key: str, **params: object) -> str:
        return catalogue_text(f"chart.{key}_plain", lang, **params)

    rows = list(figures.regions)
    last_day = figures.end - timedelta(seconds=1)
    title = t("title", start=figures.start.strftime("%Y-%m-%d"), end=last_day.strftime("%Y-%m-%d"))
    series = (("received", t("received")), ("replied", t("replied")), ("overdue", t("overdue")))

    with _lock, matplotlib.rc_context({"font.family": _font_family(), "axes.unicode_minus": False}):
        height = max(3.0, 1.2 + 0.6 * max(len(rows), 1))
        fig = Figure(figsize=(8.0, height), dpi=110)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        bar = 0.26
        positions = list(range(len(rows)))[::-1]  # first region at the top
        top = 0
        for k, (field, label) in enumerate(series):
            values = [getattr(r, field) for r in rows]
            top = max([top, *values])
            ys = [p + (1 - k) * bar for p in positions]
            bars = ax.barh(ys, values, height=bar, color=COLOURS[field], label=label)
            ax.bar_label(bars, labels=[str(v) if v else "" for v in values], padding=2, fontsize=8)
        ax.set_yticks(positions, [r.name for r in rows])
        ax.set_xlim(0, max(top, 1) * 1.15)
        ax.set_xlabel(t("axis"))
        ax.set_title(title, pad=24)
        if not rows:
            ax.text(0.5, 0.5, t("empty"), transform=ax.transAxes, ha="center", va="center")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
