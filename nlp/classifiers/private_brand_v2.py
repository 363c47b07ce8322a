"""``private.brand.v2``: each brand's own practice, as ``private.brand.v1``, over the rules of
``private.rules.v2``: while a brand has no history, a customer's own service problem goes
private (what agents across brands most often do)."""

from __future__ import annotations

from nlp.classifiers.private_brand_v1 import BrandPrivate
from nlp.classifiers.private_rules_v2 import RulePrivateV2
from nlp.registry import register_classifier


@register_classifier(
    "private.brand.v2", assigns=("private",), requires=("spam", "pii", "intent", "sentiment")
)
class BrandPrivateV2(BrandPrivate):
    """``private.brand.v1`` over the rules of ``private.rules.v2``: a brand without history
    moves a customer's own service problem private."""

    rules_class = RulePrivateV2
