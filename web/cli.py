"""Flask commands: `flask --app web seed-demo`, `… host-key`, `… leaderboard rebuild`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from shared.codes import normalize_code
from shared.errors import NotFound
from shared.leaderboard import rebuild
from shared.quiz import quizzes
from shared.quiz.question_types import QuestionType
from web.db import get_session, resources

DEMO_QUIZ = quizzes.QuizSpec(
    title="English warm-up",
    questions=[
        quizzes.QuestionSpec(
            text="Which word is a synonym of 'happy'?",
            time_limit_s=30,
            choices=[
                quizzes.ChoiceSpec("Cheerful", True),
                quizzes.ChoiceSpec("Tired", False),
                quizzes.ChoiceSpec("Angry", False),
                quizzes.ChoiceSpec("Hungry", False),
            ],
        ),
        quizzes.QuestionSpec(
            text="Choose the past tense of 'go'.",
            time_limit_s=20,
            choices=[
                quizzes.ChoiceSpec("Goed", False),
                quizzes.ChoiceSpec("Went", True),
                quizzes.ChoiceSpec("Gone", False),
            ],
        ),
        quizzes.QuestionSpec(
            text="'She ___ to school every day.'",
            time_limit_s=20,
            points=2000,
            choices=[
                quizzes.ChoiceSpec("go", False),
                quizzes.ChoiceSpec("goes", True),
                quizzes.ChoiceSpec("going", False),
            ],
        ),
        quizzes.QuestionSpec(
            text="Type the past tense of 'bring'.",
            time_limit_s=30,
            choices=[],
            type=QuestionType.TYPE_ANSWER,
            accepted_answers=["brought"],
            max_typos=1,
            ignore_trailing_period=True,
        ),
        quizzes.QuestionSpec(
            text="Which of these verbs are irregular?",
            time_limit_s=30,
            type=QuestionType.MULTI,
            choices=[
                quizzes.ChoiceSpec("sing", True),
                quizzes.ChoiceSpec("walk", False),
                quizzes.ChoiceSpec("think", True),
                quizzes.ChoiceSpec("play", False),
            ],
        ),
        quizzes.QuestionSpec(
            text="Which question was the hardest?",
            time_limit_s=20,
            points=0,
            type=QuestionType.POLL,
            choices=[
                quizzes.ChoiceSpec("the synonym", False),
                quizzes.ChoiceSpec("the past tenses", False),
                quizzes.ChoiceSpec("the irregular verbs", False),
            ],
        ),
    ],
)


@click.command("seed-demo")
def seed_demo() -> None:
    """Create the demo quiz and print its join code, question ids and the host key."""
    session = get_session()
    quiz = quizzes.create_quiz(session, DEMO_QUIZ)
    session.commit()
    click.echo(f"Demo quiz {quiz.title!r} created.")
    click.echo(f"  join code (quiz_id): {quiz.code}")
    click.echo(f"  host key (X-Host-Key): {resources().settings.host_key}")
    for question in quiz.questions:
        choices = ", ".join(
            f"{c.id}={c.text}{'*' if c.is_correct else ''}" for c in question.choices
        )
        answers = f"accepted: {', '.join(question.accepted_answers)}" if not choices else ""
        click.echo(
            f"  question {question.id} ({question.type}): {question.text}  "
            f"{'choices: ' + choices if choices else answers}"
        )


@click.command("host-key")
def host_key() -> None:
    """Print the host key in use (outside production, unset: this checkout's random one)."""
    click.echo(resources().settings.host_key)


# an AppGroup runs its commands inside the app context, as top-level commands are
leaderboard = AppGroup("leaderboard", help="Leaderboard maintenance.")


@leaderboard.command("rebuild")
@click.argument("quiz_id", required=False)
@click.option("--all", "every", is_flag=True, help="Rebuild the board of every quiz.")
def rebuild_leaderboard(quiz_id: str | None, every: bool) -> None:
    """Recompute leaderboards from PostgreSQL (QUIZ_ID, or --all)."""
    if bool(quiz_id) == every:
        raise click.UsageError("give either a QUIZ_ID or --all")
    session = get_session()
    client = resources().redis
    if every or quiz_id is None:
        counts = rebuild.rebuild_all(session, client)
    else:
        try:
            code = normalize_code(quiz_id)
            counts = {code: rebuild.rebuild_board(session, client, code)}
        except NotFound as exc:
            raise click.ClickException(exc.message) from None
    for code, participants in counts.items():
        click.echo(f"rebuilt {code}: {participants} participants")
    click.echo(f"{len(counts)} leaderboard(s) rebuilt from PostgreSQL")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(host_key)
    app.cli.add_command(leaderboard)
