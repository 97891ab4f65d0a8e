"""Curated answers written by operators.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "curated",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("question_zh", sa.Text),
        sa.Column("answer_zh", sa.Text),
        sa.Column("question_en", sa.Text),
        sa.Column("answer_en", sa.Text),
        sa.Column("source_url", sa.String(1000)),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
    )
