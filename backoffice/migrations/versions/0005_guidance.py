"""Operators' guidance: alternate phrasings of passages, negative examples, synonym groups;
batch test runs.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "guidance",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),  # phrasing | negative
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("doc_id", sa.String(500)),
        sa.Column("quote", sa.Text),
        sa.Column("title", sa.String(500)),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "synonym_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("members", sa.Text, nullable=False),  # one CSV row
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "batch_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Integer, nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("items", sa.Text, nullable=False),  # JSON: the questions and expectations
        sa.Column("results", sa.Text),  # JSON, when done
        sa.Column("passed", sa.Integer),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
