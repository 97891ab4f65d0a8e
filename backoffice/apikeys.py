"""API keys for server-to-server use of the HTTP API: created and revoked by admins (console
or `faqbot apikey`), each with its own rate limit. A key is shown once, when created; the
database keeps its SHA-256 (a key is 32 random bytes: nothing to guess from a fast hash, so
no slow password hash is needed) and a short public prefix to find it by."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update

from backoffice.audit import AuditLog
from backoffice.database import Database, api_keys
from bot.errors import InputError

PREFIX = "fbk_"
KEY = re.compile(r"^fbk_([0-9a-f]{10})_[A-Za-z0-9_-]{43}$")
MAX_RATE = 100_000
DEFAULT_RATE = 600
_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    rate_per_minute: int
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiKeyStore:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine
        self.audit = AuditLog(database)

    def create(self, name: str, rate_per_minute: int, username: str) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once, never stored)."""
        name = name.strip()
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise InputError("name: 1-64 printable characters (who uses the key)")
        if not 1 <= rate_per_minute <= MAX_RATE:
            raise InputError(f"rate limit: 1 to {MAX_RATE:,} requests a minute")
        prefix = secrets.token_hex(5)
        secret = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(api_keys).values(
                name=name, prefix=prefix, key_hash=_digest(secret),
                rate_per_minute=rate_per_minute, created_by=username,
                created_at=datetime.now(UTC))).inserted_primary_key[0]
            self.audit.record(username, "apikey.create", f"#{new_id} {name}",
                              f"{rate_per_minute}/min", conn)
        return self.get(int(new_id)), secret

    def get(self, key_id: int) -> ApiKey:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise InputError(f"no API key #{key_id}")
        return ApiKey(**row._mapping)

    def list(self) -> list[ApiKey]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS).order_by(api_keys.c.id.desc()))
            return [ApiKey(**row._mapping) for row in rows]

    def revoke(self, key_id: int, username: str) -> ApiKey:
        with self.engine.begin() as conn:
            done = conn.execute(update(api_keys).where(
                api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(
                revoked_at=datetime.now(UTC))).rowcount
            if not done:
                raise InputError(f"no active API key #{key_id}")
            self.audit.record(username, "apikey.revoke", f"#{key_id}", None, conn)
        return self.get(key_id)

    def verify(self, presented: str) -> ApiKey | None:
        """The active key `presented` is, or None (malformed, unknown or revoked)."""
        match = KEY.match(presented)
        if match is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS, api_keys.c.key_hash).where(
                api_keys.c.prefix == match.group(1))).first()
        if row is None or not hmac.compare_digest(row.key_hash, _digest(presented)):
            return None
        fields = dict(row._mapping)
        fields.pop("key_hash")
        key = ApiKey(**fields)
        if not key.active:
            return None
        now = datetime.now(UTC)
        last = key.last_used_at
        if last is None or now - (last if last.tzinfo else last.replace(tzinfo=UTC)) > \
                _TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(api_keys).where(api_keys.c.id == key.id).values(
                    last_used_at=now))
        return key


_COLUMNS = (api_keys.c.id, api_keys.c.name, api_keys.c.prefix, api_keys.c.rate_per_minute,
            api_keys.c.created_by, api_keys.c.created_at, api_keys.c.revoked_at,
            api_keys.c.last_used_at)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
