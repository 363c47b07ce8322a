"""What the command line must never do: print a traceback for a bad database URL, print
terminal control characters from stored text, leave partial output, or stop a whole file for
one bad record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import main
from core.config import load_config
from core.models import DeadLetter
from services.runtime import open_store


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://nouser@127.0.0.1:1/x",
        "mysql://user@localhost/db",
        "not a url at all",
        "sqlite:////proc/no-such-dir/earshot.db",
    ],
)
def test_cli_bad_database_url_is_one_line(
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    monkeypatch.setenv("EARSHOT_DATABASE_URL", url)
    code, out, err = run_cli(capsys, "--config", str(config_path), "report")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err


def test_cli_deadletters_escape_terminal_control_characters(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(load_config(config_path))
    store.dead_letters.add(
        [
            DeadLetter(
                "x_samples",
                "a.jsonl:1",
                "a.jsonl:1: field 'id' must be a numeric id, got 'ok \u202egnp.exe'",
                '{"id": "ok \u202egnp.exe \x1b[31mred\u200b"}'.encode(),
            )
        ]
    )
    code, out, _ = run_cli(capsys, "--config", str(config_path), "deadletters")
    assert code == 0
    assert "\u202e" not in out and "\x1b" not in out and "\u200b" not in out
    assert "ok \\u202egnp.exe" in out and "\\u001b[31mred\\u200b" in out


@pytest.mark.parametrize("command", [["search", "x"], ["cases", "list"], ["deadletters"]])
@pytest.mark.parametrize("limit", ["-1", "0", "ten"])
def test_cli_limit_must_be_positive(
    config_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], limit: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config_path), *command, "--limit", limit])
    assert exit_.value.code == 2
    assert "argument --limit" in capsys.readouterr().err


def classify(
    capsys: pytest.CaptureFixture[str], config_path: Path, source: Path, out: Path
) -> tuple[int, list[dict], str]:
    code, _, err = run_cli(
        capsys, "--config", str(config_path), "classify", "--in", str(source), "--out", str(out)
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return code, rows, err


def test_cli_classify_bad_records_never_stop_the_file(
    config_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b"\xef\xbb\xbf"  # a UTF-8 byte order mark before the first record
        + b'{"id": "a", "text": "refund my order please"}\n'
        + b'{"id": "b", "text": "broken \\ud800 half an emoji"}\n'
        + b'{"id": NaN, "text": "id is not a number"}\n'
        + b'{"id": "d"}\n'
        + b'{"id": 5, "text": "great service, thanks"}\n'
    )
    out = tmp_path / "out.jsonl"
    code, rows, err = classify(capsys, config_path, source, out)
    assert code == 1 and "wrote 5 records" in err
    assert [(r["line"], r["id"], "error" in r) for r in rows] == [
        (1, "a", False),
        (2, None, True),
        (3, None, True),
        (4, None, True),
        (5, 5, False),
    ]
    assert "lone surrogate U+D800" in rows[1]["error"]
    assert "finite number" in rows[2]["error"]
    assert "missing string field 'text'" in rows[3]["error"]
    assert not (tmp_path / "out.jsonl.part").exists()


def test_cli_classify_csv_row_without_text_is_reported(
    config_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,where is my parcel\n2\n3,\n4,thanks!\n", encoding="utf-8")
    code, rows, _ = classify(capsys, config_path, source, tmp_path / "out.jsonl")
    assert code == 1
    assert [("error" in r) for r in rows] == [False, True, False, False]
    assert "row 2: missing string field 'text'" in rows[1]["error"]


def test_cli_classify_failure_leaves_no_partial_output(
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nlp.pipeline import ClassifierPipeline

    def broken(self: ClassifierPipeline, posts: list) -> list:
        raise RuntimeError("model file is corrupt")

    monkeypatch.setattr(ClassifierPipeline, "run", broken)
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(
        capsys, "--config", str(config_path), "classify", "--in", str(source), "--out", str(out)
    )
    assert code == 1 and "the classifiers fail on every record" in err and "corrupt" in err
    assert not out.exists() and not (tmp_path / "out.jsonl.part").exists()
