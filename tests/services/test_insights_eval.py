"""The advocate and super-user rankings on the team's hand-labelled fixture of 60 authors,
labelled by the configured classifiers: precision at 5 and at 10."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from services import insights_eval
from tests.conftest import write_config


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> insights_eval.Result:
    config = load_config(write_config(tmp_path_factory.mktemp("eval")))
    return insights_eval.evaluate(config)


def test_insights_eval_fixture_has_every_kind_of_author() -> None:
    _, authors, records = insights_eval.load_fixture(insights_eval.FIXTURE)
    labels = [a["label"] for a in authors.values()]
    assert len(authors) >= 60
    for label in (
        "advocate",
        "one_off_fan",
        "staff",
        "spam_praiser",
        "superuser",
        "asker",
        "detractor",
    ):
        assert labels.count(label) >= 4, label
    assert labels.count("advocate") >= 10 and labels.count("superuser") >= 10  # p@10 can be 1
    assert len(records) > 150


def test_insights_eval_precision_of_advocates(result: insights_eval.Result) -> None:
    assert result.precision["advocate"][5] == 1.0
    assert result.precision["advocate"][10] >= 0.9


def test_insights_eval_precision_of_superusers(result: insights_eval.Result) -> None:
    assert result.precision["superuser"][5] == 1.0
    assert result.precision["superuser"][10] >= 0.9


def test_insights_eval_no_fan_staff_or_spammer_near_the_top(result: insights_eval.Result) -> None:
    for kind in ("advocate", "superuser"):
        labels = {label for _, label, _ in result.ranking[kind]}
        assert not labels & {"one_off_fan", "staff", "spam_praiser"}, (kind, result.ranking[kind])


def test_insights_eval_unknown_author_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "fixture.yaml"
    bad.write_text("at: 2026-11-01T00:00:00Z\nauthors: {}\nposts: [[ghost, 1, hi, 0]]\n")
    with pytest.raises(Exception, match="post 1: unknown author 'ghost'"):
        insights_eval.load_fixture(bad)
