"""Blueprint registration: one line per resource."""

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from web.api import (
        answers,
        attempts,
        corrections,
        export,
        health,
        leaderboard,
        openapi,
        participants,
        quizzes,
        stats,
        tasks,
    )

    api.register_blueprint(quizzes.blp)
    api.register_blueprint(participants.blp)
    api.register_blueprint(answers.blp)
    api.register_blueprint(tasks.blp)
    api.register_blueprint(leaderboard.blp)
    api.register_blueprint(stats.blp)
    api.register_blueprint(export.blp)
    api.register_blueprint(attempts.blp)
    api.register_blueprint(corrections.blp)
    api.register_blueprint(health.blp)
    openapi.document_question_types(api)
