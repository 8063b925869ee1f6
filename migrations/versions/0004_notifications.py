"""notifications service: schools, endpoints, Encompass incidents, deliveries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notif_force_sharing",
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("share_name", sa.Boolean(), nullable=False),
        sa.Column("share_date_of_birth", sa.Boolean(), nullable=False),
        sa.Column("share_present", sa.Boolean(), nullable=False),
        sa.Column("share_spoken_to", sa.Boolean(), nullable=False),
        sa.Column("share_child_voice", sa.Boolean(), nullable=False),
        sa.Column("share_circumstances", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("force_id", name=op.f("pk_notif_force_sharing")),
    )
    op.create_table(
        "notif_incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("police_reference", sa.String(length=64), nullable=False),
        sa.Column("incident_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("adult_roles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("circumstances", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_incidents")),
        sa.UniqueConstraint(
            "force_id",
            "police_reference",
            name=op.f("uq_notif_incidents_force_id_police_reference"),
        ),
    )
    op.create_table(
        "notif_schools",
        sa.Column("urn", sa.String(length=8), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phase", sa.String(length=64), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("school_day_start", sa.Time(), nullable=False),
        sa.Column("terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("closure_days", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dsl_email", sa.String(length=254), nullable=True),
        sa.Column("deputy_email", sa.String(length=254), nullable=True),
        sa.Column("delivery_preference", sa.String(length=8), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("urn", name=op.f("pk_notif_schools")),
    )
    op.create_table(
        "notif_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_urn", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("previous_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["school_urn"],
            ["notif_schools.urn"],
            name=op.f("fk_notif_endpoints_school_urn_notif_schools"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_endpoints")),
    )
    op.create_index(
        op.f("ix_notif_endpoints_school_urn"), "notif_endpoints", ["school_urn"], unique=False
    )
    op.create_table(
        "notif_notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("child_key", sa.String(length=64), nullable=False),
        sa.Column("school_urn", sa.String(length=8), nullable=True),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("education_status", sa.String(length=16), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=True),
        sa.Column("spoken_to", sa.Boolean(), nullable=True),
        sa.Column("child_voice", sa.Text(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_holiday", sa.Boolean(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("welfare_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("welfare_check_by", sa.String(length=200), nullable=True),
        sa.Column("welfare_check_outcome", sa.Text(), nullable=True),
        sa.Column("fallback_email_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("digest_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["notif_incidents.id"],
            name=op.f("fk_notif_notifications_incident_id_notif_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["school_urn"],
            ["notif_schools.urn"],
            name=op.f("fk_notif_notifications_school_urn_notif_schools"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_notifications")),
        sa.UniqueConstraint(
            "incident_id", "child_key", name=op.f("uq_notif_notifications_incident_id_child_key")
        ),
    )
    op.create_index(
        "ix_notif_notifications_open",
        "notif_notifications",
        ["deadline_at"],
        unique=False,
        postgresql_where=sa.text("acknowledged_at IS NULL"),
    )
    op.create_index(
        op.f("ix_notif_notifications_school_urn"),
        "notif_notifications",
        ["school_urn"],
        unique=False,
    )
    op.create_table(
        "notif_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("school_urn", sa.String(length=8), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("recipients", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("fallback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("give_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["notif_endpoints.id"],
            name=op.f("fk_notif_deliveries_endpoint_id_notif_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notif_notifications.id"],
            name=op.f("fk_notif_deliveries_notification_id_notif_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_deliveries")),
    )
    op.create_index(
        "ix_notif_deliveries_due",
        "notif_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_notif_deliveries_endpoint_id"), "notif_deliveries", ["endpoint_id"], unique=False
    )
    op.create_index(
        op.f("ix_notif_deliveries_notification_id"),
        "notif_deliveries",
        ["notification_id"],
        unique=False,
    )
    op.create_table(
        "notif_ehe_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notif_notifications.id"],
            name=op.f("fk_notif_ehe_tasks_notification_id_notif_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_ehe_tasks")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_notif_ehe_tasks_notification_id")),
    )
    op.create_table(
        "notif_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("response_excerpt", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notif_deliveries.id"],
            name=op.f("fk_notif_attempts_delivery_id_notif_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_attempts")),
    )
    op.create_index(
        op.f("ix_notif_attempts_delivery_id"), "notif_attempts", ["delivery_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notif_attempts_delivery_id"), table_name="notif_attempts")
    op.drop_table("notif_attempts")
    op.drop_table("notif_ehe_tasks")
    op.drop_index(op.f("ix_notif_deliveries_notification_id"), table_name="notif_deliveries")
    op.drop_index(op.f("ix_notif_deliveries_endpoint_id"), table_name="notif_deliveries")
    op.drop_index(
        "ix_notif_deliveries_due",
        table_name="notif_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("notif_deliveries")
    op.drop_index(op.f("ix_notif_notifications_school_urn"), table_name="notif_notifications")
    op.drop_index(
        "ix_notif_notifications_open",
        table_name="notif_notifications",
        postgresql_where=sa.text("acknowledged_at IS NULL"),
    )
    op.drop_table("notif_notifications")
    op.drop_index(op.f("ix_notif_endpoints_school_urn"), table_name="notif_endpoints")
    op.drop_table("notif_endpoints")
    op.drop_table("notif_schools")
    op.drop_table("notif_incidents")
    op.drop_table("notif_force_sharing")
