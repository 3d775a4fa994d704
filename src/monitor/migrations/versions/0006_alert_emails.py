"""alert emails: each composed email with its bytes and outcome, per-recipient replies

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 07:20:00

``alerts.email_id`` is added with a plain ADD COLUMN (no table rebuild), so the views
that read ``alerts`` stay as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("unknown_since", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("via", sa.String(length=2000), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("mail_from", sa.String(length=320), nullable=False),
        sa.Column("rcpt_tos", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_alert_emails_status", "alert_emails", ["status"])
    op.create_table(
        "alert_email_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["email_id"], ["alert_emails.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_id", "address"),
    )
    op.create_index("ix_alert_email_recipients_email_id", "alert_email_recipients", ["email_id"])
    op.add_column("alerts", sa.Column("email_id", sa.Integer(), nullable=True))
    op.create_index("ix_alerts_email_id", "alerts", ["email_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_email_id", table_name="alerts")
    # SQLite (3.35+) and PostgreSQL both drop a column in place; no rebuild, views kept.
    op.execute("ALTER TABLE alerts DROP COLUMN email_id")
    op.drop_index("ix_alert_email_recipients_email_id", table_name="alert_email_recipients")
    op.drop_table("alert_email_recipients")
    op.drop_index("ix_alert_emails_status", table_name="alert_emails")
    op.drop_table("alert_emails")
