"""Runs the configured classifiers over a batch of posts, each after the tasks it requires,
and builds one :class:`~core.models.Enrichment` per post."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from core.errors import ClassificationError, ConfigError, UnknownClassifierError
from core.models import Enrichment, Label, PiiResult, Post, PrivateDecision, TaskResult
from nlp.pii_patterns import redact
from nlp.registry import Classifier, get_classifier

if TYPE_CHECKING:
    from core.config import Config

EXPECTED_TASKS: tuple[str, ...] = ("language", "spam", "sentiment", "pii", "intent", "private")
"""The tasks the rest of Earshot reads by name (the accessors of ``Enrichment``): a
configuration must name a classifier for each. Any further task is one more result."""


class ClassifierPipeline:
    """One classifier per task (``task -> classifier``), each run after the classifiers of the
    tasks it requires; the order of the mapping breaks ties."""

    def __init__(
        self,
        classifiers: Mapping[str, Classifier],
        *,
        expected_tasks: Collection[str] = EXPECTED_TASKS,
    ) -> None:
        for task, classifier in classifiers.items():
            if task not in classifier.assigns:
                raise ClassificationError(
                    f"classifier {classifier.name!r} does not assign task {task!r}"
                    f" (it assigns {', '.join(classifier.assigns)})"
                )
        missing = [task for task in expected_tasks if task not in classifiers]
        if missing:
            raise ClassificationError(f"no classifier configured for tasks: {', '.join(missing)}")
        self.classifiers = dict(classifiers)
        self.order = run_order(list(classifiers.values()))  # each classifier once, as they run

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task the pipeline gives a result for, in the order they are decided."""
        return tuple(task for classifier in self.order for task in classifier.assigns)

    def run(self, posts: Sequence[Post]) -> list[Enrichment]:
        """Classify ``posts``; returns one enrichment per post, in order."""
        if not posts:
            return []
        results: list[dict[str, TaskResult]] = [{} for _ in posts]
        for classifier in self.order:
            prior = [{task: done[task] for task in classifier.requires} for done in results]
            try:
                produced = classifier.predict_tasks(posts, prior)
            except (OSError, RuntimeError, ValueError) as e:  # a model or library failure
                raise ClassificationError(
                    f"classifier {classifier.name!r} failed on {len(posts)} posts"
                    f" ({posts[0].id} .. {posts[-1].id}): {e}"
                ) from e
            if len(produced) != len(posts):
                raise ClassificationError(
                    f"classifier {classifier.name!r} returned {len(produced)} results"
                    f" for {len(posts)} posts"
                )
            for post, done, found in zip(posts, results, produced, strict=True):
                for task in classifier.assigns:
                    done[task] = _checked(classifier, task, post, found.get(task))
        return [
            Enrichment(post.id, done, _redacted(post.text, done))
            for post, done in zip(posts, results, strict=True)
        ]


def run_order(classifiers: Sequence[Classifier]) -> list[Classifier]:
    """``classifiers`` (each once) so that every one comes after those assigning the tasks it
    requires; otherwise in the given order. A required task that none assigns, a task two
    assign, or a cycle of requirements is a :class:`ClassificationError`."""
    unique = list({id(c): c for c in classifiers}.values())
    assigned_by: dict[str, Classifier] = {}
    for classifier in unique:
        for task in classifier.assigns:
            other = assigned_by.setdefault(task, classifier)
            if other is not classifier:
                raise ClassificationError(
                    f"task {task!r} is assigned by both {other.name!r} and {classifier.name!r}"
                )
    for classifier in unique:
        for task in classifier.requires:
            if task not in assigned_by:
                raise ClassificationError(
                    f"classifier {classifier.name!r} requires task {task!r},"
                    " which no configured classifier assigns"
                )

    needs = {id(c): [assigned_by[task] for task in c.requires] for c in unique}
    order: list[Classifier] = []
    waiting = list(unique)
    while waiting:
        ready = next((c for c in waiting if all(n in order for n in needs[id(c)])), None)
        if ready is None:
            raise ClassificationError(f"classifiers require each other: {_cycle(waiting, needs)}")
        order.append(ready)
        waiting.remove(ready)
    return order


