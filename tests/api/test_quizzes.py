"""Creating, reading, opening and closing quizzes over HTTP."""

import pytest

from tests.helpers import HOST, close_question, create_quiz, open_question, quiz_body, row_counts


def test_host_creates_a_quiz_with_join_code_and_ids(client):
    response = client.post("/api/v1/quizzes", json=quiz_body(questions=2), headers=HOST)
    assert response.status_code == 201
    quiz = response.json
    assert len(quiz["quiz_id"]) == 6 and quiz["quiz_id"].isupper()
    assert quiz["status"] == "lobby"
    assert [q["position"] for q in quiz["questions"]] == [1, 2]
    question = quiz["questions"][0]
    assert question["status"] == "pending"
    assert question["time_limit_s"] == 30 and question["points"] == 1000
    assert [c["correct"] for c in question["choices"]] == [True, False, False]
    assert all(isinstance(c["choice_id"], int) for c in question["choices"])


def test_defaults_for_time_limit_and_points(client):
    body = quiz_body(questions=1)
    del body["questions"][0]["time_limit_s"], body["questions"][0]["points"]
    question = client.post("/api/v1/quizzes", json=body, headers=HOST).json["questions"][0]
    assert (question["time_limit_s"], question["points"]) == (20, 1000)


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({"X-Host-Key": "guess"}, 403)])
def test_creating_a_quiz_needs_the_host_key(client, engine, headers, status):
    before = row_counts(engine)
    response = client.post("/api/v1/quizzes", json=quiz_body(), headers=headers)
    assert response.status_code == status
    assert response.json["code"] == status and "X-Host-Key" in response.json["message"]
    assert row_counts(engine) == before


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("title"),
        lambda b: b.update(questions=[]),
        lambda b: b["questions"][0].update(points=500),
        lambda b: b["questions"][0].update(time_limit_s="thirty"),
        lambda b: b["questions"][0].update(choices=[{"text": "only", "correct": True}]),
        lambda b: [c.update(correct=False) for c in b["questions"][0]["choices"]],
        lambda b: b.update(colour="blue"),
        lambda b: b.update(title="   "),
        lambda b: b.update(title="Verbs\u0000"),
        lambda b: b["questions"][0].update(text="Past of \u0000go?"),
        lambda b: b["questions"][0]["choices"][0].update(text="went\x1b[31m"),
        lambda b: b.update(title="half a pair \ud800"),
    ],
    ids=[
        "no-title",
        "no-questions",
        "points-not-allowed",
        "time-limit-not-a-number",
        "one-choice",
        "no-correct-choice",
        "unknown-field",
        "blank-title",
        "nul-in-title",
        "nul-in-question",
        "escape-in-choice",
        "lone-surrogate-in-title",
    ],
)
def test_an_invalid_quiz_is_refused_with_422_and_nothing_written(client, engine, mutate):
    body = quiz_body()
    mutate(body)
    before = row_counts(engine)
    response = client.post("/api/v1/quizzes", json=body, headers=HOST)
    assert response.status_code == 422
    assert response.json["errors"]
    assert row_counts(engine) == before


def test_a_question_may_span_lines(client):
    body = quiz_body(questions=1)
    body["questions"][0]["text"] = "Fill the gap:\n\tI ___ home yesterday."
    response = client.post("/api/v1/quizzes", json=body, headers=HOST)
    assert response.status_code == 201
    assert response.json["questions"][0]["text"] == body["questions"][0]["text"]


@pytest.mark.parametrize("code", ["A%00B", "K7QX2M%00", "%00", "K7-QX2", "K7QX2M%0A"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/quizzes/{code}"),
        ("GET", "/api/v1/quizzes/{code}/leaderboard"),
        ("GET", "/api/v1/quizzes/{code}/leaderboard/stream"),
        ("POST", "/api/v1/quizzes/{code}/participants"),
        ("POST", "/api/v1/quizzes/{code}/answers"),
        ("POST", "/api/v1/quizzes/{code}/questions/1/open"),
        ("POST", "/api/v1/quizzes/{code}/questions/1/close"),
        ("GET", "/quizzes/{code}/board"),
    ],
)
def test_a_join_code_that_cannot_be_one_is_404_json(client, engine, method, path, code):
    before = row_counts(engine)
    response = client.open(
        path.format(code=code), method=method, json={"display_name": "Ann"}, headers=HOST
    )
    assert response.status_code == 404
    assert response.json["code"] == 404
    assert row_counts(engine) == before


