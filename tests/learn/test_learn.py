"""Learned judgements: routing suggestions and the category, from labelled examples."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from bot.learn import MIN_EXAMPLES, LinearTextModel, message_text, train
from bot.learn.category import (
    MODEL_FILE,
    categories,
    category_of,
    classify,
    known_category,
    shipped_model,
)
from bot.learn.features import ngram_spans, normalise
from tests.conftest import data_file

# -- a made-up city: each district has its own estates and roads ------------------------------

PLACES = {
    "yuelu": ["梅溪湖", "岳麓大道", "含浦", "麓谷"],
    "furong": ["五一广场", "定王台", "东湖街道", "马王堆"],
    "kaifu": ["北辰三角洲", "伍家岭", "捞刀河", "四方坪"],
}
PROBLEMS = ["路灯不亮", "噪音扰民", "停水三天", "垃圾没人清运", "占道经营", "违章建筑",
            "井盖缺失", "小区停车难"]


def examples() -> list[tuple[str, str]]:
    found = []
    for code, places in PLACES.items():
        for i, problem in enumerate(PROBLEMS):
            place = places[i % len(places)]
            found.append((message_text(f"{place}{problem}", f"我住在{place}附近，{problem}，请处理。"),
                          code))
    return found


@pytest.fixture(scope="module")
def model() -> LinearTextModel:
    return train(examples())


def test_suggests_the_district_of_a_known_place(model: LinearTextModel) -> None:
    found = model.suggest(message_text("梅溪湖附近井盖缺失", "晚上很危险"))
    assert found[0].label == "yuelu"
    assert len(found) == 3
    assert found[0].score > found[1].score >= found[2].score
    assert abs(sum(s.score for s in found) - 1.0) < 1e-6
    assert any("梅溪湖" in t for t in found[0].terms)


def test_explanation_quotes_the_citizens_words(model: LinearTextModel) -> None:
    text = message_text("北辰三角洲停车难", "ＡＢＣ栋门口")
    terms = model.explain(text, "kaifu")
    assert terms and "北辰三角洲" in terms[0]
    assert all(t in text for t in terms)
    assert model.explain(text, "nowhere") == ()


def test_min_score_and_best(model: LinearTextModel) -> None:
    text = message_text("伍家岭占道经营", "")
    assert model.best(text).label == "kaifu"
    assert model.best(text, threshold=1.01) is None
    assert all(s.score >= 0.2 for s in model.suggest(text, min_score=0.2))


def test_text_with_nothing_known_gives_the_priors(model: LinearTextModel) -> None:
    p = model.probabilities("")
    assert p.shape == (3,) and abs(p.sum() - 1.0) < 1e-9
    assert model.suggest("！！！", explain=3)[0].terms == ()


def test_save_and_load_give_the_same_answers(model: LinearTextModel, tmp_path: Path) -> None:
    path = tmp_path / "routing.npz"
    model.save(path)
    again = LinearTextModel.load(path)
    text = message_text("麓谷停水三天", "")
    assert again.labels == model.labels
    assert np.allclose(again.probabilities(text), model.probabilities(text))
    assert again.suggest(text) == model.suggest(text)
    assert again.info["examples"] == len(examples())


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a model file"):
        LinearTextModel.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, header=np.frombuffer(b'{"format": "x"}', np.uint8))
    with pytest.raises(ValueError):
        LinearTextModel.load(other)


def test_training_refuses_too_little(model: LinearTextModel) -> None:
    with pytest.raises(ValueError, match="at least"):
        train(examples()[: MIN_EXAMPLES - 1])
    with pytest.raises(ValueError, match="two labels"):
        train([(f"梅溪湖{p}", "yuelu") for p in PROBLEMS * 2])


def test_model_is_immutable(model: LinearTextModel) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.temperature = 2.0  # type: ignore[misc]


def test_features_keep_positions() -> None:
    text = "Ａ3区１２号楼，梅溪湖"
    assert len(normalise(text)) == len(text)
    assert normalise(text) == "a0区00号楼,梅溪湖"
    spans = list(ngram_spans(text))
    assert ("梅溪湖", 8, 11) in spans
    assert all(g == normalise(text)[s:e] for g, s, e in spans)
    assert not any("," in g for g, _, _ in spans)


# -- real data: routing over time, the shipped category model -----------------------------------


def test_real_routing_learned_from_earlier_messages() -> None:
    from tests.bench.routing_eval import load_rows
    from tests.bench.routing_learned import labelled_examples

    labelled = labelled_examples(load_rows(data_file("messages_a_city_2017_2020.jsonl")))
    cut = int(len(labelled) * 0.8)
    model = train(labelled[:cut])
    later = labelled[cut:]
    p = model.probabilities_many([t for t, _ in later])
    truth = np.array([model.labels.index(lab) for _, lab in later])
    top3 = np.argsort(-p, axis=1)[:, :3]
    assert (top3 == truth[:, None]).any(axis=1).mean() >= 0.7
    sure = p.max(axis=1) >= 0.7
    assert sure.mean() >= 0.2
    assert (p.argmax(axis=1)[sure] == truth[sure]).mean() >= 0.85
    # No district name is left for it to read.
    assert not any(re.search("A[1-9][区县市]", t) for t, _ in later)


def test_categories_come_from_the_data_file() -> None:
    assert categories() == ("城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障",
                            "商贸旅游", "卫生计生")
    assert known_category(" 教育文体 ") == "教育文体"
    assert known_category("教育") is None and known_category(None) is None


def test_shipped_category_model() -> None:
    assert MODEL_FILE.stat().st_size < 2 * 2**20
    model = shipped_model()
    assert set(model.labels) == set(categories())
    found = classify("学校乱收补课费", "孩子所在的中学要求学生周末到校补课，每人收费800元，请教育局查处")
    assert found is not None and found.label == "教育文体"
    assert found.terms
    assert classify("", "") is None
    assert category_of("卫生计生", "学校乱收补课费", "") == "卫生计生"
    assert category_of("其他", "医院挂号难，医生态度差", "看病排队三小时") == "卫生计生"


def test_shipped_category_model_on_labelled_messages() -> None:
    from bot.learn.build_category import read_examples

    rows = read_examples(data_file("messages_labelled_sample.jsonl"))
    model = shipped_model()
    answered = [(model.best(t, threshold=0.5, explain=0), lab) for t, lab in rows]
    right = sum(1 for b, lab in answered if b is not None and b.label == lab)
    assert right / len(rows) >= 0.85  # its own training data: a sanity check of the shipped file
