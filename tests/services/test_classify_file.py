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
