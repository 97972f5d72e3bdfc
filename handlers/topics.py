"""Working inside an item's forum topic, and the commands that came with topics.

In an item's topic the item is known: ``/claim``, ``/show``, ``/supervise`` and ``/assign <officer>``
need no number (a number naming another item is refused, naming the topic's is fine), ``/reply`` and
``/note`` take all of their argument as text, and a plain message of the holder counts as a note.
Telegram marks every message in a topic as a reply to the topic's first (service) message; that
is not a reply to a card, and :func:`replied_to` says so.

Updates also tell which groups are forums (``chat.is_forum``) and what the bot may do there (its
own membership changes); they are noted for the next item's topic.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.app_context import AppContext
from bot.delivery.forums import may_manage_topics
from bot.delivery.topics import note_forum
from bot.rules.states import Refusal
from bot.workflow import Actor
from bot.workflow.assign import assign as assign_step
from bot.workflow.notes import holder_message
from bot.workflow.notes import note as note_step
from bot.workflow.topics import topic_item
from handlers.common import actor_of, answer, command_rest, parse_number, run_step, services, split_number
from handlers.common import numbered as common_numbered


def replied_to(message: Message) -> Message | None:
    """The message this one really replies to: not the topic's creation message, which Telegram
    sets as ``reply_to_message`` on every message written in a topic."""
    replied = message.reply_to_message
    if replied is None:
        return None
    if message.is_topic_message and (replied.message_id == message.message_thread_id
                                     or replied.forum_topic_created is not None):
        return None
    return replied


async def item_of_topic(s: AppContext, message: Message | None) -> int | None:
    """The item whose topic the message was written in (None: General, a private chat, a topic
    people opened themselves)."""
    if message is None or not message.is_topic_message or message.message_thread_id is None:
        return None
    topic = await s.db.read(topic_item, message.chat.id, message.message_thread_id)
    return topic.item_id if topic is not None else None


async def numbered(s: AppContext, actor: Actor, update: Update, usage: str, *,
                   topic_item_id: int | None = None) -> tuple[int | None, str]:
    """``/command N rest``, or inside an item's topic ``/command [N] rest``: the item and the rest
    (None after answering with the usage). In a topic a number naming another item is refused.
    ``topic_item_id``: the topic's item when the caller has looked it up already."""
    rest = command_rest(update.effective_message.text)
    item_id, after, first = split_number(rest)
    if topic_item_id is None:
        topic_item_id = await item_of_topic(s, update.effective_message)
    if topic_item_id is not None:
        if item_id is None:
            return topic_item_id, rest.strip()
        if item_id != topic_item_id:
            raise Refusal("topic_other_item", {"topic": topic_item_id, "id": item_id})
        return item_id, after.strip()
    return await common_numbered(s, actor, update, usage)


async def the_item(s: AppContext, actor: Actor, update: Update, usage: str) -> int | None:
    """``/command N`` (nothing else), or ``/command`` in the item's topic: the item, or None after
    answering with the usage."""
    topic_item_id = await item_of_topic(s, update.effective_message)
    if topic_item_id is not None:
        item_id, _ = await numbered(s, actor, update, usage, topic_item_id=topic_item_id)
        return item_id
    rest = command_rest(update.effective_message.text).strip()
    item_id = parse_number(rest) if rest else None
    if item_id is None:
        await answer(s, actor, usage)
    return item_id


async def assign(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/assign N <officer>`` (supervisors; a name or a user id)."""

    async def step(s: AppContext, actor: Actor) -> None:
        item_id, officer = await numbered(s, actor, update, "usage.assign")
        if item_id is None:
            return
        if not officer:
            await answer(s, actor, "usage.assign")
            return
        await s.act(assign_step, s.workflow, item_id, actor, officer, s.now())

    await run_step(update, context, step)


async def note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/note N text``; inside the item's topic ``/note text`` (all of it is the note)."""

    async def step(s: AppContext, actor: Actor) -> None:
        message = update.effective_message
        topic_item_id = await item_of_topic(s, message)
        rest = command_rest(message.text)
        if topic_item_id is not None:
            item_id, text = topic_item_id, rest
        else:
            found, text = await common_numbered(s, actor, update, "usage.note")
            if found is None:
                return
            item_id = found
        if not text.strip():
            await answer(s, actor, "usage.note")
            return
        await s.act(note_step, s.workflow, item_id, actor, text, s.now())

    await run_step(update, context, step)


async def on_topic_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A plain message in an item's topic: its holder's counts as a progress note."""
    message = update.effective_message
    if message is None or not message.is_topic_message or not message.text:
        return
    s = services(context)
    await s.act(holder_message, s.workflow, message.chat.id, message.message_thread_id, actor_of(update),
                message.text, s.now())


async def learn_forum(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Note whether a group is a forum (every update carries its chat) and, from the bot's own
    membership changes, whether it may manage topics there. Written only when it changed."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.SUPERGROUP:
        return
    s = services(context)
    known: dict[tuple[int, str], bool] = s.extras.setdefault("forums", {})
    change: dict[str, bool] = {}
    if known.get((chat.id, "forum")) != bool(chat.is_forum):
        change["is_forum"] = bool(chat.is_forum)
    member = update.my_chat_member.new_chat_member if update.my_chat_member else None
    if member is not None:
        may = may_manage_topics(member)
        if known.get((chat.id, "manage")) != may:
            change["manage_topics"] = may
    if not change:
        return
    await s.act(note_forum, chat.id, s.now(), **change)
    known[(chat.id, "forum")] = bool(chat.is_forum)
    if "manage_topics" in change:
        known[(chat.id, "manage")] = change["manage_topics"]

