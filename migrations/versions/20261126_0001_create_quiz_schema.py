"""Create the quiz schema: quizzes, questions, choices, participants, answers, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 05:56:20.901083
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quizzes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="lobby", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('lobby', 'running', 'finished')", name=op.f("ck_quizzes_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quizzes")),
        sa.UniqueConstraint("code", name=op.f("uq_quizzes_code")),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("quiz_id", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(length=40), nullable=False),
        sa.Column("total_score", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_participants_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
    )
    op.create_index(
        "uq_participants_quiz_id_display_name",
        "participants",
        ["quiz_id", sa.literal_column("lower(display_name)")],
        unique=True,
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("quiz_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'open', 'closed')", name=op.f("ck_questions_status")
        ),
        sa.CheckConstraint("points IN (0, 1000, 2000)", name=op.f("ck_questions_points")),
        sa.CheckConstraint("time_limit_s > 0", name=op.f("ck_questions_time_limit_positive")),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_questions_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
        sa.UniqueConstraint("quiz_id", "position", name=op.f("uq_questions_quiz_id_position")),
    )
    op.create_table(
        "choices",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("is_correct", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_choices_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_choices")),
        sa.UniqueConstraint(
            "question_id", "position", name=op.f("uq_choices_question_id_position")
        ),
    )
    op.create_table(
        "answers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("choice_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="accepted", nullable=False),
        sa.Column("reject_reason", sa.String(length=64), nullable=True),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("streak_bonus", sa.Integer(), nullable=True),
        sa.Column("total_score_after", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('accepted', 'scored', 'rejected')", name=op.f("ck_answers_state")
        ),
        sa.ForeignKeyConstraint(
            ["choice_id"],
            ["choices.id"],
            name=op.f("fk_answers_choice_id_choices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_answers_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_answers_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint(
            "participant_id",
            "idempotency_key",
            name=op.f("uq_answers_participant_id_idempotency_key"),
        ),
        sa.UniqueConstraint(
            "participant_id", "question_id", name=op.f("uq_answers_participant_id_question_id")
        ),
        sa.UniqueConstraint("task_id", name=op.f("uq_answers_task_id")),
    )
    op.create_index(
        "ix_answers_accepted_enqueued_at",
        "answers",
        ["enqueued_at"],
        unique=False,
        postgresql_where=sa.text("state = 'accepted'"),
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("answer_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["answers.id"],
            name=op.f("fk_outbox_events_answer_id_answers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("answer_id", name=op.f("uq_outbox_events_answer_id")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    op.create_index(
        "ix_outbox_events_unpublished_created_at",
        "outbox_events",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_events_unpublished_created_at",
        table_name="outbox_events",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox_events")
    op.drop_index(
        "ix_answers_accepted_enqueued_at",
        table_name="answers",
        postgresql_where=sa.text("state = 'accepted'"),
    )
    op.drop_table("answers")
    op.drop_table("choices")
    op.drop_table("questions")
    op.drop_index("uq_participants_quiz_id_display_name", table_name="participants")
    op.drop_table("participants")
    op.drop_table("quizzes")
