"""publication dates: where each date came from, and the day as the publisher printed it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:00:00

``articles.published_source`` is ``page`` (the page's own markup), ``feed`` (the feed
item's date, used when the page gives none) or ``fetch`` (neither gave one: the time the
item was first seen). ``articles.published_date`` and ``entries.page_published_date`` keep
the calendar day in the zone the page was published in, since ``published_at`` is stored
in UTC and a UTC day can be the day before or after. Plain ADD COLUMN: the views that
read these tables stay as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("published_source", sa.String(length=8), nullable=True))
    op.add_column("articles", sa.Column("published_date", sa.Date(), nullable=True))
    op.add_column("entries", sa.Column("page_published_date", sa.Date(), nullable=True))
    # Rows stored before this revision keep NULL (which date it was is not known);
    # `monitor reextract` fills them in from the archived pages.


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("page_published_date")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("published_date")
        batch.drop_column("published_source")
