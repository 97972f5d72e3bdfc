"""Weekly roundup and monthly report over a large store: time and peak memory.

Run from the repository root::

    python -m tests.bench.reports [--n 1000000] [--url postgresql://...] [--keep FILE.db]

Loads ``n`` synthetic items (default 1,000,000) into a fresh database (a temporary SQLite file
unless ``--url`` names another), then builds, in a fresh child process each, what the scheduler
sends on Monday 09:00 and on the 1st: the report (figures by SQL aggregates, the week's hot issues
and key items, the overdue list) and its rendering (Telegram summary, chart PNG, HTML document).

The synthetic store: a year of messages across the 14 regions (weighted, 5% unrouted), titles
and bodies built from place names (3,000 estates, villages and roads) and 80 matters, bodies of
120-600 characters (the real data averages 350); each week a few matters at one place burst
(20-250 messages), as hot issues do; replies mostly within the deadline, some late, some still
open (overdue); 40% of replies rated; 0.6% sensitive; likes skewed. About 19,000 items a week.

Memory is measured two ways, in a child process that only opens the database and builds:
the **ru_maxrss delta** of the first (*cold*) build — growth of the process's peak resident size
over its size after start-up, so C allocations count too (numpy, scipy, SQLite's page cache,
matplotlib and the font loaded on first use) — and the **tracemalloc peak** of a *warm*
build (Python and numpy allocations of one report in a long-running service, after its first).
Wall and CPU seconds are given for both; CPU seconds say what the build costs when other work
shares the machine's two cores.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
#: The instant the reports are built at: a Monday 09:00 that is also the 1st of a month.
REPORT_AT = datetime(2026, 6, 1, 9, 0, tzinfo=TZ)

REGIONS: tuple[tuple[str, str], ...] = (
    ("620100", "兰州市"), ("620200", "嘉峪关市"), ("620300", "金昌市"), ("620400", "白银市"),
    ("620500", "天水市"), ("620600", "武威市"), ("620700", "张掖市"), ("620800", "平凉市"),
    ("620900", "酒泉市"), ("621000", "庆阳市"), ("621100", "定西市"), ("621200", "陇南市"),
    ("622900", "临夏回族自治州"), ("623000", "甘南藏族自治州"),
)
REGION_WEIGHTS = (30, 2, 3, 6, 10, 6, 5, 6, 5, 6, 6, 7, 5, 3)

_FIRST = "金银华新东西南北阳光幸福和平安康锦绣翠碧滨江湖畔龙凤星月春秋明德"
_SECOND = "苑园城府庭湾居里郡阁岸苑邸坊"
_KIND = ("小区", "花园", "新村", "家园", "村", "社区", "路", "街道")
MATTERS = (
    "噪音扰民", "停水停电", "违章建筑", "物业收费不合理", "垃圾清运不及时", "道路破损积水", "油烟直排",
    "夜间施工扰民", "学位不足入学难", "公交线路调整", "拆迁补偿不合理", "房产证迟迟办不下来",
    "开发商虚假宣传", "车位捆绑销售", "电梯故障频发", "消防通道被占用", "路灯不亮", "下水道堵塞",
    "农民工工资拖欠", "医保报销困难", "养老金发放", "低保评定不公", "出租车拒载", "共享单车乱停放",
    "渣土车撒漏", "河道污染", "空气异味", "广场舞噪音", "非法营运", "占道经营", "供暖不热",
    "天然气价格", "学校乱收费", "校外培训退费难", "幼儿园收费", "交通信号灯设置不合理", "停车难",
    "违规养犬", "小区绿化被毁", "化粪池外溢", "饮用水水质差", "网络信号差", "快递乱收费", "景区门票",
    "高速收费", "农村道路硬化", "危房改造", "土地流转纠纷", "征地补偿", "社保转移", "公积金提取",
    "人才引进补贴", "户口迁移", "身份证办理", "不动产登记", "营业执照办理", "税务发票", "环保督察",
    "养殖场臭味", "砂石厂粉尘", "搅拌站噪音", "高压线辐射", "基站建设", "垃圾站选址", "公厕脏乱",
    "菜市场搬迁", "老旧小区改造", "加装电梯", "物业不作为", "业委会选举", "公共维修基金", "房屋质量问题",
    "延期交房", "学区划分", "医院挂号难", "药价过高", "疫苗接种", "食品安全", "假冒伪劣", "传销诈骗",
)
_OPENERS = ("关于", "投诉", "反映", "咨询", "请求解决", "强烈要求解决", "")
_WHO = ("我们", "附近居民", "小区业主", "家里老人", "孩子们", "周边商户", "很多群众", "上班族", "租户", "村民")
_WHEN = ("最近", "这几个月", "每天晚上", "周末", "从去年开始", "今年以来", "前几天", "一直以来", "上个月", "节假日")
_WHAT = ("深受其害", "无法正常休息", "多次打电话反映", "找过社区和街道", "向物业投诉", "拨打了热线", "联名写信",
         "拍了照片留证", "等了很久", "担心安全")
_ASK = ("希望领导高度重视", "恳请相关部门实地查看", "请尽快协调处理", "请给我们一个答复", "请问这是否符合规定",
        "盼复", "望早日解决", "请依法查处", "希望能够公开信息", "请督促落实")


def _places(rng: random.Random, n: int = 3000) -> list[str]:
    out = set()
    while len(out) < n:
        name = rng.choice(_FIRST) + rng.choice(_FIRST) + rng.choice(_SECOND)
        out.add(name + rng.choice(_KIND))
    return sorted(out)


def _body(rng: random.Random, region: str, place: str, matter: str) -> str:
    parts = [f"{region}{place}{matter}，"]
    target = rng.randint(120, 600)
    while sum(map(len, parts)) < target:
        parts.append(f"{rng.choice(_WHO)}{rng.choice(_WHEN)}{rng.choice(_WHAT)}，")
        if rng.random() < 0.3:
            parts.append(f"{rng.choice(_ASK)}。")
    return "".join(parts)


def synthetic_rows(n: int, seed: int = 7, end: datetime = REPORT_AT) -> Any:
    """Yield ``n`` item rows (dicts for ``Item.__table__``), received over the year before ``end``."""
    rng = random.Random(seed)
    places = _places(rng)
    start = end - timedelta(days=365)
    span = (end - start).total_seconds()
    bursts: dict[int, list[tuple[int, str, str, int]]] = {}  # week -> (region, place, matter, size)
    for week in range(53):
        bursts[week] = [(rng.choices(range(len(REGIONS)), REGION_WEIGHTS)[0], rng.choice(places),
                         rng.choice(MATTERS), rng.randint(20, 250)) for _ in range(rng.randint(2, 6))]
    burst_share = sum(b[3] for w in bursts.values() for b in w) / max(n, 1)
    for i in range(n):
        received = start + timedelta(seconds=rng.random() * span)
        week = int((received - start).days // 7)
        if bursts.get(week) and rng.random() < burst_share * 1.0:
            r, place, matter, _ = rng.choice(bursts[week])
            region_index: int | None = r
        else:
            region_index = rng.choices(range(len(REGIONS)), REGION_WEIGHTS)[0]
            place, matter = rng.choice(places), rng.choice(MATTERS)
        if rng.random() < 0.05:
            region_index = None
        region_name = REGIONS[region_index][1] if region_index is not None else "某市"
        title = f"{rng.choice(_OPENERS)}{region_name}{place}{matter}"
        if rng.random() < 0.3:
            title += "的问题"
        deadline = received + timedelta(days=7)
        replied_at = rated_at = rating = None
        status = "unrouted" if region_index is None else "new"
        if received < end - timedelta(days=1) and rng.random() < 0.93:
            delay = timedelta(days=rng.expovariate(1 / 3.5))
            if received + delay < end:
                replied_at, status = received + delay, "replied"
                if rng.random() < 0.4 and replied_at + timedelta(days=2) < end:
                    rated_at = replied_at + timedelta(days=rng.random() * 2)
                    rating = rng.choices(("satisfied", "basically_satisfied", "unsatisfied"), (60, 25, 15))[0]
        elif status == "new" and rng.random() < 0.5:
            status = "claimed"
        sensitive = rng.random() < 0.006
        yield {
            "external_id": f"bench-{i}",
            "title": title,
            "body": _body(rng, region_name, place, matter),
            "author": f"u{rng.randint(1, 200_000)}",
            "likes": int(rng.paretovariate(2.0)) - 1,
            "region": REGIONS[region_index][0] if region_index is not None else None,
            "status": status,
            "priority": "ordinary",
            "priority_terms": "[]",
            "sensitive": sensitive,
            "sensitive_category": "mass_incident" if sensitive else None,
            "sensitive_terms": "[]",
            "sensitive_score": 1.5 if sensitive else 0.0,
            "supervised": False,
            "received_at": received,
            "created_at": received,
            "deadline": deadline,
            "deadline_provisional": False,
            "extended_by": 0,
            "claimed_by": 1 if status in ("claimed", "replied") else None,
            "claimed_by_name": "联络员" if status in ("claimed", "replied") else None,
            "replied_at": replied_at,
            "reply": "已处理" if replied_at else None,
            "rating": rating,
            "rated_at": rated_at,
        }


def bench_config(url: str) -> Any:
    from bot.config import parse_config

    data = {
        "telegram": {"token": "123456:BENCH-token", "api_url": "http://127.0.0.1:1/bot"},
        "database": {"url": url},
        "api": {"token": "bench-api-token"},
        "schedule": {"timezone": "Asia/Shanghai"},
        "leaders": {"chat_id": -1001000000001},
        "desk": {"chat_id": -1001000000002},
        "regions": [{"code": code, "name": name, "chat_id": -1001000000100 - 100 * k}
                    for k, (code, name) in enumerate(REGIONS)],
        "officers": [{"user_id": 900001, "name": "督办", "region": "*", "role": "supervisor"}],
    }
    return parse_config(data, env={})


def load(url: str, n: int, chunk: int = 20_000) -> float:
    """Create the schema and bulk-insert ``n`` synthetic items (SQLAlchemy core executemany)."""
    from storage.db import Database
    from storage.models import Item

    db = Database(url)
    try:
        db.create_schema()
        table = Item.__table__  # type: ignore[attr-defined]
        started = time.perf_counter()
        batch: list[dict[str, Any]] = []
        with db.engine.begin() as conn:
            for row in synthetic_rows(n):
                batch.append(row)
                if len(batch) >= chunk:
                    conn.execute(table.insert(), batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
        with db.engine.begin() as conn:
            if db.is_sqlite:
                conn.exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE items")
        return time.perf_counter() - started
    finally:
        db.dispose()


def _measure(url: str, kind: str, queue: Any, service: bool = False) -> None:
    """Child process: build ``kind`` cold, then warm, then once more under tracemalloc. With
    ``service``: first load what ``liuyan run`` loads at start-up (:func:`bot.reports.preload`),
    then time the first build only: the Monday roundup as the running service builds it."""
    if service:
        from bot.reports import preload

        preload()
    from bot.render import Renderer
    from bot.reports.builder import build_report, period_for
    from bot.reports.delivery import render_report
    from storage.db import Database

    config = bench_config(url)
    renderer = Renderer(config.language, config.schedule.tz)
    db = Database(url)
    period = period_for(kind, REPORT_AT, TZ)

    def build() -> Any:
        def step(session: Any) -> Any:
            report = build_report(session, config, period, REPORT_AT)
            return report, render_report(report, renderer)

        return db.call(step)

    out: dict[str, Any] = {"kind": kind}
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    report, rendered = build()
    out["cold_s"], out["cold_cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
    out["rss_delta_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    if service:
        db.dispose()
        queue.put(out)
        return
    started, cpu = time.perf_counter(), time.process_time()
    build()
    out["warm_s"], out["warm_cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()
    build()
    out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    out["received"] = report.figures.total.received
    out["hot_issues"] = len(report.hot_issues)
    out["top_hot"] = [(h.title, h.issue.count) for h in report.hot_issues[:3]]
    out["text_chars"] = len(rendered.text)
    out["html_kb"] = len(rendered.html.encode()) / 1024
    db.dispose()
    queue.put(out)


def measure(url: str, kind: str, service: bool = False) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(url, kind, queue, service))
    proc.start()
    result = queue.get(timeout=600)
    proc.join(60)
    return result


def bench_reports(n: int = 1_000_000, url: str | None = None, *, reuse: bool = False) -> list[dict[str, Any]]:
    """Load ``n`` items into ``url`` (default: a temporary SQLite file) and measure the weekly and
    monthly builds. Rows: ``name``, ``seconds`` (wall), ``cpu_seconds``, ``peak_mb`` (tracemalloc
    peak), ``rss_delta_mb``, ``note``. On a URL other than the default the items table must be empty,
    unless ``reuse``: then the items an earlier run loaded there are measured again, none loaded."""
    tmp = None
    if url is None:
        tmp = tempfile.mkdtemp(prefix="liuyan-bench-reports-")
        url = f"sqlite:///{Path(tmp) / 'reports.db'}"
    rows: list[dict[str, Any]] = []
    try:
        seconds = None if reuse else load(url, n)
        if seconds is not None:
            rows.append({"name": f"bulk load {n:,} items", "seconds": seconds, "cpu_seconds": None, "peak_mb": None,
                         "rss_delta_mb": None, "note": "SQLAlchemy core executemany, 20,000 a batch"})
        for kind, label in (("weekly", "weekly roundup"), ("monthly", "monthly report")):
            first = measure(url, kind, service=True)
            rows.append({"name": f"{label} (first in the running service)", "seconds": first["cold_s"],
                         "cpu_seconds": first["cold_cpu_s"], "peak_mb": None, "rss_delta_mb": first["rss_delta_mb"],
                         "note": "after the start-up preload of the reports' libraries"})
            r = measure(url, kind)
            note = f"{r['received']:,} items in the period"
            if kind == "weekly":
                note += f", {r['hot_issues']} hot issues"
            rows.append({"name": f"{label} (cold process)", "seconds": r["cold_s"], "cpu_seconds": r["cold_cpu_s"],
                         "peak_mb": None, "rss_delta_mb": r["rss_delta_mb"],
                         "note": note + "; a one-shot `liuyan digest`: imports, font and word dictionary loaded"})
            rows.append({"name": f"{label} (warm)", "seconds": r["warm_s"], "cpu_seconds": r["warm_cpu_s"],
                         "peak_mb": r["tracemalloc_peak_mb"], "rss_delta_mb": None,
                         "note": f"summary {r['text_chars']} chars, HTML {r['html_kb']:.0f} KB"})
    finally:
        if tmp is not None:
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    def num(x: Any, fmt: str) -> str:
        return "—" if x is None else format(x, fmt)

    lines = ["| measure | seconds | CPU seconds | tracemalloc peak MB | ru_maxrss delta MB | note |",
             "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {num(r['seconds'], '.2f')} | {num(r.get('cpu_seconds'), '.2f')} | "
                     f"{num(r['peak_mb'], '.0f')} | {num(r['rss_delta_mb'], '.0f')} | {r['note']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--url", default=None, help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--reuse", action="store_true", help="measure the items already at --url; load none")
    args = parser.parse_args(argv)
    if args.reuse and not args.url:
        parser.error("--reuse needs --url")
    rows = bench_reports(args.n, args.url, reuse=args.reuse)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
