"""Operator accounts for the console: argon2 password hashes, lockout after repeated
failures, server-side sessions (only a hash of the session token is stored) with a CSRF
token each. Tables live in the conversation log's database (backoffice/migrations)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from backoffice.database import Database, operator_sessions, operators
from bot.errors import DatabaseError, InputError

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)
MIN_PASSWORD_CHARS = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_hasher = PasswordHasher()
# Verified when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not a password")


ROLES = ("admin", "editor", "reviewer")
# What each role may do: admin everything; editors the knowledge base (documents, curated
# answers, alternate phrasings, synonyms, batch tests); reviewers the conversations, their
# review marks and the test screen. Everyone sees the dashboard.
PERMISSIONS = {
    "admin": frozenset({"users", "knowledge", "conversations", "test", "audit"}),
    "editor": frozenset({"knowledge", "test", "audit"}),
    "reviewer": frozenset({"conversations", "test"}),
}


@dataclass(frozen=True)
class OperatorSession:
    username: str
    csrf_token: str
    role: str = "admin"

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


class OperatorStore:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def create_user(self, username: str, password: str, role: str = "admin") -> None:
        if not _USERNAME.match(username):
            raise InputError("username: 2-64 letters, digits or _.@-")
        if role not in ROLES:
            raise InputError(f"role: one of {', '.join(ROLES)}")
        _check_password(password)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(operators).values(
                    username=username, password_hash=_hasher.hash(password),
                    created_at=datetime.now(UTC), failed_logins=0, role=role))
        except IntegrityError:
            raise InputError(f"operator {username!r} exists already") from None

    def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        with self.engine.begin() as conn:
            done = conn.execute(update(operators).where(operators.c.username == username)
                                .values(password_hash=_hasher.hash(password), failed_logins=0,
                                        locked_until=None)).rowcount
        if not done:
            raise InputError(f"no operator {username!r}")

    def login(self, username: str, password: str) -> str | None:
        """A new session token, or None (wrong name or password, or locked out)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(select(operators).where(operators.c.username == username)
                               ).first()
            if row is None:
                _verify(_DUMMY_HASH, password)
                return None
            locked = row.locked_until is not None and _aware(row.locked_until) > now
            # Checked even when locked: a locked account answers as slowly as a wrong
            # password, so the time taken does not tell an attacker it is locked.
            right = _verify(row.password_hash, password)
            if locked or not right:
                failures = row.failed_logins + (0 if locked else 1)
                values: dict = {"failed_logins": failures}
                if failures >= MAX_FAILURES and not locked:
                    values.update(locked_until=now + LOCKOUT, failed_logins=0)
                conn.execute(update(operators).where(operators.c.username == username)
                             .values(**values))
                return None
            conn.execute(update(operators).where(operators.c.username == username)
                         .values(failed_logins=0, locked_until=None))
            token = secrets.token_urlsafe(32)
            conn.execute(insert(operator_sessions).values(
                token_hash=_digest(token), username=username,
                csrf_token=secrets.token_urlsafe(32), expires_at=now + SESSION_LIFETIME))
            conn.execute(delete(operator_sessions).where(operator_sessions.c.expires_at < now))
        return token

    def session(self, token: str | None) -> OperatorSession | None:
        if not token or len(token) > 100:
            return None
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(operator_sessions, operators.c.role)
                    .join(operators, operators.c.username == operator_sessions.c.username)
                    .where(operator_sessions.c.token_hash == _digest(token))).first()
        except SQLAlchemyError as exc:
            raise DatabaseError("operator sessions unavailable") from exc
        if row is None or _aware(row.expires_at) < datetime.now(UTC):
            return None
        return OperatorSession(row.username, row.csrf_token, row.role)

    def set_role(self, username: str, role: str) -> None:
        if role not in ROLES:
            raise InputError(f"role: one of {', '.join(ROLES)}")
        with self.engine.begin() as conn:
            done = conn.execute(update(operators).where(operators.c.username == username)
                                .values(role=role)).rowcount
        if not done:
            raise InputError(f"no operator {username!r}")

    def users(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(operators.c.username, operators.c.role,
                                       operators.c.created_at).order_by(operators.c.username))
            return [dict(row._mapping) for row in rows]

    def logout(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(operator_sessions).where(
                operator_sessions.c.token_hash == _digest(token)))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"password: at least {MIN_PASSWORD_CHARS} characters")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
