"""fetching: conditional GET validators and health per feed, raw page archive

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("etag", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("last_modified", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_run_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("failing_since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_format", sa.String(length=40), nullable=True))
    op.create_table(
        "page_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("final_url", sa.String(length=2000), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("page_archive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_archive_final_url"), ["final_url"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("page_archive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_archive_final_url"))
    op.drop_table("page_archive")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        for name in (
            "last_format",
            "next_attempt_on",
            "failing_since",
            "last_run_date",
            "body_hash",
            "last_modified",
            "etag",
        ):
            batch_op.drop_column(name)
