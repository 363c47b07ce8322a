"""A brand's own labelled posts (`earshot train --labels`): reading, checking, describing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InputError
from services.labels import read_labels


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_labels_csv_rows_teach_each_task_they_label(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ours.csv",
        "text,sentiment,intent,private,brand\n"
        "my parcel never came,negative,delivery,private,HaldenSupport\n"
        "love the new app,positive,,,\n"
        "where is the nearest store?,,question,public,@HaldenHome\n",
    )
    labels = read_labels(path)
    assert labels.rows == 3
    assert labels.examples["sentiment"] == [
        ("my parcel never came", "negative"),
        ("love the new app", "positive"),
    ]
    assert labels.examples["intent"] == [
        ("my parcel never came", "delivery"),
        ("where is the nearest store?", "question"),
    ]
    assert [(e.brand, e.private, e.origin) for e in labels.practice] == [
        ("haldensupport", True, "labels"),
        ("haldenhome", False, "labels"),
    ]
    assert labels.counts() == {"sentiment": 2, "intent": 2, "private": 2}
    described = labels.describe()
    assert described["file"] == "ours.csv"
    assert len(described["sha256"]) == 64
    assert described["labels"]["private"] == {"private": 1, "public": 1}
    assert described["brands"] == ["haldenhome", "haldensupport"]


def test_labels_jsonl_takes_booleans_and_the_default_brand(tmp_path: Path) -> None:
    rows = [
        {"text": "charged twice this month", "private": True, "created_at": "2026-11-02T10:00Z"},
        {"text": "thanks, all good", "private": "no", "sentiment": "Positive"},
    ]
    path = write(tmp_path / "ours.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    labels = read_labels(path, brand="HaldenSupport")
    assert [(e.brand, e.private) for e in labels.practice] == [
        ("haldensupport", True),
        ("haldensupport", False),
    ]
    assert labels.practice[0].created_at.isoformat() == "2026-11-02T10:00:00+00:00"
    assert labels.examples["sentiment"] == [("thanks, all good", "positive")]


def test_labels_bad_rows_are_all_named_and_the_file_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv",
        "text,sentiment,private\n"
        "fine post,neutral,\n"
        "typo here,negatve,\n"
        ",positive,\n"
        "which brand?,,private\n"
        "no label at all,,\n",
    )
    with pytest.raises(InputError) as caught:
        read_labels(path)
    message = str(caught.value)
    assert "4 bad row(s) of 5; nothing was trained" in message
    assert "bad.csv line 3: sentiment 'negatve' is not one of negative, neutral, positive" in (
        message
    )
    assert "bad.csv line 4: missing or empty 'text'" in message
    assert "bad.csv line 5: a private label needs a brand" in message
    assert "bad.csv line 6: no label" in message


def test_labels_csv_without_a_label_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.csv", "text,mood\nhello,happy\n")
    with pytest.raises(InputError, match="needs a 'text' column and at least one of"):
        read_labels(path)


def test_labels_jsonl_invalid_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "x.jsonl", '{"text": "ok", "sentiment": "neutral"}\n{oops\n')
    with pytest.raises(InputError, match=r"x\.jsonl:2: invalid JSON"):
        read_labels(path)
