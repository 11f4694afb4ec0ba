"""Extensions created unbound and bound to the app in create_app."""

from flask_smorest import Api

from web.paths import JoinCodeConverter, join_code_schema

api = Api(
    spec_kwargs={
        "info": {
            "description": (
                "Live quiz backend: create and run a quiz, join it, submit answers (scored "
                "asynchronously, exactly once) and poll their scoring tasks. Errors are JSON "
                "objects `{code, status, message, errors?}`. Each operation lists every "
                "status it answers; a method a path does not offer answers 405 with `Allow`."
            )
        }
    }
)
# no catch-all "default" response: each operation lists the statuses it answers
# (web/api/responses.py)
api.DEFAULT_ERROR_RESPONSE_NAME = None
api.register_converter(JoinCodeConverter, join_code_schema)
