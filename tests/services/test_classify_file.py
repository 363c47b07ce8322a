"""``earshot classify``'s service, fuzzed (hypothesis, bounded, derandomized): whatever JSON
value a record's fields hold, every input line gives exactly one valid JSON output line (labels
or an error naming the line), and nothing escapes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import load_config
from services.classify_file import classify_file

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(), max_size=20)  # surrogates, NUL, controls included
)
values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=2) | st.dictionaries(st.text(max_size=4), c, max_size=2),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import write_config

    return load_config(write_config(tmp_path_factory.mktemp("classify")))


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=st.lists(st.fixed_dictionaries({}, optional={"id": values, "text": values})))
def test_classify_file_any_field_value_gives_one_json_row_per_line(
    config: Any, tmp_path_factory: pytest.TempPathFactory, records: list[dict]
) -> None:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    source = folder / "in.jsonl"
    # json.dumps writes NaN/Infinity and lone surrogates as escapes, as other tools do
    lines = [json.dumps(r) for r in records] + [json.dumps({"id": "ok", "text": "thank you!"})]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    written, errors = classify_file(config, source, out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]  # strict JSON
    assert written == len(rows) == len(lines)
    assert [r["line"] for r in rows] == list(range(1, len(lines) + 1))
    assert errors == sum("error" in r for r in rows)
    assert "error" not in rows[-1] and rows[-1]["id"] == "ok"
    for line in out.getvalue().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_classify_file_workers_give_the_same_rows_in_the_same_order(
    config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes (a worker per core for a large file) write exactly what one process
    writes, bad lines included, in input order, over several batches."""
    from services import classify_file as module

    monkeypatch.setattr(module, "CLASSIFY_BATCH", 7)
    texts = [
        "@HaldenSupport my card 4111 1111 1111 1111 was charged twice",
        "love the new app, thanks!",
        "where is my parcel? order HLD-1234567",
        "el paquete no ha llegado",
        "win a free phone, click here http://spam.example",
    ]
    lines = [json.dumps({"id": i, "text": f"{texts[i % 5]} {i}"}) for i in range(40)]
    lines[12] = "{not json"
    lines[30] = json.dumps({"id": 30, "text": "ask our team", "brand": "HaldenSupport"})
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    alone, together = io.StringIO(), io.StringIO()
    messages: list[str] = []
    assert classify_file(config, source, alone, workers=1) == (40, 1)
    assert classify_file(config, source, together, workers=2, progress=messages.append) == (40, 1)
    assert "classifying with 2 worker processes" in messages
    assert together.getvalue() == alone.getvalue()
    rows = [json.loads(line) for line in together.getvalue().splitlines()]
    assert [r["line"] for r in rows] == list(range(1, 41))
    assert rows[12]["error"].endswith(
        "in.jsonl:13: invalid JSON (Expecting property name enclosed in double quotes)"
    )
    assert rows[0]["pii"]["spans"][0]["type"] == "card"
