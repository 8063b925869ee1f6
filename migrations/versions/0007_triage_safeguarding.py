"""triage: joint DV screening, phone-contact follow-up claims, per-child decision lines

- `triage_contacts.follow_up_claim`: a MARF that quoted a phone contact's reference but did
  not match it (agency, child or call time) is its own contact, "claims to follow up FDC-…",
  with the reasons, for a worker to reconcile.
- `triage_contacts.screening_state`: joint DV screening (awaiting_joint, disagreed, routed).
- `triage_screenings.kind`: a screener's view, or a team manager's resolution.
- `triage_decisions.children`, `level_reason`, `consent_decided_by`: a line per child; why
  the level was raised; who decided to proceed without consent.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "triage_contacts",
        sa.Column("follow_up_claim", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("triage_contacts", sa.Column("screening_state", sa.String(20), nullable=True))
    op.add_column(
        "triage_screenings",
        sa.Column("kind", sa.String(16), server_default="view", nullable=False),
    )
    op.add_column(
        "triage_decisions",
        sa.Column("children", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("triage_decisions", sa.Column("level_reason", sa.Text(), nullable=True))
    op.add_column(
        "triage_decisions", sa.Column("consent_decided_by", sa.String(200), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("triage_decisions", "consent_decided_by")
    op.drop_column("triage_decisions", "level_reason")
    op.drop_column("triage_decisions", "children")
    op.drop_column("triage_screenings", "kind")
    op.drop_column("triage_contacts", "screening_state")
    op.drop_column("triage_contacts", "follow_up_claim")
