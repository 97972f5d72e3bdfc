"""Rebuild the shipped category classifier from labelled messages, and measure it.

    python -m bot.learn.build_category [--data FILE.jsonl] [--out FILE.npz] [--cv]

``FILE.jsonl`` holds one message a line with ``title``, ``body`` and ``category`` (rows whose
category is not a known one are skipped); by default the labelled sample of the 2020 Teddy Cup
data set next to the repository. The output holds weights only, no messages. ``--cv`` prints
5-fold cross-validated macro-F1 (answering always, and answering only above the threshold, with
its coverage) before writing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.learn.category import DEFAULT_THRESHOLD, MODEL_FILE, categories, known_category
from bot.learn.features import message_text
from bot.learn.train import train

DEFAULT_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
                / "messages_labelled_sample.jsonl")
#: L2 penalty of the category model, chosen by 5-fold cross-validation (0.03, 0.1, 0.3, 1 tried).
PENALTY = 0.03


def read_examples(path: Path) -> list[tuple[str, str]]:
    """(message text, category) of every row with a known category."""
    examples = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            label = known_category(row.get("category"))
            if label is not None:
                examples.append((message_text(row.get("title", ""), row.get("body", "")), label))
    return examples


def macro_f1(truth: Sequence[str], answer: Sequence[str | None], labels: Sequence[str]) -> float:
    """Mean over labels of F1; an abstention (None) counts as a miss of the true label."""
    scores = []
    for label in labels:
        tp = sum(1 for t, a in zip(truth, answer, strict=True) if t == label and a == label)
        fp = sum(1 for t, a in zip(truth, answer, strict=True) if t != label and a == label)
        fn = sum(1 for t, a in zip(truth, answer, strict=True) if t == label and a != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def cross_validate(examples: list[tuple[str, str]], *, folds: int = 5,
                   threshold: float = DEFAULT_THRESHOLD, seed: int = 0) -> dict[str, float]:
    """Macro-F1 answering always; coverage, accuracy and macro-F1 of what it answers at
    ``threshold`` (abstentions left out of the F1)."""
    order = np.random.default_rng(seed).permutation(len(examples))
    truth: list[str] = []
    best: list[str] = []
    score: list[float] = []
    for held in np.array_split(order, folds):
        held_set = set(held.tolist())
        model = train([e for i, e in enumerate(examples) if i not in held_set], penalty=PENALTY)
        p = model.probabilities_many([examples[i][0] for i in held])
        for i, row in zip(held, p, strict=True):
            truth.append(examples[i][1])
            best.append(model.labels[int(row.argmax())])
            score.append(float(row.max()))
    labels = categories()
    sure = [i for i, s in enumerate(score) if s >= threshold]
    return {
        "macro_f1": macro_f1(truth, best, labels),
        "accuracy": float(np.mean([t == b for t, b in zip(truth, best, strict=True)])),
        "coverage": len(sure) / len(truth),
        "answered_accuracy": float(np.mean([truth[i] == best[i] for i in sure])) if sure else 0.0,
        "answered_macro_f1": macro_f1([truth[i] for i in sure], [best[i] for i in sure], labels),
        "with_abstention_macro_f1": macro_f1(
            truth, [b if s >= threshold else None for b, s in zip(best, score, strict=True)],
            labels),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.learn.build_category",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--cv", action="store_true", help="print 5-fold cross-validation first")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"labelled data not found: {args.data}", file=sys.stderr)
        return 2
    examples = read_examples(args.data)
    if args.cv:
        for key, value in cross_validate(examples, threshold=args.threshold).items():
            print(f"{key:>26}: {value:.3f}")
    model = train(examples, penalty=PENALTY)
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB, {len(examples)} examples, "
          f"{len(model.vocabulary)} terms, temperature {model.temperature:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
