"""Measure learned routing suggestions on the real A-city messages, over time: two implementations.

Run from the repository root (one core for about two minutes)::

    python -m tests.bench.routing_learned [--folds 5] [--impl own,sklearn]

Labels: the messages of ``../shared/data/messages_a_city_2017_2020.jsonl`` that name exactly one
of the nine districts (A1区 … A6区, A7县, A8县, A9市); every district name is then removed from
their text, so the model must place them by what is left (estates, roads, towns, offices), as it
must for the messages the rules leave unrouted. Sorted by time and cut into ``folds + 1`` equal
blocks; fold k trains on blocks 0..k-1 and is tested on block k (cross-validation over time: the
model never sees the future). Figures are pooled over the folds:

* top-1 accuracy and top-3 recall (the right district among the three suggestions);
* coverage and precision at score >= 0.5 / 0.6 / 0.7 / 0.9: the share of test messages whose best
  suggestion scores that much, and the share of those that are right (the target: >= 85% at 0.5);
* ECE, the expected calibration error of the best suggestion's score (10 bins);
* training CPU time and the peak memory it adds, on 4,000 examples, predict CPU time per message (one at a
  time, as intake calls it; and with three reasons per suggestion where the implementation gives
  them), in a fresh process each; import time and resident memory of a bare interpreter after
  importing the implementation;
* installed size of what the implementation adds to the project's dependencies.

Implementations: ``own`` is :mod:`bot.learn` (numpy/scipy: ridge classifier by conjugate gradients,
temperature-calibrated); ``sklearn`` is TfidfVectorizer(char_wb 2-4, sublinear tf) + LinearSVC in
CalibratedClassifierCV (sigmoid, 3 folds), the textbook setup.

Figures (December 2026, 2 shared cores, CPU times): own (title counted twice, as the service
learns) — top-1 52.7%, top-3 74.8%, >= 0.5 on 45.7% at 80.5% right, >= 0.6 36.7% at 86.7%, >= 0.7
30.0% at 91.5%, >= 0.9 17.1% at 98.6%, ECE 0.026; 4,000 examples trained in 10 s adding 200 MB;
0.97 ms per message (1.97 ms with reasons); import 77 MB. The last fold (trained on 2,090): top-1
60.2%, top-3 81.8%, >= 0.5 57.8% at 80.5%, >= 0.7 39.6% at 92.1%. (With the title once: top-1
51.9%, top-3 73.5%, >= 0.5 43.8% at 80.3%.) sklearn (title once) — top-1 50.1%, top-3 74.0%,
>= 0.5 26.6% at 91.7%, never >= 0.9, ECE 0.105; 14 s and 589 MB; 4.4 ms per message; import
123 MB; +48 MB installed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.bench.common import proc_status_kb
from tests.bench.routing_eval import A_CITY_REGIONS, DATA_FILE, load_rows

THRESHOLDS = (0.5, 0.6, 0.7, 0.9)
_DISTRICT = re.compile("|".join(map(re.escape, A_CITY_REGIONS)))


def labelled_examples(rows: Sequence[dict]) -> list[tuple[str, str]]:
    """(text without district names, district) of the rows naming exactly one district, by time;
    the text as the service learns routing from it (:func:`bot.learn.routing_text`)."""
    from bot.learn import routing_text, without_names

    found = []
    for row in sorted(rows, key=lambda r: r["received_at"]):
        text = routing_text(row["title"], row["body"])
        named = set(_DISTRICT.findall(text))
        if len(named) == 1:
            found.append((without_names(text, A_CITY_REGIONS), named.pop()))
    return found


def training_set(rows: Sequence[dict], size: int) -> list[tuple[str, str]]:
    """``size`` examples for timing: the labelled ones, topped up with other messages under a
    district drawn at random (no pattern to find: the optimiser's worst case)."""
    from bot.learn import message_text

    examples = labelled_examples(rows)
    rng = np.random.default_rng(0)
    others = [message_text(r["title"], r["body"]) for r in rows]
    while len(examples) < size:
        examples.append((others[len(examples) % len(others)],
                         A_CITY_REGIONS[int(rng.integers(len(A_CITY_REGIONS)))]))
    return examples[:size]


# -- the two implementations behind one interface ----------------------------------------------


class Impl:
    """fit(examples) then proba(texts) -> (labels, matrix) and predict_one(text)."""

    name = ""
    modules: tuple[str, ...] = ()

    def fit(self, examples: Sequence[tuple[str, str]]) -> None:
        raise NotImplementedError

    def proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        raise NotImplementedError

    def predict_one(self, text: str) -> object:
        raise NotImplementedError

    def predict_explained(self, text: str) -> object | None:
        """A prediction with its reasons, where the implementation gives them (else None)."""
        return None


class Own(Impl):
    name = "own"
    modules = ("bot.learn",)

    def fit(self, examples: Sequence[tuple[str, str]]) -> None:
        from bot.learn import train

        self.model = train(examples)

    def proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        return list(self.model.labels), self.model.probabilities_many(list(texts))

    def predict_one(self, text: str) -> object:
        return self.model.suggest(text, 3, explain=0)

    def predict_explained(self, text: str) -> object:
        return self.model.suggest(text, 3, explain=3)


class Sklearn(Impl):
    name = "sklearn"
    modules = ("sklearn.feature_extraction.text", "sklearn.svm", "sklearn.calibration")

    def fit(self, examples: Sequence[tuple[str, str]]) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        from bot.learn.features import normalise

        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2,
                                          sublinear_tf=True, preprocessor=normalise)
        x = self.vectorizer.fit_transform([t for t, _ in examples])
        self.clf = CalibratedClassifierCV(LinearSVC(), cv=3, method="sigmoid")
        self.clf.fit(x, [lab for _, lab in examples])

    def proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        return list(self.clf.classes_), self.clf.predict_proba(self.vectorizer.transform(texts))

    def predict_one(self, text: str) -> object:
        p = self.clf.predict_proba(self.vectorizer.transform([text]))[0]
        return np.argsort(-p)[:3]


