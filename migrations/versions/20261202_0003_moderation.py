"""Moderation and late joins: removed and banned players, a quiz's allow_late_join.

A removed player's display name is free again, so names are unique among the players
not removed (a partial unique index instead of the full one).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 02:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME_INDEX = "uq_participants_quiz_id_display_name"
NAME_COLUMNS = ["quiz_id", sa.literal_column("lower(display_name)")]


def upgrade() -> None:
    op.add_column(
        "quizzes",
        sa.Column("allow_late_join", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column("participants", sa.Column("removed_at", sa.DateTime(timezone=True)))
    op.add_column(
        "participants",
        sa.Column("banned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.drop_index(NAME_INDEX, table_name="participants")
    op.create_index(
        NAME_INDEX,
        "participants",
        NAME_COLUMNS,
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(NAME_INDEX, table_name="participants")
    op.create_index(NAME_INDEX, "participants", NAME_COLUMNS, unique=True)
    op.drop_column("participants", "banned")
    op.drop_column("participants", "removed_at")
    op.drop_column("quizzes", "allow_late_join")
