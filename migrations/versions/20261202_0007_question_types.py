"""Question types: true/false, pick several, type the answer, put in order, poll.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TYPES = ("single", "true_false", "multi", "type_answer", "order", "poll")


def upgrade() -> None:
    op.add_column(
        "questions",
        sa.Column("type", sa.String(length=16), server_default="single", nullable=False),
    )
    op.add_column(
        "questions",
        sa.Column("partial", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "questions",
        sa.Column(
            "accepted_answers",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    op.add_column(
        "questions",
        sa.Column("max_typos", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "questions",
        sa.Column("ignore_accents", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "questions",
        sa.Column(
            "ignore_trailing_period", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.create_check_constraint(
        op.f("ck_questions_type"),
        "questions",
        "type IN (" + ", ".join(f"'{t}'" for t in TYPES) + ")",
    )
    op.create_check_constraint(
        op.f("ck_questions_max_typos"), "questions", "max_typos BETWEEN 0 AND 2"
    )
    op.alter_column("answers", "choice_id", existing_type=sa.BigInteger(), nullable=True)
    op.add_column("answers", sa.Column("choice_ids", postgresql.ARRAY(sa.BigInteger())))
    op.add_column("answers", sa.Column("answer_text", sa.Text()))
    op.add_column("answers", sa.Column("matched_answer", sa.Text()))
    op.create_check_constraint(
        op.f("ck_answers_one_response"),
        "answers",
        "num_nonnulls(choice_id, choice_ids, answer_text) = 1",
    )


def downgrade() -> None:
    # answers of the new types have no single choice: they cannot stay
    op.execute("DELETE FROM answers WHERE choice_id IS NULL")
    op.drop_constraint("ck_answers_one_response", "answers", type_="check")
    op.drop_column("answers", "matched_answer")
    op.drop_column("answers", "answer_text")
    op.drop_column("answers", "choice_ids")
    op.alter_column("answers", "choice_id", existing_type=sa.BigInteger(), nullable=False)
    op.drop_constraint("ck_questions_max_typos", "questions", type_="check")
    op.drop_constraint("ck_questions_type", "questions", type_="check")
    for column in (
        "ignore_trailing_period",
        "ignore_accents",
        "max_typos",
        "accepted_answers",
        "partial",
        "type",
    ):
        op.drop_column("questions", column)
