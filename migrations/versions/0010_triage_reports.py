"""triage: management information (consent given by, assessment factors, report sendings)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "triage_decisions", sa.Column("consent_given_by", sa.String(length=40), nullable=True)
    )
    op.create_table(
        "triage_assessment_factors",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("factors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_triage_assessment_factors_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_triage_assessment_factors")),
    )
    op.create_table(
        "triage_report_sends",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("report", sa.String(length=32), nullable=False),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_report_sends")),
        sa.UniqueConstraint(
            "council_id",
            "report",
            "slot_at",
            name=op.f("uq_triage_report_sends_council_id_report_slot_at"),
        ),
    )


def downgrade() -> None:
    op.drop_table("triage_report_sends")
    op.drop_table("triage_assessment_factors")
    op.drop_column("triage_decisions", "consent_given_by")
