"""The real citizen messages in ../shared/data, looked up by external_id (tests skip cleanly
where the data is absent; rows are never copied into the project)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DATA_FILES = ("messages_a_city_2017_2020.jsonl", "messages_labelled_sample.jsonl")


@lru_cache(maxsize=1)
def _rows() -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for name in DATA_FILES:
        path = DATA_DIR / name
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        row = json.loads(line)
                        rows.setdefault(row["external_id"], row)
    return rows


def real(external_id: str) -> dict:
    rows = _rows()
    if not rows:
        pytest.skip("../shared/data not available")
    if external_id not in rows:
        pytest.skip(f"{external_id} not in ../shared/data")
    return rows[external_id]
