"""The scoring policy a quiz is played with, voided questions, and score corrections.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "quizzes",
        sa.Column("scoring_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column(
        "quizzes",
        sa.Column("streak_bonus", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column(
        "quizzes",
        sa.Column("speed_weighting", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column(
        "quizzes",
        sa.Column("score_epoch", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("questions", sa.Column("voided_at", sa.DateTime(timezone=True)))
    op.create_table(
        "score_corrections",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("quiz_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_score_corrections_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_score_corrections_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_corrections")),
    )


def downgrade() -> None:
    op.drop_table("score_corrections")
    op.drop_column("questions", "voided_at")
    op.drop_column("quizzes", "score_epoch")
    op.drop_column("quizzes", "speed_weighting")
    op.drop_column("quizzes", "streak_bonus")
    op.drop_column("quizzes", "scoring_version")
