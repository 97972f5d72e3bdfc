"""The systemd unit in ``deploy/`` is one systemd accepts as it is: no unknown keys, no bad values."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "deploy" / "liuyan.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_systemd_unit_verifies_cleanly(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/opt/liuyan/bin/liuyan run --config /etc/liuyan/liuyan.toml" in text
    assert "RestartPreventExitStatus=2" in text  # a config error is not retried forever
    # verify checks that the program exists: point it at this environment's interpreter instead
    unit = tmp_path / "liuyan.service"
    unit.write_text(text.replace("/opt/liuyan/bin/liuyan run", f"{sys.executable} -m bot run"), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if str(unit) in line or "liuyan.service" in line]
    assert problems == []
