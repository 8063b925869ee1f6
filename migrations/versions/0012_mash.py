"""triage: the MASH's work (RAG, partner checks, strategy discussions, notes, handovers, children)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:17:31.150323
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "mash_children",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=400), nullable=False),
        sa.Column("given_name_norm", sa.String(length=200), nullable=True),
        sa.Column("family_name_norm", sa.String(length=200), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("nhs_number", sa.String(length=10), nullable=True),
        sa.Column("upn", sa.String(length=13), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column(
            "active_flags",
            postgresql.ARRAY(sa.String(length=32)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_children")),
    )
    op.create_index(
        "ix_mash_children_dob", "mash_children", ["council_id", "date_of_birth"], unique=False
    )
    op.create_index(
        "ix_mash_children_family_given",
        "mash_children",
        ["council_id", "family_name_norm", "given_name_norm"],
        unique=False,
        postgresql_ops={"family_name_norm": "text_pattern_ops"},
    )
    op.create_index(
        "ix_mash_children_given",
        "mash_children",
        ["council_id", "given_name_norm"],
        unique=False,
        postgresql_ops={"given_name_norm": "text_pattern_ops"},
    )
    op.create_index(
        "ix_mash_children_nhs", "mash_children", ["council_id", "nhs_number"], unique=False
    )
    op.create_index(
        "ix_mash_children_postcode", "mash_children", ["council_id", "postcode"], unique=False
    )
    op.create_index("ix_mash_children_upn", "mash_children", ["council_id", "upn"], unique=False)
    op.create_table(
        "mash_child_access",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("sub", sa.String(length=200), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["mash_children.id"],
            name=op.f("fk_mash_child_access_child_id_mash_children"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("child_id", "sub", name=op.f("pk_mash_child_access")),
    )
    op.create_table(
        "mash_child_flags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("risk_level", sa.String(length=8), nullable=True),
        sa.Column("placing_authority", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["mash_children.id"],
            name=op.f("fk_mash_child_flags_child_id_mash_children"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_child_flags")),
    )
    op.create_index(
        op.f("ix_mash_child_flags_child_id"), "mash_child_flags", ["child_id"], unique=False
    )
    op.create_table(
        "mash_case_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_role", sa.String(length=32), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("corrects_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_mash_case_notes_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["mash_case_notes.id"],
            name=op.f("fk_mash_case_notes_corrects_id_mash_case_notes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_case_notes")),
    )
    op.create_index(
        op.f("ix_mash_case_notes_contact_id"), "mash_case_notes", ["contact_id"], unique=False
    )
    op.create_table(
        "mash_child_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("subject_position", sa.SmallInteger(), nullable=False),
        sa.Column("matched_on", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["mash_children.id"],
            name=op.f("fk_mash_child_links_child_id_mash_children"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_mash_child_links_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_child_links")),
        sa.UniqueConstraint(
            "contact_id",
            "subject_position",
            name=op.f("uq_mash_child_links_contact_id_subject_position"),
        ),
    )
    op.create_index(
        op.f("ix_mash_child_links_child_id"), "mash_child_links", ["child_id"], unique=False
    )
    op.create_index(
        op.f("ix_mash_child_links_contact_id"), "mash_child_links", ["contact_id"], unique=False
    )
    op.create_table(
        "mash_handovers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("handover_type", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_mash_handovers_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_handovers")),
        sa.UniqueConstraint(
            "contact_id", "handover_type", name=op.f("uq_mash_handovers_contact_id_handover_type")
        ),
        sa.UniqueConstraint("message_id", name=op.f("uq_mash_handovers_message_id")),
    )
    op.create_index(
        "ix_mash_handovers_due",
        "mash_handovers",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "mash_partner_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("known", sa.Boolean(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("risk_indicators", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("latest_involvement_on", sa.Date(), nullable=True),
        sa.Column("researched_by", sa.String(length=200), nullable=True),
        sa.Column("declined_reason", sa.Text(), nullable=True),
        sa.Column("responded_by", sa.String(length=200), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_mash_partner_checks_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_partner_checks")),
        sa.UniqueConstraint(
            "contact_id", "agency_id", name=op.f("uq_mash_partner_checks_contact_id_agency_id")
        ),
    )
    op.create_index(
        "ix_mash_partner_checks_agency_open",
        "mash_partner_checks",
        ["council_id", "agency_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_mash_partner_checks_due_open",
        "mash_partner_checks",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'requested'"),
    )
    op.create_table(
        "mash_rag_ratings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("rag", sa.String(length=8), nullable=False),
        sa.Column("previous_rag", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_mash_rag_ratings_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_rag_ratings")),
    )
    op.create_index(
        op.f("ix_mash_rag_ratings_contact_id"), "mash_rag_ratings", ["contact_id"], unique=False
    )
    op.create_table(
        "mash_strategy_discussions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("formal", sa.Boolean(), nullable=False),
        sa.Column("not_formal_reason", sa.Text(), nullable=True),
        sa.Column("participants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("information_shared", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("icpc_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_mash_strategy_discussions_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_strategy_discussions")),
    )
    op.create_index(
        op.f("ix_mash_strategy_discussions_contact_id"),
        "mash_strategy_discussions",
        ["contact_id"],
        unique=False,
    )
    op.create_table(
        "mash_handover_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("handover_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["mash_handovers.id"],
            name=op.f("fk_mash_handover_attempts_handover_id_mash_handovers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_handover_attempts")),
    )
    op.create_index(
        op.f("ix_mash_handover_attempts_handover_id"),
        "mash_handover_attempts",
        ["handover_id"],
        unique=False,
    )
    op.create_table(
        "mash_strategy_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("discussion_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("done_recorded_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["triage_contacts.id"],
            name=op.f("fk_mash_strategy_actions_contact_id_triage_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["mash_strategy_discussions.id"],
            name=op.f("fk_mash_strategy_actions_discussion_id_mash_strategy_discussions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_strategy_actions")),
    )
    op.create_index(
        op.f("ix_mash_strategy_actions_contact_id"),
        "mash_strategy_actions",
        ["contact_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_mash_strategy_actions_discussion_id"),
        "mash_strategy_actions",
        ["discussion_id"],
        unique=False,
    )


def downgrade() -> None:

    op.drop_index(
        op.f("ix_mash_strategy_actions_discussion_id"), table_name="mash_strategy_actions"
    )
    op.drop_index(op.f("ix_mash_strategy_actions_contact_id"), table_name="mash_strategy_actions")
    op.drop_table("mash_strategy_actions")
    op.drop_index(
        op.f("ix_mash_handover_attempts_handover_id"), table_name="mash_handover_attempts"
    )
    op.drop_table("mash_handover_attempts")
    op.drop_index(
        op.f("ix_mash_strategy_discussions_contact_id"), table_name="mash_strategy_discussions"
    )
    op.drop_table("mash_strategy_discussions")
    op.drop_index(op.f("ix_mash_rag_ratings_contact_id"), table_name="mash_rag_ratings")
    op.drop_table("mash_rag_ratings")
    op.drop_index(
        "ix_mash_partner_checks_due_open",
        table_name="mash_partner_checks",
        postgresql_where=sa.text("status = 'requested'"),
    )
    op.drop_index("ix_mash_partner_checks_agency_open", table_name="mash_partner_checks")
    op.drop_table("mash_partner_checks")
    op.drop_index(
        "ix_mash_handovers_due",
        table_name="mash_handovers",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("mash_handovers")
    op.drop_index(op.f("ix_mash_child_links_contact_id"), table_name="mash_child_links")
    op.drop_index(op.f("ix_mash_child_links_child_id"), table_name="mash_child_links")
    op.drop_table("mash_child_links")
    op.drop_index(op.f("ix_mash_case_notes_contact_id"), table_name="mash_case_notes")
    op.drop_table("mash_case_notes")
    op.drop_index(op.f("ix_mash_child_flags_child_id"), table_name="mash_child_flags")
    op.drop_table("mash_child_flags")
    op.drop_table("mash_child_access")
    op.drop_index("ix_mash_children_upn", table_name="mash_children")
    op.drop_index("ix_mash_children_postcode", table_name="mash_children")
    op.drop_index("ix_mash_children_nhs", table_name="mash_children")
    op.drop_index(
        "ix_mash_children_given",
        table_name="mash_children",
        postgresql_ops={"given_name_norm": "text_pattern_ops"},
    )
    op.drop_index(
        "ix_mash_children_family_given",
        table_name="mash_children",
        postgresql_ops={"family_name_norm": "text_pattern_ops"},
    )
    op.drop_index("ix_mash_children_dob", table_name="mash_children")
    op.drop_table("mash_children")
