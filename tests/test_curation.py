"""From unanswered to answered: grouping what the bot could not answer, writing a curated
answer, and the bot quoting it without a restart; the dashboard over the same log. A bot of
its own (a copy of the seed corpus), since curating rebuilds its index."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from backoffice.operators import OperatorStore
from bot.core import Bot
from tests.conftest import console_login, form_csrf, office_of
from web.app import create_app

PASSWORD = "correct horse battery"
SHINGLES = ["带状疱疹会传染吗", "带状疱疹会传染吗？", "带状疱疹 会传染吗", "带状疱疹会不会传染给家里人"]
SHINGLES_ANSWER = "带状疱疹本身不会像感冒一样通过空气传染，但疱液中的病毒可使没有得过水痘的人感染水痘。"


@pytest.fixture(scope="module")
def curation_bot(own_seed_bot):
    bot = own_seed_bot("curation", rate_limit_per_minute=0)
    OperatorStore(office_of(bot).database).create_user("carol", PASSWORD)
    return bot


@pytest.fixture
def client(curation_bot):
    with TestClient(create_app(curation_bot.settings, bot=curation_bot, office=office_of(curation_bot))) as c:
        assert console_login(c, "carol", PASSWORD).status_code == 303
        yield c


def _ask(client, message: str) -> dict:
    response = client.post("/api/chat", json={"message": message})
    assert response.status_code == 200
    return response.json()


def test_unanswered_questions_are_grouped_largest_first(client):
    for question in SHINGLES + ["带状疱疹会传染吗"] * 3 + ["how do I renew my passport"]:
        assert _ask(client, question)["kind"] == "fallback"
    html = client.get("/admin/unanswered").text
    groups = html.split('<tr class="group">')[1:]
    assert groups, "no groups shown"
    first = groups[0]
    count = int(re.search(r"<strong>(\d+)</strong>", first).group(1))
    assert count >= 6 and "带状疱疹会传染吗" in first and "passport" not in first
    assert any("passport" in g for g in groups[1:])


def test_a_curated_answer_goes_live_and_can_be_retired(client, curation_bot):
    question = "肋间神经痛是什么原因"
    assert _ask(client, question)["kind"] == "fallback"
    unanswered = client.get("/admin/unanswered").text
    group = next(g for g in unanswered.split('<tr class="group">') if question in g)
    reply_ids = re.search(r'name="reply_ids" value="([^"]+)"', group).group(1)
    draft = client.post("/admin/curated/draft", data={
        "csrf_token": form_csrf(unanswered), "question": question, "reply_ids": reply_ids})
    assert draft.status_code == 200 and question in draft.text
    answer = "肋间神经痛常见于胸椎退变、带状疱疹后神经痛或肋骨外伤，需由医生检查明确原因。"
    saved = client.post("/admin/curated", data={
        "csrf_token": form_csrf(draft.text), "question_zh": question, "answer_zh": answer,
        "source_url": "https://example.org/intercostal", "reply_ids": reply_ids},
        follow_redirects=False)
    assert saved.status_code == 303
    assert "the bot uses it now" in client.get(saved.headers["location"]).text

    reply = _ask(client, question)
    assert reply["kind"] == "answer"
    assert reply["passages"][0]["text"] == answer
    assert reply["passages"][0]["url"] == "https://example.org/intercostal"
    exported = (curation_bot.settings.corpus_dir / "curated.jsonl").read_text("utf-8")
    assert json.loads(exported.splitlines()[0])["answer"] == answer
    assert question not in client.get("/admin/unanswered").text  # marked reviewed

    entry_id = int(re.search(r"saved=(\d+)", saved.headers["location"]).group(1))
    page = client.get("/admin/curated").text
    retired = client.post(f"/admin/curated/{entry_id}/retire",
                          data={"csrf_token": form_csrf(page), "retired": "1"},
                          follow_redirects=False)
    assert retired.status_code == 303
    assert _ask(client, question)["kind"] == "fallback"


def test_editing_a_curated_answer_changes_what_is_quoted(client):
    page = client.get("/admin/curated").text
    first = "带状疱疹后神经痛可以持续数月，应在医生指导下治疗。"
    saved = client.post("/admin/curated", data={
        "csrf_token": form_csrf(page), "question_zh": "带状疱疹后神经痛会持续多久",
        "answer_zh": first}, follow_redirects=False)
    entry_id = int(re.search(r"saved=(\d+)", saved.headers["location"]).group(1))
    edit = client.get(f"/admin/curated?edit={entry_id}").text
    assert first in edit
    second = "带状疱疹后神经痛多数在数月内缓解，少数持续一年以上，应在医生指导下治疗。"
    client.post(f"/admin/curated/{entry_id}", data={
        "csrf_token": form_csrf(edit), "question_zh": "带状疱疹后神经痛会持续多久",
        "answer_zh": second, "question_en": "How long does post-herpetic neuralgia last?",
        "answer_en": "It usually eases within months; see a doctor for treatment."})
    reply = _ask(client, "带状疱疹后神经痛会持续多久")
    assert reply["kind"] == "answer" and reply["passages"][0]["text"] == second
    english = _ask(client, "How long does post-herpetic neuralgia last?")
    assert english["kind"] == "answer" and "eases within months" in english["passages"][0][
        "text"]


@pytest.mark.parametrize("fields, fragment", [
    ({"question_zh": "只有问题"}, "both the question and the answer"),
    ({}, "write a question"),
    ({"question_en": "q?", "answer_en": "a.", "source_url": "javascript:alert(1)"},
     "http(s)"),
])
def test_invalid_curated_answers_are_refused_with_a_message(client, fields, fragment):
    page = client.get("/admin/curated").text
    response = client.post("/admin/curated", data={"csrf_token": form_csrf(page), **fields})
    assert response.status_code == 422 and fragment in response.text


def test_curating_needs_the_csrf_token(client):
    response = client.post("/admin/curated", data={"question_zh": "问", "answer_zh": "答"})
    assert response.status_code == 403


def test_dashboard_draws_its_charts(client):
    _ask(client, "确诊脑膜瘤以后要怎么随访")
    html = client.get("/admin/dashboard").text
    assert html.count("<svg") == 5
    assert "web" in html and "fallback" in html and "<circle" in html


def test_another_worker_loads_the_new_build(client, curation_bot, embedder):
    other = Bot.load(settings=curation_bot.settings, embedder=embedder)  # a second worker
    page = client.get("/admin/curated").text
    answer = "腱鞘炎多与手腕反复用力有关，应减少劳损并请医生评估。"
    client.post("/admin/curated", data={"csrf_token": form_csrf(page), "question_zh":
                                        "腱鞘炎是怎么引起的", "answer_zh": answer})
    assert other.retriever.index.path != curation_bot.retriever.index.path
    other.refresh_if_rebuilt(every_seconds=0)
    assert other.retriever.index.path == curation_bot.retriever.index.path
    assert other.ask("腱鞘炎是怎么引起的").passages[0].text == answer


def test_a_failed_rebuild_is_reported_and_the_bot_keeps_answering(curation_bot, tmp_path):
    not_a_directory = tmp_path / "index-is-a-file"
    not_a_directory.write_text("x")
    settings = curation_bot.settings.model_copy(update={"index_dir": not_a_directory,
                                                        "client_salt": "test salt"})
    broken = Bot(curation_bot.retriever, settings, recorder=curation_bot.recorder)
    with TestClient(create_app(settings, bot=broken, office=office_of(broken))) as c:
        assert console_login(c, "carol", PASSWORD).status_code == 303
        page = c.get("/admin/curated").text
        response = c.post("/admin/curated", data={
            "csrf_token": form_csrf(page), "question_zh": "网球肘怎么缓解",
            "answer_zh": "网球肘应减少手腕用力，必要时请医生评估。"})
        assert response.status_code == 503 and "could not rebuild its index" in response.text
        assert _ask(c, "确诊脑膜瘤以后要怎么随访")["kind"] == "answer"
