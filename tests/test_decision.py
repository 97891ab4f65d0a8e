"""The learned ranker and answer/decline decision (bot/decision.py): what their inputs mean,
and how the shipped models behave on the seed corpus with and without an answer."""

from __future__ import annotations

import math

import pytest

from bot.decision import DECIDE_FEATURES, RANK_FEATURES, load_model, question_features, relative


def _signals(dense: float, fused: float, coverage: float = 0.5) -> dict[str, float]:
    return {"section_coverage": coverage, "passage_coverage": coverage, "missing": 0.0,
            "dense": dense, "sentence": dense, "fused": fused, "intent": 0.2,
            "heading_cos": dense}


def test_cosines_are_compared_within_a_language_only():
    features = relative([_signals(0.9, 1.0), _signals(0.8, 2.0), _signals(0.7, 0.5)],
                        ["zh", "zh", "en"], "zh")
    assert [f["dense_gap"] for f in features] == pytest.approx([0.0, -0.1, 0.0])
    assert [f["dense_first"] for f in features] == [1.0, 0.0, 1.0]  # the best of each language
    assert [f["fused_first"] for f in features] == [0.0, 1.0, 0.0]
    assert [f["fused_rank"] for f in features] == pytest.approx([1 / 2, 1.0, 1 / 3])
    assert [f["cross"] for f in features] == [0.0, 0.0, 1.0]


def test_the_lead_is_over_the_best_candidate_of_another_article():
    ranked = relative([_signals(0.9, 2.0), _signals(0.85, 1.5), _signals(0.6, 1.0)],
                      ["en", "en", "en"], "en")
    decided = question_features(ranked, [2.0, 1.8, 0.5], [0, 0, 1], "en", topic_terms=3)
    assert decided["lead"] == pytest.approx(1.5)  # not 0.2: the second is the same article
    assert decided["score"] == 2.0 and decided["zh"] == 0.0 and decided["cross"] == 0.0
    assert decided["terms"] == pytest.approx(math.log1p(3))
    assert set(decided) == set(DECIDE_FEATURES)


def test_no_candidates_no_decision_inputs():
    assert question_features([], [], [], "zh", 2) == {}


def test_the_shipped_models_read_every_signal_they_name():
    model = load_model()
    assert set(model.rank_weights) <= set(RANK_FEATURES)
    assert set(model.decide_weights) <= set(DECIDE_FEATURES)
    assert 0.0 < model.threshold < 1.0
    assert all(math.isfinite(w) for w in [*model.rank_weights.values(),
                                          *model.decide_weights.values()])


def test_a_better_first_candidate_makes_the_decision_surer():
    model = load_model()
    ranked = relative([_signals(0.9, 2.0, 1.0), _signals(0.7, 1.0, 0.2)], ["en", "en"], "en")
    weak = relative([_signals(0.75, 1.0, 0.2), _signals(0.74, 0.9, 0.2)], ["en", "en"], "en")

    def probability(features):
        scores = [model.rank_score(f) for f in features]
        return model.answer_probability(question_features(features, scores, [0, 1], "en", 3))

    assert probability(ranked) > probability(weak)
