"""Classifiers that read a post and say what it is: sentiment, intent, public-to-private,
PII, language and spam. Each is registered under a versioned name and chosen in YAML.
"""

from nlp.pipeline import ClassifierPipeline, build_pipeline
from nlp.registry import Classifier, available_classifiers, get_classifier, register_classifier

__all__ = [
    "Classifier",
    "ClassifierPipeline",
    "available_classifiers",
    "build_pipeline",
    "get_classifier",
    "register_classifier",
]
