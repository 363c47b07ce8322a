"""Both PII classifiers find every canary of the PII canary corpus, so the search index's
redacted text holds none of them."""

from __future__ import annotations

import pytest

from core.config import load_config
from nlp.pii_patterns import redact
from nlp.registry import get_classifier
from tests.conftest import ROOT, make_post
from tests.pii_canary import CANARY_CARDS, CANARY_EMAILS, CANARY_IBANS, CANARY_PHONES

CANARIES = [
    *((secret, "card") for secret in CANARY_CARDS),
    *((secret, "email") for secret in CANARY_EMAILS),
    *((secret, "phone") for secret in CANARY_PHONES),
    *((secret, "iban") for secret in CANARY_IBANS),
]


@pytest.mark.parametrize("name", ["pii.spacy.v1", "pii.regex.v1"])
def test_pii_classifiers_find_and_redact_every_canary(name: str) -> None:
    classifier = get_classifier(name, patterns=load_config(ROOT / "earshot.yaml").pii_patterns)
    texts = [f"@HaldenSupport refund to {secret} pls" for secret, _ in CANARIES]
    posts = [make_post(text, post_id=f"x:{i}") for i, text in enumerate(texts)]
    results = classifier.predict(posts, [{} for _ in posts])
    for (secret, kind), text, result in zip(CANARIES, texts, results, strict=True):
        assert [span.type for span in result.spans] == [kind], (secret, result.spans)
        placeholder = f"[{kind.upper()}]"
        assert redact(text, result.spans) == f"@HaldenSupport refund to {placeholder} pls"
