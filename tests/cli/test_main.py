"""The earshot command line."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml

from cli import main
from core.config import load_config
from services.runtime import open_store
from tests.conftest import sample_labels, write_config

POST_ID = re.compile(r"\b(?:x|reddit):\w+")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_run_once_then_report(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "--config", str(config_path), "run", "--once")
    assert code == 0
    assert f"{len(sample_labels())} new posts" in out
    assert "fetched 307 posts" not in out and "x_samples: fetched" in err
    code, out, _ = run_cli(capsys, "--config", str(config_path), "run", "--once")
    assert "0 new posts" in out and "Routed in this run: nothing new" in out
    code, out, _ = run_cli(capsys, "--config", str(config_path), "report")
    assert code == 0 and "0 new posts" in out


def test_cli_run_requires_once(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "--config", str(config_path), "run")
    assert code == 2 and "--once" in err


def test_cli_queue_list_filters_and_sorts(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "--config", str(config_path), "run", "--once")
    code, out, _ = run_cli(
        capsys,
        "--config",
        str(config_path),
        "queue",
        "list",
        "--queue",
        "billing",
        "--limit",
        "500",
    )
    rows = out.splitlines()
    assert code == 0 and rows
    assert all(row.split()[1] == "billing" for row in rows)
    priorities = [int(row.split()[0]) for row in rows]
    assert priorities == sorted(priorities, reverse=True)


def test_cli_queue_set_status(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "--config", str(config_path), "run", "--once")
    _, out, _ = run_cli(
        capsys,
        "--config",
        str(config_path),
        "queue",
        "list",
        "--queue",
        "logistics",
        "--limit",
        "1",
    )
    post_id = POST_ID.search(out).group()
    code, _, _ = run_cli(
        capsys, "--config", str(config_path), "queue", "set-status", post_id, "claimed"
    )
    assert code == 0
    _, out, _ = run_cli(
        capsys, "--config", str(config_path), "queue", "list", "--status", "claimed"
    )
    assert POST_ID.findall(out) == [post_id]
    code, _, err = run_cli(
        capsys, "--config", str(config_path), "queue", "set-status", "x:0", "claimed"
    )
    assert code == 1 and "x:0" in err


def test_cli_search_prints_matching_posts(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "--config", str(config_path), "run", "--once")
    code, out, _ = run_cli(capsys, "--config", str(config_path), "search", "E43")
    assert code == 0
    ids = POST_ID.findall(out)
    store = open_store(load_config(config_path))
    assert len(ids) >= 3
    assert all("E43" in store.posts.get(post_id).text for post_id in ids)


def test_cli_deadletters_show_file_and_line(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "--config", str(config_path), "run", "--once")
    _, out, _ = run_cli(capsys, "--config", str(config_path), "deadletters")
    assert "bad-records.jsonl:1: invalid JSON" in out
    assert "bad-records.jsonl:4: invalid UTF-8" in out


def test_cli_classify_round_trips_10000_line_csv(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = [
        "I was charged twice, refund please",
        "Love the Aura speaker ❤️",
        'He said "it works", then it didn\'t, again',
        "multi\nline post",
        "",
    ]
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "extra"])
        for i in range(10_000):
            writer.writerow([f"row-{i:05d}", texts[i % len(texts)], "ignored"])
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(
        capsys, "--config", str(config_path), "classify", "--in", str(source), "--out", str(out)
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"row-{i:05d}" for i in range(10_000)]
    assert [r["text"] for r in rows[:5]] == texts
    assert rows[0]["intent"]["label"] == "billing"
    assert rows[1]["sentiment"]["label"] == "positive"
    assert {"sentiment", "intent", "private", "pii", "language", "spam", "redacted_text"} <= rows[
        0
    ].keys()
    assert "classified 10000 records" in err


def test_cli_classify_jsonl_reports_bad_lines_in_place(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b'{"id": 1, "text": "where is my order"}\n'
        b'{"id": 2, "text": \n'
        b'{"id": 3}\n'
        b'{"id": 4, "text": "caf\xe9"}\n'
        b'{"text": "no id here, still fine"}\n'
    )
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(
        capsys, "--config", str(config_path), "classify", "--in", str(source), "--out", str(out)
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert code == 1
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["id"] == 1 and rows[0]["intent"]["label"] == "delivery"
    assert "invalid JSON" in rows[1]["error"] and "in.jsonl:2" in rows[1]["error"]
    assert "missing string field 'text'" in rows[2]["error"]
    assert "invalid UTF-8" in rows[3]["error"]
    assert rows[4]["id"] is None and rows[4]["text"] == "no id here, still fine"
    assert "3 with errors" in err


def test_cli_classify_csv_without_text_column_is_an_error(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,body\n1,hello\n", encoding="utf-8")
    code, _, err = run_cli(
        capsys,
        "--config",
        str(config_path),
        "classify",
        "--in",
        str(source),
        "--out",
        str(tmp_path / "o.jsonl"),
    )
    assert code == 1 and "needs a 'text' column" in err


def test_cli_missing_config_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "--config", str(tmp_path / "nope.yaml"), "report")
    assert code == 1 and "configuration file not found" in err


def test_cli_run_with_bad_routing_rule_fails_before_any_work(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(
        "queues: {care: {sla_minutes: 60}}\n"
        "rules:\n  - {name: refunds, when: {intent: refunds}, queue: care, action: thank}\n",
        encoding="utf-8",
    )
    path = write_config(tmp_path, routing=rules)
    code, out, err = run_cli(capsys, "--config", str(path), "run", "--once")
    assert code == 1 and out == ""
    assert err.startswith(f"error: {rules}: rule 'refunds'.intent: unknown ['refunds']")
    assert not (tmp_path / "home" / "earshot.db").exists()  # nothing was collected or stored


def test_cli_run_with_unknown_classifier_fails_before_any_work(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data["classifiers"]["intent"] = "intent.psychic.v9"
    config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _, err = run_cli(capsys, "--config", str(config_path), "run", "--once")
    assert code == 1
    assert f"{config_path}: classifiers.intent:" in err and "intent.psychic.v9" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "home" / "earshot.db").exists()
