"""notifications: front-door alerts, council term dates, welfare-check and correction history

Welfare checks already recorded on a notification are copied into the history table, so the
history starts with them (the notification keeps the latest one for its status and reports).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:16:41.825325
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notif_council_contacts",
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("duty_manager_email", sa.String(length=254), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("council_id", name=op.f("pk_notif_council_contacts")),
    )
    op.create_table(
        "notif_council_terms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "end_date >= start_date", name=op.f("ck_notif_council_terms_ends_after_start")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_council_terms")),
        sa.UniqueConstraint(
            "council_id", "start_date", name=op.f("uq_notif_council_terms_council_id_start_date")
        ),
    )
    op.create_table(
        "notif_corrections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("changed_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("previous", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("school_told", sa.Boolean(), nullable=False),
        sa.Column(
            "corrected_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notif_notifications.id"],
            name=op.f("fk_notif_corrections_notification_id_notif_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_corrections")),
    )
    op.create_index(
        op.f("ix_notif_corrections_notification_id"),
        "notif_corrections",
        ["notification_id"],
        unique=False,
    )
    op.create_table(
        "notif_welfare_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_by", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notif_notifications.id"],
            name=op.f("fk_notif_welfare_checks_notification_id_notif_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_welfare_checks")),
    )
    op.create_index(
        op.f("ix_notif_welfare_checks_notification_id"),
        "notif_welfare_checks",
        ["notification_id"],
        unique=False,
    )
    op.create_table(
        "notif_alert_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notif_deliveries.id"],
            name=op.f("fk_notif_alert_batches_delivery_id_notif_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_alert_batches")),
        sa.UniqueConstraint(
            "recipient", "window_start", name=op.f("uq_notif_alert_batches_recipient_window_start")
        ),
    )
    op.create_table(
        "notif_front_door_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("council_id", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("clock_kind", sa.String(length=32), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("contact_reference", sa.String(length=20), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["notif_alert_batches.id"],
            name=op.f("fk_notif_front_door_alerts_batch_id_notif_alert_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notif_front_door_alerts")),
        sa.UniqueConstraint("event_id", name=op.f("uq_notif_front_door_alerts_event_id")),
    )
    op.create_index(
        "ix_notif_front_door_alerts_pending",
        "notif_front_door_alerts",
        ["recipient", "created_at"],
        unique=False,
        postgresql_where=sa.text("batch_id IS NULL"),
    )
    op.execute(
        """
        INSERT INTO notif_welfare_checks
          (id, notification_id, done_at, done_by, outcome, recorded_by, recorded_at)
        SELECT gen_random_uuid(), id, welfare_check_at, COALESCE(welfare_check_by, 'unknown'),
               COALESCE(welfare_check_outcome, ''), COALESCE(welfare_check_by, 'unknown'),
               welfare_check_at
        FROM notif_notifications WHERE welfare_check_at IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_index(
        "ix_notif_front_door_alerts_pending",
        table_name="notif_front_door_alerts",
        postgresql_where=sa.text("batch_id IS NULL"),
    )
    op.drop_table("notif_front_door_alerts")
    op.drop_table("notif_alert_batches")
    op.drop_index(
        op.f("ix_notif_welfare_checks_notification_id"), table_name="notif_welfare_checks"
    )
    op.drop_table("notif_welfare_checks")
    op.drop_index(op.f("ix_notif_corrections_notification_id"), table_name="notif_corrections")
    op.drop_table("notif_corrections")
    op.drop_table("notif_council_terms")
    op.drop_table("notif_council_contacts")
