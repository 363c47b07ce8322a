"""Classifiers that read a post and say what it is: language, spam, sentiment, PII, intent
and public-to-private, each registered under a versioned name and chosen in the configuration.

The pipeline runs them over batches of posts (each after the tasks it requires) and returns
one :class:`core.models.Enrichment` per post. Training (:mod:`nlp.train_all`) and evaluation
on labelled files (:mod:`nlp.eval_file`) live beside them; import those modules directly.
"""

from nlp.pii_patterns import find_pii, redact
from nlp.pipeline import ClassifierPipeline, build_pipeline, shared_pipeline
from nlp.registry import (
    Classifier,
    ClassifierSpec,
    available_classifiers,
    get_classifier,
    register_classifier,
)

__all__ = [
    "Classifier",
    "ClassifierPipeline",
    "ClassifierSpec",
    "available_classifiers",
    "build_pipeline",
    "find_pii",
    "get_classifier",
    "redact",
    "register_classifier",
    "shared_pipeline",
]
