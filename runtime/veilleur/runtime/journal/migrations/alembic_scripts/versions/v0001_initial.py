"""The journal's initial schema: ``journal_entries``, as it was before Alembic.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journal_entries",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("utc", sa.String(32), nullable=False),
        sa.Column("camera_id", sa.String(64)),
        sa.Column("event", sa.String(32)),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("id"),
    )
    for col in ("kind", "utc", "camera_id", "event"):
        op.create_index(f"ix_journal_entries_{col}", "journal_entries", [col])


def downgrade() -> None:
    op.drop_table("journal_entries")
