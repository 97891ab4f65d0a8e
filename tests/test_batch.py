"""Batch tests from the console: a file of questions with what is expected runs in the
background, results per line with the change since the previous run, exported as CSV;
the run logs no conversation."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.batch import BatchStore
from backoffice.database import exchanges
from bot.errors import InputError
from bot.evaluation import parse_questions
from tests.conftest import CONSOLE_PASSWORD as PASSWORD
from tests.conftest import console_for, console_login, form_csrf, office_of

ROOT = Path(__file__).resolve().parent.parent
ITEMS = [
    {"id": "a1", "lang": "zh", "question": "腰椎间盘突出有什么典型症状", "expect": "answer",
     "any": ["疼痛多为单侧"]},
    {"id": "a2", "lang": "zh", "question": "脑膜瘤是良性的吗", "expect": "answer",
     "doc": "000_9b65f6902225c386"},
    {"id": "f1", "lang": "en", "question": "How do I renew my passport?", "expect": "fallback"},
    {"id": "u1", "lang": "zh", "question": "腰痛三天了，今天突然小便解不出来", "expect": "urgent"},
    {"id": "x1", "lang": "zh", "question": "腰痛怎么办", "expect": "answer",
     "any": ["这句话不在任何资料里"]},
]


def test_questions_parse_from_jsonl_and_csv():
    jsonl = "\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS)
    assert [i["id"] for i in parse_questions(jsonl)] == ["a1", "a2", "f1", "u1", "x1"]
    csv_text = ("id,question,expect,any,lang\n"
                "c1,腰椎间盘突出有什么典型症状,answer,疼痛多为单侧 | 放射痛,zh\n"
                "c2,How do I renew my passport?,fallback,,en\n")
    parsed = parse_questions(csv_text)
    assert parsed[0]["any"] == ["疼痛多为单侧", "放射痛"] and parsed[1]["expect"] == "fallback"
    with pytest.raises(InputError, match=":2: 'expect'"):
        parse_questions('{"question": "q", "expect": "answer"}\n{"question": "q"}')
    with pytest.raises(InputError, match="header"):
        parse_questions("just,some,columns\n1,2,3\n")


@pytest.fixture
def console(own_corpus_bot):
    bot = own_corpus_bot()
    with console_for(bot, editor1="editor") as client:
        client.bot = bot
        yield client


def _run(client, name: str, body: str) -> dict:
    token = form_csrf(client.get("/admin/batch").text)
    sent = client.post("/admin/batch", data={"csrf_token": token},
                       files={"file": (name, body.encode())}, follow_redirects=False)
    assert sent.status_code == 303
    store = BatchStore(office_of(client.bot).database)
    run_id = store.recent(1)[0].id
    deadline = time.monotonic() + 120
    while (run := store.get(run_id)).results is None:
        assert time.monotonic() < deadline, "the batch test did not finish"
        time.sleep(0.3)
    return {"run": run, "page": client.get(f"/admin/batch/{run_id}").text}


def test_a_batch_runs_in_the_background_and_shows_what_changed(console):
    console_login(console, "editor1", PASSWORD)
    jsonl = "\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS)
    first = _run(console, "regression.jsonl", jsonl)
    by_id = {r["id"]: r for r in first["run"].results}
    assert [by_id[k]["passed"] for k in ("a1", "a2", "f1", "u1", "x1")] == [
        True, True, True, True, False]
    assert "first quote lacks" in by_id["x1"]["why"]
    assert first["run"].passed == 4 and "4 / 5 passed" in first["page"]
    changed = [dict(i, any=["只是在第一次运行后改掉的句子"]) if i["id"] == "a1" else
               dict(i, any=["腰痛"]) if i["id"] == "x1" else i for i in ITEMS]
    second = _run(console, "regression.jsonl", "\n".join(
        json.dumps(i, ensure_ascii=False) for i in changed))
    changes = {r["id"]: r["change"] for r in second["run"].results}
    assert changes["a1"] == "now fails" and changes["f1"] == ""
    exported = console.get(f"/admin/batch/{second['run'].id}/results.csv")
    assert exported.status_code == 200 and "now fails" in exported.text
    # The batch's questions are not visitors': nothing was logged.
    with office_of(console.bot).database.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(exchanges)).scalar_one() == 0


def test_a_bad_file_is_refused_with_its_line(console):
    console_login(console, "editor1", PASSWORD)
    token = form_csrf(console.get("/admin/batch").text)
    refused = console.post("/admin/batch", data={"csrf_token": token},
                           files={"file": ("bad.jsonl", b'{"question": "q", "expect": "x"}')})
    assert refused.status_code == 422 and "bad.jsonl:1" in refused.text
    binary = console.post("/admin/batch", data={"csrf_token": token},
                          files={"file": ("bad.csv", b"\xff\xfe\x00\x01")})
    assert binary.status_code == 422 and "UTF-8" in binary.text
