"""referral service: referrals, addenda, idempotency keys, reference sequence

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("referral_reference_seq")))
    op.create_table(
        "referral_referrals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("received_at", _tz(), nullable=False),
        sa.Column("submitted_at", _tz(), nullable=False),
        sa.Column("decision_due_at", _tz(), nullable=False),
        sa.Column("phone_call_at", _tz(), nullable=True),
        sa.Column("phone_contact_reference", sa.String(length=40), nullable=True),
        sa.Column("written_follow_up_due_at", _tz(), nullable=True),
        sa.Column("request_type", sa.String(length=48), nullable=False),
        sa.Column("immediate_risk", sa.Boolean(), nullable=False),
        sa.Column("subject_count", sa.SmallInteger(), nullable=False),
        sa.Column("child_voice_missing", sa.Boolean(), nullable=False),
        sa.Column("marf", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("receipt", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_changed_at", _tz(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("contact_reference", sa.String(length=40), nullable=True),
        sa.Column("triaged_at", _tz(), nullable=True),
        sa.Column("decided_at", _tz(), nullable=True),
        sa.Column("outcome", sa.String(length=48), nullable=True),
        sa.Column("outcome_summary", sa.Text(), nullable=True),
        sa.Column("next_steps", sa.Text(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("feedback_next_steps", sa.Text(), nullable=True),
        sa.Column("feedback_given_at", _tz(), nullable=True),
        sa.CheckConstraint(
            "status IN ('received', 'in_triage', 'decided')",
            name=op.f("ck_referral_referrals_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_referrals")),
        sa.UniqueConstraint("reference", name=op.f("uq_referral_referrals_reference")),
    )
    op.create_index(
        "ix_referral_referrals_agency_received",
        "referral_referrals",
        ["agency_id", "received_at", "id"],
        unique=False,
    )
    op.create_table(
        "referral_addenda",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", _tz(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral_referrals.id"],
            name=op.f("fk_referral_addenda_referral_id_referral_referrals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_addenda")),
    )
    op.create_index(
        op.f("ix_referral_addenda_referral_id"), "referral_addenda", ["referral_id"], unique=False
    )
    op.create_table(
        "referral_idempotency_keys",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("addendum_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", _tz(), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["addendum_id"],
            ["referral_addenda.id"],
            name=op.f("fk_referral_idempotency_keys_addendum_id_referral_addenda"),
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral_referrals.id"],
            name=op.f("fk_referral_idempotency_keys_referral_id_referral_referrals"),
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("agency_id", "key", name=op.f("pk_referral_idempotency_keys")),
    )
    op.create_index(
        "ix_referral_idempotency_keys_created_at",
        "referral_idempotency_keys",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_referral_idempotency_keys_created_at", table_name="referral_idempotency_keys")
    op.drop_table("referral_idempotency_keys")
    op.drop_index(op.f("ix_referral_addenda_referral_id"), table_name="referral_addenda")
    op.drop_table("referral_addenda")
    op.drop_index("ix_referral_referrals_agency_received", table_name="referral_referrals")
    op.drop_table("referral_referrals")
    op.execute(sa.schema.DropSequence(sa.Sequence("referral_reference_seq")))
