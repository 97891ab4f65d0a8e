"""Readiness and Prometheus metrics: requests by route template and status, latency,
replies by kind and channel, log write failures, the index served."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import office_of
from web.app import create_app
from web.metrics import Metrics


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line
                                               for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_ready_and_metrics(web_bot, seed_settings):
    settings = seed_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(settings, bot=web_bot, office=office_of(web_bot))) as client:
        assert client.get("/api/ready").json() == {"status": "ready"}
        before = client.get("/metrics").text
        client.post("/api/chat", json={"message": "确诊脑膜瘤以后要怎么随访"})
        client.post("/api/chat", json={"message": "How do I renew my passport?"})
        client.post("/api/chat", json={"message": "腰痛，今天突然大小便失禁"})
        client.post("/api/chat", json={"message": ""})
        client.get("/admin/conversations/abc")  # a path parameter: counted by template
        after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    for kind in ("answer", "fallback", "urgent"):
        assert _metric(text, "faqbot_replies_total", kind=kind, channel="web") == \
            _metric(before, "faqbot_replies_total", kind=kind, channel="web") + 1
    assert _metric(text, "faqbot_http_requests_total", route="/api/chat", method="POST",
                   status="422") >= 1
    assert _metric(text, "faqbot_http_requests_total",
                   route="/admin/conversations/{session_id}", method="GET") >= 1
    assert "/admin/conversations/abc" not in text
    assert _metric(text, "faqbot_http_request_seconds_count", route="/api/chat") >= 4
    assert _metric(text, "faqbot_index_info") == len(web_bot.retriever.index.chunks)
    assert "faqbot_log_write_failures_total" in text


def test_not_ready_before_the_index_is_loaded(seed_settings):
    app = create_app(seed_settings)  # no bot yet: the lifespan would load it
    client = TestClient(app)  # not entered: no lifespan, nothing loaded
    response = client.get("/api/ready")
    assert response.status_code == 503 and "not loaded" in response.json()["detail"]


def test_a_starting_server_answers_health_and_turns_the_rest_away(seed_settings, tmp_path):
    """A replica waiting for its first published build (shared builds, none yet): alive,
    not ready, and every other request a 503 to retry, not an error."""
    settings = seed_settings.model_copy(update={
        "builds": "shared", "worker": "off", "index_dir": tmp_path / "index",
        "database_url": f"sqlite:///{tmp_path}/log.sqlite"})
    with TestClient(create_app(settings)) as client:
        time.sleep(0.5)
        assert client.get("/api/health").json()["status"] == "starting"
        assert client.get("/api/ready").status_code == 503
        refused = client.post("/api/chat", json={"message": "腰痛怎么办"})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert "starting" in refused.json()["detail"]
        assert client.get("/admin/login").status_code == 503
        assert client.get("/widget.js").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_a_bot_loaded_at_start_counts_into_the_apps_metrics(seed_settings, tmp_path):
    settings = seed_settings.model_copy(update={
        "rate_limit_per_minute": 0, "database_url": f"sqlite:///{tmp_path}/log.sqlite"})
    with TestClient(create_app(settings)) as client:  # the lifespan loads the bot
        deadline = time.monotonic() + 60
        while client.get("/api/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        client.post("/api/chat", json={"message": "确诊脑膜瘤以后要怎么随访"})
        text = client.get("/metrics").text
    assert _metric(text, "faqbot_replies_total", kind="answer", channel="web") == 1
    assert _metric(text, "faqbot_http_requests_total", route="/api/chat", method="POST",
                   status="200") == 1


def test_a_workers_metrics_file_still_being_created_does_not_fail_the_scrape(tmp_path,
                                                                             monkeypatch):
    """prometheus-client creates a worker's file empty and sizes it afterwards: a scrape in
    between (or after the worker died there) reports the others' counts."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "from web.metrics import Metrics\n"
                    "Metrics().replies.labels('answer', 'web').inc(3)"],
                   env=env, check=True, cwd=Path(__file__).parent.parent)
    assert list(tmp_path.glob("counter_*.db"))  # the other worker's counts
    (tmp_path / "counter_999999.db").touch()  # one being created
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = Metrics().exposition().decode()
    assert _metric(text, "faqbot_replies_total", kind="answer", channel="web") == 3
