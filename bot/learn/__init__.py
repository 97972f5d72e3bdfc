"""Learned judgements on message text: routing suggestions and the category.

Pure CPU on lists of examples: no database, no Telegram, no clock. :func:`train` fits a
:class:`LinearTextModel` (immutable, shareable across threads) from ``(text, label)`` pairs;
:func:`message_text` makes the one text of a title and a body.
"""

from bot.learn.features import message_text, without_names
from bot.learn.model import LinearTextModel, Suggestion
from bot.learn.train import MIN_EXAMPLES, train

__all__ = ["MIN_EXAMPLES", "LinearTextModel", "Suggestion", "message_text", "train", "without_names"]
