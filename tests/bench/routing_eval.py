"""Measure text routing on the real A-city messages and print a sample to hand-check.

Run from the repository root::

    python -m tests.bench.routing_eval [--sample 50] [--seed 7] [--title-weight 3]

Routes all rows of ``../shared/data/messages_a_city_2017_2020.jsonl`` (4,326
messages from the 2020 Teddy Cup data set, place names anonymised by the data
set) with the nine regions A1区 … A6区, A7县, A8县, A9市 of city "A市", code =
name and no further aliases (the data set anonymised town and street names,
so there is nothing to alias). "A市" itself is given as a neutral term: it is
the city, not one of the nine offices.

Prints the share routed / tied / unrouted, then a random sample of
(title, first 80 characters of body, result) for a person to judge. There is
no gold label for region in the data set, which is why the sample is printed
rather than scored.

Figures (November 2026, title weight 10): routed 2,598 (60.1%), tied 30
(0.7%), unrouted 1,698 (39.3%). Hand check of the default sample (seed 7,
50 messages): 31 routed right, 2 routed wrong, 17 unrouted. Of the 17, none
named a district that the rule missed; 11 are city- or province-level or
about another city; 6 name only an estate, road or town a local would place
(北辰三角洲, 松雅湖, 马栏山, 楚雅路, 长望路, 捞刀河) and would need aliases.
Re-measured (December 2026) after "district + 路灯/路口/路面/路段/路边" became the district and a
county-level name qualifies the town after it: routed 2,601 (60.1%), tied 30 (0.7%), unrouted 1,695
(39.2%); the 3 newly routed are "A7县路口镇…" (a town of A7县, right).
The 2 wrong: "A6区坡" is the anonymised 望城坡, a place in A3区, and
"A1区A2区华庭" (an estate named after A2区, in A1区) ties in the title and
the body tips it to A2区.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from bot.rules.routing import (
    DEFAULT_TITLE_WEIGHT,
    REASON_NONE,
    REASON_TEXT,
    REASON_TIE,
    RegionDirectory,
    RegionRef,
    RouteResult,
)

DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DATA_FILE = DATA_DIR / "messages_a_city_2017_2020.jsonl"

A_CITY_REGIONS: tuple[str, ...] = (
    "A1区",
    "A2区",
    "A3区",
    "A4区",
    "A5区",
    "A6区",
    "A7县",
    "A8县",
    "A9市",
)


def a_city_directory(title_weight: float = DEFAULT_TITLE_WEIGHT) -> RegionDirectory:
    """The nine A-city regions, code = name, the city name as a neutral term."""
    return RegionDirectory(
        [RegionRef(code=name, name=name) for name in A_CITY_REGIONS],
        neutral_terms=("A市",),
        title_weight=title_weight,
    )


def load_rows(path: Path = DATA_FILE) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def describe(result: RouteResult) -> str:
    terms = ",".join(result.matched) or "-"
    return f"{result.reason:<5} -> {result.region or '(none)'}  [{terms}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=50, help="rows to print for hand-checking")
    parser.add_argument(
        "--seed", type=int, default=7, help="random seed of the sample (7: the hand-checked one)"
    )
    parser.add_argument("--title-weight", type=float, default=DEFAULT_TITLE_WEIGHT)
    parser.add_argument("--data", type=Path, default=DATA_FILE)
    args = parser.parse_args(argv)

    if not args.data.exists():
        print(f"data file not found: {args.data}", file=sys.stderr)
        return 2

    rows = load_rows(args.data)
    directory = a_city_directory(args.title_weight)
    results = [directory.route(None, r["title"], r["body"]) for r in rows]

    counts = Counter(r.reason for r in results)
    total = len(rows)
    print(f"messages: {total}  (title weight {args.title_weight:g})")
    for reason, label in ((REASON_TEXT, "routed"), (REASON_TIE, "tied"), (REASON_NONE, "unrouted")):
        n = counts.get(reason, 0)
        print(f"  {label:<9} {n:5d}  {n / total:6.1%}")
    per_region = Counter(r.region for r in results if r.region)
    print("  per region: " + ", ".join(f"{c} {per_region[c]}" for c in A_CITY_REGIONS))

    if args.sample > 0:
        rng = random.Random(args.seed)
        picked = sorted(rng.sample(range(total), min(args.sample, total)))
        print(f"\nsample of {len(picked)} (seed {args.seed}):")
        for n, i in enumerate(picked, 1):
            row, res = rows[i], results[i]
            body = " ".join(row["body"].split())[:80]
            print(f"\n{n:2d}. {row['external_id']}  {describe(res)}")
            print(f"    T: {row['title']}")
            print(f"    B: {body}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
