"""Telegram handlers: parse an update, call the workflow, let it queue the answer."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import buttons, commands, deadlines, export, leaders, method, setup, topics

# the commands, in menu order; their menu descriptions are catalogue strings ``menu.<name>_plain``
COMMANDS = (
    ("claim", commands.claim),
    ("reply", commands.reply),
    ("show", commands.show),
    ("mine", commands.mine),
    ("route", commands.route),
    ("supervise", commands.supervise),
    ("assign", topics.assign),
    ("note", topics.note),
    *deadlines.COMMANDS,
    *leaders.COMMANDS,
    *export.COMMANDS,
    *method.COMMANDS,
    ("id", setup.id_command),
    ("help", commands.help_command),
    ("start", commands.start),
)


def register(app: Application) -> None:
    for name, callback in COMMANDS:
        app.add_handler(CommandHandler(name, callback))
    app.add_handler(CallbackQueryHandler(buttons.on_button))
    # the bot joined a group: tell its id (a group of its own, beside the delivery's housekeeping)
    app.add_handler(ChatMemberHandler(setup.on_added, ChatMemberHandler.MY_CHAT_MEMBER), group=1)
    # which groups are forums, learned from every update (before anything else looks at it)
    app.add_handler(TypeHandler(Update, topics.learn_forum), group=-1)
    # a plain message of an item's holder in its topic is a progress note
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.SUPERGROUP,
                                   topics.on_topic_message), group=2)
