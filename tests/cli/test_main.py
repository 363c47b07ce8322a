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


CASE_ID = re.compile(r"\bcase:(?:x|reddit):\w+")


def test_cli_cases_list_filters_and_sorts(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "--config", str(config_path), "run", "--once")
    code, out, _ = run_cli(
        capsys,
        "--config",
        str(config_path),
        "cases",
        "list",
        "--queue",
        "billing",
        "--limit",
        "500",
    )
    rows = out.splitlines()
    assert code == 0 and rows
    assert all(row.split()[2] == "billing" for row in rows)
    priorities = [int(row.split()[0]) for row in rows]
    assert priorities == sorted(priorities, reverse=True)


def test_cli_cases_claim_show_and_refusals(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ["--config", str(config_path)]
    run_cli(capsys, *config, "run", "--once")
    code, out, _ = run_cli(capsys, *config, "agents", "add", "ana", "--queue", "logistics")
    assert code == 0 and out.strip() == "agent ana works logistics"
    _, out, _ = run_cli(
        capsys, *config, "cases", "list", "--queue", "logistics", "--status", "new", "--limit", "1"
    )
    case_id = CASE_ID.search(out).group()
    code, out, _ = run_cli(capsys, *config, "cases", "claim", case_id, "--agent", "ana")
    assert (code, out.strip()) == (0, f"{case_id}: claimed in logistics, held by ana")
    _, out, _ = run_cli(capsys, *config, "cases", "list", "--agent", "ana")
    assert CASE_ID.findall(out) == [case_id]
    code, out, _ = run_cli(capsys, *config, "cases", "show", case_id)
    assert code == 0 and "held by ana" in out and "priority" in out and "trail:" in out
    assert re.search(r"claim\s+new -> claimed\s+by ana", out)
    code, _, err = run_cli(capsys, *config, "cases", "claim", case_id, "--agent", "ana")
    assert code == 1 and "is claimed: it cannot be claimed" in err
    code, _, err = run_cli(capsys, *config, "cases", "claim", "case:x:0", "--agent", "ana")
    assert code == 1 and "no case 'case:x:0'" in err
    with pytest.raises(SystemExit):  # --agent is required: every action names its agent
        main([*config, "cases", "claim", case_id])


def test_cli_authors_import_and_show(
    config_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = ["--config", str(config_path)]
    crm = tmp_path / "crm.csv"
    crm.write_text("network,handle,crm_id,tier\nx,dani_reyes,C-1,vip\nfacebook,dani,C-1,\n")
    code, out, err = run_cli(capsys, *config, "authors", "import", str(crm))
    assert code == 1 and "imported 1 handles of 1 customers; 1 rows rejected" in out
    assert f"rejected {crm}:3:" in err
    run_cli(capsys, *config, "authors", "link", "x:dani_reyes", "reddit:burnt_toast_99")
    code, out, _ = run_cli(capsys, *config, "authors", "show", "x:dani_reyes")
    assert code == 0 and "crm:C-1" in out and "reddit:burnt_toast_99, x:dani_reyes" in out


def test_cli_report_formats(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = ["--config", str(config_path)]
    run_cli(capsys, *config, "run", "--once")
    code, out, _ = run_cli(capsys, *config, "report", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["overall"]["cases"] > 0 and "billing" in data["queues"]
    code, out, _ = run_cli(capsys, *config, "report", "--format", "csv", "--since", "2026-11-05")
    assert out.splitlines()[0] == "section,group,metric,value"
    since = json.loads(
        run_cli(capsys, *config, "report", "--format", "json", "--since", "2026-11-05")[1]
    )
    assert 0 < since["overall"]["cases"] < data["overall"]["cases"]
    code, out, _ = run_cli(capsys, *config, "report")
    assert "Per queue:" in out and "Backlog" in out and "Run run-" in out


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


def test_cli_insights_advocates_and_alerts(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ["--config", str(config_path)]
    code, _, err = run_cli(capsys, *config, "advocates")
    assert code == 0 and "earshot insights run" in err  # nothing scored yet: says how
    run_cli(capsys, *config, "run", "--once")
    # the samples are from early November 2026: scored as of their newest post, so that the
    # test does not age out of the 90-day scoring window and the 30-day spike scan
    code, out, _ = run_cli(capsys, *config, "insights", "run", "--at", "newest")
    assert code == 0 and "as of the newest stored post, 2026-11-" in out
    assert re.search(r"scored \d+ advocates, \d+ superusers, \d+ detractors", out)
    code, out, _ = run_cli(capsys, *config, "advocates", "--kind", "superuser", "--format", "json")
    rows = json.loads(out)
    assert rows[0]["rank"] == 1 and rows[0]["author"].startswith("reddit:")
    assert rows[0]["evidence"][0]["url"].startswith("https://www.reddit.com/")
    assert set(rows[0]["components"]) == {"threads", "askers", "thanked", "upvotes"}
    code, out, _ = run_cli(capsys, *config, "advocates", "--format", "csv", "--top", "2")
    lines = list(csv.reader(out.splitlines()))
    assert lines[0] == ["rank", "author", "profile", "tier", "score", "components", "evidence"]
    assert len(lines) == 3
    code, out, _ = run_cli(capsys, *config, "advocates", "--kind", "detractor")
    assert "x:gadgetgrump" in out and "https://x.com/gadgetgrump/" in out
    code, out, _ = run_cli(capsys, *config, "alerts", "--since", "2026-11-06")
    assert code == 0 and "'hub offline'" in out and "intent 'technical'" in out


def test_cli_eval_advocates_prints_precision(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "--config", str(config_path), "eval", "--task", "advocates")
    assert code == 0
    assert re.search(r"advocates: precision@5 \d\.\d\d, precision@10 \d\.\d\d", out)
    assert re.search(r"superusers: precision@5 \d\.\d\d, precision@10 \d\.\d\d", out)
