"""triage: CIN census disability codes per child on a contact

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "triage_child_disabilities",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("child", sa.SmallInteger(), nullable=False),
        sa.Column("disabilities", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("child >= 1", name=op.f("ck_triage_child_disabilities_child_numbered")),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_triage_child_disabilities_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "child", name=op.f("pk_triage_child_disabilities")),
    )


def downgrade() -> None:
    # The recorded codes go with the table: the census return lists those children (8540).
    op.drop_table("triage_child_disabilities")
