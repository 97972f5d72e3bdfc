"""Tests of the Bot API stand-in, driven through python-telegram-bot over real HTTP on 127.0.0.1.

The client is PTB itself on purpose: what matters is that PTB raises the same exceptions against the
stand-in as against Telegram (BadRequest, RetryAfter, ChatMigrated, Forbidden, TimedOut), and that
PTB's own request encoding (form fields, JSON strings, multipart) is understood.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import struct
import warnings
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.standin import BOT_ID, BotApiStandin, FakeClock
from bot.standin.html import EntityParseError, finish_text, parse_html

# PTB warns about RetryAfter.retry_after becoming a timedelta when it builds the exception; that is
# PTB's business, not this test's.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

TOKEN = "123456789:AAF-stand_in-test-token"
GROUP = -1001000000100
GROUP2 = -1001000000200
OFFICER = 1001


def _png(width: int = 4, height: int = 3) -> bytes:
    """A tiny valid PNG, built by hand so the test needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is an int (deprecated) or a timedelta depending on PTB_TIMEDELTA."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _kb(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d[:10] or "x", callback_data=d) for d in data]])


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandin]:
    async with BotApiStandin() as standin:
        standin.register_chat(GROUP, "兰州市", type="supergroup")
        standin.register_chat(GROUP2, "天水市", type="supergroup")
        standin.register_user(OFFICER, "张三", username="zhangsan")
        yield standin


@pytest.fixture
async def bot(api: BotApiStandin) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url) as client:
        yield client


# --------------------------------------------------------------------------- basics


