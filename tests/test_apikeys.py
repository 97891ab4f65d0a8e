"""API keys: hashed at rest, shown once, each with its own rate limit, created and revoked
in the console and the CLI; optional by default, required on demand, and the widget (a
browser on an allowed origin) never needs one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backoffice.apikeys import ApiKeyStore
from backoffice.database import api_keys
from backoffice.operators import OperatorStore
from bot.errors import InputError
from tests.conftest import CONSOLE_PASSWORD, console_login, form_csrf, office_of
from web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
QUESTION = {"message": "腰椎间盘突出有什么典型症状"}


@pytest.fixture
def store(web_bot) -> ApiKeyStore:
    return ApiKeyStore(office_of(web_bot).database)


def _client(web_bot, **settings):
    merged = {"rate_limit_per_minute": 100, **settings}
    return TestClient(create_app(web_bot.settings.model_copy(update=merged), bot=web_bot,
                                 office=office_of(web_bot)))


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_key_is_kept_only_as_its_hash(store, web_bot):
    key, secret = store.create("partner clinic", 60, "admin1")
    assert re.fullmatch(r"fbk_[0-9a-f]{10}_[A-Za-z0-9_-]{43}", secret)
    with office_of(web_bot).database.engine.connect() as conn:
        row = conn.execute(select(api_keys)).one()
    assert secret not in " ".join(str(v) for v in row) and row.prefix in secret
    assert store.verify(secret).id == key.id
    assert store.verify(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    for bad in ("", "fbk_", "x" * 200, secret + "x", "\ud800"):
        assert store.verify(bad) is None
    store.revoke(key.id, "admin1")
    assert store.verify(secret) is None
    with pytest.raises(InputError):
        store.revoke(key.id, "admin1")  # revoked already
    for name, rate in (("", 10), ("x" * 65, 10), ("ok", 0), ("ok", 10**9)):
        with pytest.raises(InputError):
            store.create(name, rate, "admin1")


def test_optional_keys_count_by_key_at_the_keys_own_rate(store, web_bot):
    _, slow = store.create("slow partner", 2, "admin1")
    _, other = store.create("other partner", 100, "admin1")
    with _client(web_bot) as client:
        assert client.post("/api/chat", json=QUESTION).status_code == 200  # no key: fine
        for _ in range(2):
            assert client.post("/api/chat", json=QUESTION, headers=_bearer(slow)).status_code \
                == 200
        limited = client.post("/api/chat", json=QUESTION, headers=_bearer(slow))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        # the same client address with another key, or without one, is not limited by it
        assert client.post("/api/chat", json=QUESTION, headers={"X-API-Key": other}
                           ).status_code == 200
        assert client.post("/api/chat", json=QUESTION).status_code == 200
        refused = client.post("/api/chat", json=QUESTION, headers=_bearer("fbk_made_up"))
        assert refused.status_code == 401 and refused.json()["detail"] == \
            "invalid or revoked API key"
        assert client.post("/api/feedback", json={"reply_id": "x", "rating": "up"},
                           headers=_bearer("nope")).status_code == 401


def test_guessing_keys_counts_against_the_client_address(store, web_bot):
    _, secret = store.create("partner", 100, "admin1")
    with _client(web_bot, rate_limit_per_minute=3) as client:
        statuses = [client.post("/api/chat", json=QUESTION,
                                headers=_bearer(f"fbk_guess_{n}")).status_code
                    for n in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        # a real key is its own: not limited by that address's guesses
        assert client.post("/api/chat", json=QUESTION, headers=_bearer(secret)).status_code \
            == 200


def test_required_keys_leave_the_widget_alone(store, web_bot):
    _, secret = store.create("partner", 100, "admin1")
    with _client(web_bot, api_keys="required",
                 allowed_origins="https://www.example.org") as client:
        assert client.post("/api/chat", json=QUESTION).status_code == 401
        assert client.post("/api/chat", json=QUESTION, headers={
            "Origin": "https://evil.example"}).status_code == 401
        assert client.post("/api/chat", json=QUESTION, headers={
            "Origin": "https://www.example.org"}).status_code == 200  # the widget elsewhere
        assert client.post("/api/chat", json=QUESTION, headers={
            "Origin": "http://testserver"}).status_code == 200  # the server's own pages
        assert client.post("/api/chat", json=QUESTION, headers=_bearer(secret)).status_code \
            == 200
        assert client.get("/api/health").status_code == 200  # not behind keys


def test_admins_create_and_revoke_keys_in_the_console(web_bot):
    operators = OperatorStore(office_of(web_bot).database)
    operators.create_user("admin1", CONSOLE_PASSWORD, "admin")
    operators.create_user("editor1", CONSOLE_PASSWORD, "editor")
    with _client(web_bot) as client:
        assert console_login(client, "editor1", CONSOLE_PASSWORD).status_code == 303
        assert client.get("/admin/keys").status_code == 403
        client.cookies.clear()
        assert console_login(client, "admin1", CONSOLE_PASSWORD).status_code == 303
        page = client.get("/admin/keys").text
        assert client.post("/admin/keys", data={"name": "partner"}).status_code == 403  # CSRF
        created = client.post("/admin/keys", data={"csrf_token": form_csrf(page),
                                                   "name": "partner", "rate_per_minute": "50"})
        secret = re.search(r'<code id="secret">([^<]+)</code>', created.text).group(1)
        assert client.post("/api/chat", json=QUESTION, headers=_bearer(secret)).status_code \
            == 200
        listing = client.get("/admin/keys").text
        assert secret not in listing and "partner" in listing and "active" in listing
        key_id = ApiKeyStore(office_of(web_bot).database).list()[0].id
        revoked = client.post(f"/admin/keys/{key_id}/revoke",
                              data={"csrf_token": form_csrf(listing)})
        assert revoked.status_code == 200 and "revoked" in revoked.text
        # refused at once on this server (elsewhere within web.access.CACHE_SECONDS)
        assert client.post("/api/chat", json=QUESTION, headers=_bearer(secret)).status_code \
            == 401
        audit = client.get("/admin/audit").text
        assert "apikey.create" in audit and "apikey.revoke" in audit


def test_keys_from_the_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env["FAQBOT_DATABASE_URL"] = f"sqlite:///{tmp_path}/log.sqlite"

    def faqbot(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "faqbot", "apikey", *args], env=env,
                              cwd=ROOT, capture_output=True, text=True)

    made = faqbot("create", "nightly sync", "--rate", "5")
    assert made.returncode == 0, made.stderr
    secret = re.search(r"(fbk_\S+)", made.stdout).group(1)
    listed = faqbot("list")
    assert "nightly sync" in listed.stdout and "5/min" in listed.stdout
    assert secret not in listed.stdout
    assert faqbot("revoke", "1").returncode == 0
    assert "revoked" in faqbot("list").stdout
    assert faqbot("revoke", "1").returncode == 1  # not active any more
    assert faqbot("create", "", "--rate", "5").returncode == 1
