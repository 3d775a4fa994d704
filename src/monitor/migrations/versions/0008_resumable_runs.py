"""resumable runs: when an article's signals were recorded and its day's rules evaluated

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:10:00

``articles.signals_at`` is set in the transaction that records an article's keyword
mentions and figures (an article without any watched keyword has no mention row, so the
rows alone cannot say whether it was counted); ``articles.rules_at`` once the watch rules
of its run date were evaluated. A run picks up every relevant article where either is
still empty. Articles stored before this migration count as done.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("signals_at", sa.DateTime(), nullable=True))
    op.add_column("articles", sa.Column("rules_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE articles SET signals_at = fetched_at, rules_at = fetched_at")


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("rules_at")
        batch.drop_column("signals_at")
