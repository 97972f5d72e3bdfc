"""``liuyan demo --config my.toml``: an office rehearses its own regions and roster offline — the
web chat shows its chats and people, the sample messages are routed by its aliases, and nothing of
its real Telegram, database or API is touched."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.demo.runner import DemoSandbox, run_demo
from tests.conftest import make_config

JIAYUGUAN, JIUQUAN = -1001000000700, -1001000000800
OWN = {
    "regions": [
        {"code": "620200", "name": "嘉峪关市", "chat_id": JIAYUGUAN, "aliases": ["嘉峪关", "雄关区"]},
        {"code": "620900", "name": "酒泉市", "chat_id": JIUQUAN, "aliases": ["酒泉", "肃州区", "七里河区"]},
    ],
    "officers": [
        {"user_id": 5001, "name": "孙联络", "region": "620900", "role": "officer"},
        {"user_id": 5002, "name": "周督办", "region": "*", "role": "supervisor"},
    ],
}


async def test_a_rehearsal_runs_on_the_deployments_own_chats_and_roster(tmp_path: Path) -> None:
    production_db = tmp_path / "production.db"
    own = make_config(f"sqlite:///{production_db}", **OWN)
    async with DemoSandbox(tmp_path / "demo", port=0, enforce_limits=False, scheduler=False,
                           own_config=own) as box:
        assert box.config.telegram.api_url == box.standin.base_url and box.config.api.port == 0
        assert {c["id"] for c in box.hub.chats()} >= {JIAYUGUAN, JIUQUAN}
        assert {p["name"] for p in box.hub.people() if p["in_roster"]} == {"孙联络", "周督办"}
        assert await box.post_samples() > 0
        # a sample naming 七里河区 goes to 酒泉市 here, because this office's aliases say so
        await box.standin.wait_for(lambda st: any("七里河区" in (m.text or "") for m in st.messages(JIUQUAN)))
        async with aiohttp.ClientSession() as http, http.get(f"{box.web_url}api/sandbox/state") as resp:
            assert resp.status == 200
    assert not production_db.exists()  # the deployment's own database was never opened


def test_a_bad_config_for_a_rehearsal_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    bad = tmp_path / "bad.toml"
    bad.write_text("[database]\nurl = 3\n", encoding="utf-8")
    code = asyncio.run(run_demo(port=0, folder=tmp_path / "demo", duration=0, config_path=str(bad)))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("config error: ")
