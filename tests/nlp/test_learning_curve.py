"""`earshot eval --learning-curve`: what a team's own labels buy, size by size."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from cli import main
from core.errors import InputError
from nlp.learning_curve import split

THINGS = ["tram", "bus", "train", "ferry", "line", "route", "metro", "shuttle", "cable car"]


def fast_tier(config_path: Path) -> Path:
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data["classifiers"]["sentiment"] = "sentiment.m2v.v1"
    config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config_path


def stream(path: Path) -> Path:
    """A transit brand's stream in its riders' own words: "zorp" means late, "glim" fixed."""
    rows = []
    for i in range(60):
        thing = THINGS[i % len(THINGS)]
        group = "test" if i >= 42 else "teach"
        rows.append([f"the {thing} is zorp, {i} min", "negative", group])
        rows.append([f"the {thing} is glim, {i} min", "positive", group])
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "group"])
        writer.writerows(rows)
    return path


def test_learning_curve_scores_each_size_on_the_same_test_posts(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--config",
            str(fast_tier(config_path)),
            "eval",
            "--task",
            "sentiment",
            "--data",
            str(stream(tmp_path / "stream.csv")),
            "--learning-curve",
            "--sizes",
            "10,40,500",
            "--test-where",
            "group=test",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "team data plus N labelled posts drawn from 84, scored on 36 test posts" in out
    rows = {
        int(line.split()[0]): [float(x) for x in line.split()[1:]]
        for line in out.splitlines()
        if line.strip() and line.split()[0].isdigit()
    }
    assert sorted(rows) == [0, 10, 40]
    assert "not enough labelled posts for 500 (only 84 outside the test)" in out
    # the riders' words are learnt: 40 labels beat the team data alone
    assert rows[40][1] > rows[0][1] + 0.2
    assert rows[40][1] >= 0.9


def test_learning_curve_without_a_test_column_tests_the_latest_posts() -> None:
    rows = [(f"post {i}", "neutral", False) for i in range(10)]
    pool, test = split(rows)
    assert [t for t, _ in pool] == [f"post {i}" for i in range(7)]
    assert [t for t, _ in test] == ["post 7", "post 8", "post 9"]


def test_learning_curve_needs_a_trained_head(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data["classifiers"]["sentiment"] = "sentiment.vader.v1"
    config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    args = ["--config", str(config_path), "eval", "--task", "sentiment", "--learning-curve"]
    code = main([*args, "--data", str(stream(tmp_path / "s.csv"))])
    assert code != 0
    assert "--learning-curve trains a head" in capsys.readouterr().err


def test_learning_curve_refuses_labels_the_task_does_not_have(
    tmp_path: Path, config_path: Path
) -> None:
    from core.config import load_config
    from nlp.learning_curve import learning_curve

    config = load_config(fast_tier(config_path))
    with pytest.raises(InputError, match=r"labels \['happy'\] are not sentiment labels"):
        learning_curve(config, "sentiment", "m2v", [("yay", "happy")], [("ok", "neutral")])
