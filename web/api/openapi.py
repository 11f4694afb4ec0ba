"""What marshmallow cannot say in the OpenAPI document: a body that is one of several shapes.

A question to create is one of six schemas, one per type (web/api/schemas.py,
QUESTION_CREATE_SCHEMAS), and an answer carries one of three fields; both become a
`oneOf` here, once the blueprints have put their schemas in the document.
"""

from __future__ import annotations

from flask_smorest import Api

from web.api.schemas import QUESTION_CREATE_SCHEMAS, RESPONSE_FIELDS, component_name


def document_question_types(api: Api) -> None:
    components = api.spec.components
    for schema in QUESTION_CREATE_SCHEMAS.values():
        if component_name(schema) not in components.schemas:
            components.schema(component_name(schema), schema=schema)
    answer = components.schemas["AnswerSubmit"]
    answer["oneOf"] = [
        {"title": f"answered with {field}", "required": [field]} for field in RESPONSE_FIELDS
    ]