IMPLS: dict[str, Callable[[], Impl]] = {"own": Own, "sklearn": Sklearn}


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Pooled:
    right: list[bool]
    in_top3: list[bool]
    score: list[float]
    fit_seconds: list[float]
    fold: list[int]
    train_sizes: list[int]

    def part(self, k: int) -> Pooled:
        keep = [i for i, f in enumerate(self.fold) if f == k]
        return Pooled([self.right[i] for i in keep], [self.in_top3[i] for i in keep],
                      [self.score[i] for i in keep], [], [k] * len(keep), [])

    def line(self) -> dict[str, float]:
        right, score = np.array(self.right), np.array(self.score)
        out = {"n": float(len(right)), "acc": right.mean(), "top3": np.mean(self.in_top3)}
        for t in THRESHOLDS:
            sel = score >= t
            out[f"cov{t}"] = sel.mean()
            out[f"prec{t}"] = right[sel].mean() if sel.any() else float("nan")
        bins = np.minimum((score * 10).astype(int), 9)
        out["ece"] = sum(abs(right[bins == b].mean() - score[bins == b].mean()) * (bins == b).mean()
                         for b in range(10) if (bins == b).any())
        return out


def cross_validate(impl: Callable[[], Impl], examples: Sequence[tuple[str, str]],
                   folds: int) -> Pooled:
    blocks = np.array_split(np.arange(len(examples)), folds + 1)
    pooled = Pooled([], [], [], [], [], [])
    for k in range(1, folds + 1):
        train = [examples[i] for b in blocks[:k] for i in b]
        test = [examples[i] for i in blocks[k]]
        pooled.train_sizes.append(len(train))
        model = impl()
        started = time.process_time()
        model.fit(train)
        pooled.fit_seconds.append(time.process_time() - started)
        labels, p = model.proba([t for t, _ in test])
        for (_, truth), row in zip(test, p, strict=True):
            order = np.argsort(-row)
            pooled.right.append(labels[order[0]] == truth)
            pooled.in_top3.append(truth in {labels[i] for i in order[:3]})
            pooled.score.append(float(row[order[0]]))
            pooled.fold.append(k)
    return pooled


# Peak memory from /proc (VmHWM): getrusage's ru_maxrss survives exec, so a child of a large
# parent would report the parent's peak.
_IMPORT_PROBE = """
import importlib, json, sys, time
def hwm():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
before = hwm()
started = time.perf_counter()
for module in sys.argv[1:]:
    importlib.import_module(module)
print(json.dumps({"import_s": time.perf_counter() - started, "rss_import_mb": hwm() / 1024,
                  "rss_bare_mb": before / 1024}))
"""


