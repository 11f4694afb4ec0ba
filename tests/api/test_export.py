"""The results export as CSV and JSON, against the stored answers and the replayed boards."""

from __future__ import annotations

import csv
import io
import json

from tests.helpers import HOST, create_quiz, join, submit


def export(client, code, kind, headers=HOST):
    return client.get(f"/api/v1/quizzes/{code}/export.{kind}", headers=headers)


def rows_of(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def play(client):
    """Two questions closed and one open: a formula-looking name among the players."""
    quiz = create_quiz(client, questions=3)
    code = quiz["quiz_id"]
    names = ("Ann", "=HYPERLINK(evil)", "Cy")
    players = {name: join(client, code, name) for name in names}
    picks = [(0, 1, 0), (1, 0, None)]  # Cy does not answer the second question
    for question, pick in zip(quiz["questions"], picks, strict=False):
        assert client.post(f"/api/v1/quizzes/{code}/next", headers=HOST).status_code == 200
        for name, choice in zip(names, pick, strict=True):
            if choice is not None:
                chosen = question["choices"][choice]["choice_id"]
                assert (
                    submit(client, code, players[name], question["question_id"], chosen).status_code
                    == 202
                )
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    return quiz, players


def test_the_csv_has_a_row_per_player_and_closed_question_and_a_summary_per_player(client):
    quiz, players = play(client)
    code = quiz["quiz_id"]
    response = export(client, code, "csv")
    assert response.mimetype == "text/csv"
    assert f"quiz-{code}-results.csv" in response.headers["Content-Disposition"]
    assert response.is_streamed
    rows = rows_of(response)
    answers = [r for r in rows if r["row"] == "answer"]
    summaries = {r["participant_id"]: r for r in rows if r["row"] == "summary"}
    assert len(answers) == 3 * 2 and len(summaries) == 3

    # each question's rows give the ranks and totals of the board replayed after it
    for k in (1, 2):
        board = client.get(f"/api/v1/quizzes/{code}/leaderboard?after_question={k}").json
        ranks = {str(e["participant_id"]): str(e["rank"]) for e in board["entries"]}
        of_k = {r["participant_id"]: r for r in answers if r["question_position"] == str(k)}
        assert {pid: r["rank_after_question"] for pid, r in of_k.items()} == ranks
        if k == 2:
            assert {pid: s["total"] for pid, s in summaries.items()} == {
                str(e["participant_id"]): str(e["score"]) for e in board["entries"]
            }
            assert {pid: s["correct_answers"] for pid, s in summaries.items()} == {
                str(e["participant_id"]): str(e["correct_answers"]) for e in board["entries"]
            }
            assert {pid: s["final_rank"] for pid, s in summaries.items()} == ranks

    ann = [r for r in answers if r["display_name"] == "Ann"]
    assert [(r["choice"], r["correct"]) for r in ann] == [("right", "True"), ("wrong", "False")]
    assert int(ann[0]["points"]) > 0 and int(ann[0]["response_ms"]) >= 0
    cy_second = next(
        r for r in answers if r["display_name"] == "Cy" and r["question_position"] == "2"
    )
    assert (cy_second["choice"], cy_second["correct"], cy_second["points"]) == ("", "", "")


def test_cells_a_spreadsheet_would_run_are_escaped(client):
    quiz, _ = play(client)
    text = export(client, quiz["quiz_id"], "csv").get_data(as_text=True)
    names = {r["display_name"] for r in csv.DictReader(io.StringIO(text))}
    assert names == {"Ann", "'=HYPERLINK(evil)", "Cy"}
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_the_json_export_holds_the_same_results_with_the_quiz(client):
    quiz, _ = play(client)
    code = quiz["quiz_id"]
    body = export(client, code, "json")
    assert body.status_code == 200 and body.mimetype == "application/json"
    document = json.loads(body.get_data(as_text=True))
    assert document["quiz"]["quiz_id"] == code
    assert document["quiz"]["questions"][0]["choices"][0]["correct"] is True
    rows = rows_of(export(client, code, "csv"))
    summaries = {int(r["participant_id"]): r for r in rows if r["row"] == "summary"}
    assert len(document["participants"]) == 3
    for player in document["participants"]:
        summary = summaries[player["participant_id"]]
        assert str(player["total"]) == summary["total"]
        assert str(player["final_rank"]) == summary["final_rank"]
        assert len(player["questions"]) == 2
    # the JSON keeps names as typed: escaping is for spreadsheets only
    assert "=HYPERLINK(evil)" in {p["display_name"] for p in document["participants"]}


def test_removed_and_late_players_and_a_quiz_not_started(client):
    quiz, players = play(client)
    code = quiz["quiz_id"]
    bob = players["=HYPERLINK(evil)"]
    client.delete(f"/api/v1/quizzes/{code}/participants/{bob['participant_id']}", headers=HOST)
    late = join(client, code, "Late")
    rows = rows_of(export(client, code, "csv"))
    assert "'=HYPERLINK(evil)" not in {r["display_name"] for r in rows}
    late_rows = [r for r in rows if r["participant_id"] == str(late["participant_id"])]
    assert [(r["row"], r["total"], r["final_rank"]) for r in late_rows] == [("summary", "0", "")]

    fresh = create_quiz(client)["quiz_id"]
    join(client, fresh, "Early")
    rows = rows_of(export(client, fresh, "csv"))
    assert [(r["row"], r["display_name"]) for r in rows] == [("summary", "Early")]


def test_the_export_is_the_hosts(client):
    code = create_quiz(client)["quiz_id"]
    assert export(client, code, "csv", headers={}).status_code == 401
    assert export(client, code, "json", headers={"X-Host-Key": "wrong"}).status_code == 403
    missing = export(client, "NOPE42", "csv")
    assert missing.status_code == 404 and missing.is_json
