"""The faqbot CLI over a real index."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from faqbot.cli import app

runner = CliRunner()


def env(settings) -> dict[str, str]:
    return {"FAQBOT_CORPUS_DIR": str(settings.corpus_dir),
            "FAQBOT_INDEX_DIR": str(settings.index_dir),
            "FAQBOT_CACHE_DIR": str(settings.cache_dir)}


def test_index_and_ask(make_settings, tmp_path, seed_bot):
    settings = make_settings()
    (settings.corpus_dir / "faq.jsonl").write_text(json.dumps(
        {"id": "s1", "question": "What is sciatica?",
         "answer": "Sciatica is pain that travels along the sciatic nerve."}) + "\n" +
        '{"broken": \n', "utf-8")
    result = runner.invoke(app, ["index"], env=env(settings))
    assert result.exit_code == 0, result.output
    assert "indexed 1 documents" in result.output and "faq.jsonl:2" in result.output
    result = runner.invoke(app, ["ask", "What is sciatica?", "--json"], env=env(settings))
    assert result.exit_code == 0, result.output
    reply = json.loads(result.output)
    assert reply["kind"] == "answer" and reply["passages"][0]["doc_id"] == "s1"


def test_flags_override_env(make_settings, seed_settings):
    result = runner.invoke(app, ["ask", "你好", "--corpus", str(seed_settings.corpus_dir),
                                 "--index", str(seed_settings.index_dir)],
                           env={"FAQBOT_CACHE_DIR": str(seed_settings.cache_dir),
                                "FAQBOT_CORPUS_DIR": "/nonexistent"})
    assert result.exit_code == 0, result.output
    assert "您好" in result.output


def test_eval_reports_pass_rates(seed_settings, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "a", "lang": "zh", "question": "小腿肚子胀痛怎么办", "expect": "answer",
         "any": ["腓肠肌"]},
        {"id": "f", "lang": "en", "question": "What causes kidney stones?", "expect": "fallback"},
        {"id": "u", "lang": "zh", "question": "腰痛，会阴部发麻，小便解不出来", "expect": "urgent"},
        {"id": "x", "lang": "en", "question": "What causes kidney stones?", "expect": "answer",
         "any": ["kidney"]},
    ]) + "\n", "utf-8")
    result = runner.invoke(app, ["eval", str(questions), "--failures"], env=env(seed_settings))
    assert result.exit_code == 3  # one expectation cannot pass
    assert "| answer | zh | 1 | 1 | 100% |" in result.output
    assert "| fallback | en | 1 | 1 | 100% |" in result.output
    assert "| urgent | zh | 1 | 1 | 100% |" in result.output
    assert "| answer | en | 0 | 1 | 0% |" in result.output
    assert "FAIL x" in result.output


def test_eval_rejects_a_malformed_file(seed_settings, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x", "expect": "maybe"}\n', "utf-8")
    result = runner.invoke(app, ["eval", str(bad)], env=env(seed_settings))
    assert result.exit_code == 1 and "expect" in result.output
