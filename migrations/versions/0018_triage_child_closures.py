"""triage: CIN census episode closure per child on a contact

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "triage_child_closures",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("child", sa.SmallInteger(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=3), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("child >= 1", name=op.f("ck_triage_child_closures_child_numbered")),
        sa.CheckConstraint(
            "reason IN ('RC1', 'RC2', 'RC3', 'RC4', 'RC5', 'RC6', 'RC7', 'RC8', 'RC9')",
            name=op.f("ck_triage_child_closures_census_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_triage_child_closures_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "child", name=op.f("pk_triage_child_closures")),
    )


def downgrade() -> None:
    # The recorded closures go with the table: the census return lists those children's
    # episodes as open again (8815, 8820).
    op.drop_table("triage_child_closures")