def test_reading_a_quiz_never_shows_the_correct_choices(client):
    quiz = create_quiz(client)
    response = client.get(f"/api/v1/quizzes/{quiz['quiz_id'].lower()}")
    assert response.status_code == 200
    assert response.json["quiz_id"] == quiz["quiz_id"]
    assert "correct" not in response.get_data(as_text=True)
    assert [c["choice_id"] for c in response.json["questions"][0]["choices"]] == [
        c["choice_id"] for c in quiz["questions"][0]["choices"]
    ]


def test_an_unknown_quiz_is_404_json(client):
    response = client.get("/api/v1/quizzes/NOPE42")
    assert response.status_code == 404
    assert response.json["code"] == 404 and "NOPE42" in response.json["message"]


def test_opening_starts_the_timer_and_the_quiz(client):
    quiz = create_quiz(client)
    question = open_question(client, quiz["quiz_id"], quiz["questions"][0]["question_id"])
    assert question["status"] == "open"
    assert question["opened_at"] and question["closes_at"] > question["opened_at"]
    assert client.get(f"/api/v1/quizzes/{quiz['quiz_id']}").json["status"] == "running"


def test_one_question_open_at_a_time_and_each_only_once(client):
    quiz = create_quiz(client)
    code, (q1, q2, _q3) = quiz["quiz_id"], [q["question_id"] for q in quiz["questions"]]
    open_question(client, code, q1)
    other = client.post(f"/api/v1/quizzes/{code}/questions/{q2}/open", headers=HOST)
    assert other.status_code == 409 and "still open" in other.json["message"]
    close_question(client, code, q1)
    reopen = client.post(f"/api/v1/quizzes/{code}/questions/{q1}/open", headers=HOST)
    assert reopen.status_code == 409
    open_question(client, code, q2)


def test_closing_needs_an_open_question(client):
    quiz = create_quiz(client)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]["question_id"]
    response = client.post(f"/api/v1/quizzes/{code}/questions/{q1}/close", headers=HOST)
    assert response.status_code == 409


def test_a_host_asking_twice_gets_the_same_answer_and_nothing_changes(client):
    # a retry after a lost response (or a 503 after the commit) is safe
    quiz = create_quiz(client)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]["question_id"]
    opened = open_question(client, code, q1)
    again = client.post(f"/api/v1/quizzes/{code}/questions/{q1}/open", headers=HOST)
    assert (again.status_code, again.json) == (200, opened)
    closed = close_question(client, code, q1)
    again = client.post(f"/api/v1/quizzes/{code}/questions/{q1}/close", headers=HOST)
    assert (again.status_code, again.json) == (200, closed)
    assert closed["opened_at"] == opened["opened_at"]


def test_closing_the_last_question_finishes_the_quiz(client):
    quiz = create_quiz(client, questions=1)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]["question_id"]
    open_question(client, code, q1)
    closed = close_question(client, code, q1)
    assert closed["status"] == "closed"
    assert client.get(f"/api/v1/quizzes/{code}").json["status"] == "finished"


def test_opening_a_question_of_another_quiz_is_404(client):
    first, second = create_quiz(client), create_quiz(client)
    foreign = second["questions"][0]["question_id"]
    response = client.post(
        f"/api/v1/quizzes/{first['quiz_id']}/questions/{foreign}/open", headers=HOST
    )
    assert response.status_code == 404


@pytest.mark.parametrize("action", ["open", "close"])
def test_running_a_question_needs_the_host_key(client, action):
    quiz = create_quiz(client)
    q1 = quiz["questions"][0]["question_id"]
    url = f"/api/v1/quizzes/{quiz['quiz_id']}/questions/{q1}/{action}"
    assert client.post(url).status_code == 401
    assert client.post(url, headers={"X-Host-Key": "nope"}).status_code == 403


def test_booleans_of_a_quiz_are_json_booleans_only(client, engine):
    before = row_counts(engine)
    for flag in (0, 1, "true", "yes", None):
        body = quiz_body()
        body["questions"][0]["choices"][0]["correct"] = flag
        assert client.post("/api/v1/quizzes", json=body, headers=HOST).status_code == 422, flag
        late = quiz_body()
        late["allow_late_join"] = flag
        assert client.post("/api/v1/quizzes", json=late, headers=HOST).status_code == 422, flag
    assert row_counts(engine) == before
