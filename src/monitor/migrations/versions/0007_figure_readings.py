"""tracked-figure readings; corroborated figure alerts: reported_by, old seed; v_alerts
gains outlet, published_at, reported_by, old_outlet

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:10:00

(Written as 0005 on the corroborate branch; chained after 0006, the alert-email tables,
when main was merged in.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

V_ALERTS_0004 = """
CREATE VIEW v_alerts AS
SELECT a.id, a.created_at, a.keyword, a.rule, a.summary, a.status, a.sent_at,
       a.run_date, a.old_value, a.new_value, a.attempts, a.last_error,
       ar.canonical_url AS article_url, ar.title AS article_title,
       a.day, a.sentence, a.old_sentence, old.canonical_url AS old_article_url,
       a.note
FROM alerts a
LEFT JOIN articles ar ON ar.id = a.article_id
LEFT JOIN articles old ON old.id = a.old_article_id
"""

# Every earlier column in its order (analysts' queries name them), then the new ones:
# the outlet and publication time of the article the alert links, how many outlets
# reported the new value, and where the old value came from ("seed corpus" for a seed).
V_ALERTS = """
CREATE VIEW v_alerts AS
SELECT a.id, a.created_at, a.keyword, a.rule, a.summary, a.status, a.sent_at,
       a.run_date, a.old_value, a.new_value, a.attempts, a.last_error,
       ar.canonical_url AS article_url, ar.title AS article_title,
       a.day, a.sentence, a.old_sentence, old.canonical_url AS old_article_url,
       a.note,
       ar.source AS outlet, ar.published_at AS published_at, a.reported_by,
       CASE WHEN a.old_seed_id IS NOT NULL THEN 'seed corpus' ELSE old.source END
           AS old_outlet
FROM alerts a
LEFT JOIN articles ar ON ar.id = a.article_id
LEFT JOIN articles old ON old.id = a.old_article_id
"""


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_alerts")
    op.create_table(
        "figure_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_key", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("seed_id", sa.Integer(), nullable=True),
        sa.Column("item", sa.String(length=100), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("old_value", sa.Float(), nullable=True),
        sa.Column("sentence_no", sa.Integer(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("outlet", sa.String(length=300), nullable=True),
        sa.Column("primary_source", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.ForeignKeyConstraint(["seed_id"], ["seed_documents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doc_key", "seq"),
    )
    op.create_index("ix_figure_readings_item", "figure_readings", ["item"], unique=False)
    # Plain ADD COLUMN, no table rebuild on SQLite (0006's note: other views read alerts).
    op.add_column("alerts", sa.Column("reported_by", sa.Integer(), nullable=True))
    op.add_column("alerts", sa.Column("old_seed_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key(
            "fk_alerts_old_seed_id_seed_documents",
            "alerts",
            "seed_documents",
            ["old_seed_id"],
            ["id"],
        )
    op.execute(V_ALERTS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_alerts")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_alerts_old_seed_id_seed_documents", "alerts", type_="foreignkey")
    op.execute("ALTER TABLE alerts DROP COLUMN old_seed_id")
    op.execute("ALTER TABLE alerts DROP COLUMN reported_by")
    op.drop_index("ix_figure_readings_item", table_name="figure_readings")
    op.drop_table("figure_readings")
    op.execute(V_ALERTS_0004)
