"""The benchmark runner, run as a person would (``python -m tests.bench --quick``): it prints one
Markdown table with every row, each with a result, and the machine it ran on. The quick sizes say
nothing about speed; what must hold even there is that every card, alert and answer arrived."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import database_urls

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("database", database_urls())
def test_quick_run_prints_every_row(database: str, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "tests.bench", "--quick", "--json", str(out)]
    if database != "sqlite":
        command += ["--db", os.environ["LIUYAN_TEST_DATABASE_URL"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIUYAN_BENCH_")}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]

    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert table[0] == "| Measure | Result | Target | Pass |"
    numbers = {m.group(1) for line in table[1:] if (m := re.match(r"\| (\d)\. ", line))}
    assert numbers == {"1", "2", "3", "4", "5", "6"}, done.stdout
    assert "error:" not in done.stdout and "pending" not in done.stdout, done.stdout
    assert re.search(r"^Machine: .+ cores, .+ RAM; .+Python 3\.\d+.+SQLite 3\.\d+", done.stdout, re.M), done.stdout
    assert "Command: `python -m tests.bench --quick" in done.stdout

    rows = {r["measure"][:2]: r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    delivery, alert, commands = rows["2."]["detail"], rows["3."]["detail"], rows["4."]["detail"]
    assert delivery["delivered"] == sum(delivery["per_group"]) > 0 and delivery["rate_limited"] == 0
    assert delivery["seconds"] >= delivery["least"] > 0  # nothing beats the limits
    assert alert["missed"] == 0 and alert["alerts"] > 0
    assert commands["missing"] == 0 and commands["refused"] == 0
    assert rows["1."]["detail"]["items"] > 0 and rows["1."]["detail"]["ratio"] > 0
