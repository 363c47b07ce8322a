"""Run the configured classifiers over a batch of posts and build their enrichments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from core.models import Enrichment, Label, Post, PrivateDecision
from nlp.registry import TASKS, Classifier, get_classifier

if TYPE_CHECKING:
    from core.config import Config


class ClassificationError(RuntimeError):
    """A classifier failed on a batch."""


class ClassifierPipeline:
    """One classifier per task, run in :data:`nlp.registry.TASKS` order."""

    def __init__(self, classifiers: Mapping[str, Classifier]) -> None:
        missing = [
            task for task in TASKS if not any(task in c.assigns for c in classifiers.values())
        ]
        if missing:
            raise ValueError(f"no classifier configured for tasks: {', '.join(missing)}")
        self.classifiers = dict(classifiers)

    def run(self, posts: Sequence[Post]) -> list[Enrichment]:
        """Classify ``posts``; returns one enrichment per post, in order."""
        if not posts:
            return []
        prior: list[dict[str, Any]] = [{} for _ in posts]
        done: set[str] = set()
        for task in TASKS:
            if task in done:
                continue
            classifier = self.classifiers[task]
            try:
                results = classifier.predict(posts, prior)
            except Exception as e:
                first, last = posts[0].id, posts[-1].id
                raise ClassificationError(
                    f"classifier {classifier.name!r} failed on {len(posts)} posts"
                    f" ({first} .. {last}): {e}"
                ) from e
            if len(results) != len(posts):
                raise ClassificationError(
                    f"classifier {classifier.name!r} returned {len(results)} results"
                    f" for {len(posts)} posts"
                )
            for assigned in classifier.assigns:
                done.add(assigned)
            prior = [
                {**p, **_assign(classifier.assigns, r)} for p, r in zip(prior, results, strict=True)
            ]
        from nlp.rules import redact

        return [
            Enrichment(
                post_id=post.id,
                sentiment=_as(Label, p["sentiment"]),
                intent=_as(Label, p["intent"]),
                private=_as(PrivateDecision, p["private"]),
                pii=tuple(p["pii"]),
                pii_classifier=self.classifiers["pii"].name,
                language=_as(Label, p["language"]),
                spam=_as(Label, p["spam"]),
                redacted_text=redact(post.text, p["pii"]),
            )
            for post, p in zip(posts, prior, strict=True)
        ]


def _assign(assigns: tuple[str, ...], result: Any) -> dict[str, Any]:
    if len(assigns) == 1:
        return {assigns[0]: result}
    return {task: result[task] for task in assigns}


def _as(kind: type, value: Any) -> Any:
    if not isinstance(value, kind):
        raise ClassificationError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def build_pipeline(config: Config) -> ClassifierPipeline:
    """Instantiate the classifiers named in the configuration (models load on first use)."""
    available = {
        "lexicon_path": config.intents_path,
        "patterns": config.pii_patterns,
        "models_dir": config.models_dir,
    }
    classifiers = {}
    for task in TASKS:
        name = config.classifiers.get(task)
        if name is None:
            raise ValueError(f"{config.path}: no classifier configured for task {task!r}")
        classifier = get_classifier(name, **available)
        if task not in classifier.assigns:
            raise ValueError(f"{config.path}: classifier {name!r} does not assign {task!r}")
        classifiers[task] = classifier
    return ClassifierPipeline(classifiers)
