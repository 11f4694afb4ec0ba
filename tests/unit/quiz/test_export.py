"""The export's CSV escaping and its streamed documents, without a database."""

from __future__ import annotations

import csv
import io
import json

import pytest

from shared.quiz.export import PlayerExport, csv_lines, json_chunks, safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Ann", "a=b", "", 12, None, True])
def test_other_cells_stay_as_they_are(value):
    assert safe_cell(value) == value


def exports():
    cell = {
        "question_position": 1,
        "question_id": 7,
        "choice": "=evil",
        "correct": True,
        "points": 900,
        "streak_bonus": 0,
        "response_ms": 1200,
        "rank_after_question": 1,
    }
    return [
        PlayerExport(1, "Ann", [cell], total=900, correct_answers=1, final_rank=1),
        PlayerExport(2, "-Bob", [], total=0, correct_answers=0, final_rank=None),
    ]


def test_the_csv_comes_a_player_at_a_time_with_answer_and_summary_rows():
    chunks = list(csv_lines(exports()))
    assert len(chunks) == 3  # the header, then one chunk per player
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [(r["row"], r["display_name"], r["choice"]) for r in rows] == [
        ("answer", "Ann", "'=evil"),
        ("summary", "Ann", ""),
        ("summary", "'-Bob", ""),
    ]
    assert rows[1]["total"] == "900" and rows[1]["final_rank"] == "1"


def test_the_json_chunks_make_one_document():
    document = json.loads("".join(json_chunks({"quiz_id": "ABC234"}, exports())))
    assert document["quiz"] == {"quiz_id": "ABC234"}
    assert [p["display_name"] for p in document["participants"]] == ["Ann", "-Bob"]
    assert document["participants"][0]["questions"][0]["choice"] == "=evil"
    assert json.loads("".join(json_chunks({}, []))) == {"quiz": {}, "participants": []}