def _cycle(waiting: list[Classifier], needs: Mapping[int, list[Classifier]]) -> str:
    """``a.v1 -> b.v1 -> a.v1``: a cycle among classifiers none of which can run yet."""
    path = [waiting[0]]
    while True:
        following = next(n for n in needs[id(path[-1])] if n in waiting)
        if following in path:
            return " -> ".join(c.name for c in [*path[path.index(following) :], following])
        path.append(following)


def _checked(classifier: Classifier, task: str, post: Post, value: object) -> TaskResult:
    if not isinstance(value, Label | PiiResult | PrivateDecision):
        raise ClassificationError(
            f"classifier {classifier.name!r} gave post {post.id} a {type(value).__name__}"
            f" for task {task!r}, not a Label, PiiResult or PrivateDecision"
        )
    return value


def _redacted(text: str, results: Mapping[str, TaskResult]) -> str:
    spans = [span for r in results.values() if isinstance(r, PiiResult) for span in r.spans]
    return redact(text, spans)


def classifier_options(config: Config) -> dict[str, Any]:
    """The options the configuration offers every classifier (each takes those it needs)."""
    return {
        "lexicon_path": config.intents_path,
        "patterns": config.pii_patterns,
        "models_dir": config.models_dir,
        "brands": brand_accounts(config),
    }


def brand_accounts(config: Config) -> list[str]:
    """The brand's own accounts: the handles of the ``brand`` tier in the routing file."""
    from core.config import read_yaml

    data = read_yaml(config.routing_path) or {}
    tiers = data.get("tiers") or {} if isinstance(data, dict) else {}
    brand = tiers.get("brand") or {} if isinstance(tiers, dict) else {}
    handles = brand.get("handles") or [] if isinstance(brand, dict) else []
    return [str(h) for h in handles]


def build_pipeline(config: Config) -> ClassifierPipeline:
    """Instantiate the classifiers named under ``classifiers`` (models load on first use).

    A missing task, an unknown name, a classifier that does not assign its task or a
    requirement nobody meets is a :class:`ConfigError` naming the file and the key.
    """
    where = f"{config.path}: classifiers"
    missing = [task for task in EXPECTED_TASKS if task not in config.classifiers]
    if missing:
        raise ConfigError(
            f"{where}.{missing[0]}: missing; name a classifier for each of"
            f" {', '.join(EXPECTED_TASKS)} (`earshot classifiers` lists them)"
        )
    options = classifier_options(config)
    instances: dict[str, Classifier] = {}  # one instance per name, even for several tasks
    classifiers: dict[str, Classifier] = {}
    for task, name in config.classifiers.items():
        try:
            classifier = instances.get(name) or get_classifier(name, **options)
        except UnknownClassifierError as e:
            raise ConfigError(f"{where}.{task}: {e}") from None
        if task not in classifier.assigns:
            raise ConfigError(
                f"{where}.{task}: {name!r} assigns {', '.join(classifier.assigns)}, not {task!r}"
            )
        instances[name] = classifiers[task] = classifier
    for task, classifier in classifiers.items():
        for needed in classifier.requires:
            if needed not in classifiers:
                raise ConfigError(
                    f"{where}.{needed}: missing; {classifier.name!r} (classifiers.{task})"
                    " reads its results"
                )
    try:
        return ClassifierPipeline(classifiers)
    except ClassificationError as e:
        raise ConfigError(f"{where}: {e}") from None


@lru_cache(maxsize=4)
def shared_pipeline(config: Config) -> ClassifierPipeline:
    """:func:`build_pipeline`, once per configuration: the classifiers, and the models they
    load on first use, serve every later batch."""
    return build_pipeline(config)