def import_cost(name: str) -> dict[str, float]:
    """Import time and resident memory of a bare interpreter that imports the implementation."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, *IMPLS[name].modules],
                          capture_output=True, text=True, check=True, timeout=300)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _child(name: str, size: int, data: Path) -> None:
    """In a fresh process: training and prediction cost, as JSON on stdout."""
    rows = load_rows(data)
    examples = training_set(rows, size)
    impl = IMPLS[name]()
    rss_before = proc_status_kb()["VmHWM"] / 1024
    started = time.process_time()
    impl.fit(examples)
    train_s = time.process_time() - started
    texts = [t for t, _ in examples[:500]]
    started = time.process_time()
    for text in texts:
        impl.predict_one(text)
    predict_ms = (time.process_time() - started) / len(texts) * 1000
    started = time.process_time()
    explained = [impl.predict_explained(text) for text in texts]
    explain_ms = ((time.process_time() - started) / len(texts) * 1000
                  if explained[0] is not None else float("nan"))
    print(json.dumps({"explain_ms": explain_ms, "train_s": train_s,
                      "rss_fit_mb": proc_status_kb()["VmHWM"] / 1024 - rss_before,
                      "predict_ms": predict_ms}))


def installed_mb(name: str) -> float:
    """What the implementation adds to the installed dependencies (numpy and scipy are there)."""
    if name == "own":
        return 0.0
    import importlib.util

    total = 0
    for dist in ("sklearn", "joblib", "threadpoolctl"):
        spec = importlib.util.find_spec(dist)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent if spec.origin.endswith("__init__.py") else Path(spec.origin)
        files = root.rglob("*") if root.is_dir() else [root]
        total += sum(f.stat().st_size for f in files if f.is_file())
    return total / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--impl", default="own,sklearn")
    parser.add_argument("--train-size", type=int, default=4000)
    parser.add_argument("--data", type=Path, default=DATA_FILE)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.train_size, args.data)
        return 0
    if not args.data.exists():
        print(f"data file not found: {args.data}", file=sys.stderr)
        return 2
    examples = labelled_examples(load_rows(args.data))
    print(f"{len(examples)} messages naming exactly one district; {args.folds} time folds "
          f"(expanding window), pooled test messages below\n")
    head = ("| impl | test n | top-1 | top-3 | "
            + " | ".join(f"cov@{t} | prec@{t}" for t in THRESHOLDS)
            + " | ECE | fit CPU s (all folds) | train 4k CPU s | predict ms/msg | with reasons ms "
            "| import s "
            "| RSS after import MB | RSS added by training MB | installed MB |")
    print(head)
    print("|" + "---|" * head.count(" | ") + "---|")
    per_fold: dict[str, Pooled] = {}
    for name in args.impl.split(","):
        pooled = per_fold[name] = cross_validate(IMPLS[name], examples, args.folds)
        f = pooled.line()
        child = subprocess.run(
            [sys.executable, "-m", "tests.bench.routing_learned", "--child", name,
             "--train-size", str(args.train_size), "--data", str(args.data)],
            capture_output=True, text=True, check=True, timeout=900)
        c = json.loads(child.stdout.strip().splitlines()[-1]) | import_cost(name)
        print(f"| {name} | {int(f['n'])} | {f['acc']:.1%} | {f['top3']:.1%} "
              + " ".join(f"| {f[f'cov{t}']:.1%} | {f[f'prec{t}']:.1%}" for t in THRESHOLDS)
              + f" | {f['ece']:.3f} | {sum(pooled.fit_seconds):.1f} | {c['train_s']:.1f} "
              f"| {c['predict_ms']:.2f} | {c['explain_ms']:.2f} | {c['import_s']:.2f} | {c['rss_import_mb']:.0f} "
              f"| {c['rss_fit_mb']:.0f} | {installed_mb(name):.0f} |", flush=True)
    print("\nper fold: trained on | tested on | top-1 | top-3 | cov@0.5 | prec@0.5 | cov@0.7 | prec@0.7")
    for name, pooled in per_fold.items():
        for k, size in enumerate(pooled.train_sizes, 1):
            f = pooled.part(k).line()
            print(f"{name:>8} {size:5d} {int(f['n']):5d}  {f['acc']:.1%} {f['top3']:.1%}  "
                  f"{f['cov0.5']:.1%} {f['prec0.5']:.1%}  {f['cov0.7']:.1%} {f['prec0.7']:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
