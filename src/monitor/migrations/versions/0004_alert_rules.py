"""alert rules: alert day, old article, note, details; alert_articles provenance

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-28 02:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

V_ALERTS_OLD = """
CREATE VIEW v_alerts AS
SELECT a.id, a.created_at, a.keyword, a.rule, a.summary, a.status, a.sent_at,
       a.run_date, a.old_value, a.new_value, a.attempts, a.last_error,
       ar.canonical_url AS article_url, ar.title AS article_title
FROM alerts a LEFT JOIN articles ar ON ar.id = a.article_id
"""

# The first issue's columns in their order, then the new ones.
V_ALERTS = """
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


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_alerts")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("old_article_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("details", sa.Text(), nullable=False, server_default="{}"))
        batch_op.create_index(batch_op.f("ix_alerts_day"), ["day"], unique=False)
        batch_op.create_foreign_key(
            "fk_alerts_old_article_id_articles", "articles", ["old_article_id"], ["id"]
        )
    op.create_table(
        "alert_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("doc_key", sa.String(length=40), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("seed_id", sa.Integer(), nullable=True),
        sa.Column("sentence", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.ForeignKeyConstraint(["seed_id"], ["seed_documents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "role", "doc_key"),
    )
    with op.batch_alter_table("alert_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_articles_alert_id"), ["alert_id"], unique=False)
    op.execute(V_ALERTS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_alerts")
    with op.batch_alter_table("alert_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_articles_alert_id"))
    op.drop_table("alert_articles")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint("fk_alerts_old_article_id_articles", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alerts_day"))
        batch_op.drop_column("details")
        batch_op.drop_column("note")
        batch_op.drop_column("old_article_id")
        batch_op.drop_column("day")
    op.execute(V_ALERTS_OLD)
