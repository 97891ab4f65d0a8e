"""What operators read in the log: filtered, paged lists of exchanges, whole conversations,
exports. Queries only; the console (web/admin) renders them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import func, or_, select, update

from backoffice.database import Database, exchanges, feedback
from bot.language import same_words_key

PAGE_SIZE = 50
# Two wordings are one question above this cosine (e5-small, query vectors, both languages).
SAME_QUESTION = 0.9


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
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

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


@dataclass
class Group:
    """Unanswered questions that ask the same thing."""

    count: int
    wordings: list[str]  # distinct, most asked first
    reply_ids: list[str]
    langs: list[str]
    last_asked: datetime


def unanswered_groups(review: Review, embed: Callable[[list[str]], np.ndarray],
                      days: int = 90, max_rows: int = 5000, max_embedded: int = 300
                      ) -> list[Group]:
    """Fallbacks and thumbs-down replies not yet reviewed, grouped: the same words first,
    then wordings whose vectors are close (across languages); largest group first."""
    since = datetime.now(UTC) - timedelta(days=days)
    query = (select(exchanges.c.reply_id, exchanges.c.question, exchanges.c.lang,
                    exchanges.c.created_at)
             .where(exchanges.c.created_at >= since, exchanges.c.reviewed.is_(False),
                    or_(exchanges.c.kind == "fallback",
                        exchanges.c.reply_id.in_(_latest_down())))
             .order_by(exchanges.c.created_at.desc()).limit(max_rows))
    with review.engine.connect() as conn:
        rows = conn.execute(query).all()
    same_words: dict[str, list] = {}
    for row in rows:
        same_words.setdefault(same_words_key(row.question), []).append(row)
    keys = sorted(same_words, key=lambda k: -len(same_words[k]))
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    embedded = keys[:max_embedded]
    if len(embedded) > 1:
        vectors = embed([same_words[k][0].question for k in embedded])
        similar = np.argwhere(np.triu(vectors @ vectors.T, 1) >= SAME_QUESTION)
        for a, b in similar:
            parent[root(int(b))] = root(int(a))
    merged: dict[int, list[str]] = {}
    for i, key in enumerate(keys):
        merged.setdefault(root(i), []).append(key)
    groups = []
    for members in merged.values():
        members.sort(key=lambda k: -len(same_words[k]))
        rows_in = [r for k in members for r in same_words[k]]
        groups.append(Group(
            count=len(rows_in), wordings=[same_words[k][0].question for k in members],
            reply_ids=[r.reply_id for r in rows_in],
            langs=sorted({r.lang for r in rows_in}),
            last_asked=max(r.created_at for r in rows_in)))
    return sorted(groups, key=lambda g: (-g.count, -g.last_asked.timestamp()))


@dataclass
class Dashboard:
    days: list[date]
    per_day: dict[str, list[int]]  # channel -> questions per day
    kinds: dict[str, int]
    ratings: dict[str, int]
    topics: list[tuple[str, int]]  # most quoted sources
    latency_p95: list[float | None]  # per day, ms
    total: int


def dashboard(review: Review, days: int = 30, max_rows: int = 200_000) -> Dashboard:
    today = datetime.now(UTC).date()
    day_list = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    index = {d: i for i, d in enumerate(day_list)}
    query = (select(exchanges.c.created_at, exchanges.c.channel, exchanges.c.kind,
                    exchanges.c.latency_ms, exchanges.c.reply, _rating().label("rating"))
             .where(exchanges.c.created_at >= _start_of(day_list[0]))
             .order_by(exchanges.c.created_at.desc()).limit(max_rows))
    per_day: dict[str, list[int]] = {}
    kinds: dict[str, int] = {}
    ratings = {"up": 0, "down": 0}
    topics: dict[str, int] = {}
    latencies: list[list[float]] = [[] for _ in day_list]
    total = 0
    with review.engine.connect() as conn:
        for row in conn.execution_options(yield_per=2000).execute(query):
            total += 1
            slot = index.get(row.created_at.date())
            if slot is None:
                continue
            per_day.setdefault(row.channel, [0] * len(day_list))[slot] += 1
            kinds[row.kind] = kinds.get(row.kind, 0) + 1
            if row.rating in ratings:
                ratings[row.rating] += 1
            if row.latency_ms is not None:
                latencies[slot].append(row.latency_ms)
            if row.kind in ("answer", "urgent"):
                for title in {p["title"] for p in json.loads(row.reply).get("passages", [])}:
                    topics[title] = topics.get(title, 0) + 1
    p95 = [float(np.percentile(v, 95)) if v else None for v in latencies]
    top = sorted(topics.items(), key=lambda kv: -kv[1])[:10]
    return Dashboard(day_list, per_day, kinds, ratings, top, p95, total)


def _rating():
    """The latest rating of an exchange ('up', 'down' or None)."""
    latest = (select(feedback.c.rating).where(feedback.c.reply_id == exchanges.c.reply_id)
              .order_by(feedback.c.id.desc()).limit(1))
    return latest.scalar_subquery()


def _latest_down():
    """Replies whose latest rating is 'down' (a set query: cheaper than rating each row)."""
    latest = select(func.max(feedback.c.id)).group_by(feedback.c.reply_id)
    return select(feedback.c.reply_id).where(feedback.c.id.in_(latest),
                                             feedback.c.rating == "down")


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
        where.append(exchanges.c.reply_id.in_(_latest_down()))
    if filters.text:
        needle = "%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        where.append(or_(exchanges.c.question.ilike(needle, escape="\\"),
                         exchanges.c.session_id == filters.text))
    return where


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)

