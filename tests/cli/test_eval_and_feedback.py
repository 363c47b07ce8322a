"""`earshot eval` and `earshot feedback`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cli import main
from core.config import load_config
from services.pipeline import run_once
from services.runtime import open_store


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_eval_prints_accuracy_f1_recall_per_class_and_confusion(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
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
    code = main(
        [
            "--config",
            str(config_path),
            "eval",
            "--task",
            "sentiment",
            "--data",
            str(data),
            "--text-column",
            "tweet",
            "--label-column",
            "mood",
            "--label-map",
            str(label_map),
            "--where",
            "brand=a",
            "--classifier",
            "sentiment.vader.v1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "sentiment with sentiment.vader.v1 on s.csv (3 rows)" in out
    assert (
        "accuracy      1.0000" in out
        and "macro-F1      1.0000" in out
        and "macro-recall  1.0000" in out
    )
    assert "confusion matrix (rows: true, columns: predicted)" in out
    assert "positive" in out and "negative" in out


def test_eval_private_and_pii(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(
        tmp_path / "p.csv",
        ["text", "private", "pii"],
        [
            [
                "Refund for order HLD-1234567 please, mail jo@example.com",
                "true",
                "order_number|email",
            ],
            ["Lovely weather today", "false", ""],
        ],
    )
    assert (
        main(
            [
                "--config",
                str(config_path),
                "eval",
                "--task",
                "private",
                "--data",
                str(data),
                "--label-column",
                "private",
            ]
        )
        == 0
    )
    assert "accuracy      1.0000" in capsys.readouterr().out
    assert (
        main(
            [
                "--config",
                str(config_path),
                "eval",
                "--task",
                "pii",
                "--data",
                str(data),
                "--label-column",
                "pii",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "email" in out and "order_number" in out
    assert "rows with exactly the right types: 1.0000" in out


def test_eval_names_a_missing_column(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "x.csv", ["text", "y"], [["hi", "neutral"]])
    assert (
        main(
            [
                "--config",
                str(config_path),
                "eval",
                "--task",
                "sentiment",
                "--data",
                str(data),
                "--label-column",
                "label",
            ]
        )
        == 1
    )
    assert "no column 'label'" in capsys.readouterr().err


def test_feedback_is_stored_for_training(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(config_path)
    run_once(config)
    store = open_store(config)
    post = store.queues.items(queue="logistics", limit=1)[0].post
    assert (
        main(
            [
                "--config",
                str(config_path),
                "feedback",
                post.id,
                "--task",
                "intent",
                "--label",
                "billing",
            ]
        )
        == 0
    )
    assert store.feedback.list("intent") == [(post.text, "billing")]
    assert (
        main(
            [
                "--config",
                str(config_path),
                "feedback",
                post.id,
                "--task",
                "intent",
                "--label",
                "refunds",
            ]
        )
        == 2
    )
    assert "not a intent label" in capsys.readouterr().err
    assert (
        main(
            [
                "--config",
                str(config_path),
                "feedback",
                "x:0",
                "--task",
                "intent",
                "--label",
                "billing",
            ]
        )
        == 1
    )


def test_train_with_a_bad_labels_file_names_the_rows_and_trains_nothing(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = load_config(config_path).models_dir
    before = {p.name: p.stat().st_mtime_ns for p in models.iterdir() if p.is_file()}
    labels = write_csv(
        tmp_path / "ours.csv",
        ["text", "sentiment"],
        [["fine", "neutral"], ["oops", "angry"]],
    )
    code = main(["--config", str(config_path), "train", "--labels", str(labels)])
    err = capsys.readouterr().err
    assert code != 0
    assert "ours.csv line 3: sentiment 'angry' is not one of negative, neutral, positive" in err
    assert {p.name: p.stat().st_mtime_ns for p in models.iterdir() if p.is_file()} == before
