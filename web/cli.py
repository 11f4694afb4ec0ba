"""Flask commands: `flask --app web seed-demo`."""

from __future__ import annotations

import click
from flask import Flask

from shared.quiz import quizzes
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
        click.echo(f"  question {question.id}: {question.text}  choices: {choices}")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
