"""notifications: delivery leases tied to worker liveness; the school's preference before fallback

`notif_deliveries.leased_by` is the liveness key of the worker sending a row (its advisory
lock), so a dead worker's rows are reclaimed in seconds; `notif_schools.preference_before_fallback`
remembers what a school had before its last endpoint was disabled, to restore on re-enabling.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notif_deliveries", sa.Column("leased_by", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_notif_deliveries_leased",
        "notif_deliveries",
        ["leased_by"],
        unique=False,
        postgresql_where=sa.text("leased_by IS NOT NULL"),
    )
    op.add_column(
        "notif_schools",
        sa.Column("preference_before_fallback", sa.String(length=8), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("notif_schools", "preference_before_fallback")
    op.drop_index(
        "ix_notif_deliveries_leased",
        table_name="notif_deliveries",
        postgresql_where=sa.text("leased_by IS NOT NULL"),
    )
    op.drop_column("notif_deliveries", "leased_by")
