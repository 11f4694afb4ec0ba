"""Extensions created unbound and bound to the app in create_app."""

from flask_smorest import Api

from web.paths import JoinCodeConverter, join_code_schema

api = Api(
    spec_kwargs={
        "info": {
            "description": (
                "Live quiz backend: create and run a quiz, join it, submit answers (scored "
                "asynchronously, exactly once) and poll their scoring tasks. Errors are JSON "
                "objects `{code, status, message, errors?}`."
            )
        }
    }
)
api.register_converter(JoinCodeConverter, join_code_schema)
