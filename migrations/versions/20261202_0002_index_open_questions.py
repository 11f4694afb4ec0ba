"""Index the open questions by deadline, for the sweep that closes timed-out questions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_questions_open_closes_at",
        "questions",
        ["closes_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_questions_open_closes_at",
        table_name="questions",
        postgresql_where=sa.text("status = 'open'"),
    )
