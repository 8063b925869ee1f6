"""security: police force sharing configured per council, keyed by (council_id, force_id)

Until now one row per force said what that force lets schools see, and any council's admin
could change it for every council. Now each council has its own row per force; a council with
no row for a force gets the default (name and presence only).

Existing rows: the configuration in force before this migration applied to every council, so
each row is copied to every council the database knows (a council with schools in the
directory or a working calendar): nothing any council's schools see changes on the day of the
upgrade, and from then on each council's admin changes only their own. A database with rows
but no council at all has no school to show them to: the rows are dropped (the default then
applies).

The downgrade keeps, for each force, the most recently updated council's row (under the old
model the last admin to write won anyway) and drops the others.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SHARES = (
    "share_name, share_date_of_birth, share_present, share_spoken_to, share_child_voice, "
    "share_circumstances"
)


def upgrade() -> None:
    op.add_column("notif_force_sharing", sa.Column("council_id", sa.String(64), nullable=True))
    op.drop_constraint("pk_notif_force_sharing", "notif_force_sharing", type_="primary")
    op.execute(
        f"""
        INSERT INTO notif_force_sharing (council_id, force_id, {_SHARES}, updated_at)
        SELECT c.council_id, fs.force_id, {_SHARES}, fs.updated_at
        FROM notif_force_sharing fs
        CROSS JOIN (
            SELECT council_id FROM notif_schools
            UNION SELECT council_id FROM council_calendars
        ) c
        WHERE fs.council_id IS NULL
        """
    )
    op.execute("DELETE FROM notif_force_sharing WHERE council_id IS NULL")
    op.alter_column("notif_force_sharing", "council_id", nullable=False)
    op.create_primary_key(
        "pk_notif_force_sharing", "notif_force_sharing", ["council_id", "force_id"]
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM notif_force_sharing fs
        WHERE (fs.council_id, fs.force_id) NOT IN (
            SELECT DISTINCT ON (force_id) council_id, force_id
            FROM notif_force_sharing
            ORDER BY force_id, updated_at DESC, council_id
        )
        """
    )
    op.drop_constraint("pk_notif_force_sharing", "notif_force_sharing", type_="primary")
    op.drop_column("notif_force_sharing", "council_id")
    op.create_primary_key("pk_notif_force_sharing", "notif_force_sharing", ["force_id"])
