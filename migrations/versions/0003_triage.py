"""triage service: contacts, rule sets, clocks, decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("triage_contact_reference_seq")))
    op.create_table(
        "triage_rule_sets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("based_on_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["based_on_id"],
            ["triage_rule_sets.id"],
            name=op.f("fk_triage_rule_sets_based_on_id_triage_rule_sets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_rule_sets")),
        sa.UniqueConstraint(
            "council_id", "version", name=op.f("uq_triage_rule_sets_council_id_version")
        ),
    )
    op.create_index(
        "uq_triage_rule_sets_one_active",
        "triage_rule_sets",
        ["council_id"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "triage_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("from_professional", sa.Boolean(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("referral_reference", sa.String(length=40), nullable=True),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("evaluation", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rule_set_id", sa.Uuid(), nullable=True),
        sa.Column("rule_set_version", sa.Integer(), nullable=True),
        sa.Column("subjects_summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lane", sa.String(length=16), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("rag", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("safety_floor", sa.Boolean(), nullable=False),
        sa.Column("queue_deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("consent_state", sa.String(length=16), nullable=True),
        sa.Column("child_voice_present", sa.Boolean(), nullable=False),
        sa.Column("wants_feedback", sa.Boolean(), nullable=False),
        sa.Column("previous_referrals_12m", sa.Integer(), nullable=False),
        sa.Column("re_referral", sa.Boolean(), nullable=False),
        sa.Column("assigned_to", sa.String(length=200), nullable=True),
        sa.Column("lease_holder", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("linked_phone_contact_id", sa.Uuid(), nullable=True),
        sa.Column("written_follow_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("follow_up_overdue_emitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contact_type", sa.String(length=24), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("feedback_next_steps", sa.Text(), nullable=True),
        sa.Column("feedback_given_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_set_id"],
            ["triage_rule_sets.id"],
            name=op.f("fk_triage_contacts_rule_set_id_triage_rule_sets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_contacts")),
        sa.UniqueConstraint("reference", name=op.f("uq_triage_contacts_reference")),
        sa.UniqueConstraint("referral_id", name=op.f("uq_triage_contacts_referral_id")),
    )
    op.create_index(
        "ix_triage_contacts_council_received",
        "triage_contacts",
        ["council_id", "received_at"],
        unique=False,
    )
    op.create_index(
        "ix_triage_contacts_queue",
        "triage_contacts",
        ["council_id", "priority", "queue_deadline_at", "id"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'awaiting_sign_off')"),
    )
    op.create_table(
        "triage_addenda",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("addendum_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_triage_addenda_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_addenda")),
        sa.UniqueConstraint("addendum_id", name=op.f("uq_triage_addenda_addendum_id")),
    )
    op.create_index(
        op.f("ix_triage_addenda_contact_id"), "triage_addenda", ["contact_id"], unique=False
    )
    op.create_table(
        "triage_clocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_soon_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_soon_emitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breach_emitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_triage_clocks_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_clocks")),
        sa.UniqueConstraint("contact_id", "kind", name=op.f("uq_triage_clocks_contact_id_kind")),
    )
    op.create_index(
        "ix_triage_clocks_running_deadline",
        "triage_clocks",
        ["deadline_at"],
        unique=False,
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_index(
        "ix_triage_clocks_running_due_soon",
        "triage_clocks",
        ["due_soon_at"],
        unique=False,
        postgresql_where=sa.text("state = 'running' AND due_soon_emitted_at IS NULL"),
    )
    op.create_table(
        "triage_decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("made_by", sa.String(length=200), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contact_type", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("nfa_reason", sa.Text(), nullable=True),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("primary_need_code", sa.String(length=2), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("consent_state", sa.String(length=16), nullable=True),
        sa.Column("consent_reason", sa.Text(), nullable=True),
        sa.Column("strategy_discussion", sa.Boolean(), nullable=False),
        sa.Column("next_steps", sa.Text(), nullable=True),
        sa.Column("rule_set_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("signed_off_by", sa.String(length=200), nullable=True),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sign_off_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_triage_decisions_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_decisions")),
    )
    op.create_index(
        op.f("ix_triage_decisions_contact_id"), "triage_decisions", ["contact_id"], unique=False
    )
    op.create_table(
        "triage_screenings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("screened_by", sa.String(length=200), nullable=False),
        sa.Column("screener_role", sa.String(length=32), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("route_to", sa.String(length=16), nullable=False),
        sa.Column("encompass", sa.Boolean(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_triage_screenings_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_screenings")),
    )
    op.create_index(
        op.f("ix_triage_screenings_contact_id"), "triage_screenings", ["contact_id"], unique=False
    )
    op.create_table(
        "triage_subjects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("given_name_norm", sa.String(length=200), nullable=True),
        sa.Column("family_name_norm", sa.String(length=200), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("nhs_number", sa.String(length=10), nullable=True),
        sa.Column("upn", sa.String(length=13), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_triage_subjects_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_subjects")),
    )
    op.create_index(
        op.f("ix_triage_subjects_contact_id"), "triage_subjects", ["contact_id"], unique=False
    )
    op.create_index(
        "ix_triage_subjects_name_dob",
        "triage_subjects",
        ["council_id", "family_name_norm", "given_name_norm", "date_of_birth"],
        unique=False,
    )
    op.create_index(
        "ix_triage_subjects_nhs", "triage_subjects", ["council_id", "nhs_number"], unique=False
    )
    op.create_index(
        "ix_triage_subjects_upn", "triage_subjects", ["council_id", "upn"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_triage_subjects_upn", table_name="triage_subjects")
    op.drop_index("ix_triage_subjects_nhs", table_name="triage_subjects")
    op.drop_index("ix_triage_subjects_name_dob", table_name="triage_subjects")
    op.drop_index(op.f("ix_triage_subjects_contact_id"), table_name="triage_subjects")
    op.drop_table("triage_subjects")
    op.drop_index(op.f("ix_triage_screenings_contact_id"), table_name="triage_screenings")
    op.drop_table("triage_screenings")
    op.drop_index(op.f("ix_triage_decisions_contact_id"), table_name="triage_decisions")
    op.drop_table("triage_decisions")
    op.drop_index(
        "ix_triage_clocks_running_due_soon",
        table_name="triage_clocks",
        postgresql_where=sa.text("state = 'running' AND due_soon_emitted_at IS NULL"),
    )
    op.drop_index(
        "ix_triage_clocks_running_deadline",
        table_name="triage_clocks",
        postgresql_where=sa.text("state = 'running'"),
    )
    op.drop_table("triage_clocks")
    op.drop_index(op.f("ix_triage_addenda_contact_id"), table_name="triage_addenda")
    op.drop_table("triage_addenda")
    op.drop_index(
        "ix_triage_contacts_queue",
        table_name="triage_contacts",
        postgresql_where=sa.text("status IN ('open', 'awaiting_sign_off')"),
    )
    op.drop_index("ix_triage_contacts_council_received", table_name="triage_contacts")
    op.drop_table("triage_contacts")
    op.drop_index(
        "uq_triage_rule_sets_one_active",
        table_name="triage_rule_sets",
        postgresql_where=sa.text("active"),
    )
    op.drop_table("triage_rule_sets")
    op.execute(sa.schema.DropSequence(sa.Sequence("triage_contact_reference_seq")))
