"""The OpenAPI document and Swagger UI describe every endpoint, its schemas and its errors."""

import re

EXPECTED_ERRORS = {
    ("/api/v1/quizzes", "post"): {"401", "403", "422"},
    ("/api/v1/quizzes/{quiz_id}", "get"): {"404"},
    ("/api/v1/quizzes/{quiz_id}/questions/{question_id}/open", "post"): {
        "401",
        "403",
        "404",
        "409",
    },
    ("/api/v1/quizzes/{quiz_id}/questions/{question_id}/close", "post"): {
        "401",
        "403",
        "404",
        "409",
    },
    ("/api/v1/quizzes/{quiz_id}/participants", "post"): {"404", "409", "422"},
    ("/api/v1/quizzes/{quiz_id}/answers", "post"): {
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "422",
        "503",
    },
    ("/api/v1/tasks/{task_id}", "get"): {"404"},
}


def test_every_endpoint_has_a_summary_and_its_error_responses(client):
    spec = client.get("/openapi.json").json
    for (path, method), errors in EXPECTED_ERRORS.items():
        operation = spec["paths"][path][method]
        assert operation["summary"], (path, method)
        assert errors <= set(operation["responses"]), (path, method)


def test_submit_documents_its_idempotency_header_and_security(client):
    operation = client.get("/openapi.json").json["paths"]["/api/v1/quizzes/{quiz_id}/answers"][
        "post"
    ]
    assert "202" in operation["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
    assert operation["security"] == [{"participantToken": []}]


def test_swagger_ui_is_served_with_every_file_it_loads_from_the_app(client):
    response = client.get("/quiz-api-doc")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "swagger" in page.lower()
    # nothing from another origin: the page works offline, with the pinned files
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded and all(url.startswith("/quiz-api-doc/assets/") for url in loaded), loaded
    for url in loaded:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.data) > 1000
    assert client.get("/quiz-api-doc/assets/../setup.cfg").status_code == 404
