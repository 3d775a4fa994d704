"""dedup and stories: persisted signatures and LSH bands, stories, versions, overrides

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# One row per story; ``copies`` counts the articles and exact-copy feed items it merged.
V_STORIES = """
CREATE VIEW v_stories AS
SELECT s.id AS story_id, s.title, s.first_outlet, s.first_published_at, s.outlets,
       s.copies, s.canonical_article_id, a.canonical_url AS canonical_url,
       a.relevant AS relevant, a.relevance AS relevance, sd.name AS seed_name,
       s.updated_at
FROM stories s
LEFT JOIN articles a ON a.id = s.canonical_article_id
LEFT JOIN seed_documents sd ON sd.id = s.seed_id
"""

# The views of 0001, unchanged, recreated after a downgrade's table rebuild.
V_ARTICLES_0001 = """
CREATE VIEW v_articles AS
SELECT id, canonical_url AS url, title, source, published_at, fetched_at, language,
       text AS body, relevance, run_date
FROM articles
WHERE relevant AND duplicate_of IS NULL AND duplicate_of_seed IS NULL
"""

V_ALERTS_0001 = """
CREATE VIEW v_alerts AS
SELECT a.id, a.created_at, a.keyword, a.rule, a.summary, a.status, a.sent_at,
       a.run_date, a.old_value, a.new_value, a.attempts, a.last_error,
       ar.canonical_url AS article_url, ar.title AS article_title
FROM alerts a LEFT JOIN articles ar ON ar.id = a.article_id
"""


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("seed_id", sa.Integer(), nullable=True),
        sa.Column("canonical_article_id", sa.Integer(), nullable=True),
        sa.Column("first_article_id", sa.Integer(), nullable=True),
        sa.Column("first_outlet", sa.String(length=300), nullable=True),
        sa.Column("first_published_at", sa.DateTime(), nullable=True),
        sa.Column("outlets", sa.Text(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["seed_id"], ["seed_documents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seed_id"),
    )
    op.create_table(
        "doc_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_kind", sa.String(length=10), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("shingles", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doc_kind", "doc_id"),
    )
    op.create_table(
        "lsh_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("layout", sa.String(length=20), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["signature_id"], ["doc_signatures.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lsh_bands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lsh_bands_key"), ["key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lsh_bands_signature_id"), ["signature_id"], unique=False
        )
    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "version"),
    )
    with op.batch_alter_table("article_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_versions_article_id"), ["article_id"], unique=False
        )
    op.create_table(
        "dedup_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("other_key", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("previous_decision", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "other_key"),
    )
    with op.batch_alter_table("dedup_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dedup_overrides_article_id"), ["article_id"], unique=False
        )
    # Plain ADD COLUMN (no batch rebuild of articles on SQLite, whose rows other tables
    # reference): story_id is indexed but carries no foreign-key constraint.
    op.add_column("articles", sa.Column("story_id", sa.Integer(), nullable=True))
    op.add_column("articles", sa.Column("dedup_rule", sa.String(length=20), nullable=True))
    op.add_column("articles", sa.Column("dedup_match", sa.String(length=40), nullable=True))
    op.add_column(
        "articles", sa.Column("version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("articles", sa.Column("updated_at", sa.DateTime(), nullable=True))
    op.create_index("ix_articles_story_id", "articles", ["story_id"], unique=False)
    op.execute(V_STORIES)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_stories")
    op.drop_index("ix_articles_story_id", table_name="articles")
    # SQLite drops columns by rebuilding the table: the views on it go and come back.
    op.execute("DROP VIEW IF EXISTS v_alerts")
    op.execute("DROP VIEW IF EXISTS v_articles")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        for name in ("updated_at", "version", "dedup_match", "dedup_rule", "story_id"):
            batch_op.drop_column(name)
    op.execute(V_ARTICLES_0001)
    op.execute(V_ALERTS_0001)
    for name in ("dedup_overrides", "article_versions", "lsh_bands", "doc_signatures", "stories"):
        op.drop_table(name)
