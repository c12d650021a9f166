"""The batch CSV: fixed columns, odd names quoted, formulas defused, left-out files at the end."""

from __future__ import annotations

import csv
import io

from engine.batch.result import CSV_COLUMNS, Answer, BatchResult, PhotoAnswer
from engine.data.scan import Skipped

ODD_NAMES = (
    'comma, "quotes".png',
    "new\nline.png",
    '=HYPERLINK("http://x").png',
    "+1.png",
    "-1.png",
    "@me.png",
    "ünïcødé 照片.png",
)


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def result(threshold: float | None = None, **changes) -> BatchResult:
    rows = tuple(
        PhotoAnswer(
            name,
            Answer("daisy", 0.91),
            Answer("=rose" if index == 0 else "tulip", 0.4 + index / 20),
            None if threshold is None else 0.4 + index / 20 < threshold,
        )
        for index, name in enumerate(ODD_NAMES)
    )
    fields = {
        "rows": rows,
        "skipped": (Skipped("notes.txt", "not a supported image type"),),
        "zero_shot": True,
        "run_id": "r1",
        "threshold": threshold,
    }
    return BatchResult(**{**fields, **changes})


def test_columns_and_odd_names_survive_a_round_trip():
    table = read(result().to_csv())
    assert tuple(table[0]) == CSV_COLUMNS
    files = [row["file"] for row in table]
    assert files[:2] == list(ODD_NAMES[:2])
    assert files[-2] == "ünïcødé 照片.png"
    assert table[0]["zero_shot"] == "daisy" and table[0]["zero_shot_probability"] == "0.9100"
    assert table[1]["fine_tuned"] == "tulip" and table[1]["fine_tuned_probability"] == "0.4500"


def test_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text():
    table = read(result().to_csv())
    assert [row["file"] for row in table[2:6]] == [
        '\'=HYPERLINK("http://x").png',
        "'+1.png",
        "'-1.png",
        "'@me.png",
    ]
    assert table[0]["fine_tuned"] == "'=rose"  # class names are folder names: users' text too


def test_left_out_files_come_last_with_their_problem():
    *_, last = read(result().to_csv())
    assert last == {
        **dict.fromkeys(CSV_COLUMNS, ""),
        "file": "notes.txt",
        "problem": "not a supported image type",
    }


def test_the_not_sure_column_is_filled_only_when_the_run_has_a_threshold():
    assert {row["not_sure"] for row in read(result().to_csv())} == {""}
    marked = [row["not_sure"] for row in read(result(threshold=0.5).to_csv())]
    assert marked[:4] == ["yes", "yes", "no", "no"]
    assert result(threshold=0.5).num_not_sure() == 2


def test_a_model_that_did_not_answer_leaves_its_columns_empty():
    rows = (PhotoAnswer("a.png", None, Answer("tulip", 0.8)),)
    [row] = read(result(rows=rows, skipped=(), zero_shot=False).to_csv())
    assert (row["zero_shot"], row["zero_shot_probability"], row["fine_tuned"]) == ("", "", "tulip")


def test_the_json_form_names_every_photo_and_file_left_out():
    document = result(threshold=0.5).to_dict()
    assert document["run_id"] == "r1" and document["threshold"] == 0.5
    assert document["photos"][0] == {
        "file": ODD_NAMES[0],
        "zero_shot": {"label": "daisy", "probability": 0.91},
        "fine_tuned": {"label": "=rose", "probability": 0.4},
        "not_sure": True,
    }
    assert document["skipped"] == [{"file": "notes.txt", "reason": "not a supported image type"}]
