"""triage: CIN census assessment factors per child (child 0: every child without their own)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 20:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows were recorded for the whole contact: they become child 0.
    op.add_column(
        "triage_assessment_factors",
        sa.Column("child", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.drop_constraint("pk_triage_assessment_factors", "triage_assessment_factors")
    op.create_primary_key(
        "pk_triage_assessment_factors", "triage_assessment_factors", ["contact_id", "child"]
    )


def downgrade() -> None:
    # One row per contact again: a child's own factors cannot be kept.
    op.execute("DELETE FROM triage_assessment_factors WHERE child <> 0")
    op.drop_constraint("pk_triage_assessment_factors", "triage_assessment_factors")
    op.drop_column("triage_assessment_factors", "child")
    op.create_primary_key(
        "pk_triage_assessment_factors", "triage_assessment_factors", ["contact_id"]
    )
