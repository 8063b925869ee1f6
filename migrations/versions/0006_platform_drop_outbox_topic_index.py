"""platform: drop the outbox's index on topic (no query reads events by topic)

Workers reach events through their consumption rows, by id; the index on a column with a
handful of values was only paid for, on every event written.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_outbox_events_topic", table_name="outbox_events")


def downgrade() -> None:
    op.create_index("ix_outbox_events_topic", "outbox_events", ["topic"])
