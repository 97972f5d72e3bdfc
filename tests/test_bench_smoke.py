"""The benchmark runner, run as a person would (``python -m tests.bench --quick``): it prints one
Markdown table with every row, each with a result, and the machine it ran on. The quick sizes say
nothing about speed; what must hold even there is that every card, alert and answer arrived.

On PostgreSQL (when configured) the rows run one after another on the one test database, so only
the two rows that lean on the database hardest are run there, to keep the suite quick."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import database_urls

ROOT = Path(__file__).resolve().parents[1]


def run_quick(tmp_path: Path, *extra: str) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "tests.bench", "--quick", "--json", str(out), *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIUYAN_BENCH_")}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["measure"][:2]: r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    return done.stdout, rows


def table_rows(stdout: str) -> set[str]:
    table = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert table[0] == "| Measure | Result | Target | Pass |"
    return {m.group(1) for line in table[1:] if (m := re.match(r"\| (\d)\. ", line))}


@pytest.mark.parametrize("database", database_urls())
def test_quick_run_prints_the_table(database: str, tmp_path: Path) -> None:
    if database == "sqlite":
        stdout, rows = run_quick(tmp_path)
        assert table_rows(stdout) == {"1", "2", "3", "4", "5", "6", "8", "9"}, stdout
    else:
        stdout, rows = run_quick(tmp_path, "--only", "intake,commands", "--db", os.environ["LIUYAN_TEST_DATABASE_URL"])
        assert table_rows(stdout) == {"1", "4"}, stdout
        assert "PostgreSQL" in stdout
    assert "error:" not in stdout and "pending" not in stdout, stdout
    machine = r"^Machine: .+ cores, .+ RAM; .+Python 3\.\d+.+SQLite 3\.\d+"
    assert re.search(machine, stdout, re.MULTILINE), stdout
    assert "Command: `python -m tests.bench --quick" in stdout

    assert rows["1."]["detail"]["items"] > 0 and rows["1."]["detail"]["ratio"] > 0
    commands = rows["4."]["detail"]
    assert commands["updates"] > 0 and commands["missing"] == 0 and commands["refused"] == 0
    if "2." in rows:
        delivery, alert = rows["2."]["detail"], rows["3."]["detail"]
        assert delivery["delivered"] == sum(delivery["per_group"]) > 0 and delivery["rate_limited"] == 0
        assert delivery["seconds"] >= delivery["least"] > 0  # nothing beats the limits
        assert alert["missed"] == 0 and alert["alerts"] > 0
