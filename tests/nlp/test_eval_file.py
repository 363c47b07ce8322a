"""Scoring a classifier on a labelled file, as `earshot eval` prints it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import InputError
from nlp.eval_file import evaluate_file, read_rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_evaluate_file_scores_a_named_classifier_with_a_label_map_and_filter(
    tmp_path: Path, config_path: Path
) -> None:
    data = write_csv(
        tmp_path / "s.csv",
        ["tweet", "mood", "brand"],
        [
            ["Thank you so much, brilliant service!", "happy", "a"],
            ["Worst experience ever, still no refund", "angry", "a"],
            ["What time does the store open?", "meh", "a"],
            ["I love it", "happy", "b"],
        ],
    )
    label_map = tmp_path / "map.yaml"
    label_map.write_text("positive: [happy]\nnegative: [angry]\nneutral: [meh]\n", encoding="utf-8")
    report = evaluate_file(
        load_config(config_path),
        task="sentiment",
        path=data,
        label_column="mood",
        text_column="tweet",
        label_map=label_map,
        where=["brand=a"],
        classifier="sentiment.vader.v1",
    )
    lines = report.splitlines()
    assert lines[0] == "sentiment with sentiment.vader.v1 on s.csv (3 rows)"
    assert "accuracy      1.0000" in lines
    assert "confusion matrix (rows: true, columns: predicted)" in lines


def test_evaluate_file_named_classifier_reads_what_it_requires_from_the_configured_ones(
    tmp_path: Path, config_path: Path
) -> None:
    data = tmp_path / "i.jsonl"
    rows = [
        {"text": "I was charged twice, I want a refund", "intent": "billing"},
        {"text": "Customer service is a joke, totally useless", "intent": "complaint"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = evaluate_file(
        load_config(config_path),
        task="intent",
        path=data,
        label_column="intent",
        classifier="intent.keywords.v1",
    )
    assert report.splitlines()[0] == "intent with intent.keywords.v1 on i.jsonl (2 rows)"
    assert "accuracy      1.0000" in report.splitlines()


def test_evaluate_file_reports_pii_types_and_private_with_the_configured_pipeline(
    tmp_path: Path, config_path: Path
) -> None:
    data = write_csv(
        tmp_path / "p.csv",
        ["text", "pii", "private"],
        [
            ["mail me at jo@example.com", "email", "yes"],
            ["card 4111 1111 1111 1111 was charged twice", "card", "true"],
            ["The store opens at nine", "", "no"],
        ],
    )
    config = load_config(config_path)
    pii = evaluate_file(config, task="pii", path=data, label_column="pii")
    assert pii.splitlines()[0] == "pii with pii.spacy.v1 on p.csv (3 rows)"
    assert pii.splitlines()[-1] == "rows with exactly the right types: 1.0000"
    private = evaluate_file(config, task="private", path=data, label_column="private")
    assert private.splitlines()[0] == "private with private.brand.v2 on p.csv (3 rows)"
    assert "accuracy      1.0000" in private.splitlines()


def test_evaluate_file_input_errors_name_the_problem(tmp_path: Path, config_path: Path) -> None:
    config = load_config(config_path)
    data = write_csv(tmp_path / "d.csv", ["text", "label"], [["hello", "neutral"]])
    with pytest.raises(InputError, match="evaluation file not found"):
        evaluate_file(config, task="sentiment", path=tmp_path / "none.csv", label_column="label")
    with pytest.raises(InputError, match="no column 'mood'"):
        evaluate_file(config, task="sentiment", path=data, label_column="mood")
    with pytest.raises(InputError, match="unknown task 'topic'"):
        evaluate_file(config, task="topic", path=data, label_column="label")
    with pytest.raises(InputError, match=r"'pii\.regex\.v1' assigns pii, not 'sentiment'"):
        evaluate_file(
            config, task="sentiment", path=data, label_column="label", classifier="pii.regex.v1"
        )


def test_read_rows_names_the_line_of_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:2: invalid JSON"):
        read_rows(path)
