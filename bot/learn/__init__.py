"""Learned judgements on message text: routing suggestions and the category.

Pure CPU on lists of examples: no database, no Telegram, no clock. :func:`train` fits a
:class:`LinearTextModel` (immutable, shareable across threads) from ``(text, label)`` pairs;
:func:`message_text` makes the one text of a title and a body; :func:`without_names` takes the
configured place names out of a routed item's text before it becomes an example.

Measured with ``python -m tests.bench.routing_learned`` (A-city messages naming exactly one
district, district names removed, :func:`routing_text` (title twice), 5 expanding time folds, 2,089
test messages pooled): top-1 52.7%, top-3 74.8%; score >= 0.5 on 45.7% of messages, 80.5% of those
right; >= 0.6: 36.7%, 86.7% right; >= 0.7: 30.0%, 91.5%; >= 0.9: 17.1%, 98.6%; calibration error
0.026. Trained on the latest 2,090 messages: top-1 60.2%, top-3 81.8%. Against scikit-learn's TfidfVectorizer + LinearSVC +
CalibratedClassifierCV on the same folds: as accurate (top-1 50.1%, top-3 74.0%) but its
probabilities are timid (calibration error 0.105: its >= 0.5 covers what ours scores >= 0.7), and
it trains 1.5-2x slower, predicts 5x slower, and adds 48 MB of installed packages; this package
needs only numpy and scipy.
"""

from bot.learn.features import message_text, routing_text, without_names
from bot.learn.model import LinearTextModel, Suggestion
from bot.learn.train import MIN_EXAMPLES, train

__all__ = ["MIN_EXAMPLES", "LinearTextModel", "Suggestion", "message_text", "routing_text", "train", "without_names"]
