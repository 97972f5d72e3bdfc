"""Officers' commands: parse, call the workflow, let it queue the answer."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.app_context import AppContext
from bot.workflow import Actor, claims, reading, routing, supervision
from bot.workflow.answers import send_help
from bot.workflow.cards import item_for_card
from bot.workflow.notes import show_with_notes
from bot.workflow.roster import remember_private_chat
from handlers.common import answer, command_rest, is_private, run_step, split_number
from handlers.common import numbered as plain_numbered
from handlers.topics import item_of_topic, numbered, replied_to, the_item


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets, and in a private chat remembers where to reach the officer (for /show and mentions)."""

    async def step(s: AppContext, actor: Actor) -> None:
        if is_private(update) and actor.user_id is not None:
            await s.act(remember_private_chat, actor.user_id, actor.chat_id)
        await s.act(send_help, s.workflow, actor, s.now(), welcome=True)

    await run_step(update, context, step)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        await s.act(send_help, s.workflow, actor, s.now(), welcome=False)

    await run_step(update, context, step)


async def claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        topic_item_id = await item_of_topic(s, update.effective_message)
        if topic_item_id is not None:
            item_id, _ = await numbered(s, actor, update, "usage.claim", topic_item_id=topic_item_id)
            await s.act(claims.claim, s.workflow, item_id, actor, s.now())
            return
        item_id, _ = await plain_numbered(s, actor, update, "usage.claim", rest="none")
        if item_id is None:
            return
        await s.act(claims.claim, s.workflow, item_id, actor, s.now())

    await run_step(update, context, step)


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/reply N text``, or ``/reply text`` sent as a Telegram reply to the card."""

    async def step(s: AppContext, actor: Actor) -> None:
        message = update.effective_message
        rest = command_rest(message.text)
        topic_item_id = await item_of_topic(s, message)
        if topic_item_id is not None:  # in the item's topic all of it is the reply
            if not rest.strip():
                await answer(s, actor, "usage.reply")
                return
            await s.act(claims.reply, s.workflow, topic_item_id, actor, rest, s.now())
            return
        item_id, text, _ = split_number(rest)
        replied = replied_to(message)
        if item_id is None or not text.strip():
            if replied is not None and actor.chat_id is not None and rest.strip():
                item_id = await s.act(item_for_card, actor.chat_id, replied.message_id)
                text = rest
            elif item_id is not None:
                await answer(s, actor, "refuse.empty_reply")
                return
            else:
                await answer(s, actor, "usage.reply")
                return
        else:
            text = rest.strip().split(maxsplit=1)[1]
        await s.act(claims.reply, s.workflow, item_id, actor, text, s.now())

    await run_step(update, context, step)


async def route(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        item_id, region_ref = await plain_numbered(s, actor, update, "usage.route", rest="required")
        if item_id is None:
            return
        await s.act(routing.route, s.workflow, item_id, actor, region_ref, s.now())

    await run_step(update, context, step)


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        item_id = await the_item(s, actor, update, "usage.show")
        if item_id is None:
            return
        await s.act(show_with_notes, s.workflow, item_id, actor, s.now(), private=is_private(update))

    await run_step(update, context, step)


async def mine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        await s.act(reading.mine, s.workflow, actor, s.now())

    await run_step(update, context, step)


async def supervise(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        item_id = await the_item(s, actor, update, "usage.supervise")
        if item_id is None:
            return
        await s.act(supervision.supervise, s.workflow, item_id, actor, s.now())

    await run_step(update, context, step)
