"""The list of built-in classifier modules, which the registry imports on first lookup.

Each module under ``nlp/classifiers/`` holds one classifier and is named after it
(``spam.rules.v2`` lives in ``nlp.classifiers.spam_rules_v2``). A new classifier, or a
classifier for a new task, is one such module plus one line here.
"""

from __future__ import annotations

BUILTIN_MODULES: tuple[str, ...] = (
    "nlp.classifiers.language_lingua_v1",
    "nlp.classifiers.language_stopwords_v1",
    "nlp.classifiers.spam_rules_v1",
    "nlp.classifiers.spam_rules_v2",
    "nlp.classifiers.sentiment_vader_v1",
    "nlp.classifiers.sentiment_m2v_v1",
    "nlp.classifiers.sentiment_minilm_v1",
    "nlp.classifiers.pii_regex_v1",
    "nlp.classifiers.pii_spacy_v1",
    "nlp.classifiers.intent_keywords_v1",
    "nlp.classifiers.intent_m2v_v1",
    "nlp.classifiers.intent_minilm_v1",
    "nlp.classifiers.private_rules_v1",
    "nlp.classifiers.private_rules_v2",
    "nlp.classifiers.private_brand_v1",
    "nlp.classifiers.private_brand_v2",
)
