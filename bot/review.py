"""What operators read in the log: filtered, paged lists of exchanges, whole conversations,
exports. Queries only; the console (web/admin) renders them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import func, or_, select, update

from bot.logstore import LogStore, exchanges, feedback

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    since: date | None = None
    until: date | None = None  # inclusive
    channel: str | None = None
    lang: str | None = None
    kind: str | None = None
    thumbs_down: bool = False
    reviewed: Literal["yes", "no"] | None = None
    text: str | None = None


@dataclass
class Page:
    rows: list[dict]
    total: int
    page: int
    pages: int
    channels: list[str] = field(default_factory=list)


class Review:
    def __init__(self, logstore: LogStore) -> None:
        self.engine = logstore.engine

    def list(self, filters: Filters, page: int = 1, per_page: int = PAGE_SIZE) -> Page:
        where = _conditions(filters)
        query = select(exchanges.c.reply_id, exchanges.c.session_id, exchanges.c.created_at,
                       exchanges.c.channel, exchanges.c.lang, exchanges.c.kind,
                       exchanges.c.question, exchanges.c.top_score, exchanges.c.latency_ms,
                       exchanges.c.reviewed, _rating().label("rating")).where(*where)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(exchanges).where(*where)
                                 ).scalar_one()
            pages = max(1, -(-total // per_page))
            page = min(max(1, page), pages)
            rows = conn.execute(query.order_by(exchanges.c.created_at.desc(),
                                               exchanges.c.reply_id)
                                .limit(per_page).offset((page - 1) * per_page))
            channels = [r[0] for r in conn.execute(select(exchanges.c.channel).distinct()
                                                   .order_by(exchanges.c.channel))]
            return Page([dict(r._mapping) for r in rows], total, page, pages, channels)

    def conversation(self, session_id: str) -> list[dict]:
        """Every exchange of one session, oldest first, with the reply and latest rating."""
        query = (select(exchanges, _rating().label("rating"))
                 .where(exchanges.c.session_id == session_id)
                 .order_by(exchanges.c.created_at))
        with self.engine.connect() as conn:
            out = []
            for row in conn.execute(query):
                item = dict(row._mapping)
                item["reply"] = json.loads(item["reply"])
                out.append(item)
            return out

    def mark_reviewed(self, reply_ids: list[str], reviewed: bool = True) -> int:
        if not reply_ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(update(exchanges).where(exchanges.c.reply_id.in_(reply_ids))
                                .values(reviewed=reviewed)).rowcount

    def export(self, filters: Filters) -> Iterator[dict]:
        """Every matching exchange, newest first, with its quoted passages (streamed)."""
        query = (select(exchanges, _rating().label("rating")).where(*_conditions(filters))
                 .order_by(exchanges.c.created_at.desc()))
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=500).execute(query):
                item = dict(row._mapping)
                reply = json.loads(item.pop("reply"))
                item["created_at"] = item["created_at"].isoformat()
                item["passages"] = [{k: p.get(k) for k in ("title", "doc_id", "score", "text")}
                                    for p in reply.get("passages", [])]
                yield item


def _rating():
    """The latest rating of an exchange ('up', 'down' or None)."""
    latest = (select(feedback.c.rating).where(feedback.c.reply_id == exchanges.c.reply_id)
              .order_by(feedback.c.id.desc()).limit(1))
    return latest.scalar_subquery()


def _conditions(filters: Filters) -> list:
    where = []
    if filters.since:
        where.append(exchanges.c.created_at >= _start_of(filters.since))
    if filters.until:
        where.append(exchanges.c.created_at < _start_of(filters.until + timedelta(days=1)))
    for column, value in ((exchanges.c.channel, filters.channel),
                          (exchanges.c.lang, filters.lang), (exchanges.c.kind, filters.kind)):
        if value:
            where.append(column == value)
    if filters.reviewed:
        where.append(exchanges.c.reviewed.is_(filters.reviewed == "yes"))
    if filters.thumbs_down:
        where.append(_rating() == "down")
    if filters.text:
        needle = "%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        where.append(or_(exchanges.c.question.ilike(needle, escape="\\"),
                         exchanges.c.session_id == filters.text))
    return where


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)

