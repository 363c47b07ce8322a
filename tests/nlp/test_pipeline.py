"""The pipeline: task order from what each classifier requires, enrichments built from the
results, and configuration errors that name the file and the key."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.config import load_config
from core.errors import ClassificationError, ConfigError
from core.models import Label, PiiResult, PiiSpan, Post, TaskResult
from nlp import build_pipeline, shared_pipeline
from nlp.pipeline import EXPECTED_TASKS, ClassifierPipeline
from nlp.registry import Classifier, Prior
from tests.conftest import ROOT, make_post


def fake(
    name: str, task: str, requires: tuple[str, ...] = (), calls: list[str] | None = None
) -> Classifier:
    """An unregistered classifier whose label says what it read."""

    class Fake(Classifier):
        def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[TaskResult]:
            if calls is not None:
                calls.append(name)
            results: list[TaskResult] = []
            for done in prior:
                seen = "+".join(
                    f"{t}={r.label}" for t, r in sorted(done.items()) if isinstance(r, Label)
                )
                results.append(Label(seen or "none", 1.0, self.name))
            return results

    Fake.name, Fake.assigns, Fake.requires = name, (task,), requires
    return Fake()


def test_pipeline_runs_a_task_after_the_tasks_it_requires() -> None:
    calls: list[str] = []
    pipeline = ClassifierPipeline(
        {
            "c": fake("c.fake.v1", "c", ("b", "a"), calls),
            "b": fake("b.fake.v1", "b", ("a",), calls),
            "a": fake("a.fake.v1", "a", (), calls),
            "d": fake("d.fake.v1", "d", (), calls),
        },
        expected_tasks=(),
    )
    assert pipeline.tasks == ("a", "b", "c", "d")
    (e,) = pipeline.run([make_post("hello")])
    assert calls == ["a.fake.v1", "b.fake.v1", "c.fake.v1", "d.fake.v1"]
    # Each classifier sees the results of its requirements, and only those.
    assert e.label("a").label == "none"
    assert e.label("b").label == "a=none"
    assert e.label("c").label == "a=none+b=a=none"
    assert e.label("d").label == "none"


def test_pipeline_rejects_a_cycle_of_requirements() -> None:
    with pytest.raises(ClassificationError, match=r"a\.fake\.v1 -> b\.fake\.v1 -> a\.fake\.v1"):
        ClassifierPipeline(
            {"a": fake("a.fake.v1", "a", ("b",)), "b": fake("b.fake.v1", "b", ("a",))},
            expected_tasks=(),
        )


def test_pipeline_rejects_a_required_task_nobody_assigns() -> None:
    with pytest.raises(ClassificationError, match="requires task 'a', which no configured"):
        ClassifierPipeline({"b": fake("b.fake.v1", "b", ("a",))}, expected_tasks=())


def test_pipeline_rejects_a_classifier_under_a_task_it_does_not_assign() -> None:
    with pytest.raises(ClassificationError, match="does not assign task 'b'"):
        ClassifierPipeline({"b": fake("a.fake.v1", "a")}, expected_tasks=())


def test_pipeline_rejects_a_result_that_is_not_a_task_result() -> None:
    class Tuples(Classifier):
        name, assigns = "pii.tuples.v1", ("pii",)

        def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[Any]:
            return [(PiiSpan("email", 0, 1),) for _ in posts]  # the old shape of PII results

    pipeline = ClassifierPipeline({"pii": Tuples()}, expected_tasks=())
    with pytest.raises(ClassificationError, match="gave post x:1 a tuple for task 'pii'"):
        pipeline.run([make_post("a@b.example")])


def test_pipeline_names_the_classifier_and_posts_a_failure_happened_on() -> None:
    class Broken(Classifier):
        name, assigns = "spam.broken.v1", ("spam",)

        def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[TaskResult]:
            raise ValueError("model exploded")

    pipeline = ClassifierPipeline({"spam": Broken()}, expected_tasks=())
    posts = [make_post("a", post_id="x:1"), make_post("b", post_id="x:2")]
    with pytest.raises(
        ClassificationError,
        match=r"'spam.broken.v1' failed on 2 posts \(x:1 .. x:2\): model exploded",
    ):
        pipeline.run(posts)


def test_pipeline_builds_enrichments_from_the_results() -> None:
    class Emails(Classifier):
        name, assigns = "pii.emails.v1", ("pii",)

        def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[TaskResult]:
            return [PiiResult((PiiSpan("email", 5, 19),), self.name) for _ in posts]

    pipeline = ClassifierPipeline(
        {"pii": Emails(), "extra": fake("extra.fake.v1", "extra", ("pii",))}, expected_tasks=()
    )
    (e,) = pipeline.run([make_post("mail jo@example.com now")])
    assert e.post_id == "x:1"
    assert set(e.results) == {"pii", "extra"}
    assert e.pii == (PiiSpan("email", 5, 19),)
    assert e.results["pii"].classifier == "pii.emails.v1"
    assert e.redacted_text == "mail [EMAIL] now"
    assert e.label("extra").label == "none"  # it reads only labels, and pii holds spans


def test_pipeline_empty_batch_gives_no_enrichment() -> None:
    assert ClassifierPipeline({"a": fake("a.fake.v1", "a")}, expected_tasks=()).run([]) == []


# -- build_pipeline ------------------------------------------------------------------------


def config_with(config_path: Path, **classifiers: str | None):
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for task, name in classifiers.items():
        if name is None:
            del data["classifiers"][task]
        else:
            data["classifiers"][task] = name
    config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_config(config_path)


def test_build_pipeline_runs_the_configured_tasks_in_dependency_order() -> None:
    pipeline = build_pipeline(load_config(ROOT / "earshot.yaml"))
    assert set(pipeline.tasks) == set(EXPECTED_TASKS)
    # earshot.yaml lists the tasks in an order that already meets every requirement.
    assert [c.name for c in pipeline.order] == [
        "language.lingua.v1",
        "spam.rules.v2",
        "sentiment.minilm.v1",
        "pii.spacy.v1",
        "intent.minilm.v1",
        "private.brand.v2",
    ]


def test_build_pipeline_orders_tasks_listed_in_any_order(config_path: Path) -> None:
    config = load_config(config_path)  # written with its keys sorted: intent before sentiment
    assert next(iter(config.classifiers)) == "intent"
    tasks = build_pipeline(config).tasks
    assert tasks.index("sentiment") < tasks.index("intent")
    assert max(tasks.index(t) for t in ("spam", "pii", "intent")) < tasks.index("private")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"intent": None}, r"classifiers\.intent: missing"),
        (
            {"sentiment": "sentiment.nope.v9"},
            r"classifiers\.sentiment: no classifier registered as 'sentiment\.nope\.v9'",
        ),
        (
            {"sentiment": "intent.keywords.v1"},
            r"classifiers\.sentiment: 'intent\.keywords\.v1' assigns intent, not 'sentiment'",
        ),
    ],
)
def test_build_pipeline_config_errors_name_the_file_and_key(
    config_path: Path, changes: dict[str, str | None], message: str
) -> None:
    config = config_with(config_path, **changes)
    with pytest.raises(ConfigError, match=message) as error:
        build_pipeline(config)
    assert str(error.value).startswith(f"{config.path}: classifiers.")


def test_shared_pipeline_is_built_once_per_configuration(config_path: Path) -> None:
    config = load_config(config_path)
    assert shared_pipeline(config) is shared_pipeline(config)
    assert shared_pipeline(load_config(config_path)) is not shared_pipeline(config)
