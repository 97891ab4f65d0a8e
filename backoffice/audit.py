"""The audit trail: every change to the knowledge base, who made it and when."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from backoffice.database import Database, audit


class AuditLog:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def record(self, who: str, action: str, target: str = "", detail: str | None = None,
               conn: Connection | None = None) -> None:
        """One line of the trail; inside `conn`'s transaction when given, so a change and
        its record are kept or lost together."""
        row = insert(audit).values(at=datetime.now(UTC), who=who[:64], action=action[:64],
                                   target=target[:255], detail=detail)
        if conn is not None:
            conn.execute(row)
            return
        with self.engine.begin() as own:
            own.execute(row)

    def recent(self, limit: int = 200) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit).order_by(audit.c.id.desc()).limit(limit))
            return [dict(row._mapping) for row in rows]
