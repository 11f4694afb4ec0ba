"""The attempt log: every submission with a valid token, accepted or not.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OUTCOMES = (
    "accepted",
    "replayed",
    "already_answered",
    "not_open",
    "late",
    "idempotency_key_reused",
    "rate_limited",
    "removed_player",
    "invalid",
    "not_found",
    "forbidden",
    "too_large",
    "bad_request",
)


def upgrade() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("quiz_id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=True),
        sa.Column("choice_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("answer_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ({})".format(", ".join(repr(o) for o in OUTCOMES)),
            name=op.f("ck_attempts_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_attempts_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_attempts_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    op.create_index("ix_attempts_quiz_id_id", "attempts", ["quiz_id", "id"])
    op.create_index("ix_attempts_participant_id_id", "attempts", ["participant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_attempts_participant_id_id", table_name="attempts")
    op.drop_index("ix_attempts_quiz_id_id", table_name="attempts")
    op.drop_table("attempts")
