"""Intent and condition matching: what a question asks and what a passage tells, in both
languages (bot/intent.py, learned from MedQuAD's question types), and how it picks the
paragraph of an article that answers the kind of question asked."""

from __future__ import annotations

import numpy as np
import pytest

from bot import intent


@pytest.mark.parametrize(("question", "expected"), [
    ("How is gout treated?", "treatment"),
    ("What are the signs of a stomach ulcer?", "symptoms"),
    ("What tests will the doctor do to check for kidney stones?", "diagnosis"),
    ("Why do people get gallstones?", "cause"),
    ("痛风一般怎么治疗？", "treatment"),
    ("胃溃疡有哪些症状", "symptoms"),
    ("肾结石要做什么检查才能确诊", "diagnosis"),
])
def test_a_question_reads_as_what_it_asks_in_either_language(embedder, question, expected):
    probabilities = intent.of_question(embedder.embed_queries([question])[0])
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert intent.INTENTS[int(np.argmax(probabilities))] == expected


@pytest.mark.parametrize(("passage", "expected"), [
    ("Treatment usually starts with rest and anti-inflammatory drugs; surgery is an option "
     "when these fail.", "treatment"),
    ("Common symptoms include pain in the big toe, redness and swelling that come on "
     "suddenly at night.", "symptoms"),
    ("治疗方法包括药物治疗、物理治疗，保守治疗无效时可考虑手术。", "treatment"),
])
def test_a_passage_reads_as_what_it_tells(embedder, passage, expected):
    probabilities = intent.of_passage(embedder.embed_passages([passage])[0])
    assert intent.INTENTS[int(np.argmax(probabilities))] == expected


def test_a_treatment_question_agrees_more_with_a_treatment_passage(embedder):
    asks = intent.of_question(embedder.embed_queries(["What can be done for gout?"])[0])
    treatment, symptoms = embedder.embed_passages([
        "Treatment usually starts with rest and anti-inflammatory drugs.",
        "Common symptoms include a hot, swollen, painful joint."])
    assert (intent.agreement(asks, intent.of_passage(treatment))
            > intent.agreement(asks, intent.of_passage(symptoms)))


def test_the_paragraph_that_answers_the_kind_of_question_comes_first(make_settings, embedder):
    """One article, a paragraph per intent: the question's intent picks the paragraph, in
    the article's language and across languages."""
    from bot.core import Bot

    settings = make_settings()
    (settings.corpus_dir / "gout.md").write_text(
        "# Gout\n\n## Causes\n\nGout happens when uric acid builds up in the blood and forms "
        "crystals in a joint. Eating a lot of red meat and drinking beer raise uric acid.\n\n"
        "## Symptoms\n\nA gout attack brings sudden, severe pain, redness and swelling, most "
        "often in the big toe, usually starting at night.\n\n## Treatment\n\nAn attack is "
        "treated with anti-inflammatory painkillers, colchicine or steroids; medicines that "
        "lower uric acid prevent further attacks.\n", "utf-8")
    bot = Bot.load(settings=settings, embedder=embedder)
    for question, wanted in (("what do they give you for a gout flare", "colchicine"),
                             ("what does a gout attack feel like", "big toe"),
                             ("痛风发作了吃什么药", "colchicine")):
        _, assessment = bot.assessment_of([question])  # the ranker's order, before deciding
        assert wanted in assessment.candidates[0].quote, question