async def test_get_me_and_html_message_is_stored_parsed(api: BotApiStandin, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (BOT_ID, "liuyan_bot", "liuyan", True)

    html = "<b>#12 兰州</b> 路灯不亮 &lt;急&gt; <a href=\"https://example.org/x\">原文</a>"
    sent = await bot.send_message(GROUP, html, parse_mode="HTML", reply_markup=_kb("claim:12"))
    assert sent.message_id == 1
    assert sent.text == "#12 兰州 路灯不亮 <急> 原文"
    stored = api.messages(GROUP)[0]
    assert stored.html == html and stored.parse_mode == "HTML" and stored.kind == "text"
    assert stored.text == sent.text
    types = {(e["type"], e["offset"], e["length"]) for e in stored.entities}
    assert ("bold", 0, 6) in types and ("text_link", 16, 2) in types
    assert stored.callback_data() == ["claim:12"]
    assert sent.reply_markup is not None and sent.reply_markup.inline_keyboard[0][0].callback_data == "claim:12"

    # Message ids count per chat from 1; the log orders sends across chats.
    assert (await bot.send_message(GROUP, "second")).message_id == 2
    assert (await bot.send_message(GROUP2, "other chat")).message_id == 1
    assert [(r.chat_id, r.message_id) for r in api.sent_log] == [(GROUP, 1), (GROUP, 2), (GROUP2, 1)]
    snapshot = api.chats_snapshot()
    json.dumps(snapshot)  # the web page gets it as JSON
    lanzhou = next(c for c in snapshot["chats"] if c["id"] == GROUP)
    assert lanzhou["messages"][0]["buttons"][0][0]["callback_data"] == "claim:12"


@pytest.mark.parametrize(
    "text",
    [
        "a < b",  # bare <
        "<p>段落</p>",  # unknown tag
        "<b>未闭合",  # unclosed
        "<b>x</i>",  # mismatched
        "x</b>",  # end tag without start
        "AT&T",  # bare & (the stand-in is stricter than Telegram here)
        "&nbsp;",  # unknown named entity
        '<span class="x">s</span>',  # span without tg-spoiler
    ],
)
async def test_bad_html_is_rejected_like_telegram(api: BotApiStandin, bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(GROUP, text, parse_mode="HTML")
    assert api.messages(GROUP) == []
    assert api.stats["400"] == 1


async def test_text_limits_count_utf16_units_after_parsing(api: BotApiStandin, bot: Bot) -> None:
    emoji = "\U0001f600"  # two UTF-16 units
    assert len(emoji * 2048) == 2048
    await bot.send_message(GROUP, emoji * 2048)  # 4096 units: fine
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(GROUP, emoji * 2048 + "a")  # 4097 units
    # Tags do not count, entities decode to one character.
    await bot.send_message(GROUP, "<b>" + "a" * 4095 + "</b>&amp;", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(GROUP, "<b></b>  ", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(GROUP, _png(), caption="字" * 1025)
    assert len(api.messages(GROUP)) == 2


async def test_callback_data_is_limited_in_utf8_bytes(api: BotApiStandin, bot: Bot) -> None:
    ok = "办" * 21 + "x"  # 63 + 1 = 64 bytes
    too_long = "办" * 21 + "xy"  # 65 bytes, 23 characters
    await bot.send_message(GROUP, "card", reply_markup=_kb(ok))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(GROUP, "card", reply_markup=_kb(too_long))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(GROUP, "card", reply_markup=_kb(""))
    assert [m.callback_data() for m in api.messages(GROUP)] == [[ok]]


async def test_edit_rules(api: BotApiStandin, bot: Bot) -> None:
    card = await bot.send_message(GROUP, "<b>#1</b> 待认领", parse_mode="HTML", reply_markup=_kb("claim:1"))
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("<b>#1</b> 待认领", GROUP, card.message_id, parse_mode="HTML", reply_markup=_kb("claim:1"))
    # <strong> parses to the same entities: still not modified.
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("<strong>#1</strong> 待认领", GROUP, card.message_id, parse_mode="HTML", reply_markup=_kb("claim:1"))
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", GROUP, 999)
    # Same text without reply_markup removes the keyboard: that is a change.
    edited = await bot.edit_message_text("<b>#1</b> 待认领", GROUP, card.message_id, parse_mode="HTML")
    assert edited.reply_markup is None
    await bot.edit_message_reply_markup(GROUP, card.message_id, reply_markup=_kb("reply:1"))
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(GROUP, card.message_id, reply_markup=_kb("reply:1"))
    stored = api.message(GROUP, card.message_id)
    assert stored.edit_count == 2 and stored.callback_data() == ["reply:1"]
    assert [h["reply_markup"] is not None for h in stored.history] == [True, False]
    assert await bot.delete_message(GROUP, card.message_id)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(GROUP, card.message_id)
    assert api.messages(GROUP) == []


# --------------------------------------------------------------------------- errors PTB must map


async def test_flood_limits_use_a_strict_sliding_window() -> None:
    clock = FakeClock()
    async with BotApiStandin(clock=clock) as api, Bot(TOKEN, base_url=api.base_url) as bot:
        for _ in range(10):
            await bot.send_message(GROUP, "t0")
        clock.advance(30)
        for _ in range(10):
            await bot.send_message(GROUP, "t30")
        clock.advance(29.5)  # t = 59.5: all 20 are still inside the last 60 s
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(GROUP, "21st")
        assert _seconds(info.value) == 1  # ceil(60 - 59.5)
        await bot.send_message(GROUP2, "another group is not affected")
        clock.advance(0.5)  # t = 60: the ten from t = 0 have left the window
        for _ in range(10):
            await bot.send_message(GROUP, "t60")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(GROUP, "over again")
        assert _seconds(info.value) == 30  # the t=30 batch frees at t=90
        # Edits count toward the per-chat window too.
        with pytest.raises(RetryAfter):
            await bot.edit_message_text("edit", GROUP, 1)
        # Overall: 30 sends per second across chats.
        clock.advance(100)
        for i in range(30):
            await bot.send_message(-1001000001000 - i % 3, f"burst {i}")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(-1001000009999, "31st in the same second")
        assert _seconds(info.value) == 1
        clock.advance(1)
        await bot.send_message(-1001000009999, "next second")
        assert api.stats["429"] == 4 and api.stats["429_limit"] == 4


async def test_limits_can_be_switched_off() -> None:
    async with BotApiStandin(enforce_limits=False) as api, Bot(TOKEN, base_url=api.base_url) as bot:
        await asyncio.gather(*(bot.send_message(GROUP, str(i)) for i in range(40)))
        assert len(api.messages(GROUP)) == 40 and api.stats["429"] == 0


async def test_injected_faults(api: BotApiStandin, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(GROUP, "x")
    assert _seconds(info.value) == 7
    api.fail_next("sendMessage", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(GROUP, "x")
    api.fail_next("sendmessage", 500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(GROUP, "x")
    api.fail_next("sendMessage", 403, chat_id=GROUP2)
    await bot.send_message(GROUP, "only the other chat fails")
    with pytest.raises(Forbidden, match="(?i)kicked"):
        await bot.send_message(GROUP2, "x")
    await bot.send_message(GROUP2, "and only once")
    api.set_down(True)
    with pytest.raises(NetworkError):
        await bot.get_me()
    api.set_down(False)
    assert [m.text for m in api.messages(GROUP)] == ["only the other chat fails"]
    assert api.stats["429"] == 1 and api.stats["500"] == 2 and api.stats["502"] == 2


async def test_migrated_group_and_kicked_bot(api: BotApiStandin, bot: Bot) -> None:
    api.register_chat(-4001, "老群", type="group")
    await bot.send_message(-4001, "before")
    api.migrate_chat(-4001, -1004001)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-4001, "after")
    assert info.value.new_chat_id == -1004001
    sent = await bot.send_message(-1004001, "after")
    assert sent.chat.type == "supergroup" and sent.chat.title == "老群" and sent.message_id == 1

    api.kick_bot(GROUP)
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "x")
    api.unkick_bot(GROUP)
    await bot.send_message(GROUP, "back")


async def test_strict_chats_and_replies() -> None:
    async with BotApiStandin(strict_chats=True) as api, Bot(TOKEN, base_url=api.base_url) as bot:
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(GROUP, "x")
        api.register_chat(GROUP, "兰州市")
        first = await bot.send_message(GROUP, "card")
        reply = await bot.send_message(GROUP, "reply", reply_to_message_id=first.message_id)
        assert reply.reply_to_message is not None and reply.reply_to_message.message_id == first.message_id
        assert api.message(GROUP, reply.message_id).reply_to_message_id == first.message_id
        with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
            await bot.send_message(GROUP, "reply", reply_to_message_id=99)


async def test_hang_makes_the_client_time_out_but_the_send_happens(api: BotApiStandin) -> None:
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(TOKEN, base_url=api.base_url, request=request) as bot:
        api.hang("sendMessage", 0.6)
        with pytest.raises(TimedOut):
            await bot.send_message(GROUP, "slow")
        # As on Telegram, the stalled request is still processed: a blind retry would duplicate it.
        msg = await api.wait_for_message(GROUP, contains="slow", timeout=3)
        assert msg.message_id == 1


async def test_documents_and_photos_over_multipart(api: BotApiStandin, bot: Bot) -> None:
    doc = await bot.send_document(GROUP, b"<html>report</html>", filename="weekly.html", caption="<i>周报</i>", parse_mode="HTML")
    assert doc.document is not None and doc.document.file_name == "weekly.html"
    photo = await bot.send_photo(GROUP, _png(40, 30), caption="图表")
    assert photo.photo[-1].width == 40 and photo.photo[-1].height == 30
    stored_doc, stored_photo = api.messages(GROUP)
    assert stored_doc.kind == "document" and stored_doc.file_bytes == b"<html>report</html>"
    assert stored_doc.text == "周报" and stored_doc.entities[0]["type"] == "italic"
    assert stored_photo.kind == "photo" and stored_photo.file_bytes == _png(40, 30)
    with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(GROUP, b"not an image")
    # A known file_id can be re-sent without uploading.
    again = await bot.send_document(GROUP2, doc.document.file_id)
    assert again.document is not None and again.document.file_id == doc.document.file_id


async def test_raw_http_shapes(api: BotApiStandin) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api.base_url}{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with session.post(f"{api.base_url}{TOKEN}/SENDMESSAGE", json={"chat_id": GROUP, "text": "json body"}) as resp:
            body = await resp.json()
            assert resp.status == 200 and body["ok"] is True and body["result"]["text"] == "json body"
        async with session.get(f"{api.base_url}{TOKEN}/sendMessage", params={"chat_id": str(GROUP), "text": "a < b", "parse_mode": "HTML"}) as resp:
            body = await resp.json()
            assert resp.status == 400
            assert body == {
                "ok": False,
                "error_code": 400,
                "description": 'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
            }
        async with session.post(f"{api.base_url}not-a-token/getMe") as resp:
            assert resp.status == 404
        api.fail_next("getMe", 429, retry_after=3)
        async with session.post(f"{api.base_url}{TOKEN}/getMe") as resp:
            assert await resp.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            }


# --------------------------------------------------------------------------- playing users


async def test_application_answers_injected_command_and_button(api: BotApiStandin) -> None:
    async def claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"claimed {' '.join(context.args or [])} by {update.effective_user.first_name}",
            reply_markup=_kb("done:3"),
        )

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer(f"ok {query.data}", show_alert=True)
        await query.edit_message_text("已办结")

    app = Application.builder().token(TOKEN).base_url(api.base_url).build()
    app.add_handler(CommandHandler("claim", claim))
    app.add_handler(CallbackQueryHandler(button))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            user_msg = api.inject_message(GROUP, OFFICER, "/claim@liuyan_bot 3")
            assert user_msg["entities"] == [{"type": "bot_command", "offset": 0, "length": 17}]
            card = await api.wait_for_message(GROUP, contains="claimed 3 by 张三")
            assert card.reply_to_message_id in (None, user_msg["message_id"])
            assert card.message_id == 2  # the user's message took id 1

            query_id = api.press_button(GROUP, card.message_id, OFFICER, "done:3")
            answer = await api.wait_callback_answer(query_id)
            assert answer["text"] == "ok done:3" and answer["show_alert"] is True
            await api.wait_for(lambda s: s.message(GROUP, card.message_id).text == "已办结")
            with pytest.raises(ValueError):
                api.press_button(GROUP, card.message_id, OFFICER, "not-on-the-card")
        finally:
            await app.updater.stop()
            await app.stop()
    assert api.stats["409"] == 0


async def test_concurrent_get_updates_conflict(api: BotApiStandin, bot: Bot) -> None:
    # Two bot processes polling with one token: the older long poll is terminated with 409.
    # (One PTB Bot cannot show this: its getUpdates connection pool has a single connection.)
    async with Bot(TOKEN, base_url=api.base_url) as other:
        first = asyncio.create_task(bot.get_updates(timeout=5, read_timeout=10))
        await api.wait_for(lambda s: s.stats["method:getUpdates"] == 1)
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await asyncio.gather(first, other.get_updates(timeout=0))
    api.inject_message(GROUP, OFFICER, "普通消息")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["普通消息"]
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert api.pending_updates() == []


async def test_webhook_delivery_with_secret(api: BotApiStandin, bot: Bot) -> None:
    received: asyncio.Queue[tuple[str | None, dict]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        api.inject_message(GROUP, OFFICER, "/start")
        secret, update = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cret" and update["message"]["text"] == "/start"
        await api.wait_for(lambda s: not s.pending_updates())
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert await bot.delete_webhook()
    finally:
        await runner.cleanup()


async def test_wait_for_timeout_says_what_is_there(api: BotApiStandin, bot: Bot) -> None:
    await bot.send_message(GROUP, "已发出的卡片")
    with pytest.raises(TimeoutError) as info:
        await api.wait_for_message(GROUP, contains="从未发出", timeout=0.05)
    assert "已发出的卡片" in str(info.value) and str(GROUP) in str(info.value)


async def test_subscribe_sees_sends_and_edits(api: BotApiStandin, bot: Bot) -> None:
    events = api.subscribe()
    sent = await bot.send_message(GROUP, "<b>hi</b>", parse_mode="HTML")
    await bot.edit_message_text("bye", GROUP, sent.message_id)
    first, second = events.get_nowait(), events.get_nowait()
    assert (first["type"], first["message"]["text"]) == ("message", "hi")
    assert (second["type"], second["message"]["text"], second["message"]["edit_count"]) == ("edit", "bye", 1)
    api.unsubscribe(events)


async def test_commands_and_misc_methods(api: BotApiStandin, bot: Bot) -> None:
    from telegram import BotCommand

    assert await bot.set_my_commands([BotCommand("claim", "认领"), BotCommand("reply", "答复")])
    assert [c.command for c in await bot.get_my_commands()] == ["claim", "reply"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Claim", "bad: upper case")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.send_chat_action(GROUP, "typing")
    chat = await bot.get_chat(GROUP)
    assert chat.title == "兰州市" and chat.type == "supergroup"
    assert await bot.delete_webhook()


# --------------------------------------------------------------------------- the HTML parser


@pytest.mark.parametrize(
    ("source", "error"),
    [  # expected texts from tdlib's own test-suite
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba>", 'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        ("🏟 🏟&lt;<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
        ("<b>x", "Can't find end tag corresponding to start tag b"),
    ],
)
def test_html_errors_match_tdlib(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as info:
        parse_html(source, strict_entities=False)
    assert str(info.value) == error


def test_html_entities_and_nesting() -> None:
    assert parse_html("&ge;&lt;&gt;&amp;&quot;&#12345678;", strict_entities=False) == ('&ge;<>&"&#12345678;', [])
    assert parse_html("&#x41;&#66;") == ("AB", [])
    text, ents = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert (text, ents) == ("x = 1", [{"type": "pre", "offset": 0, "length": 5, "language": "python"}])
    text, ents = parse_html("<blockquote expandable>引用</blockquote><tg-spoiler>秘</tg-spoiler>")
    assert [e["type"] for e in ents] == ["expandable_blockquote", "spoiler"]
    # Offsets are UTF-16: the emoji before the bold text counts two.
    assert parse_html("😀<b>x</b>")[1] == [{"type": "bold", "offset": 2, "length": 1}]
    # Trimming shifts entities; commands, hashtags and mentions are detected as Telegram does.
    text, ents = finish_text(*parse_html("\n <b>#12</b> /claim 12 @zhangsan #兰州 \n"))
    assert text == "#12 /claim 12 @zhangsan #兰州"
    assert [(e["type"], e["offset"], e["length"]) for e in ents] == [
        ("bold", 0, 3), ("bot_command", 4, 6), ("mention", 14, 9), ("hashtag", 24, 3),
    ]
