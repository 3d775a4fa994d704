"""drop keyword_figures: figures come from figure_readings (0007) alone

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:00:00

``keyword_figures`` held the number nearest a watched keyword in a sentence
(``signals.find_figures``, sized by ``watch.figure_window_words``). Since tracked figures
(0007) no code writes or reads it, no view selects from it, and the figure_change rule
reads ``figure_readings``. Its rows, if any, were never shown anywhere; the downgrade
gives the table back empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_keyword_figures_keyword", table_name="keyword_figures")
    op.drop_table("keyword_figures")


def downgrade() -> None:
    op.create_table(
        "keyword_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=200), nullable=False),
        sa.Column("doc_key", sa.String(length=40), nullable=False),
        sa.Column("sentence_no", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("seed_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.ForeignKeyConstraint(["seed_id"], ["seed_documents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("keyword", "doc_key", "sentence_no"),
    )
    op.create_index("ix_keyword_figures_keyword", "keyword_figures", ["keyword"], unique=False)
